"""Import and export of knowledge-base records (JSON and CSV), lossless and transactional.

JSON: a list of records, or an object ``{"studies": [...], "interactions": [...],
"trials": [...], "mirnas": [...], "syntheses": [...]}``. CSV: one record per row; top-level scalar fields as
columns, nested fields (source, product, cargo, arms, ...) as JSON text in their column, so a
CSV export re-imports without loss. The kind of a bare list or CSV is told by its columns.
Reference formats (miRBase FASTA, miRTarBase, GMT) are read by :mod:`exomir.formats`.

Studies and interactions are exported with an ``origin`` (``curated`` or ``user``), so a round
trip keeps curated records curated (a record labelled curated keeps the label on import only
when it is identical to the packaged curated record). Files are read through the one input
layer (:mod:`exomir.core.files`): size limits, BOM and encoding handling, strict JSON (no
``NaN``/``Infinity``), strict CSV quoting.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from exomir.core import (
    ClinicalTrial,
    InputError,
    MatureMirna,
    MirnaTargetInteraction,
    PublishedSynthesis,
    Study,
)
from exomir.core.files import load_json, parse_table, read_text
from exomir.kb.store import validate_records

KINDS: dict[str, type[BaseModel]] = {
    "studies": Study,
    "interactions": MirnaTargetInteraction,
    "trials": ClinicalTrial,
    "mirnas": MatureMirna,
    "syntheses": PublishedSynthesis,
}
# A column that only one kind has tells the kind of a bare list or CSV.
_KEYS = {"studies": "id", "interactions": None, "trials": "registry_id", "mirnas": "name",
         "syntheses": "id"}
#: Kinds whose rows carry an origin (curated | user) in the knowledge base.
WITH_ORIGIN = ("studies", "interactions")
ORIGINS = ("curated", "user")


def _kind_of(columns: Sequence[str], source: str, line: int) -> str:
    if "registry_id" in columns:
        return "trials"
    if "estimate" in columns and "citation" in columns:
        return "syntheses"
    if "id" in columns and "indication" in columns:
        return "studies"
    if "gene" in columns and "mirna" in columns:
        return "interactions"
    if "sequence" in columns and "name" in columns:
        return "mirnas"
    raise InputError("cannot tell what kind of records these are", source=source, line=line,
                     field="columns", value=",".join(columns)[:80],
                     accepted="studies (id, indication, ...), interactions (mirna, gene, "
                     "evidence), trials (registry_id, ...), mirnas (name, sequence), "
                     "syntheses (id, citation, estimate, ...)")


def read_records(path: Path) -> dict[str, Any]:
    """Read and validate a JSON or CSV file; raises InputError naming file, line, field.

    Returns ``{kind: [model, ...]}`` and, for studies and interactions, ``origins``:
    ``{kind: [origin label or None per record]}``.
    """
    source = str(path)
    suffix = path.suffix.lower()
    if suffix not in (".json", ".csv", ".tsv"):
        raise InputError("unsupported file type", source=source, field="suffix", value=suffix,
                         accepted=".json, .csv, .tsv (reference formats: see 'exomir kb import "
                         "--help')")
    text = read_text(path)
    if suffix == ".json":
        raw = _parse_json(text, source)
    else:
        raw = _parse_csv(text, source, "\t" if suffix == ".tsv" else ",")
    out: dict[str, Any] = {}
    origins: dict[str, list[str | None]] = {}
    for kind, rows in raw.items():
        labels: list[str | None] = []
        clean: list[tuple[int, dict[str, Any]]] = []
        for line, row in rows:
            label = row.pop("origin", None) if kind in WITH_ORIGIN else None
            if label is not None and label not in ORIGINS:
                raise InputError("unknown origin", source=source, line=line, field="origin",
                                 value=label, accepted=ORIGINS)
            labels.append(label)
            clean.append((line, row))
        items = validate_records(KINDS[kind], clean, source)
        key = _KEYS[kind]
        if key:
            seen: dict[str, int] = {}
            for (line, _), item in zip(clean, items, strict=True):
                k = getattr(item, key)
                if k in seen:
                    raise InputError(f"duplicate {key} (first on line {seen[k]})", source=source,
                                     line=line, field=key, value=k, accepted="unique ids")
                seen[k] = line
        out[kind] = items
        if kind in WITH_ORIGIN:
            origins[kind] = labels
    if origins:
        out["origins"] = origins
    return out


def _parse_json(text: str, source: str) -> dict[str, list[tuple[int, dict[str, Any]]]]:
    data = load_json(text, source=source)
    groups: dict[str, list[Any]]
    if isinstance(data, list):
        if not data:
            raise InputError("empty list", source=source, accepted="at least one record")
        first = data[0] if isinstance(data[0], dict) else {}
        groups = {_kind_of(list(first), source, 1): data}
    elif isinstance(data, dict) and set(data) <= set(KINDS) and data:
        groups = data
    else:
        raise InputError("unexpected JSON structure", source=source,
                         accepted="a list of records or an object with keys "
                         + ", ".join(KINDS))
    out: dict[str, list[tuple[int, dict[str, Any]]]] = {}
    for kind, items in groups.items():
        if not isinstance(items, list):
            raise InputError("expected a list", source=source, field=kind,
                             accepted="a JSON list of records")
        if not items:
            raise InputError("empty list", source=source, field=kind,
                             accepted="at least one record")
        rows = []
        for n, item in enumerate(items, start=1):
            if not isinstance(item, dict):
                raise InputError("record is not an object", source=source, line=n, field=kind,
                                 value=item, accepted="JSON objects")
            rows.append((n, item))
        out[kind] = rows
    return out


def _parse_csv(text: str, source: str, delimiter: str
               ) -> dict[str, list[tuple[int, dict[str, Any]]]]:
    table = parse_table(text, source=source, delimiter=delimiter, comment=None,
                        accepted="a header row and one record per row")
    kind = _kind_of(table.header, source, table.header_line)
    nested = _nested_fields(KINDS[kind])
    rows: list[tuple[int, dict[str, Any]]] = []
    for r in table.rows:
        if len(r.cells) != len(table.header):
            raise InputError(f"row has {len(r.cells)} cells, header has {len(table.header)}",
                             source=source, line=r.line, accepted="one cell per column")
        rec: dict[str, Any] = {}
        for col, cell in zip(table.header, r.cells, strict=True):
            if cell == "":
                continue
            rec[col] = _cell(cell, source, r.line, col) if col in nested else cell
        rows.append((r.line, rec))
    return {kind: rows}


def _nested_fields(model: type[BaseModel]) -> set[str]:
    """Fields stored as JSON text in CSV: lists, dicts and sub-models."""
    out = set()
    for name, info in model.model_fields.items():
        text = str(info.annotation)
        if "list" in text or "dict" in text or (
                isinstance(info.annotation, type) and issubclass(info.annotation, BaseModel)):
            out.add(name)
    return out


def _cell(cell: str, source: str, line: int, col: str) -> Any:
    s = cell.strip()
    if s[:1] in "[{":
        try:
            return load_json(s, source=source)
        except InputError as exc:
            raise InputError(f"malformed JSON in cell: {exc.message}", source=source, line=line,
                             field=col, value=s, accepted="JSON for nested fields") from None
    return s


def dump_json(kind: str, items: Sequence[BaseModel],
              origins: dict[str, str] | None = None) -> str:
    """``{kind: [record, ...]}`` as JSON; with ``origins`` (see :func:`origin_of`) each record
    carries its ``origin``."""
    recs = []
    for i in items:
        d = i.model_dump(mode="json", exclude_none=True)
        if origins is not None:
            d["origin"] = origin_of(kind, i, origins)
        recs.append(d)
    return json.dumps({kind: recs}, indent=1, ensure_ascii=False) + "\n"


def origin_of(kind: str, item: BaseModel, origins: dict[str, str]) -> str:
    """The stored origin of ``item`` (``KnowledgeBase.origins(kind)``); ``user`` if unknown."""
    key = getattr(item, "id", None) if kind == "studies" else item.model_dump_json(
        exclude_none=True)
    # stored origins are "curated", "user" or "import:<n>" (an import of *this* database):
    # exported, everything not curated is user data
    return "curated" if origins.get(str(key)) == "curated" else "user"


def iter_csv_rows(kind: str, items: Sequence[BaseModel],
                  origins: dict[str, str] | None = None) -> Iterator[list[str]]:
    fields = list(KINDS[kind].model_fields)
    yield fields + (["origin"] if origins is not None else [])
    for item in items:
        d = item.model_dump(mode="json")
        row = []
        for f in fields:
            v = d.get(f)
            if v is None or v == [] or v == {}:
                row.append("")
            elif isinstance(v, dict | list):
                row.append(json.dumps(v, ensure_ascii=False, separators=(",", ":")))
            else:
                row.append(str(v))
        if origins is not None:
            row.append(origin_of(kind, item, origins))
        yield row


def dump_csv(kind: str, items: Sequence[BaseModel],
             origins: dict[str, str] | None = None) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    for row in iter_csv_rows(kind, items, origins):
        w.writerow(row)
    return buf.getvalue()
