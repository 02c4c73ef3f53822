"""Property tests: random, mangled and truncated inputs only ever raise InputError.

Whatever bytes a reader is given, it either yields records or raises InputError naming the
file (and the line, except for whole-file problems such as an empty file or a bad archive);
no other exception escapes.
"""

from __future__ import annotations

import gzip
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from exomir.core import InputError
from exomir.formats import (
    read_fasta,
    read_gmt,
    read_mature_fasta,
    read_mir_family_info,
    read_mirtarbase,
    read_targetscan_utrs,
    read_utr_fasta,
)

READERS: dict[str, Callable[[Path], Iterator[object]]] = {
    "fasta": read_fasta,
    "mature": lambda p: read_mature_fasta(p, species="hsa"),
    "utr_fasta": read_utr_fasta,
    "family": lambda p: read_mir_family_info(p, species=9606),
    "utr_table": read_targetscan_utrs,
    "mirtarbase": read_mirtarbase,
    "gmt": read_gmt,
}

VALID = {
    "fasta": ">a desc\nACGU\nAC\n>b\nUUUU\n",
    "mature": ">hsa-miR-21-5p MIMAT0000076 Homo sapiens miR-21-5p\nUAGCUUAUCAGACUGAUGUUGA\n"
              ">mmu-miR-1a-3p MIMAT0000123 Mus musculus miR-1a-3p\nUGGAAUGUAAAGAAGUAUGUAU\n",
    "utr_fasta": ">NM_1 PTEN\nacgtacgtNN\nACGU\n",
    "family": "miR family\tSeed+m8\tSpecies ID\tMiRBase ID\tMature sequence\t"
              "Family Conservation?\tMiRBase Accession\n"
              "miR-21-5p\tAGCUUAU\t9606\thsa-miR-21-5p\tUAGCUUAUCAGACUGAUGUUGA\t2\tMIMAT0000076\n",
    "utr_table": "PTEN\t9606\tACGU--ACGUN\nPTEN\t10090\tAC-GU\n",
    "mirtarbase": "miRNA\tGene\tGene ID\tEnsembl.ID\n1\thsa\u2011miR\u201121\u20115p\tPTEN\t5728"
                  "\tENSG00000171862\n2\tmmu-miR-1\tHand2\t1\tNA\n",
    "gmt": "HALLMARK_X\thttp://x\tA\tB\nKEGG Y hsa04151\t\tAKT1\tPTEN\n",
}

WHOLE_FILE = ("empty", "zip", "no header", "no rows", "workbook", "no FASTA", "no gene sets",
              "no data rows")


def _check(reader: Callable[[Path], Iterator[object]], path: Path) -> None:
    try:
        for _ in reader(path):
            pass
    except InputError as exc:
        assert exc.source == str(path)
        assert str(path) in str(exc)
        if exc.line is None:
            assert any(w in exc.message for w in WHOLE_FILE), exc.message
        else:
            assert f"{path}:{exc.line}" in str(exc)


FORMAT_CHARS = st.sampled_from([*">ACGUTNacgtx-\t\n ;,.|0123456789",
                                "hsa-", "miR", "MIMAT", "\r\n", "\u2011", "\xe9", "\t\t",
                                "miR family\tSeed+m8\tSpecies ID\n",
                                "miRNA\tGene\tGene ID\tEnsembl.ID\n",
                                "Support Type\tmiRTarBase ID\n"])
SETTINGS = settings(max_examples=60, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])


@pytest.mark.parametrize("kind", sorted(READERS))
@SETTINGS
@given(data=st.binary(max_size=200))
def test_random_bytes(tmp_path: Path, kind: str, data: bytes) -> None:
    p = tmp_path / f"{kind}.txt"
    p.write_bytes(data)
    _check(READERS[kind], p)


@pytest.mark.parametrize("kind", sorted(READERS))
@SETTINGS
@given(parts=st.lists(FORMAT_CHARS, max_size=60))
def test_random_format_text(tmp_path: Path, kind: str, parts: list[str]) -> None:
    p = tmp_path / f"{kind}.txt"
    p.write_text("".join(parts), encoding="utf-8")
    _check(READERS[kind], p)


@pytest.mark.parametrize("kind", sorted(READERS))
@SETTINGS
@given(data=st.data())
def test_truncated_and_mutated_valid_files(tmp_path: Path, kind: str,
                                           data: st.DataObject) -> None:
    raw = VALID[kind].encode("utf-8")
    cut = data.draw(st.integers(0, len(raw)), label="cut")
    body = raw[:cut]
    if data.draw(st.booleans(), label="mutate") and body:
        i = data.draw(st.integers(0, len(body) - 1), label="pos")
        b = data.draw(st.integers(0, 255), label="byte")
        body = body[:i] + bytes([b]) + body[i + 1:]
    if data.draw(st.booleans(), label="gzip"):
        packed = gzip.compress(body)
        body = packed[: data.draw(st.integers(0, len(packed)), label="gzcut")]
    p = tmp_path / f"{kind}.dat"
    p.write_bytes(body)
    _check(READERS[kind], p)


@pytest.mark.parametrize("kind", sorted(READERS))
def test_valid_examples_read(tmp_path: Path, kind: str) -> None:
    p = tmp_path / f"{kind}.txt"
    p.write_text(VALID[kind], encoding="utf-8")
    assert list(READERS[kind](p))
