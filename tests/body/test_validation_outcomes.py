"""Phenotype and molecular anchors: V3 (Chen 2024 wound), V4 (Hsu 2020 PWT and PWL), V6.

Which numbers are calibration targets and which are held out is stated per test (docs/body.md,
"Calibration map"): a check of a fitted target is calibration, not validation.
"""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from exomir.body import simulate
from exomir.body.params import parameter_table

from .helpers import arm, make_spec

GEL = {"vehicle_type": "gelma", "diabetic": False}


def _wound(kind: str, route: str, dose: float = 1e10) -> np.ndarray:
    spec = arm(kind, route=route, dose=dose, days=12, body=dict(GEL),
               disease="full-thickness skin defect (non-diabetic)")
    r = simulate(spec, 1, variability=False, times=np.array([0, 4, 8, 12.0]), rtol=1e-6)
    return 100 * r.state("wound_closure")[0, 1:]


def test_v3_arms() -> None:
    """Chen 2024 Table 2. Calibration (scripts/provisional_fit_body.py): the PBS, GelMA-only
    and sEV-injection arms (days 4/8/12, one joint fit, RMS 2.95 points): checked here within
    5 points at day 12. Not fitted: the sEV+GelMA arm (its day-8 vehicle gain is a held-out
    validation case): ordering GelMA+sEV > sEV > GelMA > PBS at every day, and the vehicle's
    gain over free sEV larger at day 8 than at day 12 (published +22.2 vs +2.8 points)."""
    pbs = _wound("untreated", "subcutaneous")
    gel = _wound("vehicle", "hydrogel")
    ev = _wound("treated", "subcutaneous")
    both = _wound("treated", "hydrogel")
    assert np.all(both > ev) and np.all(ev > gel) and np.all(gel > pbs)
    gain = both - ev
    assert gain[1] > gain[2] > 0
    for sim, pub in ((pbs, 77.8), (gel, 92.8), (ev, 97.2), (both, 100.0)):
        assert abs(sim[2] - pub) < 5.0


def test_diabetic_heals_slower_than_normal() -> None:
    t = np.array([0, 12.0])
    normal = arm("untreated", route="subcutaneous", days=12, body={"diabetic": False})
    diab = arm("untreated", route="subcutaneous", days=12, disease="db/db diabetic")
    a = simulate(normal, 1, variability=False, times=t).state("wound_closure")[0, -1]
    b = simulate(diab, 1, variability=False, times=t).state("wound_closure")[0, -1]
    assert b < a


def _pain(kind: str, dose: float = 1e10) -> dict[str, np.ndarray]:
    spec = arm(kind, indication="neuropathic_pain", route="scaffold", dose=dose,
               species="rat", description="alginate scaffold", days=36)
    r = simulate(spec, 1, variability=False, times=np.array([0, 1, 21, 35, 36.0]),
                 rtol=1e-6)
    o = r.observables()
    return {"pwt": o["paw_withdrawal_threshold_g"][0], "pwl": o["paw_withdrawal_latency_s"][0]}


def test_v4_mechanical_and_thermal_day21() -> None:
    """Hsu 2020 day 21, median (IQR). Calibration targets: saline-scaffold PWT 2.1 g and PWL
    2.0 s, EV-scaffold PWT 14.1 g (scripts/provisional_fit_body.py); the typical subject must
    fall in the published IQRs. Not fitted: the EV-scaffold latency 14.2 (13.7-15.3) s.
    Natural history: PWT below 50 % of baseline by day 1."""
    saline = _pain("vehicle")
    treated = _pain("treated")
    assert 1.7 <= saline["pwt"][2] <= 3.0 and 1.8 <= saline["pwl"][2] <= 2.4
    assert 13.7 <= treated["pwt"][2] <= 15.5
    assert 13.7 <= treated["pwl"][2] <= 15.3
    assert saline["pwt"][1] < 0.5 * saline["pwt"][0]


def test_injury_natural_history_is_a_duration() -> None:
    """'Ipsilateral hypersensitivity persists ~5 weeks after L5 SNL' is a duration: the
    untreated threshold stays hypersensitive (<= 80 % of baseline, Wei 2025) through day 21 and
    is back above it by day 36 (tolerance: one day on the 35-day duration). The old model read
    it as the half-time of the injury drive (I(35) = 0.5, hypersensitive far beyond 5 weeks)."""
    tab = parameter_table("neuropathic_pain", "rat")
    thr = tab.value("hypersensitivity_fraction") * tab.value("pwt_baseline")
    saline = _pain("vehicle")
    assert saline["pwt"][2] < thr
    assert saline["pwt"][4] >= thr
    t50, h = tab.value("injury_t50"), tab.value("injury_hill")
    assert 1 / (1 + (35 / t50) ** h) < 0.2


def test_readouts_respect_their_cutoffs() -> None:
    """von Frey 15 g and Hargreaves cut-offs (Chaplan 1994; Hargreaves 1988): a threshold above
    the cut-off reads as the cut-off."""
    spec = arm("treated", indication="neuropathic_pain", route="scaffold", species="rat",
               description="alginate scaffold",
               body={"parameters": {"pwt_baseline": 26.0, "pwl_baseline": 20.0,
                                    "pwl_cutoff": 18.0}})
    o = simulate(spec, 1, variability=False, times=np.array([0.0, 1.0, 21.0])).observables()
    assert o["paw_withdrawal_threshold_g"].max() <= 15.0 + 1e-12
    assert o["paw_withdrawal_latency_s"].max() <= 18.0 + 1e-12


def _knockdown(cpv: float, dose: float, rmax: float) -> float:
    spec = make_spec(indication="neuropathic_pain", route="intrathecal", dose=dose,
                     species="mouse",
                     body={"targets": [{"gene": "BACE1", "max_repression": rmax}],
                           "copies_per_vesicle": cpv})
    r = simulate(spec, 1, variability=False, days=14, rtol=1e-5)
    return float(r.observables()["knockdown_BACE1"].max())


def test_v6_native_loading_negligible_engineered_approaches_60pct() -> None:
    """V6: native stoichiometry (0.00825 copies/EV, Chevillet 2014) at in-vivo doses (3e8 to
    1.2e10 particles) gives negligible knockdown (< 1 %); engineered siRNA-like loading (rmax
    0.62 as BACE1 protein in Alvarez-Erviti 2011, 1e11 particles) approaches it, rising with
    the loading: 5000 copies/EV (below the physical ceiling max_copies_per_vesicle) reach
    >= 60 % of that maximum. With the endogenous pool occupying most Argonaute (RISC
    competition), 1000 copies/EV reach ~57 %; tolerance wide because uptake capacity, escape
    fraction and RISC capacity are assumptions."""
    for dose in (3e8, 1.2e10):
        assert _knockdown(0.00825, dose, 0.62) < 0.01
    kd = [_knockdown(c, 1e11, 0.62) for c in (100.0, 1000.0, 5000.0)]
    assert kd[0] < kd[1] < kd[2]
    assert kd[0] > 0.01 and kd[2] >= 0.6 * 0.62


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
