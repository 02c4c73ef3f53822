"""``exomir sensitivity`` and ``exomir simulate --uncertainty`` on the bundled examples."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from exomir.cli import app
from exomir.sensitivity.result import SensitivityResult

from .helpers import PAIN, WOUND

runner = CliRunner()


def test_sensitivity_json_states_distributions_and_drivers(tmp_path: Path) -> None:
    out = tmp_path / "res.json"
    res = runner.invoke(app, ["sensitivity", str(WOUND), "--n", "16", "--format", "json",
                              "--no-second-order",
                              "--out", str(out), "--plot", str(tmp_path / "plots")])
    assert res.exit_code == 0, res.output
    data = json.loads(res.output)
    assert data["method"] == "sobol" and data["n"] == 16
    factors = data["problem"]["factors"]
    assert all(f["distribution"] and f["reason"] and f["origin"] for f in factors)
    assert {f["name"] for f in factors} >= {"ec50_ev", "diabetic_heal_factor", "f_escape"}
    assert "k_abs_ip" in data["screened"]
    outs = {c["name"] for c in data["columns"]}
    assert outs == {"wound_closure_pct_day14", "gain_wound_closure_pct_day14",
                    "peak_knockdown_PTEN", "auc_skin_wound"}
    row = next(r for r in data["indices"] if r["output"] == "wound_closure_pct_day14")
    assert {"S1", "S1_conf", "ST", "ST_conf"} <= set(row)
    assert len(list((tmp_path / "plots").glob("*.svg"))) == 4
    again = SensitivityResult.load(out)  # saved and reloaded without rerunning
    assert again.top("wound_closure_pct_day14", 3)["label"].tolist() == \
        [r["label"] for r in sorted((r for r in data["indices"]
                                     if r["output"] == "wound_closure_pct_day14"),
                                    key=lambda r: -r["ST"])[:3]]


def test_sensitivity_table_for_the_pain_example_by_group() -> None:
    res = runner.invoke(app, ["sensitivity", str(PAIN), "--method", "morris", "--n", "4",
                              "--by-group", "--outputs", "outcome,gain"],
                        env={"COLUMNS": "200"})
    assert res.exit_code == 0, res.output
    assert "paw withdrawal threshold at day 21" in res.output
    assert "mu* ± 95 % CI" in res.output and "vesicle bioactivity" in res.output
    assert "note:" in res.output and "flagged assumptions" in res.output


def test_bad_inputs_exit_2_with_one_line() -> None:
    small = ["--param", "ec50_ev,f_escape", "--outputs", "outcome"]
    for args, needle in [(["--method", "fast99"], "--method"),
                         (["--n", "100"], "power of 2"),
                         (["--outputs", "survival"], "--outputs"),
                         (["--group", "astrology"], "--group"),
                         (["--scheduler", "nowhere"], "--scheduler"),
                         # found by fuzzing: a negative seed was an internal error, a huge n
                         # would have allocated the whole design before failing
                         ([*small, "--seed", "-1"], "--seed"),
                         ([*small, "--n", "134217728"], "more than one analysis may plan"),
                         ([*small, "--day", "1e300"], "--day")]:
        res = runner.invoke(app, ["sensitivity", str(WOUND), *args])
        assert res.exit_code == 2, (args, res.output)
        assert needle in res.output, (args, res.output)


def test_day_minus_zero_is_day_zero() -> None:
    """Found by fuzzing: --day -0.0 named its column 'day-0' and then looked for 'day0'."""
    res = runner.invoke(app, ["sensitivity", str(WOUND), "--param", "ec50_ev,f_escape",
                              "--outputs", "outcome", "--n", "4", "--no-second-order",
                              "--no-convergence", "--no-screen", "--day", "-0.0", "--format",
                              "json"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.output)
    assert data["columns"][0]["name"] == "wound_closure_pct_day0"
    assert all(r["constant"] for r in data["indices"])  # nothing has happened at day 0


def test_simulate_uncertainty_refuses_a_design_too_large() -> None:
    res = runner.invoke(app, ["simulate", str(WOUND), "--subjects", "2", "--uncertainty",
                              "100000000"])
    assert res.exit_code == 2 and "too many subjects" in res.output


def test_simulate_uncertainty_shows_both_bands() -> None:
    res = runner.invoke(app, ["simulate", str(WOUND), "--subjects", "10", "--uncertainty", "8",
                              "--uncertainty-subjects", "4", "--format", "json"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.output)
    unc = data["uncertainty"]
    band = unc["bands"][0]
    assert band["output"] == "wound_closure_pct_day14"
    assert {"var_p05", "var_p95", "unc_p05", "unc_p95", "comb_p05", "comb_p95"} <= set(band)
    assert "5th / 95th percentile of parameter uncertainty" in unc["statement"]
    res = runner.invoke(app, ["simulate", str(PAIN), "--subjects", "10", "--uncertainty", "8",
                              "--uncertainty-subjects", "4"], env={"COLUMNS": "200"})
    assert res.exit_code == 0, res.output
    assert "parameter uncertainty" in res.output and "variability" in res.output


def test_calibration_file_turns_a_fitted_value_into_a_factor(tmp_path: Path) -> None:
    cal = tmp_path / "cal.yaml"
    cal.write_text("parameters:\n"
                   "  - {name: emax_ev, value: 0.8, scale: log, se: 0.1}\n"
                   "  - {name: ec50_ev, value: 10, scale: lin, ci: [5, 15]}\n")
    res = runner.invoke(app, ["sensitivity", str(WOUND),
                              "--param", "emax_ev,ec50_ev,diabetic_heal_factor",
                              "--n", "8", "--no-second-order", "--outputs", "outcome",
                              "--calibration", str(cal), "--format", "json"])
    assert res.exit_code == 0, res.output
    factors = {f["name"]: f for f in json.loads(res.output)["problem"]["factors"]}
    assert factors["emax_ev"]["dist"] == "lognormal"  # sourced, no range: fixed without it
    assert factors["emax_ev"]["origin"].startswith("calibration CI")
    assert factors["ec50_ev"]["dist"] == "normal"  # the calibration replaces the range
    assert factors["diabetic_heal_factor"]["origin"] == "assumption range"
    bad = tmp_path / "bad.yaml"
    bad.write_text("parameters:\n  - {name: emax_ev, value: 0.1, scale: ln}\n")
    res = runner.invoke(app, ["sensitivity", str(WOUND), "--calibration", str(bad)])
    assert res.exit_code == 2 and "parameters[0].scale" in res.output
