"""Regression tests for the measured defects of issue 12, asserting the corrected behaviour.

Each test names the defect as measured before the fix (in its docstring) and what the model
does now. Outcome values come from one typical subject (no between-subject variability).
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from exomir.body import build_model, simulate
from exomir.body.attribution import attribute
from exomir.body.params import parameter_table, scaling_rules, species_table
from exomir.body.release_default import TYPE_PRESET
from exomir.core import InputError
from exomir.release.depot import ENDPOINTS
from exomir.release.profile import vehicle_preset

from .helpers import arm, make_spec

ENGINE = "numpy"  # single typical subjects of many one-off structures: no compile needed


def _kd(cargo: list[dict], targets: list[dict]) -> dict[str, float]:  # type: ignore[type-arg]
    s = make_spec(indication="neuropathic_pain", route="intrathecal", dose=1e10,
                  species="rat", cargo=cargo, body={"targets": targets}, days=14)
    o = simulate(s, 1, variability=False, rtol=1e-7, engine=ENGINE).observables()
    return {k[10:]: float(v.max()) for k, v in o.items() if k.startswith("knockdown_")}


def test_each_target_sees_only_its_own_mirna() -> None:
    """Defect: one RISC pool for all cargo: miR-146a 100 copies/EV gave IRAK1 knockdown 0.0848;
    miR-146a 50 + miR-21 50 gave IRAK1 0.0848 and PTEN 0.0848 (half the dose of each, the full
    effect on both). Now each miRNA has its own pools and each gene responds only to the miRNAs
    that target it: half the copies give about half the knockdown (0.45-0.55 of it; exactly
    half in the linear regime, slightly more as the endogenous competitor is displaced less)."""
    irak = {"gene": "IRAK1", "mirna": "hsa-miR-146a-5p", "max_repression": 0.5}
    pten = {"gene": "PTEN", "mirna": "hsa-miR-21-5p", "max_repression": 0.5}
    a = _kd([{"kind": "mirna", "name": "hsa-miR-146a-5p", "copies_per_vesicle": 100}], [irak])
    b = _kd([{"kind": "mirna", "name": "hsa-miR-21-5p", "copies_per_vesicle": 100}], [pten])
    both = _kd([{"kind": "mirna", "name": "hsa-miR-146a-5p", "copies_per_vesicle": 50},
                {"kind": "mirna", "name": "hsa-miR-21-5p", "copies_per_vesicle": 50}],
               [irak, pten])
    assert 0.45 < both["IRAK1"] / a["IRAK1"] < 0.55
    assert 0.45 < both["PTEN"] / b["PTEN"] < 0.55


def test_two_mirnas_on_one_gene_combine_multiplicatively() -> None:
    """A gene repressed by two cargo miRNAs: synthesis is the product of the two repression
    factors, so it is repressed more than by either alone."""
    tg = [{"gene": "PTEN", "mirna": "hsa-miR-21-5p", "max_repression": 0.5},
          {"gene": "PTEN", "mirna": "hsa-miR-146a-5p", "max_repression": 0.3}]
    cargo = [{"kind": "mirna", "name": "hsa-miR-21-5p", "copies_per_vesicle": 500},
             {"kind": "mirna", "name": "hsa-miR-146a-5p", "copies_per_vesicle": 500}]
    both = _kd(cargo, tg)["PTEN"]
    one = _kd(cargo, tg[:1])["PTEN"]
    assert both > one > 0


def _vesicle_term(route: str, dose: float, times: list[float] | None = None,
                  indication: str = "diabetic_wound", species: str = "mouse",
                  days: float = 14.0) -> tuple[float, float, float]:
    """(time-mean vesicle bioactivity E_ves / emax, wound/target-tissue AUC, E mean)."""
    s = make_spec(indication=indication, route=route, dose=dose, times=times,
                  species=species, days=days)
    r = simulate(s, 1, variability=False, times=np.linspace(0, days, 113), rtol=1e-7,
                 engine=ENGINE)
    tgt = r.model.target
    e = r.state(f"{tgt}_ev_effect")[0]
    frac = e / (e + r.params["ec50_ev"][0])
    auc = float(np.trapezoid(r.state(tgt)[0], r.times))
    return float(np.mean(frac)), auc, float(np.mean(frac) * r.params["emax_ev"][0])


def test_vesicle_bioactivity_not_pinned_at_saturation() -> None:
    """Defect: E = emax e/(e + ec50) with ec50 = 1 vesicle/cell, so at the calibration dose the
    effect compartment (21-87 EV/cell) sat above 95 % of Emax; wound day-14 dose-response
    84.1 (0) / 86.8 (1e8) / 94.2 (1e9) / 97.6 (1e10) / 98.3 (1e12) / 98.3 (1e20). Now ec50 is
    placed at the exposure of the calibration dose (an assumption with a decade's range either
    side, not a fit): at 1e10 particles the bioactivity averages < 70 % of Emax over 14 days,
    it grows about in proportion to dose at low doses (1e8 -> 1e9 more than 5-fold), and 1e9
    gives less than half the day-14 gain of 1e10 (was 80 %). 1e20 particles is refused."""
    frac = {d: _vesicle_term("subcutaneous", d)[0] for d in (1e8, 1e9, 1e10, 1e11)}
    assert frac[1e10] < 0.7
    assert frac[1e9] > 5 * frac[1e8]
    assert frac[1e8] < frac[1e9] < frac[1e10] < frac[1e11]

    def day14(d: float) -> float:
        s = arm("treated" if d else "untreated", route="subcutaneous", dose=d, days=14)
        return float(attribute(s, 1, variability=False, engine=ENGINE).primary.total[0])

    assert day14(1e9) < 0.5 * day14(1e10)
    with pytest.raises(InputError, match="ceiling"):
        make_spec(route="subcutaneous", dose=1e20)


def test_wound_benefit_follows_wound_exposure_across_routes() -> None:
    """Defect: i.v. put 1.8 % of the s.c. (wound-margin) dose's exposure into the wound yet got
    33 % of its benefit. Now, with the vesicle mechanism on: the vesicle bioactivity of a route
    is in proportion to its wound exposure (ratio of time-mean E within 0.5-5 x the exposure
    ratio: E is hyperbolic, so low exposures are slightly favoured), and the i.v. gain is < 10 %
    of the s.c. gain."""
    _, auc_sc, e_sc = _vesicle_term("subcutaneous", 1e10)
    _, auc_iv, e_iv = _vesicle_term("intravenous", 1e10)
    ratio = auc_iv / auc_sc
    assert ratio < 0.05
    assert 0.5 * ratio < e_iv / e_sc < 5 * ratio
    gains = {}
    for route in ("subcutaneous", "intravenous"):
        gains[route] = float(attribute(make_spec(route=route, dose=1e10, days=14), 1,
                                       variability=False, engine=ENGINE).primary.total[0])
    assert gains["intravenous"] < 0.1 * gains["subcutaneous"]


def test_pain_route_follows_spinal_exposure() -> None:
    """Defect: i.v. 1e11 x3 gave 13.2 g vs 14.1 g intrathecal despite ~300x lower spinal
    exposure (gain over saline 11.1 vs 12.0 g, ratio 0.93). Now the vesicle bioactivity (log-
    reduction of the injury drive) follows the spinal exposure (ratio within 0.5-5 x), and the
    i.v. gain in grams is at most 0.7 of the intrathecal gain (the threshold read-out is
    steep and capped at 15 g, so grams do not scale linearly)."""
    kw = dict(indication="neuropathic_pain", times=[1.0, 8.0, 15.0], species="rat", days=21.0)
    # below the EC50 (1e9 x3) the bioactivity follows exposure; at 1e11 x3 the intrathecal
    # exposure is ~30x the calibration dose's and saturates it
    f_it, auc_it, e_it = _vesicle_term("intrathecal", 1e9, **kw)  # type: ignore[arg-type]
    _, auc_iv, e_iv = _vesicle_term("intravenous", 1e9, **kw)  # type: ignore[arg-type]
    ratio = auc_iv / auc_it
    assert ratio < 0.05 and f_it < 0.5
    assert 0.5 * ratio < e_iv / e_it < 5 * ratio
    g = {r: float(attribute(make_spec(route=r, dose=1e11, **kw), 1,  # type: ignore[arg-type]
                            variability=False, engine=ENGINE).primary.total[0])
         for r in ("intrathecal", "intravenous")}
    assert g["intravenous"] < 0.7 * g["intrathecal"]


@pytest.mark.parametrize(("route", "kw"), [
    ("microneedle", {}), ("decm", {}), ("hydrogel", {"vehicle_type": "ha_hydrogel"}),
    ("hydrogel", {}), ("scaffold", {})])
def test_vehicle_effect_is_per_vehicle_type(route: str, kw: dict) -> None:  # type: ignore[type-arg]
    """Defect: vehicle_heal_gain (+64 %, fitted to the GelMA-only arm) applied to every
    vehicle, microneedle and dECM included. Now only a vehicle type with a sourced effect has
    one (GelMA, V3); the others (HA hydrogel, microneedle, dECM, scaffold, an unnamed hydrogel)
    have none unless sourced (0, an assumption with a range): their vehicle-only arm heals
    exactly like untreated, the GelMA vehicle-only arm better."""
    t = np.array([0.0, 8.0])
    untreated = simulate(arm("untreated", route=route, days=8, body=dict(kw)), 1,
                         variability=False, times=t, engine=ENGINE).state("wound_closure")
    veh = simulate(arm("vehicle", route=route, days=8, body=dict(kw)), 1, variability=False,
                   times=t, engine=ENGINE).state("wound_closure")
    np.testing.assert_array_equal(veh, untreated)
    gel = simulate(arm("vehicle", route="hydrogel", days=8, body={"vehicle_type": "gelma"}), 1,
                   variability=False, times=t, engine=ENGINE).state("wound_closure")
    assert gel[0, -1] > untreated[0, -1] + 0.02


def test_ha_hydrogel_does_not_beat_injection() -> None:
    """Defect: the ha_hydrogel preset released at most 6.5 % of its dose yet healed better
    than s.c. injection (the GelMA bonus applied to it). Now its release (10 % by day 14, the
    Table 4 end-point) and its own (zero) vehicle effect make it heal worse than injecting the
    same vesicles into the wound bed."""
    d14 = np.array([0.0, 14.0])
    ha = make_spec(route="hydrogel", dose=1e10, days=14, body={"release_preset": "ha_hydrogel"})
    sc = make_spec(route="subcutaneous", dose=1e10, days=14)
    w_ha = simulate(ha, 1, variability=False, times=d14, engine=ENGINE).state("wound_closure")
    w_sc = simulate(sc, 1, variability=False, times=d14, engine=ENGINE).state("wound_closure")
    assert build_model(ha).vehicle_type == "ha_hydrogel"
    assert w_ha[0, -1] < w_sc[0, -1]


def test_one_reading_of_the_ha_hydrogel_row() -> None:
    """Defect: "HA hydrogel 90 %, 14 d" meant 90 % released in body/release_default.py and 10 %
    released in the release presets (10x different wound exposure by entry point). Now the body
    default for an HA hydrogel, a spec's release_preset and the release package's preset are
    one object family reading one end-point: F(14 d) = 1 - 0.90 retention = 0.10."""
    expected = ENDPOINTS["ha_hydrogel"].fraction_released
    assert expected == pytest.approx(0.10)
    by_type = build_model(make_spec(route="hydrogel", dose=1e10, body={"vehicle_type":
                                                                         "ha_hydrogel"}))
    by_preset = build_model(make_spec(route="hydrogel", dose=1e10,
                                      body={"release_preset": "ha_hydrogel"}))
    for m in (by_type, by_preset):
        assert m.release is not None
        assert float(m.release.fraction_released(np.array([14.0]))[0]) == pytest.approx(
            expected, rel=1e-9)
    assert float(vehicle_preset("ha_hydrogel").fraction_released(np.array([14.0]))[0]) == \
        pytest.approx(expected, rel=1e-9)
    for kind, preset in TYPE_PRESET.items():
        m = build_model(make_spec(route="hydrogel", dose=1e10, body={"vehicle_type": kind}))
        ep = ENDPOINTS[preset]
        assert m.release is not None
        assert float(m.release.fraction_released(np.array([ep.t_days]))[0]) == pytest.approx(
            ep.fraction_released, rel=1e-6)


def test_species_differ_in_wound_kinetics_and_target_tissue() -> None:
    """Defect: untreated diabetic closure at day 14 was 67.4 % in mouse, rat and human, and 1e10
    particles gave 90.2 / 90.8 / 91.3 %. Now wound area, contraction share and
    re-epithelialisation differ by species: the human diabetic wound closes far more slowly
    (Sheehan 2003: ~53 % area reduction in 4 weeks), and the target-cell number follows the
    wound area."""
    d14 = {}
    cells = {}
    for sp in ("mouse", "rat", "human"):
        s = arm("untreated", route="subcutaneous", species=sp, days=14,
                disease="db/db diabetic")
        r = simulate(s, 1, variability=False, times=np.array([0.0, 14.0]), engine=ENGINE)
        d14[sp] = float(r.observables()["wound_closure_pct"][0, -1])
        cells[sp] = float(r.params["n_cells"][0])
    assert d14["human"] < d14["mouse"] - 20
    assert len({round(v, 3) for v in d14.values()}) == 3
    assert cells["mouse"] < cells["rat"] < cells["human"]
    h28 = simulate(arm("untreated", route="subcutaneous", species="human", days=28,
                       disease="diabetic foot ulcer"), 1, variability=False,
                   times=np.array([0.0, 28.0]), engine=ENGINE)
    assert float(h28.observables()["wound_closure_pct"][0, -1]) == pytest.approx(53.0, abs=1.0)


@pytest.mark.parametrize("indication", ["diabetic_wound", "neuropathic_pain"])
def test_every_parameter_scales_as_documented(indication: str) -> None:
    """Defect: km_cell_uptake (an amount) was exempt from the BW^1 scaling docs/body.md
    stated. Now each row states its rule and the tables follow it exactly: rates by
    (BW ratio)^-0.25, whole-body amounts by BW^1, per-species rows take their own value, the
    rest is unchanged; the target-tissue uptake half-saturation is per cell
    (km_cell_uptake_per_cell, unit particle/cell) times the species' target-cell number."""
    rules = scaling_rules(indication)
    st = species_table()
    mouse = parameter_table(indication, "mouse")
    for sp in ("rat", "human"):
        ratio = st[sp]["body_weight_kg"] / st["mouse"]["body_weight_kg"]
        tab = parameter_table(indication, sp)
        for p in mouse:
            rule = rules[p.name]
            got = tab.value(p.name)
            if rule.endswith("per_species") and sp in ("rat", "human"):
                continue
            factor = {"rate": ratio**-0.25, "amount": ratio, "none": 1.0}[rule]
            assert got == pytest.approx(p.value * factor, rel=1e-12), (sp, p.name, rule)
    for p in mouse:
        if p.unit == "particle" and p.group in ("PK", "repeat dosing"):
            assert rules[p.name].startswith("amount"), p.name
        if p.unit == "1/day" and p.group in ("PK", "routes"):
            assert rules[p.name].startswith("rate"), p.name
    assert "km_cell_uptake" not in mouse.names()
    m = build_model(make_spec(indication=indication, species="rat", route="intravenous"))
    flat = m.flat_params(None, 1)
    assert flat["km_cells"][0] == pytest.approx(
        m.table.value("km_cell_uptake_per_cell") * flat["n_cells"][0])


