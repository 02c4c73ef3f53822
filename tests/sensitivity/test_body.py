"""The body model through the sensitivity pipeline: chunk invariance, screening, outputs
cross-checked against direct simulate() calls, uncertainty bands, one-at-a-time."""

from __future__ import annotations

import numpy as np
import pytest

from exomir.body.simulate import simulate
from exomir.core import InputError
from exomir.sensitivity.analysis import run_sensitivity, screen
from exomir.sensitivity.engine import LocalEngine, run_chunks
from exomir.sensitivity.evaluate import BodyEvaluator, OutputContext, untreated_spec
from exomir.sensitivity.problem import SensitivityProblem
from exomir.sensitivity.uncertainty import uncertainty_bands, variability_multipliers

from .helpers import PAIN, WOUND, model


def _problem(path=WOUND, **kw):  # type: ignore[no-untyped-def]
    return SensitivityProblem.from_table(model(path).table, **kw)


def test_problem_covers_every_ranged_parameter_of_the_table() -> None:
    m = model(WOUND)
    prob = _problem()
    from exomir.sensitivity.problem import is_switch

    ranged = {p.name for p in m.table if p.low is not None and p.high is not None
              and p.low < p.high and not is_switch(p)}
    assert set(prob.names) == ranged
    assert set(prob.fixed) == {p.name for p in m.table} - ranged
    assert {p.name for p in m.table.assumptions() if not is_switch(p)} <= ranged
    assert all("switch" in prob.fixed[p.name] for p in m.table if is_switch(p))
    for f in prob.factors:  # the rule stated in the output
        p = m.table[f.name]
        assert f.dist == ("loguniform" if p.low > 0 and p.high / p.low > 10 else "uniform")
        assert f.reason and f.describe()


def test_outputs_do_not_depend_on_chunking_or_threads() -> None:
    m = model(WOUND)
    prob = _problem(names=["ec50_ev", "f_escape", "k_endosome", "vmax_cell_uptake",
                           "diabetic_heal_factor", "k_effect"])
    ev = BodyEvaluator(m, prob.names)
    X = prob.transform(np.random.default_rng(0).random((40, prob.k)))
    a = run_chunks(LocalEngine(threads=1), ev, X, chunk_size=7)
    b = run_chunks(LocalEngine(threads=2), ev, X, chunk_size=40)
    assert np.array_equal(a, b)


def test_outputs_equal_direct_simulations() -> None:
    """A sample row's outputs are what simulate() gives for that parameter set, and the gain
    is measured against the same subject with no vesicles and no vehicle."""
    m = model(WOUND)
    names = ["ec50_ev", "f_escape", "k_skin_return"]
    ev = BodyEvaluator(m, names, day=14.0)
    x = np.array([[30.0, 0.05, 2.0]])
    got = dict(zip([c.name for c in ev.columns], ev.evaluate(x)[0], strict=True))
    ov = dict(zip(names, x[0], strict=True))
    res = simulate(m, 1, variability=False, overrides=ov, rtol=ev.rtol, times=ev.times)
    from exomir.body.model import build_model

    base = simulate(build_model(untreated_spec(m.spec)), 1, variability=False, overrides=ov,
                    rtol=ev.rtol, times=ev.times)
    ctx = OutputContext(m, 14.0, res)
    assert got["wound_closure_pct_day14"] == ctx.outcome(res)[0]
    assert got["gain_wound_closure_pct_day14"] == ctx.outcome(res)[0] - ctx.outcome(base)[0]
    assert got["peak_knockdown_PTEN"] == (1 - res.state("protein_PTEN")).max()
    assert base.model.dose_times == []  # untreated: no dose


def test_screen_finds_the_parameters_the_hydrogel_model_does_not_read() -> None:
    prob = _problem()
    ev = BodyEvaluator(model(WOUND), prob.names, ("outcome", "exposure"))
    inert, _ = screen(prob, ev, LocalEngine())
    # absorption from an injection site, intranasal and RVG: not on the hydrogel-wound path
    unread = {"k_abs_ip", "k_abs_sc", "k_abs_intranasal", "k_nose_brain", "f_nose_brain",
              "rvg_factor", "k_site_loss"} & set(prob.names)
    assert len(unread) >= 6 and unread <= set(inert)
    assert not {"ec50_ev", "diabetic_heal_factor", "k_skin_deg", "f_escape"} & set(inert)


def test_morris_on_the_body_model_ranks_unread_parameters_last() -> None:
    m = model(WOUND)
    prob = _problem(names=["ec50_ev", "diabetic_heal_factor", "k_abs_ip", "rvg_factor",
                           "k_skin_return"])
    res = run_sensitivity(prob, BodyEvaluator(m, prob.names, ("outcome",)), method="morris",
                          n=6, seed=1, screen_inert=False)
    out = res.outputs[0]
    order = list(res.top(out, 5)["label"])
    assert set(order[-2:]) == {"k_abs_ip", "rvg_factor"}
    df = res.indices.set_index("label")
    assert (df.loc[["k_abs_ip", "rvg_factor"], "mu_star"] == 0).all()
    assert (df.loc[["ec50_ev", "diabetic_heal_factor"], "mu_star"] > 0).all()


