"""Readers for standard reference formats and the ``exomir data`` downloader.

Every reader is a generator: it reads one line at a time and yields typed records, so memory
does not grow with file size beyond the records the caller keeps (uniqueness checks keep only
IDs). Gzip (``.gz``) and single-file zip archives are detected from their content. Bad input
raises :class:`exomir.core.InputError` naming the file, line, field, value and what is accepted.
Pass a :class:`ReadStats` as ``stats=`` to learn how many rows were read, kept and skipped (and
why). See ``docs/formats.md``.
"""

from exomir.formats._io import ReadStats, read_lines
from exomir.formats.fasta import read_fasta, read_mature_fasta, read_utr_fasta
from exomir.formats.gmt import read_gmt
from exomir.formats.mirtarbase import MtiRow, read_mirtarbase, read_mirtarbase_rows
from exomir.formats.records import FastaRecord, MirFamily, UtrSequence
from exomir.formats.targetscan import read_mir_family_info, read_targetscan_utrs

__all__ = [
    "FastaRecord",
    "MirFamily",
    "MtiRow",
    "ReadStats",
    "UtrSequence",
    "read_fasta",
    "read_gmt",
    "read_lines",
    "read_mature_fasta",
    "read_mir_family_info",
    "read_mirtarbase",
    "read_mirtarbase_rows",
    "read_targetscan_utrs",
    "read_utr_fasta",
]