def test_endogenous_pool_is_at_steady_state_and_competes() -> None:
    """Missing biology: no endogenous miRNA pool or RISC competition (delivered copies 4-6 per
    cell against a half-maximal 1000, the Kingston & Bartel production row unused). Now the
    endogenous pool starts at its steady state (no drift without a dose), holds most of the
    Argonaute, and a heavily loaded cargo displaces part of it."""
    s0 = arm("untreated", indication="neuropathic_pain", route="intrathecal", species="rat",
             days=10)
    r0 = simulate(s0, 1, variability=False, times=np.array([0.0, 5.0, 10.0]), rtol=1e-8,
                  engine=ENGINE)
    endo = r0.state(r0.model.risc_state("endo"))[0]
    assert np.max(np.abs(endo / endo[0] - 1)) < 1e-6
    assert endo[0] / r0.params["risc_capacity"][0] > 0.5
    s = make_spec(indication="neuropathic_pain", route="intrathecal", species="rat", dose=1e11,
                  days=10, cargo=[{"kind": "mirna", "name": "hsa-miR-146a-5p",
                                   "copies_per_vesicle": 5000}])
    r = simulate(s, 1, variability=False, times=np.linspace(0, 10, 41), engine=ENGINE)
    e = r.state(r.model.risc_state("endo"))[0]
    assert e.min() < 0.99 * e[0]
    occ = r.observables()["risc_occupancy"][0]
    assert occ.max() <= 1.0