def test_sobol_on_the_pain_example_runs_with_every_output() -> None:
    m = model(PAIN)
    full = SensitivityProblem.from_table(m.table)
    prob = full.select(groups=[full.factor("pwt_baseline").group,
                               full.factor("ec50_ev").group])
    res = run_sensitivity(prob, BodyEvaluator(m, prob.names), n=16, seed=0)
    fams = [c.family for c in res.columns]
    assert fams[0] == "outcome" and fams[-1] == "exposure"
    assert fams.count("knockdown") == 2 and "gain" in fams
    assert res.model == {}
    assert res.simulations == 2 * res.runs
    kd = res.indices[res.indices["output"] == "auc_spinal_cord_drg"]
    # the outcome-model parameters act downstream of the exposure: no effect on it beyond
    # solver noise (they change the adaptive steps), so no indices are reported for it
    assert kd["constant"].all()
    assert not res.indices[res.indices["output"].str.startswith("paw")]["constant"].any()


def test_by_group_gives_one_index_per_group() -> None:
    m = model(WOUND)
    full = SensitivityProblem.from_table(m.table)
    groups = [full.factor("f_escape").group, full.factor("ec50_ev").group]
    prob = full.select(groups=groups)
    res = run_sensitivity(prob, BodyEvaluator(m, prob.names, ("outcome",)), n=16, seed=0,
                          by="group", second_order=False)
    assert sorted(res.labels) == sorted(groups)
    with pytest.raises(InputError, match="no grouped"):
        run_sensitivity(prob, BodyEvaluator(m, prob.names, ("outcome",)), method="efast",
                        n=80, by="group")


def test_uncertainty_headline_equals_cohort_simulated_with_the_drawn_values() -> None:
    """The nested design: draw j's headline is the median of the same cohort that
    simulate() draws (same seed) when the table holds draw j's values."""
    m = model(WOUND)
    prob = _problem(names=["ec50_ev", "diabetic_heal_factor", "vmax_cell_uptake"])
    unc = uncertainty_bands(m, problem=prob, n_draws=4, n_subjects=6, outputs=("outcome",),
                            seed=3, screen_inert=False)
    from scipy.stats import qmc

    theta = prob.transform(qmc.LatinHypercube(d=prob.k, seed=3).random(4))
    for j in (0, 3):
        from exomir.body.model import BodyModel

        tab = m.table.replace(**dict(zip(prob.names, theta[j], strict=True)))
        mj = BodyModel(**{**m.__dict__, "table": tab})
        res = simulate(mj, 6, seed=3, rtol=1e-5, times=BodyEvaluator(m, [], ("outcome",)).times)
        direct = np.median(OutputContext(m, 14.0, res).outcome(res))
        assert unc.headline_draws is not None
        assert np.isclose(unc.headline_draws[j, 0], direct, rtol=1e-6), (j, direct)
    mult = variability_multipliers(m, 6, 3)
    assert set(mult) == {p.name for p in m.table if p.cv and p.value != 0}  # table cvs only


def test_uncertainty_bands_wound_example() -> None:
    # 80 draws: with the calibration's non-identified parameters carried as ranges (81
    # uncertain parameters) the Bonferroni threshold at 40 draws is |rho| > 0.56, which the
    # headline's leading drivers (k_granulation, k_reepi, |rho| ~0.4-0.45) do not reach
    unc = uncertainty_bands(model(WOUND), n_draws=80, n_subjects=10, seed=0)
    b = unc.band()
    assert b["output"] == "wound_closure_pct_day14"
    for key in ("var", "unc", "comb"):
        assert b[f"{key}_p05"] <= b[f"{key}_p95"]
    # assumption ranges widen the headline's band well beyond between-subject variability
    assert b["unc_p95"] - b["unc_p05"] > 2 * (b["var_p95"] - b["var_p05"])
    assert "5th / 95th percentile" in unc.statement()
    assert unc.drivers["wound_closure_pct_day14"]
    assert unc.simulations == 2 * 81 * 10


def test_uncertainty_collapses_without_uncertain_parameters() -> None:
    """Only a parameter the model does not read is uncertain: the uncertainty band is the
    nominal median exactly, and the pooled (combined) draws are copies of the nominal cohort."""
    m = model(WOUND)
    prob = _problem(names=["k_abs_ip", "rvg_factor"])
    unc = uncertainty_bands(m, problem=prob, n_draws=5, n_subjects=8, outputs=("outcome",),
                            screen_inert=False)
    b = unc.band()
    assert b["unc_p05"] == b["unc_p95"] == b["nominal_median"]
    assert b["comb_p50"] == b["nominal_median"]
    assert unc.drivers[b["output"]] == []


