"""The calibrated-parameter file (exomir.core.calibrated) and its use by the simulator."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from exomir.body import simulate
from exomir.body.model import build_model
from exomir.body.simulate import draw_parameters
from exomir.body.spec import load_spec
from exomir.cli import app
from exomir.core import InputError
from exomir.core.calibrated import (
    CalibratedParameters,
    CalibratedValue,
    Covariance,
    ProblemRef,
    load_calibrated,
)
from tests.body.helpers import make_spec

runner = CliRunner()
COV = [[0.01, 0.008, 0.0], [0.008, 0.01, 0.0], [0.0, 0.0, 1e300]]


def _file(**kw: object) -> CalibratedParameters:
    return CalibratedParameters(
        problem=ProblemRef(id="t", indication="diabetic_wound", species="mouse"),
        parameters=[
            CalibratedValue(name="k_liver_uptake", value=40.0, unit="1/day", lower=1, upper=1e3,
                            identifiability="identifiable"),
            CalibratedValue(name="k_lung_uptake", value=10.0, unit="1/day", lower=0.1,
                            upper=1e3, identifiability="identifiable"),
            CalibratedValue(name="k_rest_return", value=3.0, unit="1/day", lower=0.01,
                            upper=100, identifiability="practically non-identifiable"),
        ],
        covariance=Covariance(names=["k_liver_uptake", "k_lung_uptake", "k_rest_return"],
                              matrix=COV), **kw)  # type: ignore[arg-type]


def test_draws_are_jointly_normal_on_log10_and_unidentified_stay_fixed() -> None:
    c = _file()
    d = c.draw(20000, 1)
    a, b = np.log10(d["k_liver_uptake"]), np.log10(d["k_lung_uptake"])
    assert abs(np.mean(a) - np.log10(40)) < 0.003 and abs(np.std(a) - 0.1) < 0.003
    assert abs(np.corrcoef(a, b)[0, 1] - 0.8) < 0.02
    assert np.all(d["k_rest_return"] == 3.0)
    r = c.draw(20000, 1, mode="range")["k_rest_return"]
    assert r.min() >= 0.01 and r.max() <= 100 and np.ptp(np.log10(r)) > 3.5


def test_save_load_and_bad_file(tmp_path: Path) -> None:
    p = _file().save(tmp_path / "c.json")
    back = load_calibrated(p)
    assert back.values() == _file().values()
    bad = json.loads(p.read_text())
    bad["parameters"][0]["value"] = "forty"
    (tmp_path / "bad.json").write_text(json.dumps(bad))
    with pytest.raises(InputError) as ei:
        load_calibrated(tmp_path / "bad.json")
    assert "bad.json" in str(ei.value) and "parameters.0.value" in str(ei.value)


def test_simulate_uses_calibrated_values_and_correlated_draws() -> None:
    spec = make_spec(route="intravenous", dose=1e9, days=1.0)
    c = _file()
    one = simulate(spec, 1, variability=False, calibration=c, times=np.array([0, 0.1]))
    assert one.params["k_liver_uptake"][0] == 40.0
    assert one.params["vmax_liver"][0] == pytest.approx(40.0 * 1e11)
    model = build_model(spec)
    vals = draw_parameters(model, 4000, seed=3, calibration=c)
    # uncertainty layer (corr 0.8 on log10) times independent BSV (cv 0.3 on both)
    la, lb = np.log10(vals["k_liver_uptake"]), np.log10(vals["k_lung_uptake"])
    s_bsv = np.sqrt(np.log1p(0.3**2)) / np.log(10)
    expect = 0.008 / (0.01 + s_bsv**2)
    assert abs(np.corrcoef(la, lb)[0, 1] - expect) < 0.04
    plain = draw_parameters(model, 4000, seed=3)
    assert abs(np.corrcoef(np.log(plain["k_liver_uptake"]),
                           np.log(plain["k_lung_uptake"]))[0, 1]) < 0.05


def test_other_species_keeps_the_relative_change() -> None:
    rat = make_spec(route="intravenous", dose=1e9, days=1.0, species="rat")
    base = build_model(rat).table["k_liver_uptake"].value
    mouse = build_model(make_spec(route="intravenous")).table["k_liver_uptake"].value
    assert base < mouse  # allometric scaling of a rate constant
    r = simulate(rat, 1, variability=False, calibration=_file(), times=np.array([0, 0.1]))
    assert r.params["k_liver_uptake"][0] == pytest.approx(base * 40.0 / mouse, rel=1e-12)


def test_spec_field_and_cli_params(tmp_path: Path) -> None:
    _file().save(tmp_path / "calibrated.json")
    spec = tmp_path / "s.yaml"
    spec.write_text("name: t\nindication: diabetic_wound\ndelivery: {route: intravenous}\n"
                    "regimen: {dose: {value: 1e9, unit: particles}}\nsubject: {species: mouse}"
                    "\ndays: 2\nbody: {calibration: calibrated.json}\n")
    s = load_spec(spec)
    assert s.body.calibration == str(tmp_path / "calibrated.json")
    r = simulate(s, 1, variability=False, times=np.array([0, 1.0]))
    assert r.params["k_lung_uptake"][0] == 10.0
    res = runner.invoke(app, ["simulate", str(spec), "--subjects", "5", "--format", "json",
                              "--params", str(tmp_path / "calibrated.json")])
    assert res.exit_code == 0, res.output
    assert json.loads(res.output)["calibration"].endswith("calibrated.json")
    spec.write_text(spec.read_text().replace("calibrated.json", "missing.json"))
    with pytest.raises(InputError, match="body.calibration"):
        load_spec(spec)


@settings(max_examples=40, deadline=None)
@given(st.floats(0.01, 2.0), st.floats(0.01, 2.0), st.floats(-0.99, 0.99),
       st.floats(-3.0, 3.0), st.floats(-3.0, 3.0))
def test_draws_stay_in_bounds_for_any_covariance(s1: float, s2: float, rho: float,
                                                 m1: float, m2: float) -> None:
    """Whatever the (positive semi-definite) covariance and the value inside the bounds,
    draws are finite, inside the bounds and keep the fitted value as their median when the
    bounds are far."""
    cov = [[s1**2, rho * s1 * s2], [rho * s1 * s2, s2**2]]
    c = CalibratedParameters(
        problem=ProblemRef(id="h"),
        parameters=[CalibratedValue(name="a", value=10**m1, lower=10 ** (m1 - 1),
                                    upper=10 ** (m1 + 1), identifiability="identifiable"),
                    CalibratedValue(name="b", value=10**m2, lower=1e-30, upper=1e30,
                                    identifiability="identifiable")],
        covariance=Covariance(names=["a", "b"], matrix=cov))
    d = c.draw(2000, 5)
    for k, p in (("a", c.get("a")), ("b", c.get("b"))):
        assert np.all(np.isfinite(d[k]))
        assert np.all(d[k] >= p.lower * (1 - 1e-12)) and np.all(d[k] <= p.upper * (1 + 1e-12))
    assert abs(np.median(np.log10(d["b"])) - m2) < 0.15 * s2 + 0.01
