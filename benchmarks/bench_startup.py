"""Benchmark: start-up and first-run times of the ``exomir`` command, as a new user meets them.

Each command runs as its own process (the installed ``exomir`` script), wall time and CPU time
(user + system of the child) per run, best of ``--runs`` for the light commands:

* ``exomir --help``, ``exomir kb query --indication neuropathic_pain --mirna miR-146a``,
  ``exomir dose hed --dose 10 --unit mg/kg --from mouse`` (goal < 0.4 s);
  each next to its anchor, a bare ``python -c`` importing only the libraries the command
  is built on (``ANCHORS``), with the ratio;
* ``exomir demo`` on a "fresh machine": empty kernel caches (``EXOMIR_CACHE_DIR``,
  ``NUMBA_CACHE_DIR``), a new knowledge base (``EXOMIR_DB``) and an empty matplotlib cache
  (``MPLCONFIGDIR``), all in a new temporary folder (goal < 15 s); then the same again with
  the caches filled (goal < 5 s), best of ``--demo-runs``.

The machine is shared: the load average is printed before and after, and CPU time (which load
hardly changes) next to wall time.

The cached demo is the best of ``--demo-runs`` (CPU time includes the forked child that runs
the global sensitivity beside the later sections).

Usage: ``python benchmarks/bench_startup.py [--runs 5] [--demo-runs 3] [--no-demo]``
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

LIGHT = [
    ["--help"],
    ["kb", "query", "--indication", "neuropathic_pain", "--mirna", "miR-146a"],
    ["dose", "hed", "--dose", "10", "--unit", "mg/kg", "--from", "mouse"],
]

#: The anchor of each light command: a bare ``python -c`` that only imports the libraries the
#: command is built on (the CLI's typer and rich; typer 0.29 coerces every option through a
#: pydantic TypeAdapter; SQLAlchemy for the knowledge base; pint, and the numpy it imports,
#: for units; dask hidden from pint as exomir.core.units hides it). The ratio command/anchor
#: is what exomir adds on top of them.
ANCHORS = {
    "--help": "import typer, rich.console",
    "kb": "import typer, rich.console, pydantic, sqlalchemy",
    "dose": "import sys; sys.modules['dask'] = None; import typer, rich.console, pydantic, pint",
}


def timed(cmd: list[str], env: dict[str, str]) -> tuple[float, float]:
    """(wall s, CPU s) of one child process running ``cmd`` (output discarded)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                   check=True)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def run(args: list[str], env: dict[str, str]) -> tuple[float, float]:
    """(wall s, CPU s) of one ``exomir`` process."""
    return timed([shutil.which("exomir") or "exomir", *args], env)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--demo-runs", type=int, default=3, help="cached demo runs (best of)")
    ap.add_argument("--no-demo", action="store_true")
    a = ap.parse_args()
    print(f"load1/5/15 before: {os.getloadavg()}  cpus: {os.cpu_count()}")
    work = Path(tempfile.mkdtemp(prefix="bench_startup_"))
    try:
        env = {**os.environ, "EXOMIR_DB": str(work / "kb_light.sqlite")}
        run(LIGHT[1], env)  # create and seed this knowledge base once, outside the timing
        for args in LIGHT:
            times = [run(args, env) for _ in range(a.runs)]
            wall = min(w for w, _ in times)
            cpu = min(c for _, c in times)
            anchor = min(timed([sys.executable, "-c", ANCHORS[args[0]]], env)[0] for _ in range(a.runs))
            print(f"exomir {' '.join(args):62s} best of {a.runs}: {wall:.3f} s wall, "
                  f"{cpu:.3f} s CPU; goal < 0.4 s: {'met' if wall < 0.4 else 'MISSED'}")
            print(f"    anchor: python -c {ANCHORS[args[0]]!r}: {anchor:.3f} s wall; "
                  f"exomir adds {wall - anchor:+.3f} s ({wall / anchor:.2f}x the anchor)")
        if a.no_demo:
            return
        fresh = {**os.environ, "EXOMIR_CACHE_DIR": str(work / "cache"),
                 "NUMBA_CACHE_DIR": str(work / "numba"), "MPLCONFIGDIR": str(work / "mpl"),
                 "EXOMIR_DB": str(work / "kb_demo.sqlite")}
        wall, cpu = run(["demo", "--out", str(work / "out1")], fresh)
        print(f"exomir demo, fresh machine (empty caches, new KB): {wall:.1f} s wall, "
              f"{cpu:.1f} s CPU; goal < 15 s: {'met' if wall < 15 else 'MISSED'}")
        cached = [run(["demo", "--out", str(work / f"out{2 + i}")], fresh)
                  for i in range(a.demo_runs)]
        wall = min(w for w, _ in cached)
        cpu = min(c for _, c in cached)
        print(f"exomir demo, cached: best of {a.demo_runs}: {wall:.1f} s wall, {cpu:.1f} s CPU "
              f"(all: {', '.join(f'{w:.1f}' for w, _ in cached)} s); goal < 5 s: "
              f"{'met' if wall < 5 else 'MISSED'}")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"load1/5/15 after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
