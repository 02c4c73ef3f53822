"""Fits against scipy.optimize.curve_fit, parameter recovery, statistics and selection."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import optimize, stats

from exomir.core.errors import InputError
from exomir.release.fit import ParamEstimate, fit_model, fit_models, interpret_kp_exponent
from exomir.release.io import from_arrays
from exomir.release.models import get_model

T = np.geomspace(0.05, 14, 20)


def _data(model: str, params: list[float], sd: float = 0.015, seed: int = 0,
          reps: int = 3, with_sd: bool = True):  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(seed)
    m = get_model(model)
    f = m.evaluate(T, params)
    tt = np.tile(T, reps)
    ff = np.clip(np.tile(f, reps) + rng.normal(0, sd, tt.size), 0, 1)
    sds = np.full(tt.size, sd) if with_sd else None
    return from_arrays(tt, ff, sds, [str(i) for i in np.repeat(np.arange(reps), T.size)])


@pytest.mark.parametrize(("model", "params"), [
    ("weibull", [2.0, 0.8]), ("first_order", [0.3]), ("higuchi", [0.2]),
    ("hixson_crowell", [0.05]), ("peppas_sahlin", [0.3, -0.02, 0.5]),
    ("makoid_banakar", [0.3, 0.6, 0.05]), ("logistic_fmax", [-1.0, 1.0, 0.9]),
])
def test_matches_curve_fit_reference(model: str, params: list[float]) -> None:
    """Same estimates and standard errors as scipy's curve_fit (independent code path)."""
    data = _data(model, params, seed=3)
    fit = fit_model(get_model(model), data)
    m = get_model(model)
    lo = [p.lower for p in m.params]
    hi = [p.upper for p in m.params]
    popt, pcov = optimize.curve_fit(lambda t, *p: m.func(t, *p), data.t_days, data.released,
                                    p0=params, sigma=data.sd, bounds=(lo, hi), method="trf")
    assert np.allclose(fit.values, popt, rtol=2e-3, atol=1e-6)
    assert np.allclose([p.se for p in fit.params], np.sqrt(np.diag(pcov)), rtol=2e-2)
    # The true parameters lie inside the 95 % CIs (noise is modest).
    for est, true in zip(fit.params, params, strict=True):
        assert est.ci_low <= true <= est.ci_high, (est, true)


def test_ci_coverage_near_nominal() -> None:
    """Over repeated synthetic data sets, the 95 % CI covers the truth about 95 % of the time."""
    m = get_model("weibull")
    hits = 0
    n = 60
    for seed in range(n):
        fit = fit_model(m, _data("weibull", [2.0, 0.8], seed=seed, reps=1))
        hits += fit.params[1].ci_low <= 0.8 <= fit.params[1].ci_high
    assert 0.85 * n <= hits <= n


def test_statistics_definitions() -> None:
    data = _data("first_order", [0.3], with_sd=False)
    fit = fit_model(get_model("first_order"), data)
    y = data.released
    yhat = fit.predict(data.t_days)
    ssr = float(np.sum((y - yhat) ** 2))
    sst = float(np.sum((y - y.mean()) ** 2))
    n, p = y.size, 1
    assert fit.wssr == pytest.approx(ssr, rel=1e-9)
    assert fit.r2 == pytest.approx(1 - ssr / sst)
    assert fit.r2_adj == pytest.approx(1 - (n - 1) / (n - p) * ssr / sst)
    assert fit.aic == pytest.approx(n * np.log(ssr) + 2 * p)
    assert fit.aicc == pytest.approx(fit.aic + 2 * p * (p + 1) / (n - p - 1))
    assert fit.bic == pytest.approx(n * np.log(ssr) + p * np.log(n))
    assert fit.msc == pytest.approx(np.log(sst / ssr) - 2 * p / n)
    tq = stats.t.ppf(0.975, n - p)
    est = fit.params[0]
    assert est.ci_high - est.value == pytest.approx(tq * est.se)


@pytest.mark.parametrize(("gen", "params"), [
    ("first_order", [0.25]), ("higuchi", [0.22]), ("weibull", [2.0, 0.6]),
    ("hixson_crowell", [0.04]), ("zero_order", [0.05])])
def test_aic_recommends_generating_model(gen: str, params: list[float]) -> None:
    pool = "zero_order,first_order,higuchi,hixson_crowell,weibull,baker_lonsdale"
    for seed in range(3):
        report = fit_models(_data(gen, params, sd=0.01, seed=seed), pool)
        assert report.recommended is not None
        assert report.recommended.name == gen, report.reason


def test_korsmeyer_peppas_uses_first_60_percent_and_interprets_n() -> None:
    data = _data("korsmeyer_peppas", [0.25, 0.5], sd=0.01)
    fit = fit_model(get_model("korsmeyer_peppas"), data)
    assert fit.subset == "F<=0.6"
    ts, mean, _ = data.mean_curve()
    assert fit.n == int(np.sum(np.isin(data.t_days, ts[mean <= 0.6])))
    assert fit.n < data.n
    assert fit.params[1].ci_low <= 0.5 <= fit.params[1].ci_high
    assert "Fickian diffusion" in (fit.interpretation or "")
    report = fit_models(data, "korsmeyer_peppas,first_order")
    assert report.get("korsmeyer_peppas").rank is None  # not ranked against full-data fits


@pytest.mark.parametrize(("geometry", "n", "word"), [
    ("sphere", 0.43, "Fickian diffusion"), ("cylinder", 0.89, "case II"),
    ("slab", 0.75, "anomalous"), ("sphere", 0.3, "less than Fickian"),
    ("cylinder", 1.2, "super case II")])
def test_kp_interpretation_limits(geometry: str, n: float, word: str) -> None:
    est = ParamEstimate("n", "1", n, 0.01, n - 0.02, n + 0.02)
    assert word in interpret_kp_exponent(est, geometry)  # type: ignore[arg-type]


def test_too_few_points_is_input_error() -> None:
    data = from_arrays([1.0, 2.0, 3.0], [0.1, 0.2, 0.3])
    with pytest.raises(InputError, match="distinct time points"):
        fit_models(data, "makoid_banakar")
    rep = fit_models(data, "all")
    assert any(m == "makoid_banakar" for m, _ in rep.skipped)
