"""The ``exomir simulate`` command."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
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
    assert {"paw_withdrawal_threshold_g_day21", "paw_withdrawal_latency_s_day21"} <= metrics
    assert "least certain" in data["note"]
    att = data["attribution"]["readouts"][0]
    assert att["observable"] == "paw_withdrawal_threshold_g" and att["day"] == 21
    assert set(att["mechanisms"]) == {"mirna", "vesicle", "vehicle"}
    frame = pd.read_csv(out)
    assert frame["subject"].nunique() == 20 and frame["time"].max() == 21
    assert "<sbml" in xml.read_text()
    assert len(list((tmp_path / "plots").glob("*.png"))) == 4


@pytest.mark.parametrize("example", ["diabetic_wound_hydrogel.yaml",
                                     "neuropathic_pain_intrathecal.yaml"])
def test_table_output_opens_with_the_attribution(example: str) -> None:
    """Both bundled examples: the first lines say where the benefit comes from, and (their
    miRNA share being small) that the miRNA explains little."""
    res = runner.invoke(app, ["simulate", str(EX / example), "-n", "12"],
                        env={"COLUMNS": "200"})
    assert res.exit_code == 0, res.output
    lines = [ln for ln in res.stdout.splitlines() if ln.strip()]
    assert lines[0].startswith("Where the predicted benefit comes from")
    assert "The miRNA cargo explains little" in lines[1]
    assert "dose:" in res.output


def test_params_table_renders_sources() -> None:
    res = runner.invoke(app, ["simulate", "--param-table"], env={"COLUMNS": "300"})
    assert res.exit_code == 0
    assert "10.1101/gr.251421.119" in res.output and "assumption" in res.output
    assert "pathway weights" in res.output and "calibrated" in res.output


def test_bad_spec_exit_code(tmp_path: Path) -> None:
    p = tmp_path / "s.yaml"
    p.write_text("indication: diabetic_wound\ndelivery: {route: teleport}\n"
                 "regimen: {dose: {value: 1, unit: particles}}\nsubject: {species: mouse}\n")
    res = runner.invoke(app, ["simulate", str(p)])
    assert res.exit_code != 0
    assert "delivery.route" in str(res.exception) or "delivery.route" in res.output


def test_release_preset_and_fitted_profile_file(tmp_path: Path) -> None:
    """`exomir release fit --profile-out` writes a profile that the simulate spec
    (body.release_profile) and `exomir simulate --release-profile` accept; it releases as the
    fit says. `--release-preset` takes every preset."""
    from exomir.body import build_model, load_spec
    from exomir.release.depot import ENDPOINTS

    prof = tmp_path / "gel.json"
    res = runner.invoke(app, ["release", "fit", "--data", str(EX / "release" /
                                                              "gelma_synthetic.csv"),
                              "--models", "weibull,first_order", "--profile-out", str(prof)])
    assert res.exit_code == 0, res.output
    assert json.loads(prof.read_text())["kind"] == "exomir.release_profile"
    spec = tmp_path / "s.yaml"
    spec.write_text("indication: diabetic_wound\ndelivery: {route: hydrogel}\n"
                    "regimen: {dose: {value: 1e10, unit: particles}}\n"
                    "subject: {species: mouse}\ndays: 5\n"
                    "body: {release_profile: gel.json}\n", encoding="utf-8")
    m = build_model(load_spec(spec))
    assert m.release is not None and "gel.json" in m.release_note
    from exomir.release.profile import load_profile

    np.testing.assert_allclose(m.release.fraction_released(np.array([1.0, 3.0])),
                               load_profile(prof).fraction_released(np.array([1.0, 3.0])))
    for args in (["--release-profile", str(prof)],
                 *[["--release-preset", name] for name in ENDPOINTS]):
        res = runner.invoke(app, ["simulate", str(spec), "-n", "2", "--no-attribution",
                                  "--format", "json", "--engine", "numpy", *args])
        assert res.exit_code == 0, (args, res.output)
        assert any("release" in n for n in json.loads(res.output)["notes"])
    res = runner.invoke(app, ["simulate", str(spec), "--release-preset", "jelly"])
    assert res.exit_code == 2 and "ha_hydrogel" in res.output
