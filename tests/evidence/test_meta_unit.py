"""Properties and degenerate inputs of the meta-analysis core (no R needed)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from exomir.core.errors import InputError
from exomir.evidence.analysis import _design, egger, leave1out, subgroups, trimfill
from exomir.evidence.effects import escalc, hedges_cm, split_shared_control, wan_mean_sd
from exomir.evidence.meta import _q_at, _wfit, rma

finite = st.floats(-5, 5, allow_nan=False)
variances = st.floats(0.001, 2.0, allow_nan=False)


@st.composite
def datasets(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray]:
    k = draw(st.integers(3, 25))
    y = np.array(draw(st.lists(finite, min_size=k, max_size=k)))
    v = np.array(draw(st.lists(variances, min_size=k, max_size=k)))
    return y, v


@settings(max_examples=40, deadline=None)
@given(datasets(), st.sampled_from(["DL", "REML", "ML", "PM", "SJ", "HE"]))
def test_tau2_nonnegative_and_permutation_invariant(data: tuple[np.ndarray, np.ndarray],
                                                     method: str) -> None:
    y, v = data
    r1 = rma(y, v, method=method, tau2_ci=False)
    perm = np.random.default_rng(0).permutation(y.size)
    r2 = rma(y[perm], v[perm], method=method, tau2_ci=False)
    assert r1.tau2 >= 0
    assert r1.estimate == pytest.approx(r2.estimate, rel=1e-9, abs=1e-12)
    assert r1.tau2 == pytest.approx(r2.tau2, rel=1e-7, abs=1e-12)
    # the pooled estimate is the (1/(v + tau2))-weighted mean
    w = 1 / (v + r1.tau2)
    assert r1.estimate == pytest.approx(float(np.sum(w * y) / np.sum(w)), rel=1e-9, abs=1e-12)


@settings(max_examples=30, deadline=None)
@given(datasets(), st.floats(0.1, 10), st.floats(-3, 3))
def test_location_scale_equivariance(data: tuple[np.ndarray, np.ndarray], a: float,
                                     b: float) -> None:
    """y -> a y + b, v -> a^2 v scales tau2 by a^2 and shifts/scales the estimate."""
    y, v = data
    r1 = rma(y, v, method="REML", tau2_ci=False)
    r2 = rma(a * y + b, a * a * v, method="REML", tau2_ci=False)
    assert r2.estimate == pytest.approx(a * r1.estimate + b, rel=1e-7, abs=1e-9)
    assert r2.tau2 == pytest.approx(a * a * r1.tau2, rel=1e-6, abs=1e-9 * a * a)
    assert r2.i2 == pytest.approx(r1.i2, rel=1e-6, abs=1e-6)


@settings(max_examples=30, deadline=None)
@given(datasets())
def test_reml_score_is_zero_at_interior_optimum(data: tuple[np.ndarray, np.ndarray]) -> None:
    y, v = data
    r = rma(y, v, method="REML", tau2_ci=False)
    X = np.ones((y.size, 1))
    f = _wfit(y, X, 1 / (v + r.tau2))
    score = f.ypp_y - f.tr_p  # d logL_REML / d tau2, times 2
    if r.tau2 > 1e-8:
        assert abs(score) <= 1e-7 * max(1.0, f.tr_p)
    else:
        assert score <= 1e-9  # boundary: the likelihood decreases into tau2 > 0


@settings(max_examples=30, deadline=None)
@given(datasets())
def test_pm_solves_generalised_q_equation(data: tuple[np.ndarray, np.ndarray]) -> None:
    y, v = data
    r = rma(y, v, method="PM", tau2_ci=False)
    q = _q_at(y, v, np.ones((y.size, 1)), r.tau2)
    if r.tau2 > 0:
        assert q == pytest.approx(y.size - 1, rel=1e-8)
    else:
        assert q < y.size - 1


def test_q_profile_bounds_solve_chi2_equations() -> None:
    rng = np.random.default_rng(3)
    v = rng.uniform(0.01, 0.2, 15)
    y = rng.normal(0, np.sqrt(v + 0.5))
    r = rma(y, v, method="REML")
    from scipy import stats
    X = np.ones((15, 1))
    assert r.tau2_ci_lb is not None and r.tau2_ci_ub is not None
    assert 0 < r.tau2_ci_lb < r.tau2 < r.tau2_ci_ub
    assert _q_at(y, v, X, r.tau2_ci_lb) == pytest.approx(stats.chi2.isf(0.025, 14), rel=1e-9)
    assert _q_at(y, v, X, r.tau2_ci_ub) == pytest.approx(stats.chi2.ppf(0.025, 14), rel=1e-9)


def test_k1_behaves_as_metafor() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = rma([0.5], [0.04], method="REML", test="knha")
    assert r.test == "z" and r.tau2 == 0 and r.estimate == pytest.approx(0.5)
    assert r.se == pytest.approx(0.2)
    assert r.q == 0 and r.i2 == 0 and r.h2 == 1 and r.tau2_ci_lb is None


def test_identical_effects_give_zero_heterogeneity() -> None:
    r = rma([0.3] * 6, [0.1, 0.2, 0.05, 0.1, 0.3, 0.2], method="REML")
    assert r.tau2 == 0 and r.q == pytest.approx(0, abs=1e-20) and r.i2 == 0
    assert r.tau2_ci_lb == 0 and r.tau2_ci_ub == 0


def test_zero_variances() -> None:
    with pytest.raises(InputError, match="non-positive"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rma([0.1, 0.2, 0.4], [0.0, 0.1, 0.1], method="DL")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = rma([0.1, 0.5, 0.9], [0.0, 0.1, 0.1], method="HE")  # HE: tau2 > 0 so weights finite
    assert r.tau2 > 0 and r.q is None
    with (pytest.raises(InputError, match="infinite weights|division by zero"),
          warnings.catch_warnings()):
        warnings.simplefilter("ignore")
        rma([0.1, 0.1, 0.1], [0.0, 0.1, 0.1], method="FE")


def test_bad_arguments_are_input_errors() -> None:
    with pytest.raises(InputError, match="method"):
        rma([1, 2], [1, 1], method="XX")
    with pytest.raises(InputError, match="vi"):
        rma([1, 2], [1, 1, 1])
    with pytest.raises(InputError, match="finite"):
        rma([1, np.nan], [1, 1])
    with pytest.raises(InputError, match="tau"):
        rma([1, 2], [1, 1], mods=[0, 1])  # 2 coefficients + tau2 from 2 studies


def test_escalc_degenerate_rows() -> None:
    with pytest.raises(InputError, match="n >= 2"):
        escalc("SMD", m1i=[1, 2], sd1i=[1, 1], n1i=[1, 5], m2i=[0, 0], sd2i=[1, 1], n2i=[5, 5])
    with pytest.raises(InputError, match="SD = 0"):
        escalc("SMD", m1i=[1], sd1i=[0], n1i=[5], m2i=[0], sd2i=[0], n2i=[5])
    with pytest.raises(InputError, match="positive means"):
        escalc("ROM", m1i=[-1], sd1i=[1], n1i=[5], m2i=[2], sd2i=[1], n2i=[5])
    with pytest.warns(UserWarning, match="dropped for missing values: B"):
        out = escalc("MD", study=["A", "B"], m1i=[1, np.nan], sd1i=[1, 1], n1i=[5, 5],
                     m2i=[0, 0], sd2i=[1, 1], n2i=[5, 5])
    assert out["study"].tolist() == ["A"]


def test_hedges_correction_limits() -> None:
    # c(m) = 1 - 3/(4m - 1) approximately (Hedges 1981), exact -> 1 as m grows
    m = np.array([10.0, 50.0, 1000.0])
    assert np.allclose(hedges_cm(m), 1 - 3 / (4 * m - 1), rtol=5e-4)
    assert hedges_cm(np.array([2.0]))[0] == pytest.approx(1 / np.sqrt(np.pi), rel=1e-14)
    assert np.isnan(hedges_cm(np.array([1.0]))[0])


@settings(max_examples=20, deadline=None)
@given(st.integers(20, 400), st.floats(-50, 50), st.floats(0.5, 20), st.integers(0, 10**6))
def test_wan_recovers_normal_mean_and_sd(n: int, mu: float, sigma: float, seed: int) -> None:
    """Wan 2014 is exact in expectation for normal data: check on simulated samples."""
    rng = np.random.default_rng(seed)
    x = rng.normal(mu, sigma, (200, n))
    q1, med, q3 = np.percentile(x, [25, 50, 75], axis=1)
    lo, hi = x.min(axis=1), x.max(axis=1)
    for kw in ({"q1": q1, "q3": q3}, {"min": lo, "max": hi},
               {"q1": q1, "q3": q3, "min": lo, "max": hi}):
        ests = [wan_mean_sd(n, float(med[i]), **{k: float(v[i]) for k, v in kw.items()})
                for i in range(200)]
        mean_sd = float(np.mean([e[1] for e in ests]))
        mean_mu = float(np.mean([e[0] for e in ests]))
        assert mean_mu == pytest.approx(mu, abs=0.1 * sigma)
        assert mean_sd == pytest.approx(sigma, rel=0.08)


def test_wan_needs_spread() -> None:
    with pytest.raises(InputError, match="IQR"):
        wan_mean_sd(10, 5.0)
    assert wan_mean_sd(10, 5.0, q1=4, q3=6)[2] == "C3"


def test_split_shared_control() -> None:
    assert split_shared_control(10, 3) == [4, 3, 3]
    assert sum(split_shared_control(13, 4)) == 13
    with pytest.raises(InputError):
        split_shared_control(5, 3)


def test_subgroup_between_q_is_q_of_subgroup_estimates() -> None:
    rng = np.random.default_rng(5)
    v = rng.uniform(0.02, 0.2, 12)
    y = rng.normal(0, 0.4, 12) + np.repeat([0, 0.8, 0.3], 4)
    g = np.repeat(["a", "b", "c"], 4)
    sg = subgroups(y, v, g, method="DL")
    est = np.array([r.estimate for r in sg.groups.values()])
    w = 1 / np.array([r.se**2 for r in sg.groups.values()])
    q = float(np.sum(w * (est - np.sum(w * est) / w.sum()) ** 2))
    assert sg.q_between == pytest.approx(q, rel=1e-10)
    X, levels, _ = _design(g)
    assert levels == ["a", "b", "c"] and X.shape == (12, 2)


def test_leave1out_and_trimfill_shapes() -> None:
    rng = np.random.default_rng(11)
    v = rng.uniform(0.01, 0.3, 20)
    y = 0.3 + rng.normal(0, np.sqrt(v)) + 0.8 * np.sqrt(v)  # small-study effect
    r = rma(y, v)
    loo = leave1out(r)
    assert len(loo) == 20 and loo["estimate"].between(y.min(), y.max()).all()
    tf = trimfill(r)
    assert tf.side == "left" and tf.k0 >= 0
    if tf.k0:
        assert tf.fit.estimate < r.estimate
    assert egger(r).statistic > 0
