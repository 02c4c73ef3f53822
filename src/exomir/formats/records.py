"""Small frozen records for rows that have no :mod:`exomir.core` model.

Readers yield :class:`exomir.core.MatureMirna`, :class:`exomir.core.MirnaTargetInteraction`
and :class:`exomir.core.GeneSet` where those fit; the records here cover the rest.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class FastaRecord:
    """One FASTA record: ``id`` (first word of the header), the rest of the header, and the
    sequence exactly as letters (wrapped lines joined, upper-cased). ``line`` is the header's
    line number in the file."""

    id: str
    description: str
    sequence: str
    line: int


@dataclass(frozen=True, slots=True)
class UtrSequence:
    """A 3'UTR: ``sequence`` is upper-case RNA without alignment gaps.

    ``taxon`` (NCBI taxonomy id) and ``gene_symbol`` come from TargetScan tables; ``aligned``
    keeps TargetScan's multiz alignment row as in the file (gaps ``-``; lower case marks ORF
    overlap) so that alignment coordinates (MSA start/end) can be reproduced.
    """

    id: str
    sequence: str
    taxon: int | None = None
    gene_symbol: str | None = None
    description: str | None = None
    aligned: str | None = None

    def __len__(self) -> int:
        return len(self.sequence)


@dataclass(frozen=True, slots=True)
class MirFamily:
    """A row of TargetScan ``miR_Family_Info``.

    The genome-wide file has one row per mature miRNA and species (``mirbase_id``,
    ``mature_sequence``, ``conservation`` and ``accession`` set, ``taxa`` one id); the sample
    layout has one row per family with the species as a ``;``-separated list (``taxa``) and
    the other fields ``None``. ``seed`` is Seed+m8: nucleotides 2-8 of the mature miRNA.
    ``conservation``: 2 broadly conserved, 1 conserved, 0 poorly conserved, -1 (TargetScan's
    flag for likely misannotation).
    """

    family: str
    seed: str
    taxa: tuple[int, ...]
    mirbase_id: str | None = None
    mature_sequence: str | None = None
    conservation: int | None = None
    accession: str | None = None
    line: int = 0
