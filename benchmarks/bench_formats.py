"""Throughput of the exomir.formats readers on the real reference files.

Run: ``PYTHONPATH=src python benchmarks/bench_formats.py [SHARED_DATA_DIR]``. For each file it
prints records/s of the exomir reader and of a floor on the same input in the same run: a
bare line loop that only splits the text (FASTA/GMT) or pandas.read_csv (tables), so the ratio
shows what validation and typed records cost.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterable
from pathlib import Path

import pandas as pd

from exomir.formats import (
    read_gmt,
    read_mature_fasta,
    read_mir_family_info,
    read_mirtarbase,
    read_targetscan_utrs,
)


def _time(fn: Callable[[], Iterable[object]], repeat: int = 3) -> tuple[int, float]:
    best = float("inf")
    n = 0
    for _ in range(repeat):
        t = time.perf_counter()
        n = sum(1 for _ in fn())
        best = min(best, time.perf_counter() - t)
    return n, best


def _fasta_floor(path: Path) -> Iterable[str]:
    with path.open() as fh:
        return [line for line in fh if line.startswith(">")]


def _gmt_floor(path: Path) -> Iterable[list[str]]:
    with path.open() as fh:
        return [line.rstrip("\n").split("\t") for line in fh]


def _csv_floor(path: Path, header: bool) -> Iterable[object]:
    df = pd.read_csv(path, sep="\t", header=0 if header else None, dtype=str)
    return range(len(df))


def main() -> None:
    root = Path(sys.argv[1] if len(sys.argv) > 1 else "../shared/data")
    ts = root / "targetscan_sample" / "input"
    cases: list[tuple[str, Callable[[], Iterable[object]], Callable[[], Iterable[object]]]] = [
        ("mirbase/mature.fa (all species)",
         lambda: read_mature_fasta(root / "mirbase" / "mature.fa"),
         lambda: _fasta_floor(root / "mirbase" / "mature.fa")),
        ("mirtarbase v10 strong pairs",
         lambda: read_mirtarbase(root / "mirtarbase" / "mirtarbase_v10_strong_pairs.tsv",
                                 species=None),
         lambda: _csv_floor(root / "mirtarbase" / "mirtarbase_v10_strong_pairs.tsv", True)),
        ("TargetScan UTR_Sequences sample",
         lambda: read_targetscan_utrs(ts / "UTR_Sequences_sample.txt"),
         lambda: _csv_floor(ts / "UTR_Sequences_sample.txt", False)),
        ("TargetScan miR_Family_info sample",
         lambda: read_mir_family_info(ts / "miR_Family_info_sample.txt"),
         lambda: _csv_floor(ts / "miR_Family_info_sample.txt", False)),
        ("GO Biological Process 2021 GMT",
         lambda: read_gmt(root / "genesets" / "enrichr_GO_Biological_Process_2021.gmt"),
         lambda: _gmt_floor(root / "genesets" / "enrichr_GO_Biological_Process_2021.gmt")),
    ]
    print(f"{'file':38} {'records':>8} {'exomir rec/s':>13} {'floor rec/s':>12} {'ratio':>6}")
    for label, ours, floor in cases:
        n, t = _time(ours)
        nf, tf = _time(floor)
        print(f"{label:38} {n:8d} {n / t:13,.0f} {nf / tf:12,.0f} {t / tf:6.1f}x")


if __name__ == "__main__":
    main()
