"""Study filters, facet values and full-text search over :class:`~exomir.core.Study` objects
in memory, with exactly the rules of :meth:`KnowledgeBase.studies` (docs/knowledge_base.md,
"Query semantics"); ``tests/kb/test_filters.py`` holds the two to each other.

Used by the web app, which keeps the studies in memory and answers facet queries without a
database round trip. Pure functions: no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from exomir.core import Indication, InputError, Route, Species, Study
from exomir.core.enums import CargoKind, Confidence
from exomir.core.mirna import MirnaName, find_mirna_names, mirna_matches, parse_mirna_name

# filter name -> what it matches (the same names as ``exomir kb query`` options)
FILTERS: dict[str, str] = {
    "indication": "indication (neuropathic_pain, diabetic_wound; aliases pain, wound, dfu)",
    "mirna": "cargo or sponged miRNA, species- and arm-aware (miR-146a, hsa-miR-21-5p)",
    "gene": "target gene symbol, case-insensitive",
    "pathway": "pathway tag or words of the curated pathway text",
    "source": "substring of the exosome source cell",
    "route": "route or vehicle (a Route value, else a substring of the delivery text)",
    "species": "mouse, rat, human",
    "model": "substring of the disease model",
    "confidence": "curation confidence: high, medium, low",
    "exclusion": "exclusion status: included, or a curated exclusion reason (e.g. retracted)",
}

INCLUDED = "included"


def _norm(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", text.lower().replace("κ", "k").replace("β", "b"))


def study_mirna_names(s: Study) -> list[str]:
    """Cargo miRNAs (and miRNAs a sponge binds) of a study, as stored for queries."""
    out: list[str] = []
    for c in s.cargo:
        if c.kind in (CargoKind.MIRNA, CargoKind.MIRNA_INHIBITOR):
            out.append(c.name)
        if c.sponged_mirna:
            out.append(c.sponged_mirna)
    return list(dict.fromkeys(out))


def exclusion_statuses(s: Study) -> list[str]:
    """``["included"]``, or the reason of each curated exclusion of the study (the
    ``exclusions`` list of :class:`Study`, each with a ``reason``)."""
    out: list[str] = []
    for ex in getattr(s, "exclusions", None) or []:
        reason: Any = getattr(ex, "reason", None) if not isinstance(ex, Mapping) \
            else ex.get("reason")
        if reason:
            out.append(str(getattr(reason, "value", reason)))
    return list(dict.fromkeys(out)) or [INCLUDED]


def exclusion_status(s: Study) -> str:
    """The exclusion statuses as one text (``included`` or ``reason; reason``)."""
    return "; ".join(exclusion_statuses(s))


def _route_matches(s: Study, route: Route | str) -> bool:
    if isinstance(route, Route):
        return s.delivery.route == route
    return route.lower() in (s.delivery.description or "").lower()


def _mirna_hit(s: Study, q: MirnaName) -> bool:
    return any(mirna_matches(q, cand) for name in study_mirna_names(s)
               for cand in find_mirna_names(name))


def _pathway_hit(s: Study, want: str) -> bool:
    if any(_norm(p) == want or want in _norm(p) for p in s.pathways):
        return True
    return bool(s.pathway_text) and want in _norm(s.pathway_text or "")


def study_filter(
    indication: str | Indication | None = None,
    mirna: str | None = None,
    gene: str | None = None,
    pathway: str | None = None,
    source: str | None = None,
    route: str | Route | None = None,
    species: str | Species | None = None,
    model: str | None = None,
    confidence: str | None = None,
    exclusion: str | None = None,
) -> Callable[[Study], bool]:
    """A predicate for studies matching every filter given (AND). Bad values raise
    :class:`InputError` naming the filter, before any study is looked at."""
    tests: list[Callable[[Study], bool]] = []
    if indication is not None:
        ind = Indication.parse(indication, field="indication")
        tests.append(lambda s: s.indication == ind)
    if species is not None:
        sp = Species.parse(species, field="species")
        tests.append(lambda s: s.subject.species == sp)
    if mirna is not None:
        q = parse_mirna_name(mirna, field="mirna")
        tests.append(lambda s: _mirna_hit(s, q))
    if gene is not None:
        g = gene.strip().upper()
        tests.append(lambda s: g in {x.upper() for x in s.target_genes})
    if pathway is not None:
        want = _norm(pathway)
        tests.append(lambda s: _pathway_hit(s, want))
    if source is not None:
        needle = source.lower()
        tests.append(lambda s: needle in (s.product.source_cell or "").lower())
    if route is not None:
        r: Route | str
        try:
            r = route if isinstance(route, Route) else Route.parse(route, field="route")
        except InputError:
            r = str(route)
        tests.append(lambda s: _route_matches(s, r))
    if model is not None:
        m = model.lower()
        tests.append(lambda s: m in (s.subject.disease_model or "").lower())
    if confidence is not None:
        c = Confidence.parse(confidence, field="confidence")
        tests.append(lambda s: s.confidence == c)
    if exclusion is not None:
        e = exclusion.strip().lower()
        tests.append(lambda s: e in {x.lower() for x in exclusion_statuses(s)})
    return lambda s: all(t(s) for t in tests)


def filter_studies(studies: Iterable[Study], **filters: Any) -> list[Study]:
    """The studies matching every filter (``None`` values are ignored)."""
    pred = study_filter(**{k: v for k, v in filters.items() if v is not None})
    return [s for s in studies if pred(s)]


def facet_values(s: Study) -> dict[str, list[str]]:
    """The value(s) a study has for each filter; choosing one of them as that filter's value
    selects the study again (facet counts are counts of studies per value)."""
    return {
        "indication": [s.indication.value],
        "source": [s.product.source_cell] if s.product.source_cell else [],
        "mirna": study_mirna_names(s),
        "gene": list(dict.fromkeys(g.upper() for g in s.target_genes)),
        "pathway": list(dict.fromkeys(s.pathways)),
        "route": [s.delivery.route.value] if s.delivery.route else [],
        "species": [s.subject.species.value] if s.subject.species else [],
        "model": [s.subject.disease_model] if s.subject.disease_model else [],
        "confidence": [s.confidence.value] if s.confidence else [],
        "exclusion": exclusion_statuses(s),
    }


def search_text(s: Study) -> str:
    """The curated text that full-text search looks in (lower case)."""
    parts = [s.id, s.title, s.first_author, s.journal, str(s.year or ""), s.source.doi,
             s.source.pmid, s.source.citation, s.product.source_cell,
             s.product.isolation_method, s.cargo_text, " ".join(c.name for c in s.cargo),
             " ".join(s.target_genes), " ".join(s.pathways), s.pathway_text,
             s.subject.disease_model, s.subject.species_text, s.delivery.description,
             s.regimen.dose_text, s.regimen.schedule_text, s.outcome_measure,
             s.outcome_summary]
    return " ".join(p for p in parts if p).lower()


def search_terms(query: str) -> list[str]:
    """Words of a search query (lower case); quoted phrases stay together."""
    terms = [a or b for a, b in re.findall(r'"([^"]+)"|(\S+)', query.lower())]
    return [t.strip() for t in terms if t.strip()]


def text_matches(text: str, terms: Iterable[str]) -> bool:
    """Every term occurs in ``text`` (AND of substrings, case-insensitive)."""
    return all(t in text for t in terms)
