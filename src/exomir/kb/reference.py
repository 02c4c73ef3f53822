"""Loading reference files (miRBase, miRTarBase, GMT) into the knowledge base.

The parsing lives in :mod:`exomir.formats`; this module only maps file kinds to readers and
collects the records so that the caller writes them in one transaction.
"""

from __future__ import annotations

from pathlib import Path

from exomir.core import InputError

REFERENCE_KINDS = ("mirbase", "mirtarbase", "gmt")


def is_reference(path: Path) -> bool:
    name = path.name.lower().removesuffix(".gz")
    return name.endswith((".fa", ".fasta", ".gmt")) or "mirtarbase" in name


def read_reference(path: Path, kind: str | None) -> dict[str, list[object]]:
    name = path.name.lower().removesuffix(".gz")
    if kind is None:
        kind = ("gmt" if name.endswith(".gmt") else "mirbase" if name.endswith((".fa", ".fasta"))
                else "mirtarbase")
    if kind not in REFERENCE_KINDS:
        raise InputError("unknown reference format", field="--kind", value=kind,
                         accepted=REFERENCE_KINDS)
    raise InputError("reference-format import needs exomir.formats", source=path,
                     accepted="exomir JSON/CSV records")
