"""Streaming reader for miRTarBase miRNA-target interaction (MTI) tables.

Two layouts are detected from the header row:

* **release layout** (``miRTarBase_MTI.xlsx`` / ``hsa_MTI.xlsx``, or that sheet saved as
  TSV/CSV): ``miRTarBase ID, miRNA, Species (miRNA), Target Gene, Target Gene (Entrez ID),
  Species (Target Gene), Experiments, Support Type, References (PMID)``. Evidence comes from
  *Support Type*: ``Functional MTI`` is strong, ``Functional MTI (Weak)`` weak; the
  ``Non-Functional MTI`` rows (tested and found not to act) are skipped. Species come from the
  two species columns.
* **strong-pairs layout** (the redistributed ``mirtarbase_v9/v10_strong_pairs.tsv``): an R
  ``write.table`` export with header ``miRNA, Gene, Gene ID, Ensembl.ID`` and a row index as
  an extra first column on every data row. Every row is strong evidence. It has no species
  columns, so species are inferred: the miRNA must carry the species' miRBase prefix (Unicode
  dashes and capitalisation are normalised: ``Hsa‑miR‑21‑5p`` -> ``hsa-miR-21-5p``; names
  without a prefix such as ``miR-1`` are skipped because their species is unstated) and, for
  human, the gene must be an HGNC-style upper-case symbol (``Pten``, ``trim71``, ``lin-41``
  are mouse/rat/fish/worm genes; ``C3orf18`` is human).
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from exomir.core.enums import EvidenceLevel, Species
from exomir.core.errors import InputError
from exomir.core.models import MirnaTargetInteraction, Source
from exomir.formats._io import ReadStats, check_unique, read_lines
from exomir.formats.species import LATIN, SpeciesLike, resolve_species
from exomir.formats.xlsx import is_xlsx, xlsx_rows

#: miRTarBase 2022 (release 9) paper; cite it for every interaction read from miRTarBase.
MIRTARBASE_DOI = "10.1093/nar/gkab1079"

SUPPORT_TYPES: dict[str, EvidenceLevel | None] = {
    "functional mti": EvidenceLevel.STRONG,
    "functional mti (weak)": EvidenceLevel.WEAK,
    "non-functional mti": None,
    "non-functional mti (weak)": None,
}
_RELEASE_COLS = {
    "mirtarbase id": "id",
    "mirna": "mirna",
    "species (mirna)": "mirna_species",
    "target gene": "gene",
    "target gene (entrez id)": "entrez",
    "target gene (entrez gene id)": "entrez",
    "species (target gene)": "gene_species",
    "experiments": "experiments",
    "support type": "support",
    "references (pmid)": "pmid",
}
_REQUIRED_RELEASE = ["mirna", "gene", "mirna_species", "gene_species", "support"]
_STRONG_PAIRS_METHOD = "strong experimental evidence (reporter assay, western blot or qPCR)"
_DASHES = str.maketrans({c: "-" for c in "\u2010\u2011\u2012\u2013\u2014\u2015\u2212"})
_NOT_PREFIX = {"mir", "let", "lin", "mirna", "microrna"}
_CODE_RE = re.compile(r"^[A-Za-z]{3,4}$")


@dataclass(frozen=True, slots=True)
class MtiRow:
    """One row of a miRTarBase table with every column kept (for importers that need IDs)."""

    mirna: str
    gene: str
    evidence: EvidenceLevel
    entrez_id: int | None
    line: int
    mirtarbase_id: str | None = None
    ensembl_id: str | None = None
    experiments: str | None = None
    pmid: str | None = None
    row_index: int | None = None

    def interaction(self, citation: str) -> MirnaTargetInteraction:
        """The :class:`MirnaTargetInteraction` for this row."""
        cite = f"{citation} {self.mirtarbase_id}" if self.mirtarbase_id else citation
        return MirnaTargetInteraction(
            mirna=self.mirna, gene=self.gene, evidence=self.evidence,
            method=self.experiments or _STRONG_PAIRS_METHOD,
            source=Source(pmid=self.pmid, doi=None if self.pmid else MIRTARBASE_DOI,
                          citation=cite),
        )


def normalise_mirna(name: str) -> tuple[str | None, str]:
    """``(species code or None, name)`` with Unicode dashes replaced and the code lower-cased."""
    text = name.strip().translate(_DASHES)
    head, sep, rest = text.partition("-")
    if sep and _CODE_RE.match(head) and head.lower() not in _NOT_PREFIX:
        return head.lower(), f"{head.lower()}-{rest}"
    return None, text


def is_hgnc_style(symbol: str) -> bool:
    """True for human (HGNC) style symbols: upper case, digits, '-', '.', except 'orf'."""
    s = symbol.replace("orf", "")
    return bool(s) and s == s.upper() and not any(c.isspace() for c in s)


def _entrez(text: str, *, p: Path, n: int) -> int | None:
    t = text.strip()
    if not t or t.upper() == "NA":
        return None
    try:
        return int(float(t)) if t.endswith(".0") else int(t)
    except (ValueError, OverflowError):
        raise InputError("Entrez gene ID is not an integer", source=p, line=n,
                         field="Gene ID", value=text, accepted="an integer or NA") from None


def _table_rows(p: Path) -> Iterator[tuple[int, list[str]]]:
    """Rows of a TSV, CSV or .xlsx file, as ``(line, cells)``, skipping blank lines."""
    if is_xlsx(p):
        for n, cells in xlsx_rows(p):
            if any(c.strip() for c in cells):
                yield n, cells
        return
    lines = read_lines(p)
    first: tuple[int, str] | None = None
    for n, line in lines:
        if line.strip():
            first = (n, line)
            break
    if first is None:
        raise InputError("no header row", source=p, accepted="a miRTarBase MTI table")
    if "\t" in first[1] or "," not in first[1]:
        yield first[0], first[1].split("\t")
        for n, line in lines:
            if line.strip():
                yield n, line.split("\t")
        return
    current = [first[0]]

    def text_lines() -> Iterator[str]:
        yield first[1]
        for n, line in lines:
            current[0] = n
            yield line

    try:
        for cells in csv.reader(text_lines()):
            if any(c.strip() for c in cells):
                yield current[0], cells
    except csv.Error as exc:
        raise InputError(f"malformed CSV ({exc})", source=p, line=current[0]) from None


def read_mirtarbase_rows(
    path: str | Path,
    *,
    species: SpeciesLike | None = Species.HUMAN,
    stats: ReadStats | None = None,
) -> Iterator[MtiRow]:
    """Yield :class:`MtiRow` s of a miRTarBase table (TSV/CSV/.xlsx, optionally .gz).

    ``species`` (default human; ``None`` keeps every row) keeps interactions where both the
    miRNA and the target belong to that species; the reasons for skipped rows are counted in
    ``stats.skipped``. Unsupported support types, wrong column counts, non-integer Entrez IDs
    and duplicate row indexes (strong-pairs layout) raise :class:`InputError`.
    """
    p = Path(path)
    sp = resolve_species(species) if species is not None else None
    rows = _table_rows(p)
    try:
        hn, header = next(rows)
    except StopIteration:
        raise InputError("file has no rows", source=p) from None
    lowered = [h.strip().lower() for h in header]
    if "mirtarbase id" in lowered or "support type" in lowered:
        yield from _release_rows(p, hn, lowered, rows, sp, stats)
    elif lowered[-4:] == ["mirna", "gene", "gene id", "ensembl.id"] and len(lowered) in (4, 5):
        yield from _pairs_rows(p, rows, sp, stats)
    else:
        raise InputError(
            "unrecognised miRTarBase header", source=p, line=hn, value="\t".join(header),
            accepted="release layout (miRTarBase ID, miRNA, Species (miRNA), Target Gene, ..., "
            "Support Type, References (PMID)) or strong-pairs layout (miRNA, Gene, Gene ID, "
            "Ensembl.ID)",
        )


def _release_rows(
    p: Path, hn: int, lowered: list[str], rows: Iterator[tuple[int, list[str]]],
    sp: Species | None, stats: ReadStats | None,
) -> Iterator[MtiRow]:
    index = {_RELEASE_COLS[h]: i for i, h in enumerate(lowered) if h in _RELEASE_COLS}
    missing = [k for k in _REQUIRED_RELEASE if k not in index]
    if missing:
        raise InputError("header lacks required column(s)", source=p, line=hn,
                         value=", ".join(missing), accepted=", ".join(_RELEASE_COLS))
    width = len(lowered)
    latin_name = LATIN[sp] if sp is not None else ""
    latin = latin_name.lower() if sp is not None else None
    for n, cells in rows:
        if len(cells) < width:
            cells = cells + [""] * (width - len(cells))
        if len(cells) != width and any(c.strip() for c in cells[width:]):
            raise InputError(f"wrong number of columns ({len(cells)})", source=p, line=n,
                             accepted=f"{width} columns as in the header")
        if stats is not None:
            stats.rows += 1

        def get(key: str, cells: list[str] = cells) -> str:
            i = index.get(key)
            return cells[i].strip() if i is not None else ""

        support = get("support")
        if support.lower() not in SUPPORT_TYPES:
            raise InputError("unknown support type", source=p, line=n, field="Support Type",
                             value=support, accepted=["Functional MTI", "Functional MTI (Weak)",
                                                      "Non-Functional MTI",
                                                      "Non-Functional MTI (Weak)"])
        evidence = SUPPORT_TYPES[support.lower()]
        mirna, gene = get("mirna").translate(_DASHES), get("gene")
        if not mirna or not gene:
            raise InputError("empty miRNA or target gene", source=p, line=n,
                             field="miRNA" if not mirna else "Target Gene", value="")
        entrez = _entrez(get("entrez"), p=p, n=n)
        if latin is not None and get("mirna_species").lower() != latin:
            if stats is not None:
                stats.skip(f"miRNA species is not {latin_name}")
            continue
        if latin is not None and get("gene_species").lower() != latin:
            if stats is not None:
                stats.skip(f"target species is not {latin_name}")
            continue
        if evidence is None:
            if stats is not None:
                stats.skip("non-functional MTI")
            continue
        if stats is not None:
            stats.kept += 1
        yield MtiRow(mirna=mirna, gene=gene, evidence=evidence, entrez_id=entrez, line=n,
                     mirtarbase_id=get("id") or None, experiments=get("experiments") or None,
                     pmid=get("pmid") or None)


def _pairs_rows(
    p: Path, rows: Iterator[tuple[int, list[str]]], sp: Species | None,
    stats: ReadStats | None,
) -> Iterator[MtiRow]:
    seen: dict[str, int] = {}
    for n, cells in rows:
        if len(cells) != 5:
            raise InputError(f"wrong number of columns ({len(cells)})", source=p, line=n,
                             value="\t".join(cells)[:60],
                             accepted="5: row index, miRNA, Gene, Gene ID, Ensembl.ID")
        if stats is not None:
            stats.rows += 1
        idx_text, mirna_text, gene, entrez_text, ensembl = (c.strip() for c in cells)
        try:
            row_index = int(idx_text)
        except ValueError:
            raise InputError("row index is not an integer", source=p, line=n,
                             field="row index", value=idx_text, accepted="an integer") from None
        check_unique(seen, idx_text, path=p, line=n, field="row index")
        if not mirna_text or not gene:
            raise InputError("empty miRNA or gene", source=p, line=n,
                             field="miRNA" if not mirna_text else "Gene", value="")
        entrez = _entrez(entrez_text, p=p, n=n)
        code, mirna = normalise_mirna(mirna_text)
        if sp is not None:
            if code is None:
                if stats is not None:
                    stats.skip("miRNA name without species prefix")
                continue
            if code != sp.mirbase_prefix:
                if stats is not None:
                    stats.skip(f"miRNA species prefix is not {sp.mirbase_prefix}")
                continue
            if sp is Species.HUMAN and not is_hgnc_style(gene):
                if stats is not None:
                    stats.skip("target gene symbol is not human (HGNC style)")
                continue
        if stats is not None:
            stats.kept += 1
        yield MtiRow(mirna=mirna, gene=gene, evidence=EvidenceLevel.STRONG, entrez_id=entrez,
                     line=n, ensembl_id=None if ensembl.upper() in ("", "NA") else ensembl,
                     row_index=row_index)


def read_mirtarbase(
    path: str | Path,
    *,
    species: SpeciesLike | None = Species.HUMAN,
    citation: str | None = None,
    stats: ReadStats | None = None,
) -> Iterator[MirnaTargetInteraction]:
    """Yield :class:`MirnaTargetInteraction` s from a miRTarBase table (see module doc).

    ``citation`` labels the source (default ``'miRTarBase (<file name>)'``); rows with a PMID
    cite it, the others cite the miRTarBase paper (doi:10.1093/nar/gkab1079).
    """
    cite = citation or f"miRTarBase ({Path(path).name})"
    for row in read_mirtarbase_rows(path, species=species, stats=stats):
        yield row.interaction(cite)
