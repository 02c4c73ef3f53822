"""The scanner against TargetScan 7's own ``targetscan_70.pl`` run here on random input, and
the genome-scale writer against pandas."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from tests.conftest import require_reference

from exomir.cargo.output import write_sites
from exomir.cargo.sites import SITE_TYPES, TARGETSCAN_NAMES, scan


@pytest.fixture(scope="module")
def targetscan_70(shared_data: Path) -> Path:
    script = shared_data.parent / "tools" / "targetscan7" / "targetscan_70.pl"
    require_reference(script.exists() and shutil.which("perl") is not None,
                      f"perl and {script}")
    return script


def _random_input(seed: int) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    rng = np.random.default_rng(seed)
    seeds = {"".join(rng.choice(list("ACGU"), 7)) for _ in range(40)}
    fams = [(f"fam{i}", s) for i, s in enumerate(sorted(seeds))]
    # AU-rich so that 8mers, 7mers and 6mers all occur; some N and lower case
    utrs = []
    for i in range(60):
        n = int(rng.integers(10, 900))
        u = "".join(rng.choice(list("ACGUN"), n, p=[0.32, 0.18, 0.18, 0.31, 0.01]))
        if i % 7 == 0:
            u = u[: n // 2] + u[n // 2:].lower()
        utrs.append((f"G{i:03d}", u))
    return fams, utrs


@pytest.mark.reference
@pytest.mark.parametrize("seed", [1, 2])
def test_calls_identical_to_targetscan_70_pl(targetscan_70: Path, tmp_path: Path,
                                             seed: int) -> None:
    fams, utrs = _random_input(seed)
    (tmp_path / "fam.txt").write_text("".join(f"{n}\t{s}\t9606\n" for n, s in fams))
    (tmp_path / "utr.txt").write_text("".join(f"{g}\t9606\t{s}\n" for g, s in utrs))
    subprocess.run(["perl", str(targetscan_70), "fam.txt", "utr.txt", "out.txt"],
                   cwd=tmp_path, stdout=subprocess.DEVNULL, check=True)
    ref = pd.read_csv(tmp_path / "out.txt", sep="\t")
    expected = sorted(zip(ref.a_Gene_ID, ref.miRNA_family_ID, ref.UTR_start, ref.UTR_end,
                          ref.Site_type, strict=True))
    got = scan(fams, utrs).to_frame()
    ours = sorted(zip(got.target, got.mirna, got.utr_start.astype(int), got.utr_end.astype(int),
                      got.site_type.map(TARGETSCAN_NAMES), strict=True))
    assert len(expected) > 150
    assert set(ref.Site_type) == {"8mer-1a", "7mer-m8", "7mer-1a", "6mer"}
    assert ours == expected


def test_writer_round_trips_tsv_and_parquet(tmp_path: Path) -> None:
    fams, utrs = _random_input(3)
    table = scan(fams, [(g, u.upper()) for g, u in utrs],
                 site_types=[*SITE_TYPES])
    frame = table.to_frame()
    score = np.linspace(-1, 0, len(frame))
    score[::5] = np.nan
    for suffix in (".tsv", ".parquet"):
        path = tmp_path / f"s{suffix}"
        write_sites(table, path, extra={"score": score})
        back = pd.read_csv(path, sep="\t") if suffix == ".tsv" else pd.read_parquet(path)
        for col in frame.columns:
            assert back[col].astype(frame[col].dtype).tolist() == frame[col].tolist(), col
        assert np.allclose(back.score.to_numpy(float), np.round(score, 4), equal_nan=True)
