"""Loading reference files (miRBase, miRTarBase, GMT) into the knowledge base.

The parsing lives in :mod:`exomir.formats` (streaming readers); this module maps a file to its
reader and collects the records so that the caller writes them in one transaction. miRTarBase
tables repeat some (miRNA, gene) pairs with different Entrez ids: the knowledge base's natural
key (miRNA, gene, source) keeps one.
"""

from __future__ import annotations

from pathlib import Path

from exomir.core import InputError
from exomir.formats import ReadStats, read_gmt, read_mature_fasta, read_mirtarbase

REFERENCE_KINDS = ("mirbase", "mirtarbase", "gmt")


def is_reference(path: Path) -> bool:
    name = path.name.lower().removesuffix(".gz")
    return name.endswith((".fa", ".fasta", ".gmt", ".xlsx")) or "mirtarbase" in name


def read_reference(path: Path, kind: str | None, *, species: str | None = None
                   ) -> dict[str, list[object]]:
    """Records of one reference file, keyed by the knowledge base's record kinds.

    miRBase FASTA keeps human, mouse and rat entries unless ``species`` is given; miRTarBase
    keeps human interactions; a GMT file becomes a collection named after the file.
    """
    name = path.name.lower().removesuffix(".gz")
    if kind is None:
        kind = ("gmt" if name.endswith(".gmt") else
                "mirbase" if name.endswith((".fa", ".fasta")) else "mirtarbase")
    if kind not in REFERENCE_KINDS:
        raise InputError("unknown reference format", field="--kind", value=kind,
                         accepted=REFERENCE_KINDS)
    if kind == "mirbase":
        keep = ("hsa-", "mmu-", "rno-")
        mirnas = [m for m in read_mature_fasta(path, species=species)
                  if species is not None or m.name.startswith(keep)]
        if not mirnas:
            raise InputError("no human, mouse or rat mature miRNA in the file", source=path,
                             accepted="miRBase mature FASTA (hsa-/mmu-/rno- names)")
        return {"mirnas": list({m.name: m for m in mirnas}.values())}
    if kind == "mirtarbase":
        seen: dict[tuple[str, str, str], object] = {}
        stats = ReadStats()
        for i in read_mirtarbase(path, stats=stats):
            seen[(i.mirna, i.gene.upper(), i.source.key or "")] = i
        if not seen:
            skipped = "; ".join(f"{n} {why}" for why, n in stats.skipped.items())
            raise InputError("no interactions to import" + (
                f" ({stats.rows} rows read: {skipped})" if stats.rows else " (header only)"),
                source=path, accepted="a miRTarBase table with at least one human "
                "miRNA-target row")
        return {"interactions": list(seen.values())}
    sets = list(read_gmt(path))
    return {"gene_sets_by_collection": {path.name: sets}}  # type: ignore[dict-item]
