"""Bad calibration input: one line naming file, row, column, value; exit code 2."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from exomir.calibrate.petab_io import read_petab, write_petab
from exomir.calibrate.problem import load_problem
from exomir.cli import app
from exomir.core import InputError

from .helpers import copy_user_problem

DATA = Path(__file__).parent / "data"
runner = CliRunner()



def _edit_csv(tmp: Path, line: int, old: str, new: str) -> None:
    p = tmp / "wound_user.csv"
    lines = p.read_text().splitlines()
    assert old in lines[line - 1]
    lines[line - 1] = lines[line - 1].replace(old, new, 1)
    p.write_text("\n".join(lines) + "\n")


# (csv line, old text, new text, expected field, expected value fragment)
CSV_CASES = [
    (4, "untreated,7,closure", "untreated,7,closure_x", "observable", "closure_x"),
    (5, "untreated,14,", "untreated,40,", "time", "40"),
    (6, ",4,5,%", ",-4,5,%", "sd", "-4"),
    (7, ",5,5,%", ",5,5,furlong_per_fortnight", "unit", "furlong_per_fortnight"),
    (8, ",5,5,%", ",5,5,g", "unit", "'g'"),
    (9, "ev_high,3", "ev_top,3", "arm", "ev_top"),
    (10, "closure,57,", "closure,fifty,", "mean", "fifty"),
]


@pytest.mark.parametrize(("line", "old", "new", "field", "value"), CSV_CASES,
                         ids=[c[3] + str(c[0]) for c in CSV_CASES])
def test_bad_csv_row_names_file_line_field_value(tmp_path: Path, line: int, old: str,
                                                 new: str, field: str, value: str) -> None:
    y = copy_user_problem(tmp_path)
    _edit_csv(tmp_path, line, old, new)
    with pytest.raises(InputError) as ei:
        load_problem(y)
    msg = str(ei.value)
    assert f"wound_user.csv:{line}:" in msg, msg
    assert f"field '{field}'" in msg and value in msg, msg
    res = runner.invoke(app, ["calibrate", str(y), "--starts", "1"])
    assert res.exit_code == 2
    out = res.output.strip().splitlines()
    assert len(out) == 1 and out[0].startswith("error:") and f"wound_user.csv:{line}" in out[0]


@pytest.mark.parametrize(("old", "new", "field"), [
    ("{id: k_contraction,", "{id: k_contraction_typo,", "parameters[0].id"),
    ("kind: wound_closure_pct", "kind: wound_area", "observables[0].kind"),
    ("lower: 0.05, upper: 5", "lower: 5, upper: 0.05", "parameters[0].lower"),
    ("noise: normal", "noise: poisson", "observables[0].noise"),
    ("route: topical", "route: teleport", "delivery.route"),
])
def test_bad_problem_yaml(tmp_path: Path, old: str, new: str, field: str) -> None:
    y = copy_user_problem(tmp_path)
    y.write_text(y.read_text().replace(old, new, 1))
    with pytest.raises(InputError) as ei:
        load_problem(y)
    assert ei.value.field is not None and field in ei.value.field, str(ei.value)
    assert "wound_user.yaml" in str(ei.value)


def test_missing_data_file(tmp_path: Path) -> None:
    y = copy_user_problem(tmp_path)
    (tmp_path / "wound_user.csv").unlink()
    with pytest.raises(InputError, match="file not found"):
        load_problem(y)


def test_missing_sd_without_sigma(tmp_path: Path) -> None:
    y = copy_user_problem(tmp_path)
    _edit_csv(tmp_path, 3, ",4,5,%", ",,5,%")
    with pytest.raises(InputError) as ei:
        load_problem(y)
    assert "wound_user.csv:3" in str(ei.value) and ei.value.field == "sd"


def test_petab_table_that_petab_rejects(tmp_path: Path) -> None:
    p = load_problem(copy_user_problem(tmp_path))
    y = write_petab(p, tmp_path / "petab")
    meas = tmp_path / "petab" / "measurements.tsv"
    df = pd.read_csv(meas, sep="\t")
    df.loc[0, "observableId"] = "no_such_observable"
    df.to_csv(meas, sep="\t", index=False)
    with pytest.raises(InputError) as ei:
        read_petab(y)
    assert "problem.yaml" in str(ei.value) and "petab rejects" in str(ei.value)
    res = runner.invoke(app, ["calibrate", str(y)])
    assert res.exit_code == 2 and "petab rejects" in res.output
