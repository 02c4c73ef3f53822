"""Scanner inputs, read through :mod:`exomir.formats` (the package's streaming readers).

* miRNAs: miRBase-style FASTA of mature sequences (``>hsa-miR-21-5p MIMAT0000076 ...``) or
  TargetScan ``miR_Family_Info`` (family, seed nt 2-8, species ids).
* UTRs: plain FASTA (``>GENE``) or TargetScan ``UTR_Sequences`` (gene, species id, aligned
  sequence with gaps; gaps are removed by the reader).

``species`` is an NCBI taxon id (9606). For FASTA miRNAs it selects names by miRBase prefix;
a UTR FASTA carries no species and is used as is.
"""

from __future__ import annotations

from pathlib import Path

from exomir.core.errors import InputError
from exomir.formats import (
    read_lines,
    read_mature_fasta,
    read_mir_family_info,
    read_targetscan_utrs,
    read_utr_fasta,
)


def is_fasta(path: Path) -> bool:
    """Whether the first non-blank line is a FASTA header (read through the input layer:
    BOM, encoding, directories, binary data and empty files are handled there)."""
    for _, line in read_lines(path):
        if line.strip():
            return line.lstrip().startswith(">")
    raise InputError("file is empty (blank lines only)", source=path,
                     accepted="FASTA or a TargetScan table")


def read_mirnas(path: str | Path, species: int | None = None) -> list[tuple[str, str]]:
    """(name, mature sequence or 7-nt seed) for each miRNA (FASTA) or family (TargetScan)."""
    p = Path(path)
    if is_fasta(p):
        out = [(m.name, m.sequence) for m in read_mature_fasta(p, species=species)]
    else:
        seen: dict[str, str] = {}
        for fam in read_mir_family_info(p, species=species):
            seen.setdefault(fam.family, fam.seed)
        out = list(seen.items())
    if not out:
        raise InputError("no miRNAs read" + (f" for species {species}" if species else ""),
                         source=p)
    return out


def read_utrs(path: str | Path, species: int | None = None) -> list[tuple[str, str]]:
    """(target id, gap-free sequence) from UTR FASTA or TargetScan UTR_Sequences."""
    p = Path(path)
    if is_fasta(p):
        return [(u.id, u.sequence) for u in read_utr_fasta(p)]
    utrs = list(read_targetscan_utrs(p, species=species))
    taxa = sorted({u.taxon for u in utrs if u.taxon is not None})
    if species is None and len(taxa) > 1:
        raise InputError(f"the UTR table holds {len(taxa)} species; sites are located on one "
                         "species' sequence per target", source=p, field="--species",
                         accepted="--species with one of " + ", ".join(map(str, taxa[:12]))
                         + (", ..." if len(taxa) > 12 else ""),
                         hint="add --species 9606 for human")
    out = [(u.id, u.sequence) for u in utrs]
    if not out:
        raise InputError("no UTRs read" + (f" for species {species}" if species else ""),
                         source=p)
    return out