def test_repeat_iv_dosing_is_cleared_faster() -> None:
    """Missing biology: no faster clearance on repeat i.v. dosing (macaques: circulation time
    strongly decreased after repeated i.v. dosing, Driedonks 2021; qualitative, so the
    response is an assumption with a range). Now a second dose a week after the first leaves
    less in plasma over its first day; with the response switched off (k_abc_max = 0) both
    doses behave alike."""
    def aucs(over: dict[str, float]) -> tuple[float, float]:
        s = make_spec(route="intravenous", dose=1e10, times=[0.0, 7.0], days=8.0,
                      body={"parameters": over})
        t = np.concatenate([np.linspace(0, 1, 97), np.linspace(7, 8, 97)])
        r = simulate(s, 1, variability=False, times=t, rtol=1e-8, engine=ENGINE)
        p = r.state("plasma")[0]
        return float(np.trapezoid(p[:97], t[:97])), float(np.trapezoid(p[97:], t[97:]))

    first, second = aucs({})
    assert second < 0.8 * first
    a, b = aucs({"k_abc_max": 0.0})
    assert b == pytest.approx(a, rel=0.02)


def test_intrathecal_dose_goes_through_csf() -> None:
    """Missing biology: intrathecal went straight into tissue. Now it enters the CSF, which
    drains into spinal cord/DRG, brain and (with bulk outflow) blood: the spinal share of the
    CSF outflow is k_csf_spinal_in / (sum of CSF exits)."""
    s = make_spec(indication="neuropathic_pain", route="intrathecal", species="rat",
                  dose=1e10, days=2)
    r = simulate(s, 1, variability=False, times=np.linspace(0, 2, 4001), rtol=1e-8,
                 engine=ENGINE)
    assert r.state("csf")[0, 0] == pytest.approx(1e10)
    assert r.state("spinal_cord_drg")[0, 0] == 0.0
    p = r.params
    share = p["k_csf_spinal_in"][0] / (p["k_csf_spinal_in"][0] + p["k_csf_brain"][0]
                                       + p["k_csf_bulk"][0])
    into_spinal = float(np.trapezoid(p["k_csf_spinal_in"][0] * r.state("csf")[0], r.times))
    assert into_spinal / 1e10 == pytest.approx(share, rel=1e-3)
    assert r.state("plasma")[0].max() > 0


