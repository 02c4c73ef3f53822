"""CSV input: units, located errors, warnings."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from exomir.core.errors import InputError
from exomir.release.io import ReleaseDataWarning, read_release_csv


def _write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "r.csv"
    p.write_text(text)
    return p


def test_units_and_replicates(tmp_path: Path) -> None:
    p = _write(tmp_path, "# comment\ntime,released,sd,replicate,time_unit,released_unit\n"
               "0,0,0,A,h,%\n12,20,2,A,h,%\n1,0.4,0.02,A,day,fraction\n"
               "2,60,3,A,day,%\n")
    d = read_release_csv(p)
    assert d.t_days.tolist() == [0.0, 0.5, 1.0, 2.0]
    assert np.allclose(d.released, [0.0, 0.2, 0.4, 0.6])
    assert d.sd is not None and np.allclose(d.sd, [0, 0.02, 0.02, 0.03])
    assert d.replicate is not None


def test_minutes_and_weeks(tmp_path: Path) -> None:
    p = _write(tmp_path, "time,released\n0,0\n1440,10\n2880,20\n")
    d = read_release_csv(p, time_unit="min", released_unit="%")
    assert d.t_days == pytest.approx([0.0, 1.0, 2.0])
    d = read_release_csv(_write(tmp_path, "time,released\n1,0.1\n2,0.2\n3,0.3\n"),
                         time_unit="week", released_unit="fraction")
    assert d.t_days == pytest.approx([7.0, 14.0, 21.0])


@pytest.mark.parametrize(("body", "line", "fld", "msg"), [
    ("time,released\n0,0\n-1,10\n", 3, "time", "negative time"),
    ("time,released\n0,0\n1,abc\n", 3, "released", "not a number"),
    ("time,released,sd\n0,0,0\n1,50,1\n2,110,2\n", 4, "released", "beyond measurement noise"),
    ("time,released\n0,0\n\n# note\n1,120\n", 5, "released", "beyond measurement noise"),
    ("time,released,time_unit\n0,0,h\n1,10,parsec\n", 3, "time_unit", "not a unit of time"),
    ("time,released,released_unit\n0,0,%\n1,10,ppm\n", 3, "released_unit", "released_unit"),
    ("time,amount\n0,0\n", 1, "header", "missing column"),
])
def test_errors_are_located(tmp_path: Path, body: str, line: int, fld: str, msg: str) -> None:
    p = _write(tmp_path, body)
    with pytest.raises(InputError) as exc:
        read_release_csv(p, time_unit="h", released_unit="%")
    e = exc.value
    assert msg in str(e)
    assert e.line == line and e.field == fld and e.source == str(p)
    assert e.accepted


def test_above_100_within_noise_is_accepted(tmp_path: Path) -> None:
    d = read_release_csv(_write(tmp_path, "time,released,sd\n0,0,0\n1,50,2\n2,103,2\n"),
                         time_unit="h", released_unit="%")
    assert d.released[-1] == pytest.approx(1.03)


def test_non_monotone_is_warning_not_error(tmp_path: Path) -> None:
    p = _write(tmp_path, "time,released\n0,0\n1,40\n2,30\n3,60\n")
    with pytest.warns(ReleaseDataWarning, match="decreases"):
        d = read_release_csv(p, time_unit="h", released_unit="%")
    assert any("decreases" in n for n in d.notes)


def test_auto_unit_warns(tmp_path: Path) -> None:
    with pytest.warns(ReleaseDataWarning, match="percent"):
        d = read_release_csv(_write(tmp_path, "time,released\n0,0\n1,40\n2,70\n"), time_unit="h")
    assert d.released.max() == pytest.approx(0.7)
