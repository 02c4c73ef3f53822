"""Memory and time limits (issue 17), in a child process with an address-space limit: the
inputs that took gigabytes or minutes before are refused (or handled) within the limit.

Before the input layer: a 600-byte YAML billion-laughs file took 35 s and 3.1 GB in quality
misev (> 3 GB in simulate, design, quality release); /dev/zero grew without limit in every
reader; ``release simulate --days 1e300 --step 1e-9`` tried to allocate 104 GiB;
``quality compare --n-tracks 1e8`` used over 6 GB.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
from pathlib import Path

import pytest

from tests.fuzz.commands import EQ, ER
from tests.fuzz.harness import BILLION_LAUGHS, EXAMPLES, REPO

#: Address-space limit of the child (MiB): the package with numpy, scipy, pandas, numba and
#: pint loaded needs about 1.3 GiB of address space; every case must stay under this.
MEM_MB = 2560
CASE_SECONDS = 30


def _cases(tmp: Path) -> list[list[str]]:
    laughs = tmp / "laughs.yaml"
    laughs.write_text(BILLION_LAUGHS)
    laughs_json = tmp / "laughs.json"
    laughs_json.write_text("[" * 200_000 + "]" * 200_000)
    return [
        ["quality", "misev", str(laughs)],
        ["quality", "release", str(laughs), str(EQ / "batch_A_record_synthetic.yaml")],
        ["simulate", str(laughs)],
        ["design", str(laughs), "--out", str(tmp / "out")],
        ["kb", "import", str(laughs_json)],
        ["kb", "import", "/dev/zero"],
        ["evidence", "meta", "--data", "/dev/zero"],
        ["evidence", "import-sheet", "/dev/zero"],
        ["release", "fit", "--data", "/dev/zero"],
        ["quality", "nta", "/dev/zero"],
        ["cargo", "enrich", "--gmt", "/dev/zero", "--genes", "/dev/zero"],
        ["cargo", "rank", "--indication", "diabetic_wound", "--mirtarbase", "/dev/zero"],
        ["cargo", "scan", "--mirna", "/dev/zero", "--utr", "/dev/zero"],
        ["simulate", "/dev/zero"],
        ["release", "simulate", "--preset", "ha_hydrogel", "--days", "1e300", "--step", "1e-9"],
        ["release", "simulate", "--preset", "ha_hydrogel", "--days", "36525", "--step", "1e-9"],
        ["quality", "compare", str(EQ / "batch_A_nanosight.csv"),
         str(EQ / "batch_B_zetaview.csv"), "--n-tracks", "100000000", "--format", "json"],
        ["release", "compare", str(ER / "gelma_synthetic.csv"), str(ER / "chitosan_synthetic.csv"),
         "--bootstrap", "100000000"],
    ]


def _simulator_cases(tmp: Path) -> list[list[str]]:
    """The simulator's inputs that took gigabytes or minutes (issue 17; guarded by the body
    engineer): days 1e6, a dose of 1e300, 10,000 dose times, --days 1e300."""
    base = (EXAMPLES / "neuropathic_pain_intrathecal.yaml").read_text()
    out = []
    for name, old, new in (
            ("days", "days: 28", "days: 1.0e6"),
            ("dose", "value: 1.0e10", "value: 1.0e300"),
            ("times", "times_days: [1, 8, 15]",
             "times_days: [" + ", ".join(f"{i * 0.0028:.4f}" for i in range(10_000)) + "]")):
        assert old in base, old
        p = tmp / f"sim_{name}.yaml"
        p.write_text(base.replace(old, new))
        out.append(["simulate", str(p), "--subjects", "2", "--format", "json"])
    out.append(["simulate", str(EXAMPLES / "neuropathic_pain_intrathecal.yaml"), "--subjects",
                "2", "--days", "1e300"])
    return out


def _run_cases(cases: list[list[str]]) -> None:
    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (MEM_MB * 2**20, MEM_MB * 2**20))

    env = dict(os.environ, NUMBA_NUM_THREADS="1", OMP_NUM_THREADS="1",
               OPENBLAS_NUM_THREADS="1")
    p = subprocess.run([sys.executable, "-m", "tests.fuzz.limits_driver"], cwd=REPO,
                       input=json.dumps(cases).encode(), capture_output=True, env=env,
                       preexec_fn=limit, timeout=CASE_SECONDS * len(cases), check=False)
    results = [json.loads(ln) for ln in p.stdout.decode().splitlines() if ln.startswith("{")]
    assert len(results) == len(cases), p.stderr.decode()[-3000:]
    bad = []
    for r in results:
        lines = [ln for ln in r["stderr"].splitlines() if ln.strip()]
        ok = (not r["memory_error"] and r["exit_code"] in (0, 2)
              and r["seconds"] < CASE_SECONDS and "internal error" not in r["stderr"]
              and (r["exit_code"] == 0 or (lines and lines[0].startswith("error: ")
                                           and len(lines) <= 2)))
        if not ok:
            bad.append((r["argv"], r["exit_code"], round(r["seconds"], 1), r["memory_error"],
                        r["stderr"][-300:]))
    assert not bad, bad
    assert max(r["max_rss_mb"] for r in results) < MEM_MB


@pytest.mark.skipif(sys.platform != "linux", reason="RLIMIT_AS semantics are Linux's")
def test_inputs_that_blew_memory_are_bounded(tmp_path: Path) -> None:
    _run_cases(_cases(tmp_path))


@pytest.mark.skipif(sys.platform != "linux", reason="RLIMIT_AS semantics are Linux's")
def test_simulator_inputs_are_bounded(tmp_path: Path) -> None:
    _run_cases(_simulator_cases(tmp_path))
