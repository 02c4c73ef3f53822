"""The ``exomir simulate`` command."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
from typer.testing import CliRunner

from exomir.cli import app

EX = Path(__file__).resolve().parents[2] / "examples"
runner = CliRunner()


def test_simulate_json_csv_sbml_plots(tmp_path: Path) -> None:
    out = tmp_path / "r.csv"
    xml = tmp_path / "m.xml"
    res = runner.invoke(app, ["simulate", str(EX / "neuropathic_pain_intrathecal.yaml"),
                              "--subjects", "20", "--days", "21", "--format", "json",
                              "--out", str(out), "--export-sbml", str(xml),
                              "--plot", str(tmp_path / "plots")])
    assert res.exit_code == 0, res.output
    data = json.loads(res.output)
    metrics = {r["metric"] for r in data["summary"]}
    assert "paw_withdrawal_threshold_g_day21" in metrics
    assert "least certain" in data["note"]
    frame = pd.read_csv(out)
    assert frame["subject"].nunique() == 20 and frame["time"].max() == 21
    assert "<sbml" in xml.read_text()
    assert len(list((tmp_path / "plots").glob("*.png"))) == 4


def test_params_table_renders_sources() -> None:
    res = runner.invoke(app, ["simulate", "--param-table"], env={"COLUMNS": "300"})
    assert res.exit_code == 0
    assert "10.1101/gr.251421.119" in res.output and "assumption" in res.output


def test_bad_spec_exit_code(tmp_path: Path) -> None:
    p = tmp_path / "s.yaml"
    p.write_text("indication: diabetic_wound\ndelivery: {route: teleport}\n"
                 "regimen: {dose: {value: 1, unit: particles}}\nsubject: {species: mouse}\n")
    res = runner.invoke(app, ["simulate", str(p)])
    assert res.exit_code != 0
    assert "delivery.route" in str(res.exception) or "delivery.route" in res.output
