"""Import and export of knowledge-base records (JSON and CSV), lossless and transactional.

JSON: a list of records, or an object ``{"studies": [...], "interactions": [...],
"trials": [...], "mirnas": [...], "syntheses": [...]}``. CSV: one record per row; top-level scalar fields as
columns, nested fields (source, product, cargo, arms, ...) as JSON text in their column, so a
CSV export re-imports without loss. The kind of a bare list or CSV is told by its columns.
Reference formats (miRBase FASTA, miRTarBase, GMT) are read by :mod:`exomir.formats`.
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


def read_records(path: Path) -> dict[str, list[Any]]:
    """Read and validate a JSON or CSV file; raises InputError naming file, line, field."""
    source = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError("file not found", source=source, accepted="an existing file") from None
    except UnicodeDecodeError as exc:
        raise InputError(f"not UTF-8 text ({exc.reason})", source=source,
                         accepted="UTF-8 JSON or CSV") from None
    suffix = path.suffix.lower()
    if suffix == ".json":
        raw = _parse_json(text, source)
    elif suffix in (".csv", ".tsv"):
        raw = _parse_csv(text, source, "\t" if suffix == ".tsv" else ",")
    else:
        raise InputError("unsupported file type", source=source, field="suffix", value=suffix,
                         accepted=".json, .csv, .tsv (reference formats: see 'exomir kb import "
                         "--help')")
    out: dict[str, list[Any]] = {}
    for kind, rows in raw.items():
        items = validate_records(KINDS[kind], rows, source)
        key = _KEYS[kind]
        if key:
            seen: dict[str, int] = {}
            for (line, _), item in zip(rows, items, strict=True):
                k = getattr(item, key)
                if k in seen:
                    raise InputError(f"duplicate {key} (first on line {seen[k]})", source=source,
                                     line=line, field=key, value=k, accepted="unique ids")
                seen[k] = line
        out[kind] = items
    return out


def _parse_json(text: str, source: str) -> dict[str, list[tuple[int, dict[str, Any]]]]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"malformed JSON: {exc.msg}", source=source, line=exc.lineno,
                         accepted="a JSON list of records or an object of lists") from None
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
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    try:
        header = next(reader)
    except StopIteration:
        raise InputError("empty file", source=source, accepted="a header row and records") from None
    except csv.Error as exc:
        raise InputError(f"malformed CSV: {exc}", source=source, line=1) from None
    header = [h.strip() for h in header]
    kind = _kind_of(header, source, 1)
    rows: list[tuple[int, dict[str, Any]]] = []
    try:
        for row in reader:
            line = reader.line_num
            if not any(cell.strip() for cell in row):
                continue
            if len(row) != len(header):
                raise InputError(f"row has {len(row)} cells, header has {len(header)}",
                                 source=source, line=line, accepted="one cell per column")
            rec: dict[str, Any] = {}
            nested = _nested_fields(KINDS[kind])
            for col, cell in zip(header, row, strict=True):
                if cell == "":
                    continue
                rec[col] = _cell(cell, source, line, col) if col in nested else cell
            rows.append((line, rec))
    except csv.Error as exc:
        raise InputError(f"malformed CSV: {exc}", source=source, line=reader.line_num) from None
    if not rows:
        raise InputError("no records", source=source, accepted="at least one data row")
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
            return json.loads(s)
        except json.JSONDecodeError as exc:
            raise InputError(f"malformed JSON in cell: {exc.msg}", source=source, line=line,
                             field=col, value=s, accepted="JSON for nested fields") from None
    return s


def dump_json(kind: str, items: Sequence[BaseModel]) -> str:
    return json.dumps({kind: [i.model_dump(mode="json", exclude_none=True) for i in items]},
                      indent=1, ensure_ascii=False) + "\n"


def iter_csv_rows(kind: str, items: Sequence[BaseModel]) -> Iterator[list[str]]:
    fields = list(KINDS[kind].model_fields)
    yield fields
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
        yield row


def dump_csv(kind: str, items: Sequence[BaseModel]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    for row in iter_csv_rows(kind, items):
        w.writerow(row)
    return buf.getvalue()
