"""The batched solver against scipy's least_squares (the reference), and the analytic Jacobians
against central differences."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

from exomir.core.errors import InputError
from exomir.release.fit import fit_many, fit_model_batch
from exomir.release.io import ReleaseData, from_arrays
from exomir.release.models import MODELS, get_model

T = np.geomspace(0.05, 14, 20)


def _curves(n: int, seed: int = 0) -> list[ReleaseData]:
    """Curves from several generating models, noise levels, with and without SD."""
    rng = np.random.default_rng(seed)
    gens = [("weibull", lambda: [rng.uniform(1, 5), rng.uniform(0.5, 1.2)]),
            ("first_order", lambda: [rng.uniform(0.05, 0.8)]),
            ("korsmeyer_peppas", lambda: [rng.uniform(0.1, 0.3), rng.uniform(0.3, 0.9)]),
            ("logistic", lambda: [rng.uniform(-2, 0), rng.uniform(0.5, 2)]),
            ("hixson_crowell", lambda: [rng.uniform(0.02, 0.08)])]
    out = []
    for i in range(n):
        name, draw = gens[i % len(gens)]
        reps = 3 if i % 3 else 1
        sd = rng.uniform(0.005, 0.04)
        tt = np.tile(T, reps)
        f = get_model(name).evaluate(tt, draw())
        y = np.clip(f + rng.normal(0, sd, tt.size), 0, 1)
        out.append(from_arrays(tt, y, np.full(tt.size, sd) if i % 2 else None,
                               [str(r) for r in np.repeat(np.arange(reps), T.size)]))
    return out


@pytest.mark.parametrize("name", [n for n, m in MODELS.items() if m.jac is not None])
def test_analytic_jacobian_equals_central_differences(name: str) -> None:
    m = MODELS[name]
    rng = np.random.default_rng(1)
    for _ in range(3):
        x = np.array([p.guess(rng.uniform(0.5, 8), rng.uniform(0.5, 1)) for p in m.params])
        x = x * rng.uniform(0.7, 1.3, x.size)
        lo = np.array([p.lower for p in m.params])
        hi = np.array([p.upper for p in m.params])
        x = np.clip(x, lo + 1e-3, hi - 1e-3)
        jac = m.jac(T, *x)
        num = np.empty_like(jac)
        for j in range(x.size):
            h = 1e-6 * max(1.0, abs(x[j]))
            a, b = x.copy(), x.copy()
            a[j] += h
            b[j] -= h
            num[:, j] = (m.func(T, *a) - m.func(T, *b)) / (2 * h)
        assert np.allclose(jac, num, rtol=1e-5, atol=1e-7), name
        # the same values when the parameters come as one row per curve (batched fitter)
        rows = np.stack([x, x])
        batched = m.jac(np.stack([T, T]), *[rows[:, j:j + 1] for j in range(x.size)])
        assert np.allclose(batched[1], jac)


@pytest.fixture(scope="module")
def both() -> tuple[list, list]:  # type: ignore[type-arg]
    curves = _curves(60)
    return fit_many(curves, "base", engine="scipy"), fit_many(curves, "base")


def test_batched_estimates_equal_scipy_to_0_2_percent(both: tuple[list, list]) -> None:  # type: ignore[type-arg]
    """Every fit of 11 base models agrees with scipy's trust-region reflective to 0.2 %
    (in practice 1e-4), with the same criteria and SEs. Peppas-Sahlin (k1 t^m + k2 t^2m, two
    terms that trade off) has several local minima and the two solvers need not end in the
    same one: measured on these 60 curves, 46 agree, 13 end lower with the batched solver
    (which refines every start) and 1 ends higher (by 2 % of the WSSR)."""
    ref, fast = both
    ps_same = ps_better = ps_worse = 0
    for a, b in zip(ref, fast, strict=True):
        for fa in a.fits:
            fb = b.get(fa.name)
            va, vb = np.array(fa.values), np.array(fb.values)
            # estimates equal to 0.2 % (absolute 1e-9 for a parameter on its bound at 0)
            same = bool(np.all(np.abs(va - vb) <= 2e-3 * np.abs(va) + 1e-9))
            if fa.name == "peppas_sahlin" and not same:
                if fb.wssr < fa.wssr:
                    ps_better += 1
                else:
                    ps_worse += 1
                    assert fb.wssr < 1.05 * fa.wssr
                continue
            assert same, (fa.name, va, vb)
            ps_same += fa.name == "peppas_sahlin"
            assert abs(fb.aicc - fa.aicc) < 1e-4
            ok = np.isfinite([p.se for p in fa.params])
            assert np.allclose(np.array([p.se for p in fb.params])[ok],
                               np.array([p.se for p in fa.params])[ok], rtol=1e-2)
    assert ps_same >= 40 and ps_better >= 4 * ps_worse


def test_batched_equals_scipy_ranking_where_fits_agree(both: tuple[list, list]) -> None:  # type: ignore[type-arg]
    ref, fast = both
    agree = 0
    for a, b in zip(ref, fast, strict=True):
        fa = a.get("peppas_sahlin")
        if abs(b.get("peppas_sahlin").wssr - fa.wssr) > 1e-6 * fa.wssr:
            continue
        agree += 1
        assert [f.name for f in a.fits] == [f.name for f in b.fits]
        assert (a.recommended.name if a.recommended else None) == \
            (b.recommended.name if b.recommended else None)
    assert agree >= 40


def test_batch_reports_short_curves_per_curve() -> None:
    good = _curves(2)
    short = from_arrays(np.array([0.0, 1.0, 2.0]), np.array([0.0, 0.3, 0.5]))
    res = fit_model_batch(get_model("makoid_banakar"), [good[0], short, good[1]])
    assert isinstance(res[1], InputError) and "3 parameters" in res[1].message
    assert not isinstance(res[0], InputError) and not isinstance(res[2], InputError)
    with pytest.raises(InputError):
        fit_many([good[0], short], "makoid_banakar")  # named explicitly: an error
    reports = fit_many([good[0], short], "base")
    assert ("makoid_banakar", res[1].message) in reports[1].skipped


def test_models_pickle_by_name() -> None:
    m = get_model("weibull")
    assert pickle.loads(pickle.dumps(m)) is m
