"""Systemic block against published mouse PK and biodistribution (validation cases V1, V2)."""

from __future__ import annotations

import numpy as np
import pytest

from exomir.body import simulate

from .helpers import make_spec

HOURS = np.concatenate([np.linspace(0, 5 / 60, 11), np.linspace(0.1, 24, 240)]) / 24.0


def _iv(dose: float = 1e9, **over: float):  # type: ignore[no-untyped-def]
    spec = make_spec(route="intravenous", dose=dose, days=1.0,
                     body={"parameters": over} if over else None)
    return simulate(spec, 1, variability=False, times=HOURS, rtol=1e-8, atol=1e-12)


def test_plasma_half_lives_within_v1_row1() -> None:
    """V1 row 1 (Kim 2019 Table 1): t1/2 alpha 6.85-8.79 min, t1/2 beta 149-792 min.

    alpha from the log-slope over the first 5 min; beta from the log-slope between 8 and 12 h
    (terminal window of the dye data). Tolerance: the published ranges themselves."""
    r = _iv()
    t_h = r.times * 24
    p = r.state("plasma")[0]
    lp = np.log(p)
    i5 = np.searchsorted(t_h, 5 / 60)
    alpha_min = np.log(2) / (-(lp[i5] - lp[0]) / (t_h[i5] - t_h[0])) * 60
    i8, i12 = np.searchsorted(t_h, [8, 12])
    beta_min = np.log(2) / (-(lp[i12] - lp[i8]) / (t_h[i12] - t_h[i8])) * 60
    assert 6.85 <= alpha_min <= 8.79
    assert 149 <= beta_min <= 792


def test_organ_distribution_at_4h_matches_morishita() -> None:
    """V2: liver 28, lung 7, spleen 1.6 %ID at 4 h. Tolerance 15 % relative: single-study
    means of radioactivity (label may outlast vesicles); ordering liver >> lung > spleen."""
    r = _iv()
    t = 4 / 24
    pct = {s: 100 * np.interp(t, r.times, r.state(s)[0]) / 1e9
           for s in ("liver", "lung", "spleen")}
    assert abs(pct["liver"] - 28) / 28 < 0.15
    assert abs(pct["lung"] - 7) / 7 < 0.15
    assert abs(pct["spleen"] - 1.6) / 1.6 < 0.15
    assert pct["liver"] > 3 * pct["lung"] > 3 * pct["spleen"]


def test_liver_kidney_peak_before_lung_spleen() -> None:
    """PMID 34194679: liver/kidney peak within 1 h; lung/spleen at 2-12 h."""
    r = _iv()
    tmax = {s: r.times[np.argmax(r.state(s)[0])] * 24 for s in
            ("liver", "kidney", "lung", "spleen")}
    assert tmax["liver"] <= 1.0 and tmax["kidney"] <= 1.0
    assert 2.0 <= tmax["lung"] <= 12.0 and 2.0 <= tmax["spleen"] <= 12.0


def test_mps_depletion_slows_clearance() -> None:
    """V1 check 4: with macrophage uptake off, plasma AUC rises markedly. Threshold 1.5-fold:
    in the calibrated model liver + spleen take ~30 % of the initial plasma clearance, the rest
    goes to other tissues (V2 leaves ~63 % of the dose unassigned)."""
    auc = np.trapezoid(_iv().state("plasma")[0], HOURS)
    auc_off = np.trapezoid(_iv(mps_factor=0.0).state("plasma")[0], HOURS)
    assert auc_off > 1.5 * auc


def test_mps_saturation_at_high_dose() -> None:
    """Saturable MPS uptake: a 1e13-particle dose puts a smaller fraction into the liver at
    4 h (km_mps = 1e11 particles is an assumption; the direction is what is checked)."""
    lo = _iv(1e8)
    hi = _iv(1e13)
    f_lo = np.interp(4 / 24, lo.times, lo.state("liver")[0]) / 1e8
    f_hi = np.interp(4 / 24, hi.times, hi.state("liver")[0]) / 1e13
    assert f_hi < 0.8 * f_lo


def test_mass_balance_never_exceeds_dose() -> None:
    spec = make_spec(route="hydrogel", dose=1e10, times=[0, 7, 14])
    r = simulate(spec, 20, seed=3)
    ves = ["depot", "site", "plasma", "liver", "spleen", "lung", "kidney", "brain",
           "spinal_cord_drg", "skin_wound", "rest", "skin_wound_cell_ev"]
    total = sum(r.state(s) for s in ves)
    assert np.all(total <= 3e10 * (1 + 1e-6))
    assert np.all(np.concatenate([r.state(s) for s in ves]) > -1e-3 * 1e10)


def test_nca_on_an_analytic_curve() -> None:
    """NCA (exomir.body.pk.nca) of a mono-exponential plasma curve P = D e^(-kt) in V_p:
    AUC = 100/(V_p k) %ID·h/mL, MRT = 1/k, CL = V_p k, Vss = V_p (relative 1e-3: trapezoid on
    the sampled grid)."""
    from exomir.body.pk import nca

    hours = np.linspace(0, 48, 4801)
    r = simulate(make_spec(route="intravenous", dose=1e9, days=2.0), 1, variability=False,
                 times=hours / 24)
    k = 0.2  # 1/h
    r.Y[0, r.model.index["plasma"], :] = 1e9 * np.exp(-k * hours)
    res = nca(r, plasma_volume_ml=1.0)
    assert res.auc_pct_id_h_per_ml == pytest.approx(100 / k, rel=1e-3)
    assert res.mrt_h == pytest.approx(1 / k, rel=1e-3)
    assert res.cl_ml_per_h == pytest.approx(k, rel=1e-3)
    assert res.vss_ml == pytest.approx(1.0, rel=1e-3)


def test_v1_rows_2_3_out_of_sample_values_are_reported() -> None:
    """V1 rows 2-3 are held out (never fitted): the function reports exomir's NCA for their
    conditions; agreement is not asserted here (docs/validation.md reports it either way),
    only that the values are finite and that macrophage depletion lowers clearance."""
    from exomir.body.pk import v1_out_of_sample

    out = v1_out_of_sample()
    for row in out.values():
        assert all(np.isfinite(v) and v > 0 for v in row.values())
    assert out["row2_macrophage_depleted"]["cl_ml_per_h"] < out["row3_125I_tracer"]["cl_ml_per_h"]
