"""``exomir calibrate`` end to end: a user's wound-closure arms fitted in one command, what the
data identify, the calibrated file used by ``exomir simulate``; PEtab round trip; built-ins."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from exomir.calibrate.objective import NegLogLikelihood
from exomir.calibrate.petab_io import lint, read_petab
from exomir.calibrate.problem import load_problem
from exomir.cli import app
from exomir.core.calibrated import load_calibrated

from .helpers import copy_user_problem

DATA = Path(__file__).parent / "data"
runner = CliRunner()



def test_user_wound_arms_fit_identify_and_simulate(tmp_path: Path) -> None:
    y = copy_user_problem(tmp_path)
    out = tmp_path / "out"
    res = runner.invoke(app, ["calibrate", str(y), "--starts", "4", "--profile", "--out",
                              str(out), "--format", "json"])
    assert res.exit_code == 0, res.output
    summary = json.loads(res.output)["problems"][0]
    verdicts = {p["parameter"]: p["identifiability"] for p in summary["parameters"]}
    assert verdicts["k_contraction"] == "identifiable" and verdicts["emax_ev"] == "identifiable"
    assert verdicts["k_effect"] != "identifiable"  # three dose arms do not pin its timescale
    cal = load_calibrated(out / "calibrated.json")
    assert [p.name for p in cal.uncertain()] == ["k_effect"]
    assert cal.get("k_effect").value == 0.15  # kept at the stated value
    files = cal.problem.model_extra["data_files"]  # type: ignore[index]
    assert files[0]["file"].endswith("wound_user.csv") and len(files[0]["sha256"]) == 64
    html = (out / "report.html").read_text()
    assert "not identified" in html and "Profile likelihoods" in html
    assert lint(out / "petab" / "problem.yaml") == []
    spec = tmp_path / "spec.yaml"
    spec.write_text("name: design\nindication: diabetic_wound\ndelivery: {route: topical}\n"
                    "regimen: {dose: {value: 3e9, unit: particles}, times_days: [0, 3]}\n"
                    "subject: {species: mouse, disease_model: db/db diabetic}\ndays: 14\n")
    sim = runner.invoke(app, ["simulate", str(spec), "--subjects", "30", "--format", "json",
                              "--params", str(out / "calibrated.json")])
    assert sim.exit_code == 0, sim.output
    rows = {r["metric"]: r for r in json.loads(sim.output)["summary"]}
    assert rows["wound_closure_pct_day12"]["p95"] > rows["wound_closure_pct_day12"]["p05"]


def test_to_petab_round_trip(tmp_path: Path) -> None:
    y = copy_user_problem(tmp_path)
    res = runner.invoke(app, ["calibrate", str(y), "--to-petab", str(tmp_path / "pe")])
    assert res.exit_code == 0, res.output
    py = tmp_path / "pe" / "problem.yaml"
    a, b = load_problem(y), read_petab(py)
    assert NegLogLikelihood(a).nll(a.x_nominal()) == pytest.approx(
        NegLogLikelihood(b).nll(b.x_nominal()), rel=1e-12)
    res = runner.invoke(app, ["calibrate", str(py), "--starts", "2", "--out",
                              str(tmp_path / "o")])
    assert res.exit_code == 0, res.output


def test_builtin_pk_reproduces_its_defaults(tmp_path: Path) -> None:
    res = runner.invoke(app, ["calibrate", "--builtin", "pk_iv_mouse", "--starts", "5",
                              "--check", "--format", "json", "--out", str(tmp_path)])
    assert res.exit_code == 0, res.output
    rows = json.loads(res.output)["defaults"]
    assert len(rows) == 5 and all(r["reproduced"] for r in rows)


def test_unknown_builtin_exit_2() -> None:
    res = runner.invoke(app, ["calibrate", "--builtin", "nope"])
    assert res.exit_code == 2 and "pk_iv_mouse" in res.output
