"""Streaming: peak memory while iterating does not grow with the number of records.

Each reader is run (under tracemalloc) on a synthetic file with N and with 4N long records;
the peak must stay about the same (it is set by one record, not by the file) and far below
the file size. Uniqueness checks keep one short ID per record, which is all that may grow.
"""

from __future__ import annotations

import gzip
import random
import tracemalloc
from collections.abc import Callable, Iterator
from pathlib import Path

from exomir.formats import read_gmt, read_targetscan_utrs, read_utr_fasta

N = 25
RECORD_NT = 10_000


def _peak(reader: Callable[[Path], Iterator[object]], path: Path) -> tuple[int, int]:
    tracemalloc.start()
    try:
        count = sum(1 for _ in reader(path))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return count, peak


def _seq(rng: random.Random, n: int) -> str:
    return "".join(rng.choices("ACGT", k=n))


def _utr_fasta(path: Path, n: int) -> int:
    rng = random.Random(1)
    with path.open("w") as fh:
        for i in range(n):
            s = _seq(rng, RECORD_NT)
            fh.write(f">NM_{i} gene{i}\n")
            fh.writelines(s[j:j + 60] + "\n" for j in range(0, len(s), 60))
    return path.stat().st_size


def _ts_table(path: Path, n: int) -> int:
    rng = random.Random(2)
    size = 0
    with gzip.open(path, "wt", compresslevel=1) as fh:
        size += fh.write("Refseq ID\tGene ID\tGene Symbol\tSpecies ID\tUTR sequence\n")
        for i in range(n):
            aligned = _seq(rng, RECORD_NT).replace("T", "U").replace("AC", "A-")
            size += fh.write(f"NM_{i}\tENSG{i}\tG{i}\t9606\t{aligned}\n")
    return size  # uncompressed size


def _gmt(path: Path, n: int) -> int:
    with path.open("w") as fh:
        for i in range(n):
            fh.write(f"SET_{i}\t\t" + "\t".join(f"GENE{i}_{j}" for j in range(1000)) + "\n")
    return path.stat().st_size


CASES: list[tuple[Callable[[Path], Iterator[object]], Callable[[Path, int], int], str]] = [
    (read_utr_fasta, _utr_fasta, "utrs.fa"),
    (read_targetscan_utrs, _ts_table, "UTR_Sequences.txt.gz"),
    (read_gmt, _gmt, "sets.gmt"),
]


def test_peak_memory_does_not_grow_with_file(tmp_path: Path) -> None:
    for reader, make, name in CASES:
        small, big = tmp_path / f"small_{name}", tmp_path / f"big_{name}"
        make(small, N)
        big_size = make(big, 4 * N)
        n_small, peak_small = _peak(reader, small)
        n_big, peak_big = _peak(reader, big)
        assert (n_small, n_big) == (N, 4 * N)
        assert peak_big < 1.5 * peak_small + 64_000, (name, peak_small, peak_big)
        assert peak_big < big_size / 3, (name, peak_big, big_size)
