"""Benchmark: every human mature miRNA (miRBase 22) x a synthetic 30 Mb 3'UTR set.

The synthetic UTR lengths follow a log-normal distribution (median ~1,100 nt, heavy right tail,
clipped to 50-20,000 nt), roughly the shape of human 3'UTR lengths (median ~1.2 kb in
RefSeq/GENCODE, Mayr 2016 doi:10.1146/annurev-genet-120215-035438); bases are drawn
uniformly-at-random with the human 3'UTR AU richness (~60 % A+U). Seeded RNG.

The reference is a naive per-miRNA regular-expression scan (one ``re.finditer`` with a
look-ahead per miRNA seed match over every UTR) of the same input, run on a subset of miRNAs
and extrapolated linearly to all miRNAs (stated in the output).

Usage: ``PYTHONPATH=src python benchmarks/bench_scan.py [--mb 30] [--naive-mirnas 20]``
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import time
from pathlib import Path

import numpy as np

from exomir.cargo.inputs import read_mirnas
from exomir.cargo.sites import scan

SHARED = Path(os.environ.get("EXOMIR_SHARED_DATA",
                             Path(__file__).resolve().parents[1].parent / "shared" / "data"))
COMP = {"A": "U", "C": "G", "G": "C", "U": "A"}


def synthetic_utrs(total_nt: int, seed: int = 7) -> list[tuple[str, str]]:
    rng = np.random.default_rng(seed)
    letters = np.frombuffer(b"ACGU", dtype=np.uint8)
    probs = np.array([0.30, 0.20, 0.20, 0.30])
    out: list[tuple[str, str]] = []
    acc = 0
    while acc < total_nt:
        n = int(np.clip(rng.lognormal(mean=np.log(1100), sigma=0.9), 50, 20_000))
        seq = letters[rng.choice(4, size=n, p=probs)].tobytes().decode()
        out.append((f"UTR{len(out):06d}", seq))
        acc += n
    return out


def naive_scan(mirnas: list[tuple[str, str]], utrs: list[tuple[str, str]]) -> int:
    """Per-miRNA regex: find each nt 2-7 match and classify 8mer/7mer/6mer from flanks."""
    n = 0
    for _, m in mirnas:
        seed = m[1:8]
        m6 = "".join(COMP[b] for b in reversed(seed[:6]))
        pat = re.compile(f"(?=({m6}))")
        for _, u in utrs:
            for hit in pat.finditer(u, 14):
                i = hit.start()
                _ = (i > 14 and u[i - 1] == COMP[seed[6]], i + 6 < len(u) and u[i + 6] == "A")
                n += 1
    return n


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--mb", type=float, default=30.0)
    ap.add_argument("--naive-mirnas", type=int, default=20)
    args = ap.parse_args()
    mirnas = read_mirnas(SHARED / "mirbase" / "mature.fa", 9606)
    t0 = time.perf_counter()
    utrs = synthetic_utrs(int(args.mb * 1e6))
    total = sum(len(u) for _, u in utrs)
    print(f"load1/5/15 before: {os.getloadavg()}  cpus: {os.cpu_count()}")
    print(f"{len(mirnas)} human mature miRNAs x {len(utrs)} synthetic UTRs, {total/1e6:.1f} Mb "
          f"(generated in {time.perf_counter()-t0:.1f} s)")
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t0 = time.perf_counter()
    table = scan(mirnas, utrs)
    t_fast = time.perf_counter() - t0
    rss1 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(f"exomir scan: {len(table):,} sites in {t_fast:.2f} s "
          f"({total/1e6/t_fast:.2f} Mb/s, {len(mirnas)*total/1e9/t_fast:.1f} G miRNA*nt/s); "
          f"peak RSS {rss1/1024:.0f} MiB (before scan {rss0/1024:.0f} MiB)")
    sub = mirnas[: args.naive_mirnas]
    t0 = time.perf_counter()
    naive_scan(sub, utrs)
    t_sub = time.perf_counter() - t0
    t_naive = t_sub * len(mirnas) / len(sub)
    print(f"naive per-miRNA regex: {len(sub)} miRNAs took {t_sub:.2f} s -> extrapolated "
          f"linearly to {len(mirnas)} miRNAs: {t_naive:.0f} s")
    print(f"speed-up vs naive regex: {t_naive / t_fast:.0f}x")
    print(f"target < 30 s: {'met' if t_fast < 30 else 'MISSED'}; "
          f"< 4 GB: {'met' if rss1 < 4 * 1024 * 1024 else 'MISSED'}")
    print(f"load1/5/15 after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
