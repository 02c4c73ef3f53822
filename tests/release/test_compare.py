"""f1/f2 on textbook cases, regulatory conditions, bootstrap and MDT."""

from __future__ import annotations

import numpy as np
import pytest

from exomir.release.compare import (
    bootstrap_f2,
    compare_profiles,
    f1_factor,
    f2_factor,
    mean_dissolution_time,
)
from exomir.release.io import from_arrays


def test_f2_textbook_values() -> None:
    r = np.array([20.0, 40.0, 60.0, 80.0])
    assert f2_factor(r, r) == pytest.approx(100.0)
    # Uniform 10-point difference: 50 log10(100/sqrt(101)) = 49.89 (the f2 = 50 boundary).
    assert f2_factor(r, r + 10) == pytest.approx(49.892, abs=1e-3)
    # Uniform 5-point difference: 50 log10(100/sqrt(26)) = 64.63.
    assert f2_factor(r, r - 5) == pytest.approx(64.63, abs=1e-2)
    assert f1_factor(r, r + 10) == pytest.approx(100 * 40 / 200)


def test_mdt_first_order_curve() -> None:
    # For F = 1 - exp(-k t) the MDT tends to 1/k with fine sampling up to F ~ 1.
    t = np.linspace(0.01, 60, 6000)
    assert mean_dissolution_time(t, 1 - np.exp(-0.25 * t)) == pytest.approx(4.0, rel=1e-3)


def _units(times: np.ndarray, base: np.ndarray, cv: float, n: int, seed: int):  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(seed)
    tt, ff, rep = [], [], []
    for u in range(n):
        noise = rng.normal(1, cv, times.size)
        tt += times.tolist()
        ff += np.clip(base * noise, 0, 1).tolist()
        rep += [f"u{u}"] * times.size
    return from_arrays(tt, ff, replicate=rep)


def test_compare_conditions_and_bootstrap() -> None:
    t = np.array([0.5, 1, 2, 4, 7, 10])
    a = _units(t, np.array([0.15, 0.3, 0.5, 0.7, 0.88, 0.95]), 0.03, 12, 1)
    b = _units(t, np.array([0.12, 0.26, 0.45, 0.66, 0.86, 0.94]), 0.03, 12, 2)
    c = compare_profiles(a, b, n_boot=500)
    # Only one point above 85 %: the 10-day point is dropped.
    assert c.times_days.tolist() == [0.5, 1, 2, 4, 7]
    assert c.f2 > 50 and c.similar
    assert c.bootstrap_ci90 is not None
    lo, hi = c.bootstrap_ci90
    assert lo < c.f2 < hi + 5  # the bootstrap f2 is biased low but brackets the estimate
    names = {k.name: k.passed for k in c.conditions}
    assert names[">= 3 time points (t > 0)"]
    assert all(v for k, v in names.items() if k.startswith("CV"))


def test_compare_flags_high_cv_and_too_few_points() -> None:
    t = np.array([1.0, 2.0, 3.0])
    a = _units(t, np.array([0.2, 0.9, 0.95]), 0.5, 6, 1)
    b = _units(t, np.array([0.2, 0.9, 0.95]), 0.02, 6, 2)
    c = compare_profiles(a, b, n_boot=200)
    assert not c.conditions_met
    failed = [k.name for k in c.conditions if not k.passed]
    assert ">= 3 time points (t > 0)" in failed
    assert any(n.startswith("CV") for n in failed)
    assert "NOT met" in c.conclusion()


def test_bootstrap_identical_units_gives_100() -> None:
    u = np.tile(np.array([[10.0, 30.0, 60.0]]), (6, 1))
    assert np.allclose(bootstrap_f2(u, u, n_boot=50), 100.0)
