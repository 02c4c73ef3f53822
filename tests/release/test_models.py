"""Closed forms of the release-model library: limits, monotonicity, known values, SBML."""

from __future__ import annotations

import math

import libsbml
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import optimize

from exomir.core.errors import InputError
from exomir.release.models import MODELS, get_model, parse_model_list

T = np.linspace(0.0, 20.0, 201)


def test_known_values() -> None:
    # Hand-computed values of the published equations.
    assert get_model("zero_order").evaluate(3.0, [0.1]) == pytest.approx(0.3)
    assert get_model("first_order").evaluate(math.log(2) / 0.2, [0.2]) == pytest.approx(0.5)
    assert get_model("higuchi").evaluate(4.0, [0.1]) == pytest.approx(0.2)
    assert get_model("korsmeyer_peppas").evaluate(8.0, [0.05, 1 / 3]) == pytest.approx(0.1)
    # Hixson-Crowell: (1 - F)^(1/3) = 1 - kHC t -> t = 2, k = 0.25 gives (0.5)^3 left.
    assert get_model("hixson_crowell").evaluate(2.0, [0.25]) == pytest.approx(1 - 0.125)
    assert get_model("hixson_crowell").evaluate(10.0, [0.25]) == pytest.approx(1.0)
    assert get_model("hopfenberg").evaluate(2.0, [0.25, 2.0]) == pytest.approx(1 - 0.25)
    # Weibull at t^b = a: 1 - 1/e.
    assert get_model("weibull").evaluate(4.0, [2.0, 0.5]) == pytest.approx(1 - math.exp(-1))
    assert get_model("logistic").evaluate(1.0, [0.0, 2.0]) == pytest.approx(0.5)
    assert get_model("gompertz").evaluate(1.0, [math.log(2), 1.0]) == pytest.approx(0.5)
    mb = get_model("makoid_banakar").evaluate(2.0, [0.3, 0.5, 0.1])
    assert mb == pytest.approx(0.3 * math.sqrt(2) * math.exp(-0.2))
    assert get_model("peppas_sahlin").evaluate(4.0, [0.1, 0.02, 0.5]) == pytest.approx(0.28)


def test_baker_lonsdale_solves_implicit_equation() -> None:
    """Explicit cubic-root solution against brentq on the implicit equation."""
    k = 0.03
    for t in [0.01, 0.5, 2.0, 5.0, 10.0, 16.0]:
        c = k * t

        def g(f: float, c: float = c) -> float:
            return 1.5 * (1 - (1 - f) ** (2 / 3)) - f - c

        ref = optimize.brentq(g, 0.0, 1.0, xtol=1e-14)
        assert get_model("baker_lonsdale").evaluate(t, [k]) == pytest.approx(ref, abs=1e-9)
    assert get_model("baker_lonsdale").evaluate(1 / (2 * k) + 1, [k]) == pytest.approx(1.0)


@pytest.mark.parametrize("name", list(MODELS))
def test_starts_at_zero_or_burst_and_monotone(name: str) -> None:
    m = MODELS[name]
    p = [s.guess(3.0, 0.9) for s in m.params]
    if "F0" in m.param_names:
        p[m.param_names.index("F0")] = 0.1
    f = m.evaluate(T, p)
    assert np.all(np.isfinite(f))
    expected0 = 0.1 if "F0" in m.param_names else 0.0
    assert f[0] == pytest.approx(expected0, abs=1e-12)
    if m.family != "makoid_banakar" and "k2" not in m.param_names:
        assert np.all(np.diff(f) >= -1e-12)


@pytest.mark.parametrize("name", [n for n in MODELS if "zero" not in n and "higuchi" not in n
                                  and "korsmeyer" not in n and "makoid" not in n
                                  and "peppas" not in n])
def test_plateau_models_approach_plateau(name: str) -> None:
    m = MODELS[name]
    p = [s.guess(1.0, 0.9) for s in m.params]
    f_late = m.evaluate(1e6, p)
    plateau = p[m.param_names.index("Fmax")] if "Fmax" in m.param_names else 1.0
    assert f_late == pytest.approx(plateau, rel=1e-3)


@pytest.mark.parametrize("name", list(MODELS))
def test_sbml_infix_parses(name: str) -> None:
    m = MODELS[name]
    p = [s.guess(2.0, 0.8) for s in m.params]
    ast = libsbml.parseL3Formula(m.sbml_infix(p))
    assert ast is not None, libsbml.getLastParseL3Error()


@settings(max_examples=60, deadline=None)
@given(k=st.floats(1e-3, 10), n=st.floats(0.1, 1.5), t=st.floats(1e-3, 100))
def test_kp_weibull_properties(k: float, n: float, t: float) -> None:
    kp = get_model("korsmeyer_peppas")
    # Power law: doubling t multiplies F by 2^n.
    assert kp.evaluate(2 * t, [k, n]) == pytest.approx(kp.evaluate(t, [k, n]) * 2**n, rel=1e-9)
    w = get_model("weibull")
    f = float(w.evaluate(t, [k, n]))
    assert 0.0 <= f <= 1.0
    # Weibull linearisation: ln(-ln(1 - F)) = b ln t - ln a.
    if 1e-12 < f < 1 - 1e-12:
        assert math.log(-math.log(1 - f)) == pytest.approx(n * math.log(t) - math.log(k),
                                                          abs=1e-6)


@settings(max_examples=60, deadline=None)
@given(k=st.floats(1e-3, 1.0), t1=st.floats(0, 50), dt=st.floats(0, 50))
def test_baker_lonsdale_monotone_bounded(k: float, t1: float, dt: float) -> None:
    m = get_model("baker_lonsdale")
    a, b = m.evaluate([t1, t1 + dt], [k])
    assert 0.0 <= a <= b + 1e-12 <= 1.0 + 1e-12


def test_lag_variant_is_shifted_base() -> None:
    base, lag = get_model("weibull"), get_model("weibull_tlag")
    t = np.array([0.5, 1.0, 3.0, 7.0])
    assert np.allclose(lag.evaluate(t + 2.0, [2.0, 0.8, 2.0]), base.evaluate(t, [2.0, 0.8]))
    assert lag.evaluate(1.0, [2.0, 0.8, 2.0]) == 0.0


def test_unknown_model_and_bad_params() -> None:
    with pytest.raises(InputError, match="accepted"):
        get_model("nonsense")
    with pytest.raises(InputError, match="missing b"):
        get_model("weibull").evaluate(1.0, {"a": 1.0})
    assert [m.name for m in parse_model_list("weibull, first-order")] == ["weibull",
                                                                         "first_order"]
