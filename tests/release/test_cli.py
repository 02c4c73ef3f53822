"""CLI: fit, compare, simulate, models, bad input exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from exomir.cli import app

runner = CliRunner()
EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "release"


def test_fit_json_and_plot(tmp_path: Path) -> None:
    fig = tmp_path / "fit.svg"
    res = runner.invoke(app, ["release", "fit", "--data", str(EXAMPLES / "gelma_synthetic.csv"),
                              "--models", "base", "--format", "json", "--plot", str(fig)])
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert out["recommended"] in {"weibull", "makoid_banakar", "peppas_sahlin"}
    wb = next(f for f in out["fits"] if f["model"] == "weibull")
    # The synthetic file was generated with a = 3.0, b = 0.7: recovered within 3 SE.
    a, b = wb["params"]
    assert abs(a["value"] - 3.0) < 3 * a["se"] and abs(b["value"] - 0.7) < 3 * b["se"]
    assert fig.read_text().lstrip().startswith("<?xml")


def test_fit_table() -> None:
    res = runner.invoke(app, ["release", "fit", "--data", str(EXAMPLES / "gelma_synthetic.csv"),
                              "--models", "weibull,first_order,korsmeyer_peppas"])
    assert res.exit_code == 0, res.output
    assert "recommended" in res.output and "AICc" in res.output
    assert "korsmeyer_peppas (F<=0.6)" in res.output and "slab" in res.output


def test_compare_cli() -> None:
    res = runner.invoke(app, ["release", "compare", str(EXAMPLES / "gelma_synthetic.csv"),
                              str(EXAMPLES / "chitosan_synthetic.csv"), "--format", "json",
                              "--bootstrap", "200"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert 0 < out["f2"] <= 100 and out["bootstrap_f2_ci90"] is not None


def test_simulate_cli() -> None:
    res = runner.invoke(app, ["release", "simulate", "--model", "weibull", "--param", "a=2",
                              "--param", "b=0.8", "--days", "14", "--format", "json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    t = np.array(out["t_days"])
    assert np.allclose(out["fraction_released"], 1 - np.exp(-t**0.8 / 2))
    res = runner.invoke(app, ["release", "simulate", "--preset", "ha_hydrogel", "--days", "14",
                              "--format", "json"])
    assert json.loads(res.stdout)["fraction_released"][-1] == pytest.approx(0.10, abs=1e-6)


def test_models_cli() -> None:
    res = runner.invoke(app, ["release", "models", "--format", "json"])
    names = {m["name"] for m in json.loads(res.stdout)}
    assert {"baker_lonsdale", "weibull_tlag", "korsmeyer_peppas_f0"} <= names


@pytest.mark.parametrize("args", [
    ["release", "simulate", "--model", "weibull", "--param", "a=2"],
    ["release", "simulate", "--model", "nonsense"],
    ["release", "fit", "--data", "/nonexistent.csv"],
    ["release", "fit", "--data", str(EXAMPLES / "gelma_synthetic.csv"), "--format", "xml"],
])
def test_bad_input_exits_2_with_one_line_error(args: list[str]) -> None:
    res = runner.invoke(app, args)
    assert res.exit_code == 2
    assert "error:" in res.output or "Usage" in res.output
