"""Streaming FASTA readers: generic records, miRBase ``mature.fa`` and 3'UTR sequences.

A record is a header line ``>ID description`` followed by one or more sequence lines (wrapped
at any width). Blank lines are ignored; Windows line ends are accepted. Errors (sequence before
the first header, an empty ID, a header without sequence, letters outside the alphabet,
duplicate IDs) raise :class:`~exomir.core.InputError` with file and line.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

from exomir.core.errors import InputError
from exomir.core.models import MatureMirna
from exomir.formats._io import ReadStats, check_unique, read_lines
from exomir.formats.records import FastaRecord, UtrSequence
from exomir.formats.species import SpeciesLike, mirbase_prefix

#: Nucleotide letters accepted in sequences (any case): DNA or RNA plus N for unknown.
NUCLEOTIDES = "ACGTUN"
_MIMAT_RE = re.compile(r"^MIMAT\d+$")
_TO_RNA = str.maketrans("T", "U")


def _bad_letters(seq: str, alphabet: str) -> str:
    """Distinct letters of ``seq`` (already upper-case) not in ``alphabet``, in order seen."""
    bad = seq.translate(str.maketrans("", "", alphabet))
    return "".join(dict.fromkeys(bad))


def read_fasta(
    path: str | Path,
    *,
    alphabet: str = NUCLEOTIDES,
    unique: bool = True,
    stats: ReadStats | None = None,
) -> Iterator[FastaRecord]:
    """Yield :class:`FastaRecord` s from a (possibly gzipped) FASTA file, one at a time.

    ``alphabet``: accepted sequence letters (compared upper-case). ``unique``: reject a
    repeated ID (keeps a set of IDs, never sequences).
    """
    p = Path(path)
    table = str.maketrans("", "", alphabet + " \t")
    seen: dict[str, int] = {}
    head: tuple[str, str, int] | None = None
    chunks: list[str] = []
    n_records = 0

    def finish() -> FastaRecord:
        assert head is not None
        if not chunks:
            raise InputError(
                "header without sequence (truncated record)",
                source=p, line=head[2], field="sequence", value=">" + head[0],
                accepted="one or more sequence lines after each header",
            )
        return FastaRecord(head[0], head[1], "".join(chunks), head[2])

    n = 0
    for n, line in read_lines(p):
        if line.startswith(">"):
            if head is not None:
                n_records += 1
                yield finish()
            parts = line[1:].strip().split(None, 1)
            if not parts:
                raise InputError("header has no ID", source=p, line=n, field="id",
                                 value=line, accepted="'>ID optional description'")
            rid = parts[0]
            if unique:
                check_unique(seen, rid, path=p, line=n, field="id")
            head = (rid, parts[1] if len(parts) > 1 else "", n)
            chunks = []
            if stats is not None:
                stats.rows += 1
            continue
        s = line.strip()
        if not s:
            continue
        if head is None:
            raise InputError(
                "sequence line before the first '>' header (not FASTA)",
                source=p, line=n, value=line, accepted="a FASTA file starting with '>ID'",
            )
        s = s.upper()
        if s.translate(table):
            bad = _bad_letters(s.replace(" ", "").replace("\t", ""), alphabet)
            col = next(i for i, c in enumerate(s) if c in bad) + 1
            raise InputError(
                f"illegal sequence letter(s) {', '.join(repr(c) for c in bad)} "
                f"(column {col}) in record {head[0]!r}",
                source=p, line=n, field="sequence", value=bad,
                accepted=", ".join(alphabet),
            )
        chunks.append(s.replace(" ", "").replace("\t", ""))
    if head is None:
        raise InputError("no FASTA records found", source=p, line=n,
                         accepted="a FASTA file with '>ID' headers")
    yield finish()


def read_mature_fasta(
    path: str | Path,
    *,
    species: SpeciesLike | None = None,
    stats: ReadStats | None = None,
) -> Iterator[MatureMirna]:
    """Yield :class:`MatureMirna` s from miRBase ``mature.fa`` (or ``mature.fa.gz``).

    Header: ``>hsa-miR-21-5p MIMAT0000076 Homo sapiens miR-21-5p``; the name keeps its
    species prefix; the accession is the second word when it looks like ``MIMAT...`` (else
    ``None``); sequences are returned as upper-case RNA (T becomes U). ``species`` keeps only
    names with that miRBase prefix: a :class:`~exomir.core.Species`, ``'human'``, ``'hsa'``,
    ``9606`` or any 3-4 letter prefix such as ``'cel'``. Names and accessions must be unique.
    """
    prefix = mirbase_prefix(species) if species is not None else None
    p = Path(path)
    accessions: dict[str, int] = {}
    for rec in read_fasta(p, alphabet="ACGUTN", unique=True, stats=stats):
        words = rec.description.split()
        accession = words[0] if words and _MIMAT_RE.match(words[0]) else None
        if accession is not None:
            check_unique(accessions, accession, path=p, line=rec.line, field="accession")
        if prefix is not None and rec.id.split("-", 1)[0].lower() != prefix:
            if stats is not None:
                stats.skip(f"species prefix is not {prefix}")
            continue
        if stats is not None:
            stats.kept += 1
        yield MatureMirna(name=rec.id, accession=accession,
                          sequence=rec.sequence.translate(_TO_RNA))


def read_utr_fasta(
    path: str | Path,
    *,
    stats: ReadStats | None = None,
) -> Iterator[UtrSequence]:
    """Yield :class:`UtrSequence` s from a FASTA file of 3'UTRs (DNA or RNA, any case).

    ``id`` is the first word of the header, ``description`` the rest; the sequence is returned
    as upper-case RNA. IDs must be unique.
    """
    for rec in read_fasta(path, alphabet=NUCLEOTIDES, unique=True, stats=stats):
        if stats is not None:
            stats.kept += 1
        yield UtrSequence(id=rec.id, sequence=rec.sequence.translate(_TO_RNA),
                          description=rec.description or None)
