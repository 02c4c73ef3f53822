"""The knowledge base's studies, trials and published syntheses held in memory for the browser: filters with
``kb.filters`` (the rules of ``exomir kb query``), facet counts, full-text search. Reloaded
after an import; answers are cached per query until then."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from exomir.core import ClinicalTrial, PublishedSynthesis, Study
from exomir.core.gates import LABELS
from exomir.kb import KnowledgeBase
from exomir.kb.filters import FILTERS, facet_values, search_terms, search_text, study_filter

FACETS = ("indication", "source", "mirna", "gene", "pathway", "route", "species", "model",
          "confidence", "exclusion")
FACET_LABELS = {"indication": "indication", "source": "source cell", "mirna": "cargo miRNA",
                "gene": "target gene", "pathway": "pathway", "route": "route / vehicle",
                "species": "species", "model": "disease model", "confidence": "confidence",
                "exclusion": "exclusion status"}


@dataclass(frozen=True)
class Entry:
    study: Study
    row: dict[str, str]
    facets: dict[str, list[str]]
    text: str


def study_row(s: Study) -> dict[str, str]:
    """The flat summary of ``exomir kb query --format csv|json``, plus title and exclusion."""
    from exomir.kb.cli import study_row as kb_row
    from exomir.kb.filters import exclusion_status

    row = dict(kb_row(s))
    row["title"] = s.title or ""
    row["exclusion"] = exclusion_status(s)
    return row


class StudyIndex:
    def __init__(self, kb: KnowledgeBase) -> None:
        self.kb = kb
        self._lock = threading.Lock()
        self.version = 0
        self.reload()

    def reload(self) -> None:
        studies = self.kb.studies()
        trials = self.kb.trials()
        syntheses = self.kb.syntheses()
        entries = [Entry(s, study_row(s), facet_values(s), search_text(s)) for s in studies]
        with self._lock:
            self.entries = entries
            self.by_id = {e.study.id: e for e in entries}
            self.trials: list[ClinicalTrial] = trials
            self.syntheses: list[PublishedSynthesis] = syntheses
            self.version += 1
            self._cache: dict[tuple[Any, ...], list[Entry]] = {}
            self.pages: dict[tuple[Any, ...], Any] = {}  # rendered KB pages, this version
        self.stats = self.kb.stats()

    def page(self, key: tuple[Any, ...], build: Any) -> Any:
        """A rendered page of knowledge-base data, built once per KB version and key."""
        hit = self.pages.get(key)
        if hit is None:
            hit = build()
            if len(self.pages) > 1024:
                self.pages.clear()
            self.pages[key] = hit
        return hit

    def query(self, filters: Mapping[str, str | None], q: str | None = None) -> list[Entry]:
        given = {k: v for k, v in filters.items() if v not in (None, "") and k in FILTERS}
        key = (tuple(sorted(given.items())), q or "")
        hit = self._cache.get(key)
        if hit is not None:
            return hit
        pred = study_filter(**given)
        terms = search_terms(q) if q else []
        out = [e for e in self.entries if pred(e.study) and all(t in e.text for t in terms)]
        if len(self._cache) > 2048:
            self._cache.clear()
        self._cache[key] = out
        return out

    @staticmethod
    def facet_counts(entries: list[Entry], limit: int = 30) -> dict[str, list[dict[str, Any]]]:
        """Per facet, values with the number of studies among ``entries`` (most first)."""
        out: dict[str, list[dict[str, Any]]] = {}
        for f in FACETS:
            c: Counter[str] = Counter()
            for e in entries:
                c.update(e.facets.get(f, []))
            out[f] = [{"value": v, "count": n} for v, n in
                      sorted(c.items(), key=lambda kv: (-kv[1], kv[0].lower()))[:limit]]
        for v in out["exclusion"]:  # the gates' labels: RETRACTED in capitals
            v["label"] = EXCLUSION_LABELS.get(v["value"], v["value"])
        return out


EXCLUSION_LABELS = {r.value: label for r, label in LABELS.items()}
