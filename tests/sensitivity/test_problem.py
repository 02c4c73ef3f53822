"""Factors, distributions, groups and calibrated parameters (CIs, covariance)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from exomir.core import InputError, Parameter, ParameterTable
from exomir.sensitivity.problem import (
    SensitivityProblem,
    default_distribution,
    name_group,
    parameter_group,
)


def _table() -> ParameterTable:
    return ParameterTable([
        Parameter(name="k_heal", value=0.13, unit="1/day", source="doi:10/x"),
        Parameter(name="emax_ev", value=0.8, unit="dimensionless", source="doi:10/x"),
        Parameter(name="ec50_ev", value=1.0, unit="particle/cell", assumption=True, low=1.0,
                  high=1000.0),
        Parameter(name="diabetic_heal_factor", value=0.6, unit="dimensionless",
                  assumption=True, low=0.3, high=0.9),
        Parameter(name="k_risc_deg", value=0.74, unit="1/day", source="doi:10/y", low=0.49,
                  high=1.51),
    ])


def test_distribution_rule() -> None:
    assert default_distribution(1.0, 1000.0)[0] == "loguniform"
    assert default_distribution(1.0, 10.0)[0] == "uniform"  # exactly 10x: not > 10x
    assert default_distribution(0.0, 1.0)[0] == "uniform"  # not positive
    assert default_distribution(0.3, 0.9)[0] == "uniform"


@settings(max_examples=50, deadline=None)
@given(lo=st.floats(1e-6, 1e3), span=st.floats(1.01, 1e6),
       u=st.lists(st.floats(0.0, 1.0), min_size=1, max_size=20))
def test_transform_stays_in_range_and_is_monotone(lo: float, span: float, u: list[float]
                                                  ) -> None:
    hi = lo * span
    prob = SensitivityProblem.from_bounds(["a"], [(lo, hi)],
                                          dists=[default_distribution(lo, hi)[0]])
    x = prob.transform(np.sort(np.array(u))[:, None])[:, 0]
    assert np.all(x >= lo * (1 - 1e-12)) and np.all(x <= hi * (1 + 1e-12))
    assert np.all(np.diff(x) >= 0)


def test_loguniform_median_is_the_geometric_mean() -> None:
    prob = SensitivityProblem.from_bounds(["a"], [(1.0, 1000.0)], dists=["loguniform"])
    assert np.isclose(prob.transform(np.array([[0.5]]))[0, 0], np.sqrt(1000.0))


def test_from_table_uncertain_and_fixed() -> None:
    prob = SensitivityProblem.from_table(_table())
    assert prob.names == ["ec50_ev", "diabetic_heal_factor", "k_risc_deg"]
    assert prob.factor("k_risc_deg").origin.startswith("source range")
    assert prob.factor("ec50_ev").dist == "loguniform"
    assert "no range" in prob.fixed["k_heal"]
    sel = prob.select(groups=["outcome model"])
    assert sel.names == ["diabetic_heal_factor"]
    with pytest.raises(InputError, match="unknown parameter group"):
        prob.select(groups=["astrology"])


def test_group_field_wins_over_the_name_rule() -> None:
    class WithGroup(Parameter):
        group: str | None = None

    p = WithGroup(name="k_heal", value=1.0, unit="1/day", source="x", group="my group")
    assert parameter_group(p) == "my group"
    assert name_group("k_heal") == "outcome model"
    assert name_group("k_abs_sc") == "administration"
    assert name_group("k_risc_deg") == "miRNA and target knockdown"
    assert name_group("k_liver_uptake") == "PK (distribution)"
    assert name_group("zzz") == "other"


def test_calibration_ci_se_covariance_and_non_identifiable(tmp_path: Path) -> None:
    cal = {
        "parameters": [
            {"name": "k_heal", "value": 0.13, "scale": "log10", "ci95": [0.12, 0.14]},
            {"name": "emax_ev", "value": 0.8, "scale": "lin"},
            {"name": "ec50_ev", "value": 3.0, "identifiable": False, "bounds": [1, 1000]},
            {"name": "diabetic_heal_factor", "value": 0.6, "scale": "lin", "se": 0.05},
        ],
        "covariance": {"names": ["k_heal", "emax_ev"],
                       "matrix": [[0.0004, 0.0003], [0.0003, 0.0009]]},
    }
    with pytest.raises(InputError, match="all linear or all log"):
        SensitivityProblem.from_table(_table(), calibration=cal)
    cal["parameters"][0]["scale"] = "lin"
    prob = SensitivityProblem.from_table(_table(), calibration=cal)
    assert set(prob.blocks) == {"calibration"}
    assert prob.factor("k_heal").dist == "mvnormal" and prob.factor("emax_ev").block
    assert prob.factor("ec50_ev").origin.startswith("calibration: not identifiable")
    assert prob.factor("ec50_ev").dist == "loguniform"  # its bounds 1-1000
    assert prob.factor("diabetic_heal_factor").dist == "normal"
    assert prob.factor("diabetic_heal_factor").sd == 0.05
    # a correlated block is one label; samples carry the covariance
    assert prob.labels().count("calibration (correlated)") == 2
    U = np.random.default_rng(0).random((20000, prob.k))
    X = prob.transform(U)
    i, j = prob.names.index("k_heal"), prob.names.index("emax_ev")
    c = np.cov(X[:, [i, j]].T)
    assert np.allclose(c, [[0.0004, 0.0003], [0.0003, 0.0009]], rtol=0.05)
    assert np.isclose(X[:, i].mean(), 0.13, atol=1e-3)


def test_calibration_log10_se_is_converted() -> None:
    cal = {"parameters": [{"name": "k_heal", "value": 0.13, "scale": "log10", "se": 0.1}]}
    prob = SensitivityProblem.from_table(_table(), calibration=cal)
    f = prob.factor("k_heal")
    assert f.dist == "lognormal" and np.isclose(f.sd, 0.1 * np.log(10))
    x = prob.transform(np.array([[0.5, 0.5, 0.5, 0.5]]))[0, prob.names.index("k_heal")]
    assert np.isclose(x, 0.13)


def test_calibration_file_errors_name_the_field(tmp_path: Path) -> None:
    p = tmp_path / "cal.yaml"
    p.write_text("parameters:\n  - {name: k_nope, value: 1}\n")
    with pytest.raises(InputError) as exc:
        SensitivityProblem.from_table(_table(), calibration=p)
    assert "parameters[0].name" in str(exc.value) and "cal.yaml" in str(exc.value)
    with pytest.raises(InputError, match="symmetric"):
        SensitivityProblem.from_table(_table(), calibration={
            "parameters": [{"name": "k_heal", "value": 0.1}],
            "covariance": {"names": ["k_heal"], "matrix": [[1.0, 2.0]]}})


def test_problem_round_trips_through_a_dict() -> None:
    prob = SensitivityProblem.from_table(_table(), calibration={
        "parameters": [{"name": "k_heal", "value": 0.13, "se": 0.01},
                       {"name": "emax_ev", "value": 0.8, "se": 0.1}],
        "covariance": {"names": ["k_heal", "emax_ev"],
                       "matrix": [[1e-4, 0.0], [0.0, 1e-2]]}})
    again = SensitivityProblem.from_dict(prob.to_dict())
    U = np.random.default_rng(1).random((5, prob.k))
    assert np.array_equal(prob.transform(U), again.transform(U))


def test_exomir_calibrated_format() -> None:
    """The file ``exomir calibrate`` writes (exomir.core.calibrated, format .../1): log10 scale
    by default, Fisher covariance on that scale with 1e300 in non-identified directions, an
    observable noise parameter the model does not have, a non-identifiable parameter."""
    cal = {
        "format": "exomir-calibrated-parameters/1",
        "problem": {"id": "v3_wound_chen2024"},
        "parameters": [
            {"name": "k_heal", "value": 0.13, "se": 0.02, "ci95": [0.11, 0.155],
             "identifiability": "identifiable", "lower": 0.01, "upper": 1.0},
            {"name": "emax_ev", "value": 0.8, "se": 0.05, "ci95": [0.64, 1.0],
             "identifiability": "identifiable", "lower": 0.01, "upper": 5.0},
            {"name": "ec50_ev", "value": 1.0, "ci95": [1.0, None],
             "identifiability": "practically non-identifiable", "lower": 1.0, "upper": 1000.0},
            {"name": "sigma_closure", "value": 3.0, "identifiability": "identifiable",
             "se": 0.1},
        ],
        "covariance": {"names": ["k_heal", "emax_ev", "ec50_ev"],
                       "matrix": [[4e-4, 1e-4, 1e300], [1e-4, 25e-4, 1e300],
                                  [1e300, 1e300, 1e300]]},
    }
    prob = SensitivityProblem.from_table(_table(), calibration=cal)
    assert prob.blocks["calibration"].names == ("k_heal", "emax_ev")
    assert prob.blocks["calibration"].scale == "log"
    cov = np.asarray(prob.blocks["calibration"].cov)
    assert np.allclose(cov, np.array([[4e-4, 1e-4], [1e-4, 25e-4]]) * np.log(10) ** 2)
    assert prob.factor("ec50_ev").dist == "loguniform"
    assert "ignored" in prob.fixed["sigma_closure"]
    X = prob.transform(np.random.default_rng(2).random((4000, prob.k)))
    k = X[:, prob.names.index("k_heal")]
    assert np.isclose(np.median(k), 0.13, rtol=0.02)  # lognormal around the estimate
    assert np.isclose(np.std(np.log10(k)), 0.02, rtol=0.1)