@pytest.mark.parametrize(("species", "limit"), [("rat", 0.03), ("human", 0.005)])
def test_intranasal_brain_delivery_is_minimal(species: str, limit: float) -> None:
    """Missing biology: intranasal put 12 % of the dose in the brain where the sources say
    delivery was minimal (primates, Driedonks 2021). Now the fraction reaching the brain is the
    table's f_nose_brain (rodents 0.5 %, <= 3 %; human 0.05 %, <= 0.5 %)."""
    s = make_spec(indication="neuropathic_pain", route="intranasal", species=species,
                  dose=1e10, days=20)
    r = simulate(s, 1, variability=False, times=np.linspace(0, 20, 4001), rtol=1e-8,
                 engine=ENGINE)
    moved = float(np.trapezoid(r.params["k_nose_brain"][0] * r.state("site")[0], r.times))
    left_site = 1e10 - float(r.state("site")[0, -1])
    assert moved / 1e10 < limit
    assert moved / left_site == pytest.approx(r.params["f_nose_brain"][0], rel=1e-3)


def test_doses_in_ug_and_ceilings() -> None:
    """Defect: doses in ug protein (the unit most studies report) were rejected and 1e20
    particles (~52 L of vesicles in a mouse) ran silently. Now ug convert with the product's
    particles per ug (or the table default, Webber & Clayton range), the result equals the
    particle dose, a dose above the largest published one warns and one beyond the physical
    or 100x-published ceiling is refused, naming the field and the limit."""
    from exomir.body.spec import dose_conversion

    ug = make_spec(route="hydrogel", dose=100, dose_unit="ug",
                   product={"characterization": {"particles_per_ug_protein": 2e9}})
    conv = dose_conversion(ug)
    assert conv["particles"] == pytest.approx(2e11) and conv["particles_per_ug"] == 2e9
    default = make_spec(route="hydrogel", dose=10, dose_unit="ug")
    assert dose_conversion(default)["particles"] == pytest.approx(
        10 * parameter_table("diabetic_wound").value("particles_per_ug_default"))
    part = make_spec(route="hydrogel", dose=2e11)
    t = np.array([0.0, 5.0])
    a = simulate(ug, 1, variability=False, times=t, engine=ENGINE).Y
    b = simulate(part, 1, variability=False, times=t, engine=ENGINE).Y
    np.testing.assert_array_equal(a, b)
    from exomir.body import parse_spec

    base = {"indication": "diabetic_wound", "delivery": {"route": "intravenous"},
            "subject": {"species": "mouse"}, "days": 5}
    with pytest.warns(UserWarning, match="above the largest published"):
        parse_spec({**base, "regimen": {"dose": {"value": 1e12, "unit": "particles"}}})
    with pytest.raises(InputError) as info:
        parse_spec({**base, "regimen": {"dose": {"value": 1e20, "unit": "particles"}}})
    assert info.value.field == "regimen.dose.value" and "at most" in (info.value.accepted or "")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        parse_spec({**base, "regimen": {"dose": {"value": 1e10, "unit": "particles"}}})
