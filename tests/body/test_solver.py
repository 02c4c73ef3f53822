"""The batched Rosenbrock solver against scipy's Radau (independent implicit RK) and itself."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.integrate import solve_ivp

from exomir.body import build_model, simulate
from exomir.body.model import Evaluator

from .helpers import make_spec


@pytest.mark.parametrize("engine", ["compiled", "numpy"])
def test_matches_scipy_radau_single_subject(engine: str) -> None:
    """Between doses the model is a smooth ODE; Radau (rtol 1e-10) is the reference.
    Tolerance 1e-5 relative on states above 1e-6 of their maximum."""
    spec = make_spec(indication="neuropathic_pain", route="intraperitoneal", dose=1e10,
                     days=5, body={"targets": [{"gene": "IRAK1", "max_repression": 0.5}],
                                   "copies_per_vesicle": 200})
    model = build_model(spec)
    ts = np.linspace(0, 5, 41)
    res = simulate(model, 1, variability=False, times=ts, rtol=1e-9, atol=1e-13,
                   engine=engine)  # type: ignore[arg-type]
    flat = model.flat_params(None, 1)
    ev = Evaluator(model, flat)
    y0 = (model.initial_state(flat) + model.dose_jump(flat))[0]
    ref = solve_ivp(lambda t, y: ev.rhs(t, y[:, None])[0][:, 0], (0, 5), y0, method="Radau",
                    t_eval=ts, rtol=1e-10, atol=1e-6)
    assert ref.success
    for i in range(len(model.species)):
        b = ref.y[i]
        mask = np.abs(b) > 1e-6 * max(np.abs(b).max(), 1e-300)
        if mask.any():
            rel = np.abs(res.Y[0, i][mask] - b[mask]) / np.abs(b[mask])
            assert rel.max() < 1e-5, (model.species[i], rel.max())


def test_batched_sparse_path_equals_single_dense_runs() -> None:
    """numpy engine: a batch of 60 (sparse batched LU, shared steps) gives each subject's
    single-subject (dense) result."""
    spec = make_spec(route="hydrogel", dose=1e10, times=[0, 7], days=10,
                     body={"targets": [{"gene": "PTEN", "log2fc": -0.7}],
                           "copies_per_vesicle": 20})
    ts = np.linspace(0, 10, 21)
    batch = simulate(spec, 60, seed=11, times=ts, rtol=1e-8, atol=1e-12, engine="numpy")
    model = batch.model
    for k in (0, 37):
        vals = {p.name: batch.params[p.name][k] for p in model.table}
        one = simulate(spec, 1, variability=False, overrides=vals, times=ts, rtol=1e-8,
                       atol=1e-12)
        np.testing.assert_allclose(one.Y[0], batch.Y[k], rtol=2e-5,
                                   atol=1e-9 * np.abs(batch.Y[k]).max())


def test_population_spread_and_reproducible_seed() -> None:
    spec = make_spec(route="intravenous", dose=1e10, days=2)
    a = simulate(spec, 50, seed=5)
    b = simulate(spec, 50, seed=5)
    np.testing.assert_array_equal(a.Y, b.Y)
    s = a.summary()
    row = s[s.metric == "auc_liver"].iloc[0]
    assert row.p05 < row["median"] < row.p95
    frame = a.to_frame()
    assert {"subject", "time", "plasma", "liver", "skin_wound_mirna_risc"} <= set(frame)
    assert len(frame) == 50 * len(a.times)
