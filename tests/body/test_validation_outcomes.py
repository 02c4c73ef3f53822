"""Phenotype and molecular anchors: V3 (Chen 2024 wound), V4 (Hsu 2020 PWT), V6 (dose anchors)."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from exomir.body import simulate

from .helpers import make_spec


def _wound(route: str, dose: float) -> np.ndarray:
    spec = make_spec(route=route, dose=dose, days=12, body={"diabetic": False},
                     disease="full-thickness skin defect (non-diabetic)")
    r = simulate(spec, 1, variability=False, times=np.array([0, 4, 8, 12.0]), rtol=1e-6)
    return 100 * r.state("wound_closure")[0, 1:]


def test_v3_ordering_and_vehicle_gain() -> None:
    """Chen 2024 Table 2: hydrogel+EV > EV > hydrogel > PBS at days 4, 8, 12, and the vehicle's
    gain over free EVs larger at day 8 than at day 12. Published day-12 values are matched to
    within 5 points (the first-order closure model cannot follow the PBS curve's early jump,
    so days 4/8 are checked by ordering only)."""
    pbs = _wound("subcutaneous", 0.0)
    gel = _wound("hydrogel", 0.0)
    ev = _wound("subcutaneous", 1e10)
    both = _wound("hydrogel", 1e10)
    assert np.all(both > ev) and np.all(ev > gel) and np.all(gel > pbs)
    gain = both - ev
    assert gain[1] > gain[2]
    for sim, pub in ((pbs, 77.8), (gel, 92.8), (ev, 97.2), (both, 100.0)):
        assert abs(sim[2] - pub) < 5.0


def test_diabetic_heals_slower_than_normal() -> None:
    normal = make_spec(route="subcutaneous", dose=0.0, days=12, body={"diabetic": False})
    diab = make_spec(route="subcutaneous", dose=0.0, days=12, disease="db/db diabetic")
    t = np.array([0, 12.0])
    a = simulate(normal, 1, variability=False, times=t).state("wound_closure")[0, -1]
    b = simulate(diab, 1, variability=False, times=t).state("wound_closure")[0, -1]
    assert b < a


def _pwt(dose: float) -> np.ndarray:
    spec = make_spec(indication="neuropathic_pain", route="scaffold", dose=dose, species="rat")
    r = simulate(spec, 1, variability=False, times=np.array([0, 1, 21, 28.0]), rtol=1e-6)
    return r.observables()["paw_withdrawal_threshold_g"][0]


def test_v4_pwt_day21_inside_published_iqr() -> None:
    """Hsu 2020: day-21 PWT median (IQR) 14.1 (13.7-15.5) g with the EV scaffold vs 2.1
    (1.7-3.0) g with the saline scaffold; the simulated typical subject must fall in the IQR.
    Natural history: PWT below 50 % of baseline by day 1."""
    saline = _pwt(0.0)
    treated = _pwt(1e10)
    assert 1.7 <= saline[2] <= 3.0
    assert 13.7 <= treated[2] <= 15.5
    assert saline[1] < 0.5 * saline[0]


def _knockdown(cpv: float, dose: float, rmax: float, route: str = "intrathecal") -> float:
    spec = make_spec(indication="neuropathic_pain", route=route, dose=dose, species="mouse",
                     body={"targets": [{"gene": "BACE1", "max_repression": rmax}],
                           "copies_per_vesicle": cpv})
    r = simulate(spec, 1, variability=False, days=14, rtol=1e-5)
    return float(r.observables()["knockdown_BACE1"].max())


def test_v6_native_loading_negligible_engineered_approaches_60pct() -> None:
    """V6: native stoichiometry (0.00825 copies/EV, Chevillet 2014) at in-vivo doses (3e8 to
    1.2e10 particles) gives negligible knockdown (< 1 %); engineered siRNA-like loading
    (rmax 0.62 as BACE1 protein in Alvarez-Erviti 2011, 1000 copies/EV, 1e11 particles)
    approaches it: >= 60 % of that maximum (>= 37 % knockdown; tolerance wide because uptake
    capacity and escape fraction are assumptions), rising with the loading."""
    for dose in (3e8, 1.2e10):
        assert _knockdown(0.00825, dose, 0.62) < 0.01
    mid = _knockdown(100.0, 1e11, 0.62)
    high = _knockdown(1000.0, 1e11, 0.62)
    assert high >= 0.6 * 0.62
    assert high > mid > 0.01


@settings(max_examples=8, deadline=None)
@given(cpv=st.floats(0, 1e4), log2fc=st.floats(-1.0, 0.0))
def test_seed_type_repression_stays_below_twofold(cpv: float, log2fc: float) -> None:
    """Selbach 2008: miRNA (seed) repression is mostly < 2-fold; with a cargo log2FC >= -1 the
    simulated protein never falls below half its baseline, whatever the loading."""
    spec = make_spec(indication="neuropathic_pain", route="intrathecal", dose=1e11,
                     body={"targets": [{"gene": "TLR4", "log2fc": log2fc}],
                           "copies_per_vesicle": cpv})
    r = simulate(spec, 1, variability=False, days=10, rtol=1e-4)
    assert r.state("protein_TLR4").min() >= 0.5 - 1e-6
