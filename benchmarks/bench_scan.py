"""Benchmark: every human seed family (miRBase 22) x a synthetic 30 Mb 3'UTR set, against
TargetScan 7's own ``targetscan_70.pl`` on a subset of the same input, in one run.

Input. Families: the distinct nt 2-8 seeds of the 2,656 human mature miRNAs (2,094 families,
each named by its first mature miRNA). UTRs: log-normal lengths (median ~1,100 nt, heavy right
tail, clipped to 50-20,000 nt), roughly the shape of human 3'UTR lengths (median ~1.2 kb in
RefSeq/GENCODE, Mayr 2016 doi:10.1146/annurev-genet-120215-035438), bases drawn at random with
the human 3'UTR AU richness (~60 % A+U); seeded RNG.

Anchor. ``targetscan_70.pl`` (``../shared/tools/targetscan7/``, single-threaded perl) runs on
every ``--ts-every``-th family x the first ``--ts-mb`` Mb of the same UTRs, once on half the
families and once on all of the subset (to show its cost is linear); its time on the full subset
is extrapolated **linearly by families x nt** to the whole input (stated in the output).
Exactness: its calls on the subset (gene, family, UTR start, UTR end, site type) are compared
row for row with exomir's calls *from the timed full run* restricted to the same families and
UTRs. Output floor: writing all sites as TSV and as parquet is timed separately, since
targetscan_70.pl's time includes writing its output.

Usage: ``PYTHONPATH=src python benchmarks/bench_scan.py [--mb 30] [--ts-every 50] [--ts-mb 2]``
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np

from exomir.cargo.inputs import read_mirnas
from exomir.cargo.output import write_sites
from exomir.cargo.sites import SITE_TYPES, TARGETSCAN_NAMES, SiteTable, scan

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("EXOMIR_SHARED_DATA", ROOT.parent / "shared" / "data"))
TS_DIR = SHARED.parent / "tools" / "targetscan7"


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


def seed_families(mirnas: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """One (name, nt 2-8 seed) per distinct seed, named by its first mature miRNA."""
    fam: dict[str, str] = {}
    for name, seq in mirnas:
        fam.setdefault(seq[1:8], name)
    return [(name, seed) for seed, name in fam.items()]


def run_targetscan(fams: list[tuple[str, str]], utrs: list[tuple[str, str]], work: Path
                   ) -> tuple[float, list[tuple[str, str, int, int, str]]]:
    """Time ``targetscan_70.pl`` (one species, 9606) and return its calls."""
    fam_f, utr_f, out_f = work / "fam.txt", work / "utr.txt", work / "out.txt"
    fam_f.write_text("".join(f"{n}\t{s}\t9606\n" for n, s in fams))
    utr_f.write_text("".join(f"{g}\t9606\t{s}\n" for g, s in utrs))
    out_f.unlink(missing_ok=True)  # the script asks before overwriting
    t0 = time.perf_counter()
    subprocess.run(["perl", str(TS_DIR / "targetscan_70.pl"), str(fam_f), str(utr_f),
                    str(out_f)], stdout=subprocess.DEVNULL, check=True)
    dt = time.perf_counter() - t0
    calls = []
    with out_f.open() as fh:
        next(fh)
        for line in fh:
            f = line.rstrip("\n").split("\t")
            calls.append((f[0], f[1], int(f[5]), int(f[6]), f[8]))
    return dt, sorted(calls)


def our_calls(table: SiteTable, fam_idx: list[int], n_utrs: int
              ) -> list[tuple[str, str, int, int, str]]:
    """exomir's calls of the full run restricted to some families and the first UTRs."""
    keep = np.isin(table.mirna, fam_idx) & (table.target < n_utrs)
    ts_names = [TARGETSCAN_NAMES.get(t, t) for t in SITE_TYPES]
    return sorted(zip((table.target_names[i] for i in table.target[keep]),
                      (table.mirna_names[i] for i in table.mirna[keep]),
                      table.utr_start[keep].tolist(), table.utr_end[keep].tolist(),
                      (ts_names[i] for i in table.site_type[keep]), strict=True))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--mb", type=float, default=30.0)
    ap.add_argument("--ts-every", type=int, default=50, help="every k-th family for the perl")
    ap.add_argument("--ts-mb", type=float, default=2.0, help="Mb of UTRs for the perl")
    args = ap.parse_args()
    fams = seed_families(read_mirnas(SHARED / "mirbase" / "mature.fa", 9606))
    t0 = time.perf_counter()
    utrs = synthetic_utrs(int(args.mb * 1e6))
    total = sum(len(u) for _, u in utrs)
    print(f"load1/5/15 before: {os.getloadavg()}  cpus: {os.cpu_count()}")
    print(f"{len(fams)} human seed families x {len(utrs)} synthetic UTRs, {total/1e6:.1f} Mb "
          f"(generated in {time.perf_counter()-t0:.1f} s)")

    scan(fams[:2], utrs[:2])  # load the compiled kernel (numba cache) outside the timing
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t0 = time.perf_counter()
    table = scan(fams, utrs)
    t_scan = time.perf_counter() - t0
    rss1 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(f"exomir scan: {len(table):,} sites in {t_scan:.2f} s ({total/1e6/t_scan:.1f} Mb/s, "
          f"{len(fams)*total/1e9/t_scan:.1f} G family*nt/s); peak RSS {rss1/1024:.0f} MiB "
          f"(before scan {rss0/1024:.0f} MiB)")

    work = Path(tempfile.mkdtemp(prefix="bench_scan_"))
    try:
        t_write = {}
        for suffix in (".tsv", ".parquet"):
            path = work / f"sites{suffix}"
            t0 = time.perf_counter()
            write_sites(table, path)
            t_write[suffix] = time.perf_counter() - t0
            print(f"  writing all sites to {suffix}: {t_write[suffix]:.2f} s "
                  f"({path.stat().st_size/1e6:.0f} MB)")
            path.unlink()
        t_total = t_scan + t_write[".tsv"]
        print(f"  scan + TSV: {t_total:.2f} s (writing is {t_write['.tsv']/t_total:.0%})")

        if shutil.which("perl") is None or not (TS_DIR / "targetscan_70.pl").exists():
            print(f"targetscan_70.pl or perl not found ({TS_DIR}): no anchor ratio")
            return
        fam_idx = list(range(0, len(fams), args.ts_every))
        n_utr, acc = 0, 0
        while n_utr < len(utrs) and acc < args.ts_mb * 1e6:
            acc += len(utrs[n_utr][1])
            n_utr += 1
        sub_utrs = utrs[:n_utr]
        rates = []
        for idx in (fam_idx[: max(1, len(fam_idx) // 2)], fam_idx):
            dt, calls = run_targetscan([fams[i] for i in idx], sub_utrs, work)
            rates.append(len(idx) * acc / dt)
            print(f"targetscan_70.pl: {len(idx)} families x {acc/1e6:.2f} Mb ({n_utr} UTRs) in "
                  f"{dt:.2f} s = {rates[-1]/1e6:.2f} M family*nt/s; {len(calls):,} calls")
        ours = our_calls(table, fam_idx, n_utr)
        same = ours == calls
        print(f"calls on that subset: targetscan {len(calls):,}, exomir {len(ours):,}: "
              f"{'identical' if same else 'DIFFERENT'}")
        t_ts = len(fams) * total / rates[-1]
        print(f"targetscan_70.pl extrapolated linearly by families x nt to {len(fams)} families "
              f"x {total/1e6:.1f} Mb: {t_ts:,.0f} s ({t_ts/60:.0f} min); linearity check: "
              f"rate at half the families / full subset = {rates[0]/rates[1]:.2f}")
        print(f"speed-up vs targetscan_70.pl: scan {t_ts/t_scan:,.0f}x; scan + writing TSV "
              f"{t_ts/t_total:,.0f}x")
        print(f"goals: all families x {total/1e6:.0f} Mb < 8 s: "
              f"{'met' if t_scan < 8 else 'MISSED'} (scan), "
              f"{'met' if t_total < 8 else 'MISSED'} (scan + TSV); >= 750x: "
              f"{'met' if t_ts / t_scan >= 750 else 'MISSED'}; calls identical: "
              f"{'met' if same else 'MISSED'}")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"load1/5/15 after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