def test_one_at_a_time_matches_single_simulations() -> None:
    from exomir.sensitivity.oat import one_at_a_time

    m = model(WOUND)
    params = [m.table["ec50_ev"], m.table["diabetic_heal_factor"]]
    rows = one_at_a_time(m, 14.0, parameters=params)
    assert {r["parameter"] for r in rows} == {"ec50_ev", "diabetic_heal_factor"}
    for r in rows:
        for end in ("low", "high"):
            res = simulate(m, 1, variability=False, overrides={r["parameter"]: r[end]})
            ref = np.interp(14.0, res.times, res.observables()["wound_closure_pct"][0])
            assert np.isclose(r[f"headline_{end}"], ref, rtol=1e-9)
    assert rows[0]["swing"] >= rows[1]["swing"]


def test_unknown_output_and_bad_day_are_input_errors() -> None:
    m = model(WOUND)
    with pytest.raises(InputError, match="unknown output"):
        BodyEvaluator(m, ["ec50_ev"], ("survival",))
    with pytest.raises(InputError, match="outside the simulated window"):
        BodyEvaluator(m, ["ec50_ev"], ("outcome",), day=90.0)
    with pytest.raises(InputError, match="comparator"):
        BodyEvaluator(m, ["ec50_ev"], ("difference",))


def test_difference_between_two_designs_is_per_row() -> None:
    """The 'difference' output (what drives the gap between two candidates): the outcome of
    design A minus that of design B for the same parameter row."""
    from exomir.body import build_model, with_schedule

    m = model(WOUND)
    comp = build_model(with_schedule(m.spec, [0.0]))  # one application instead of two
    ev = BodyEvaluator(m, ["ec50_ev", "f_escape"], ("outcome", "difference"), comparator=comp)
    x = np.array([[10.0, 0.02], [300.0, 0.2]])
    y = ev.evaluate(x)
    ov = {"ec50_ev": x[:, 0], "f_escape": x[:, 1]}
    res_b = simulate(comp, 2, variability=False, overrides=ov, times=ev.times, rtol=ev.rtol)
    ctx = OutputContext(m, 14.0, res_b)
    assert np.array_equal(y[:, 1], y[:, 0] - ctx.outcome(res_b))
    assert ev.simulations_per_row == 2


def test_attribution_output_equals_the_body_models_shapley_split() -> None:
    """The 'attribution' family: per row, the Shapley contributions of the mechanism
    switches, as exomir.body.attribution computes them; they sum to the gain."""
    from exomir.sensitivity.evaluate import has_mechanisms

    m = model(WOUND)
    if not has_mechanisms(m):
        pytest.skip("this body model has no mechanism switches (before the mechanisms issue)")
    from exomir.body.attribution import attribute

    names = ["ec50_ev", "f_escape"]
    ev = BodyEvaluator(m, names, ("gain", "attribution"))
    x = np.array([[20.0, 0.05], [200.0, 0.01]])
    y = dict(zip([c.name for c in ev.columns], ev.evaluate(x).T, strict=True))
    key = "wound_closure_pct_day14"
    for r in range(2):
        att = attribute(m, 1, None, variability=False, rtol=ev.rtol,
                        overrides=dict(zip(names, x[r], strict=True))).primary
        for i, mech in enumerate(("mirna", "vesicle", "vehicle")):
            got = y[f"contribution_{mech}_{key}"][r]
            assert np.isclose(got, att.contributions[i, 0], rtol=1e-6, atol=1e-6), mech
    total = sum(y[f"contribution_{mech}_{key}"] for mech in ("mirna", "vesicle", "vehicle"))
    assert np.allclose(total, y[f"gain_{key}"], atol=0.05)  # y(none) vs the dose-0 arm


def test_uncertainty_draws_assumed_between_subject_cvs() -> None:
    m = model(WOUND)
    if not hasattr(m.table, "cv_parameters"):
        pytest.skip("this parameter table has no CV provenance (before the mechanisms issue)")
    assumed = {p.name for p in m.table.cv_parameters() if p.assumption}
    unc = uncertainty_bands(m, n_draws=6, n_subjects=5, outputs=("outcome",), seed=1)
    drawn = {n for n in unc.problem.names if n.startswith("cv_")}
    assert drawn and drawn <= assumed
    assert any("CVs are assumptions" in n for n in unc.notes)
    # the nominal cohort (row 0) keeps the table's CVs: the variability band is simulate()'s
    res = simulate(m, 5, seed=1, rtol=1e-5, times=BodyEvaluator(m, [], ("outcome",)).times)
    ref = OutputContext(m, 14.0, res).outcome(res)
    assert np.isclose(unc.band()["nominal_median"], np.median(ref), rtol=1e-6)


def test_one_at_a_time_leaves_out_mechanism_switches() -> None:
    from exomir.sensitivity.oat import one_at_a_time
    from exomir.sensitivity.problem import is_switch

    m = model(WOUND)
    rows = one_at_a_time(m, 14.0)
    names = {r["parameter"] for r in rows}
    assert not any(is_switch(m.table[n]) for n in names)
    assert "ec50_ev" in names and "diabetic_heal_factor" in names
