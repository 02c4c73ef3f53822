"""Benchmark: context++ scores for every human seed family x a synthetic 30 Mb 3'UTR set, and
TargetScan 7's own ``targetscan_70_context_scores.pl`` on a subset of the same input, in one run.

Input: the families and UTRs of ``bench_scan.py`` (2,094 distinct human seeds, each scored with
its first mature miRNA; 30 Mb log-normal UTRs, 60 % A+U, seed 7).

exomir: ``exomir.cargo.pipeline.scan_and_score`` (chunks of 2 Mb, threads = CPUs) with scores;
the same without scores; scores written to parquet and TSV. Scoring throughput = sites /
(time with scores - time without). CPU time is printed too: on a shared machine the wall time
follows the load.

Anchor: ``targetscan_70_context_scores.pl`` on every ``--ts-every``-th family x the first UTRs
(sites from ``targetscan_70.pl`` on the same subset; PCT "NA", no RNAplfold so SA 0 in both,
each UTR given as one isoform with AIR 100 % and an ORF of 1,500 nt, no ORF 8mers). It runs
twice (the second time on about twice the sites) and its marginal cost per site (the
difference of the two runs over the difference of sites) is extrapolated **linearly by sites**
to all sites (said so in the output). Exactness: exomir's scores in TargetScan-compatible mode
(``targetscan_compat=True``) on the subset are compared per site and contribution.
Site accessibility (ViennaRNA) is timed on 60 kb and extrapolated to the 30 Mb by length.

Usage: ``PYTHONPATH=src:benchmarks python benchmarks/bench_context.py [--mb 30] [--ts-every 50]``
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from bench_scan import SHARED, TS_DIR, seed_families, synthetic_utrs

from exomir.cargo.accessibility import unpaired_many
from exomir.cargo.context import FEATURE_COLUMNS, score_table
from exomir.cargo.inputs import read_mirnas
from exomir.cargo.output import SiteWriter
from exomir.cargo.pipeline import scan_and_score
from exomir.cargo.sites import scan

TS_CONTRIB = ["Site type contribution", "3' pairing contribution", "local AU contribution",
              "Min_dist contribution", "sRNA1A contribution", "sRNA1C contribution",
              "sRNA1G contribution", "sRNA8A contribution", "sRNA8C contribution",
              "sRNA8G contribution", "site8A contribution", "site8C contribution",
              "site8G contribution", "3'UTR length contribution", "SA contribution",
              "ORF length contribution", "ORF 8mer contribution", "Offset 6mer contribution",
              "TA contribution", "SPS contribution", "PCT contribution"]


def timed(fn) -> tuple[float, float, object]:  # type: ignore[no-untyped-def]
    t0, c0 = time.perf_counter(), time.process_time()
    out = fn()
    return time.perf_counter() - t0, time.process_time() - c0, out


def run_ts_context(mirs: list[tuple[str, str]], utrs: list[tuple[str, str]], work: Path
                   ) -> tuple[float, pd.DataFrame]:
    """targetscan_70.pl then targetscan_70_context_scores.pl on one subset (context timed)."""
    work.mkdir(parents=True, exist_ok=True)
    for f in ("targetscan_70_context_scores.pl",):
        shutil.copy(TS_DIR / f, work / f)
    for f in ("TA_SPS_by_seed_region.txt", "Agarwal_2015_parameters.txt"):
        shutil.copy(SHARED / "targetscan_sample" / f, work / f)
    (work / "fam.txt").write_text("".join(f"{n}\t{s[1:8]}\t9606\n" for n, s in mirs))
    (work / "utr.txt").write_text("".join(f"{g}\t9606\t{s}\n" for g, s in utrs))
    (work / "mir.txt").write_text("".join(f"{n}\t9606\t{n}\t{s}\n" for n, s in mirs))
    (work / "orf_len.txt").write_text("".join(f"{g}\t9606\t1500\n" for g, _ in utrs))
    (work / "orf8.txt").write_text("")
    (work / "air.txt").write_text("".join(f"{g}\t1\t{len(s)}\t100\n" for g, s in utrs))
    subprocess.run(["perl", str(TS_DIR / "targetscan_70.pl"), "fam.txt", "utr.txt",
                    "sites.txt"], cwd=work, stdout=subprocess.DEVNULL, check=True)
    lines = (work / "sites.txt").read_text().splitlines()
    rows = ["\t".join([*line.split("\t")[:11], "0", "NA", ""]) for line in lines[1:]]
    (work / "sites_bl_pct.txt").write_text(lines[0] + "\n" + "\n".join(rows) + "\n")
    t0 = time.perf_counter()
    subprocess.run(["perl", "targetscan_70_context_scores.pl", "mir.txt", "utr.txt",
                    "sites_bl_pct.txt", "orf_len.txt", "orf8.txt", "air.txt", "cs.txt"],
                   cwd=work, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    dt = time.perf_counter() - t0
    return dt, pd.read_csv(work / "cs.txt", sep="\t")


def compare_subset(mirs: list[tuple[str, str]], utrs: list[tuple[str, str]],
                   ref: pd.DataFrame) -> tuple[int, int, float]:
    """exomir (TargetScan-compatible mode) vs the perl's contributions and totals."""
    table = scan(mirs, utrs)
    sc = score_table(table, utrs, mature=dict(mirs), orf_lengths={g: 1500 for g, _ in utrs},
                     airs={g: [(1, len(s), 100.0)] for g, s in utrs}, targetscan_compat=True)
    ours = sc.to_frame(table)
    m = ours.merge(ref, left_on=["target", "mirna", "utr_start"],
                   right_on=["Gene ID", "Mirbase ID", "UTR start"], how="inner")
    worst = 0.0
    for o, r in zip([*FEATURE_COLUMNS, "context_score"], [*TS_CONTRIB, "context++ score"],
                    strict=True):
        worst = max(worst, float((m[o] - pd.to_numeric(m[r])).abs().max()))
    return len(ours), len(m), worst


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--mb", type=float, default=30.0)
    ap.add_argument("--ts-every", type=int, default=50, help="every k-th family for the perl")
    ap.add_argument("--ts-kb", type=float, default=1000.0, help="kb of UTRs for the perl")
    args = ap.parse_args()
    mature = dict(read_mirnas(SHARED / "mirbase" / "mature.fa", 9606))
    fams = seed_families(list(mature.items()))
    mirs = [(n, mature[n]) for n, _ in fams]
    utrs = synthetic_utrs(int(args.mb * 1e6))
    total = sum(len(u) for _, u in utrs)
    print(f"load1/5/15 before: {os.getloadavg()}  cpus: {os.cpu_count()}")
    print(f"{len(mirs)} human seed families (first mature miRNA each) x {len(utrs)} UTRs, "
          f"{total/1e6:.1f} Mb")
    for _ in scan_and_score(mirs, utrs[:4]):  # compile / load cached kernels
        pass

    w0, c0, n0 = timed(lambda: sum(len(t) for t, _ in scan_and_score(mirs, utrs,
                                                                      scores=False)))
    w1, c1, n1 = timed(lambda: sum(len(t) for t, _ in scan_and_score(mirs, utrs)))
    print(f"exomir scan only (chunked): {n0:,} sites in {w0:.1f} s wall ({c0:.1f} s CPU)")
    print(f"exomir scan + context++ scores: {n1:,} sites in {w1:.1f} s wall ({c1:.1f} s CPU); "
          f"scoring {n1 / max(w1 - w0, 1e-9):,.0f} sites/s wall, "
          f"{n1 / max(c1 - c0, 1e-9):,.0f} sites/s per CPU-second "
          f"(before issue 18: about 25,000 sites/s)")
    work = Path(tempfile.mkdtemp(prefix="bench_context_"))
    try:
        for suffix in (".parquet", ".tsv"):
            path = work / f"scores{suffix}"

            def write(path: Path = path) -> int:
                with SiteWriter(path) as w:
                    for t, sc in scan_and_score(mirs, utrs):
                        w.write(t, sc.columns if sc else None)
                return w.rows

            w2, c2, _ = timed(write)
            print(f"  scan + scores + writing {suffix}: {w2:.1f} s wall ({c2:.1f} s CPU), "
                  f"{path.stat().st_size/1e6:.0f} MB")
            path.unlink()
        print(f"goal all families x {total/1e6:.0f} Mb with scores < 60 s: "
              f"{'met' if w1 < 60 else 'MISSED'} (wall); >= 500,000 sites/s: "
              f"{'met' if n1 / max(w1 - w0, 1e-9) >= 5e5 else 'MISSED'} (wall)")

        sa_seqs = [u for _, u in utrs[:60]]
        sa_nt = sum(len(s) for s in sa_seqs)
        t_sa, _, _ = timed(lambda: unpaired_many(sa_seqs))
        print(f"site accessibility (ViennaRNA RNAplfold W 80 L 40): {sa_nt/1e3:.0f} kb in "
              f"{t_sa:.1f} s ({sa_nt/t_sa/1e3:.1f} kb/s, all CPUs) -> {total/(sa_nt/t_sa)/60:.0f}"
              f" min for {total/1e6:.0f} Mb (extrapolated by length; optional, --sa)")

        if shutil.which("perl") is None or not (TS_DIR / "targetscan_70.pl").exists():
            print("perl or targetscan7 tools missing: no anchor ratio")
            return
        sub_m = mirs[::args.ts_every]
        runs = []
        for k, kb in enumerate((args.ts_kb / 2, args.ts_kb)):
            n_u, acc = 0, 0
            while acc < kb * 1e3:
                acc += len(utrs[n_u][1])
                n_u += 1
            sub_u = utrs[:n_u]
            dt, ref = run_ts_context(sub_m, sub_u, work / f"ts{k}")
            runs.append((len(ref), dt))
            ours_n, matched, worst = compare_subset(sub_m, sub_u, ref)
            print(f"targetscan_70_context_scores.pl: {len(sub_m)} families x {acc/1e3:.0f} kb "
                  f"({n_u} UTRs): {len(ref):,} sites in {dt:.1f} s ({len(ref)/dt:,.0f} "
                  f"sites/s); exomir (TargetScan-compatible mode) {ours_n:,} sites, "
                  f"{matched:,} matched, max |diff| over all contributions and totals "
                  f"{worst:.4f}")
        (s_a, t_a), (s_b, t_b) = runs
        per_site = (t_b - t_a) / max(s_b - s_a, 1)
        t_ts = per_site * n1
        print(f"targetscan_70_context_scores.pl extrapolated linearly by sites (marginal "
              f"{per_site*1e3:.2f} ms/site) to {n1:,} sites: {t_ts:,.0f} s ({t_ts/3600:.1f} h)")
        print(f"speed-up vs targetscan_70_context_scores.pl (scan + scores, no SA): "
              f"{t_ts / w1:,.0f}x wall")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"load1/5/15 after: {os.getloadavg()}")


if __name__ == "__main__":
    np.seterr(all="ignore")
    main()
