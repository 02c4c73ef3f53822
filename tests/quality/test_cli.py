"""CLI: the commands a user runs, through the root app."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner, Result

from exomir.cli import app
from exomir.core.errors import InputError

EX = Path(__file__).resolve().parents[2] / "examples" / "quality"
runner = CliRunner()


def _bad_input(r: Result) -> bool:
    """The root prints an InputError on one line and exits 2 (or re-raises it in-process)."""
    return r.exit_code == 2 or isinstance(r.exception, InputError)


def _text(r: Result) -> str:
    try:
        return r.output + r.stderr
    except ValueError:  # stderr not captured separately
        return r.output


def test_misev_json() -> None:
    r = runner.invoke(app, ["quality", "misev", str(EX / "record_synthetic.yaml"),
                            "--format", "json"])
    assert r.exit_code == 0, r.output
    d = json.loads(r.output)
    # issue 17: the "if applicable" soluble-protein item is not counted as mandatory
    assert d["mandatory_met"] == 9 and d["mandatory_total"] == 9
    assert d["if_applicable_met"] == 0 and d["if_applicable_total"] == 1


def test_nta_with_plot_and_dilution(tmp_path: Path) -> None:
    plot = tmp_path / "overlay.svg"
    r = runner.invoke(app, ["quality", "nta", str(EX / "batch_A_nanosight.csv"),
                            str(EX / "batch_B_zetaview.csv"), "--dilution", "1000",
                            "--dilution", "500", "--plot", str(plot), "--format", "json"])
    assert r.exit_code == 0, r.output
    d = json.loads(r.output)
    a, b = d["distributions"]
    assert 2e11 < a["total_per_ml"] < 3e11
    assert b["fraction_above_200nm"] > 0.1 and b["flags"]
    assert plot.stat().st_size > 1000
    bad = runner.invoke(app, ["quality", "nta", str(EX / "batch_A_nanosight.csv"),
                              "--dilution", "1", "--dilution", "2", "--dilution", "3"])
    assert _bad_input(bad)


def test_compare_and_malformed(tmp_path: Path) -> None:
    r = runner.invoke(app, ["quality", "compare", str(EX / "batch_A_nanosight.csv"),
                            str(EX / "batch_B_zetaview.csv"), "--format", "json"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.output)["wasserstein_nm"] > 10
    f = tmp_path / "x.csv"
    f.write_text("nonsense\n", encoding="utf-8")
    r = runner.invoke(app, ["quality", "compare", str(f), str(f)])
    assert _bad_input(r)
    assert "x.csv:1" in _text(r)


def test_release_pass_and_fail_exit_codes(tmp_path: Path) -> None:
    ok = runner.invoke(app, ["quality", "release", str(EX / "release_spec_synthetic.yaml"),
                             str(EX / "batch_A_record_synthetic.yaml")])
    assert ok.exit_code == 0, ok.output
    assert "PASS" in ok.output
    batch = tmp_path / "b.yaml"
    batch.write_text("batch_id: bad\nvalues: {endotoxin_eu_per_ml: 3}\n", encoding="utf-8")
    fail = runner.invoke(app, ["quality", "release", str(EX / "release_spec_synthetic.yaml"),
                               str(batch), "--format", "json"])
    assert fail.exit_code == 1
    assert json.loads(fail.output)["verdict"] == "FAIL"


def test_dose_and_manufacture_commands() -> None:
    r = runner.invoke(app, ["dose", "hed", "--dose", "10", "--unit", "mg/kg", "--from", "mouse",
                            "--format", "json"])
    assert r.exit_code == 0, r.output
    assert abs(json.loads(r.output)["value"] - 30 / 37) < 1e-9
    r = runner.invoke(app, ["dose", "convert", "--value", "1e10", "--unit", "particles",
                            "--to", "ug", "--particles-per-ug", "2e9", "--format", "json"])
    assert json.loads(r.output)["value"] == 5.0
    r = runner.invoke(app, ["dose", "convert", "--value", "1e10", "--unit", "particles",
                            "--to", "ug"])
    assert _bad_input(r)
    r = runner.invoke(app, ["manufacture", "plan", "--subjects", "20", "--doses", "4",
                            "--particles-per-dose", "1e10", "--method", "sec",
                            "--secretion", "2000", "--format", "json"])
    assert r.exit_code == 0, r.output
    d = json.loads(r.output)
    central = d["scenarios"]["central"]
    assert central["method"] == "sec"
    assert d["sensitivity"][0]["parameter"] == "secretion_particles_per_cell_per_day"
    r = runner.invoke(app, ["manufacture", "plan", "--subjects", "20", "--doses", "4",
                            "--particles-per-dose", "1e10", "--set", "nonsense=3"])
    assert _bad_input(r)
    r = runner.invoke(app, ["quality", "purity", "--particles-per-ml", "2e11",
                            "--protein-ug-per-ml", "4"])
    assert "high purity" in r.output
