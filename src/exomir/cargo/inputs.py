"""Thin input readers the scanner needs (to be replaced by ``exomir.formats`` where they overlap).

* miRNAs: miRBase-style FASTA of mature sequences (``>hsa-miR-21-5p MIMAT0000076 ...``) or
  TargetScan ``miR_Family_Info`` (family, seed nt 2-8, species ids separated by ``;``).
* UTRs: plain FASTA (``>GENE``) or TargetScan ``UTR_Sequences`` (gene, species id, aligned
  sequence with gaps).

``species`` is an NCBI taxon id (9606). For FASTA miRNAs it selects names by miRBase prefix
(9606 -> ``hsa-``); a UTR FASTA carries no species and is used as is.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

from exomir.core.errors import InputError

_TAXON_PREFIX = {9606: "hsa", 10090: "mmu", 10116: "rno", 9615: "cfa", 9031: "gga"}
_SEQ_OK = re.compile(r"^[ACGTUNacgtun.\-]*$")


def _lines(path: Path) -> Iterator[tuple[int, str]]:
    if not path.exists():
        raise InputError("file not found", source=path)
    with path.open(encoding="utf-8", errors="replace") as fh:
        for n, line in enumerate(fh, 1):
            yield n, line.rstrip("\r\n")


def _is_fasta(path: Path) -> bool:
    for _, line in _lines(path):
        if line.strip():
            return line.lstrip().startswith(">")
    raise InputError("file is empty", source=path)


def read_fasta(path: Path) -> list[tuple[str, str, int]]:
    """(header, sequence, line of header) records; the header is the text after ``>``."""
    out: list[tuple[str, str, int]] = []
    header: str | None = None
    hline = 0
    chunks: list[str] = []
    for n, line in _lines(path):
        s = line.strip()
        if not s:
            continue
        if s.startswith(">"):
            if header is not None:
                out.append((header, "".join(chunks), hline))
            header, hline, chunks = s[1:].strip(), n, []
            if not header:
                raise InputError("FASTA record without a name", source=path, line=n)
        else:
            if header is None:
                raise InputError("sequence before the first '>' header: not FASTA",
                                 source=path, line=n)
            if not _SEQ_OK.match(s):
                bad = sorted(set(re.sub(r"[ACGTUNacgtun.\-]", "", s)))
                raise InputError("sequence contains non-nucleotide characters", source=path,
                                 line=n, value="".join(bad), accepted="A C G T U N - .")
            chunks.append(s)
    if header is not None:
        out.append((header, "".join(chunks), hline))
    return out


def _taxon(value: str, path: Path, line: int, field: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise InputError("species must be an NCBI taxon id", source=path, line=line,
                         field=field, value=value, accepted="e.g. 9606, 10090") from None


def read_mirnas(path: str | Path, species: int | None = None) -> list[tuple[str, str]]:
    """(name, mature sequence or 7-nt seed) for each miRNA (FASTA) or family (TargetScan)."""
    p = Path(path)
    if _is_fasta(p):
        recs = read_fasta(p)
        out = []
        prefix = _TAXON_PREFIX.get(species) if species is not None else None
        if species is not None and prefix is None:
            raise InputError("no miRBase prefix known for this taxon", field="species",
                             value=species, accepted=[str(t) for t in sorted(_TAXON_PREFIX)])
        for header, seq, _ in recs:
            name = header.split()[0]
            if prefix is not None and not name.lower().startswith(prefix + "-"):
                continue
            out.append((name, seq))
        if not out:
            raise InputError("no miRNAs read" + (f" for species {species}" if species else ""),
                             source=p)
        return out
    out2: list[tuple[str, str]] = []
    seen: set[str] = set()
    for n, line in _lines(p):
        if not line.strip():
            continue
        f = line.split("\t")
        if len(f) < 3:
            raise InputError("miR_Family_Info line needs 3 tab-separated fields (family, "
                             "seed nt 2-8, species ids)", source=p, line=n, value=line)
        fam, seed, sp = f[0].strip(), f[1].strip(), f[2].strip()
        if n == 1 and not re.fullmatch(r"[ACGUTacgut]{7}", seed):
            continue  # header
        if not re.fullmatch(r"[ACGUTacgut]{7}", seed):
            raise InputError("seed must be 7 nt (miRNA nt 2-8)", source=p, line=n,
                             field="seed", value=seed)
        taxa = {_taxon(x, p, n, "species") for x in re.split(r"[;,\s]+", sp) if x}
        if species is not None and species not in taxa:
            continue
        if fam in seen:
            continue
        seen.add(fam)
        out2.append((fam, seed))
    if not out2:
        raise InputError("no miRNA families read" + (f" for species {species}" if species
                                                     else ""), source=p)
    return out2


def read_utrs(path: str | Path, species: int | None = None) -> list[tuple[str, str]]:
    """(target id, sequence with gaps) from UTR FASTA or TargetScan UTR_Sequences."""
    p = Path(path)
    if _is_fasta(p):
        return [(h.split()[0], s) for h, s, _ in read_fasta(p)]
    out: list[tuple[str, str]] = []
    for n, line in _lines(p):
        if not line.strip():
            continue
        f = line.split("\t")
        if len(f) < 3:
            raise InputError("UTR_Sequences line needs 3 tab-separated fields (gene, species "
                             "id, sequence)", source=p, line=n, value=line[:60])
        gene, sp, seq = f[0].strip(), f[1].strip(), f[2].strip()
        if n == 1 and not sp.isdigit():
            continue  # header
        taxon = _taxon(sp, p, n, "species")
        if species is not None and taxon != species:
            continue
        if not _SEQ_OK.match(seq):
            raise InputError("sequence contains non-nucleotide characters", source=p, line=n,
                             field="sequence", accepted="A C G T U N - .")
        out.append((gene, seq))
    if not out:
        raise InputError("no UTRs read" + (f" for species {species}" if species else ""),
                         source=p)
    return out
