"""Streaming readers for TargetScan's ``miR_Family_Info`` and ``UTR_Sequences`` tables.

Both are tab-separated. Two layouts are accepted for each, detected from the first line:

* genome-wide release files (TargetScan 7/8 downloads) with a header row:
  ``miR family, Seed+m8, Species ID, MiRBase ID, Mature sequence, Family Conservation?,
  MiRBase Accession`` and ``<transcript/Refseq ID>, Gene ID, Gene Symbol, Species ID,
  UTR sequence`` (columns found by name, so extra or reordered columns are fine);
* the headerless inputs of the TargetScan 7 perl sample (``targetscan_70.pl``):
  ``family, seed, species;species;...`` and ``gene, species, aligned UTR``; a headerless
  table with the full 7 or 5 columns is read by position.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from exomir.core.errors import InputError
from exomir.formats._io import ReadStats, check_unique, read_lines
from exomir.formats.records import MirFamily, UtrSequence
from exomir.formats.species import SpeciesLike, taxon_id

_RNA = "ACGUT"
_FAMILY_COLS = {
    "family": "mir family",
    "seed": "seed+m8",
    "species": "species id",
    "mirbase_id": "mirbase id",
    "mature": "mature sequence",
    "conservation": "family conservation?",
    "accession": "mirbase accession",
}
_FAMILY_POSITIONAL = {3: ["family", "seed", "species"], 7: list(_FAMILY_COLS)}
_UTR_POSITIONAL = {3: ["id", "species", "sequence"], 5: ["id", "gene_id", "symbol", "species",
                                                         "sequence"]}


def _int_field(text: str, *, p: Path, n: int, field: str) -> int:
    try:
        return int(text.strip())
    except ValueError:
        raise InputError("not an integer", source=p, line=n, field=field, value=text,
                         accepted="an integer (NCBI taxonomy id / conservation class)") from None


def _taxa(text: str, *, p: Path, n: int) -> tuple[int, ...]:
    parts = [t for t in text.replace(" ", "").split(";") if t]
    if not parts:
        raise InputError("empty species list", source=p, line=n, field="Species ID",
                         value=text, accepted="NCBI taxonomy ids separated by ';'")
    return tuple(_int_field(t, p=p, n=n, field="Species ID") for t in parts)


def _rna(text: str, *, p: Path, n: int, field: str, length: int | None = None,
         extra: str = "") -> str:
    s = text.strip()
    up = s.upper()
    bad = "".join(dict.fromkeys(up.translate(str.maketrans("", "", _RNA + extra))))
    if bad or not s:
        raise InputError(
            f"illegal sequence letter(s) {', '.join(repr(c) for c in bad)}" if bad
            else "empty sequence",
            source=p, line=n, field=field, value=text, accepted=", ".join(_RNA + extra),
        )
    if length is not None and len(s) != length:
        raise InputError(f"must be {length} nucleotides long (got {len(s)})", source=p,
                         line=n, field=field, value=text, accepted=f"{length} nt (A, C, G, U)")
    return s


def _columns(
    path: Path, header_key: str, named: dict[str, str], positional: dict[int, list[str]]
) -> Iterator[tuple[int, dict[str, str]]]:
    """Yield ``(line, {field: text})`` for each data row, checking the column count."""
    fields: list[str] | None = None
    width = 0
    n = 0
    for n, line in read_lines(path):
        if not line.strip() or line.startswith("#"):
            continue
        cells = line.split("\t")
        if fields is None:
            lowered = [c.strip().lower() for c in cells]
            if header_key in lowered:
                index = {v: k for k, v in named.items()}
                fields = [index.get(c, f"_{i}") for i, c in enumerate(lowered)]
                missing = [named[k] for k in ("species", "sequence", "seed", "family")
                           if k in named and k not in fields]
                if missing:
                    raise InputError("header lacks required column(s)", source=path, line=n,
                                     value=", ".join(missing),
                                     accepted=", ".join(named.values()))
                width = len(cells)
                continue
            if len(cells) not in positional:
                raise InputError(
                    f"wrong number of columns ({len(cells)})", source=path, line=n,
                    value=line[:60],
                    accepted=" or ".join(f"{k} tab-separated columns" for k in positional)
                    + " or a header row",
                )
            fields = positional[len(cells)]
            width = len(cells)
        if len(cells) != width:
            raise InputError(f"wrong number of columns ({len(cells)})", source=path, line=n,
                             value=line[:60], accepted=f"{width} tab-separated columns")
        yield n, dict(zip(fields, cells, strict=True))
    if fields is None:
        raise InputError("no data rows", source=path, line=n, accepted="a tab-separated table")


def read_mir_family_info(
    path: str | Path,
    *,
    species: SpeciesLike | None = None,
    stats: ReadStats | None = None,
) -> Iterator[MirFamily]:
    """Yield :class:`MirFamily` rows of TargetScan ``miR_Family_Info`` (txt, .gz or .zip).

    ``species`` (Species, ``'human'``, ``'hsa'`` or a taxon id such as 9606) keeps rows whose
    Species ID (or ``;``-list) includes that taxon. Exact duplicate keys (family + miRBase ID
    + species) are rejected.
    """
    p = Path(path)
    want = taxon_id(species) if species is not None else None
    seen: dict[str, int] = {}
    named = dict(_FAMILY_COLS)
    for n, row in _columns(p, "mir family", named, _FAMILY_POSITIONAL):
        if stats is not None:
            stats.rows += 1
        family = row["family"].strip()
        if not family:
            raise InputError("empty miR family", source=p, line=n, field="miR family",
                             value="", accepted="a family name such as 'miR-21-5p'")
        seed = _rna(row["seed"], p=p, n=n, field="Seed+m8", length=7).upper().replace("T", "U")
        taxa = _taxa(row["species"], p=p, n=n)
        mirbase_id = (row.get("mirbase_id") or "").strip() or None
        mature_text = (row.get("mature") or "").strip()
        mature = (_rna(mature_text, p=p, n=n, field="Mature sequence").upper().replace("T", "U")
                  if mature_text else None)
        cons_text = (row.get("conservation") or "").strip()
        conservation = (_int_field(cons_text, p=p, n=n, field="Family Conservation?")
                        if cons_text else None)
        accession = (row.get("accession") or "").strip() or None
        key = f"{family}|{mirbase_id}|{';'.join(map(str, taxa))}"
        check_unique(seen, key, path=p, line=n, field="miR family/MiRBase ID/Species ID")
        if want is not None and want not in taxa:
            if stats is not None:
                stats.skip(f"species is not {want}")
            continue
        if stats is not None:
            stats.kept += 1
        yield MirFamily(family=family, seed=seed, taxa=taxa, mirbase_id=mirbase_id,
                        mature_sequence=mature, conservation=conservation,
                        accession=accession, line=n)


def read_targetscan_utrs(
    path: str | Path,
    *,
    species: SpeciesLike | None = None,
    stats: ReadStats | None = None,
) -> Iterator[UtrSequence]:
    """Yield :class:`UtrSequence` s from TargetScan ``UTR_Sequences`` (txt, .gz or .zip).

    The alignment row is kept in ``aligned`` (gaps ``-``, case as in the file); ``sequence``
    is the upper-case RNA with gaps removed. Rows whose ungapped sequence is empty (the
    species has no aligned UTR) are skipped and counted in ``stats``. ``species`` keeps one
    taxon. (ID, Species ID) must be unique.
    """
    p = Path(path)
    want = taxon_id(species) if species is not None else None
    seen: dict[str, int] = {}
    named = {"species": "species id", "sequence": "utr sequence", "symbol": "gene symbol",
             "gene_id": "gene id"}
    for n, row in _columns(p, "species id", named, _UTR_POSITIONAL):
        if stats is not None:
            stats.rows += 1
        # The first column is the transcript/Refseq/gene ID whatever the header calls it.
        rid = next(iter(row.values())).strip()
        if not rid:
            raise InputError("empty ID", source=p, line=n, field="ID", value="",
                             accepted="a transcript or gene ID")
        taxon = _int_field(row["species"], p=p, n=n, field="Species ID")
        check_unique(seen, f"{rid}|{taxon}", path=p, line=n, field="ID/Species ID")
        aligned = row["sequence"].strip()
        if aligned:
            _rna(aligned, p=p, n=n, field="UTR sequence", extra="N-")
        if want is not None and taxon != want:
            if stats is not None:
                stats.skip(f"species is not {want}")
            continue
        seq = aligned.replace("-", "").upper().replace("T", "U")
        if not seq:
            if stats is not None:
                stats.skip("no sequence (alignment gaps only)")
            continue
        if stats is not None:
            stats.kept += 1
        symbol = (row.get("symbol") or "").strip() or None
        yield UtrSequence(id=rid, sequence=seq, taxon=taxon, gene_symbol=symbol,
                          aligned=aligned)
