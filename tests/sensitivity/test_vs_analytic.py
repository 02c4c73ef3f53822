"""The sensitivity pipeline (exomir's sampling, chunked engine and analysis) against functions
with known indices (SALib's reference test functions, analytic values from the literature)."""

from __future__ import annotations

import numpy as np
import pytest

from exomir.sensitivity.analysis import run_sensitivity
from exomir.sensitivity.engine import LocalEngine
from exomir.sensitivity.evaluate import Column, FunctionEvaluator
from exomir.sensitivity.testfunctions import (
    LinearInert,
    SobolG,
    ishigami,
    ishigami_indices,
    ishigami_problem,
)

N = 4096  # base samples; at 1024 one of the 12 Sobol' G indices (ST of x5) fell outside its CI


def _within(est: np.ndarray, conf: np.ndarray, truth: np.ndarray) -> np.ndarray:
    return np.abs(est - truth) <= conf


def test_ishigami_sobol_within_bootstrap_ci() -> None:
    prob = ishigami_problem()
    res = run_sensitivity(prob, FunctionEvaluator(ishigami, prob.names), n=N, seed=1,
                          chunk_size=1000, screen_inert=False, engine=LocalEngine())
    df = res.indices
    ref = ishigami_indices()
    assert np.allclose(ref["S1"], [0.3139, 0.4424, 0.0], atol=1e-4)  # the values
    assert np.allclose(ref["ST"], [0.5576, 0.4424, 0.2437], atol=1e-4)
    assert _within(df["S1"].to_numpy(), df["S1_conf"].to_numpy(), ref["S1"]).all(), df
    assert _within(df["ST"].to_numpy(), df["ST_conf"].to_numpy(), ref["ST"]).all(), df
    s2 = res.second.set_index(["a", "b"])
    for (a, b), truth in {("x1", "x2"): 0.0, ("x1", "x3"): ref["S2"][0, 2],
                          ("x2", "x3"): 0.0}.items():
        row = s2.loc[(a, b)]
        assert abs(row["S2"] - truth) <= row["S2_conf"], (a, b, row)
    assert res.converged == {"y": True}
    assert res.runs == N * (2 * 3 + 2)


def test_sobol_g_first_and_total_order_within_ci() -> None:
    g = SobolG([78, 12, 0.5, 2, 97, 33])
    ref = g.indices()
    assert np.allclose(ref["S1"], [0.000276, 0.010195, 0.765743, 0.191436, 0.000179,
                                   0.001490], atol=1e-6)  # the analytic values
    prob = g.problem()
    res = run_sensitivity(prob, FunctionEvaluator(g, prob.names), n=N, seed=1,
                          second_order=False, screen_inert=False)
    df = res.indices
    assert _within(df["S1"].to_numpy(), df["S1_conf"].to_numpy(), ref["S1"]).all(), df
    assert _within(df["ST"].to_numpy(), df["ST_conf"].to_numpy(), ref["ST"]).all(), df
    assert list(res.top("y", 2)["label"]) == ["x3", "x4"]


def test_sobol_ci_coverage_over_seeds() -> None:
    """The bootstrap CIs are honest: over 20 independent designs (n = 256), the 95 % intervals
    of the six Ishigami S1/ST cover the analytic values at about the nominal rate."""
    prob = ishigami_problem()
    ev = FunctionEvaluator(ishigami, prob.names)
    ref = ishigami_indices()
    hits = total = 0
    for seed in range(20):
        df = run_sensitivity(prob, ev, n=256, seed=100 + seed, second_order=False,
                             convergence=False, screen_inert=False).indices
        for key in ("S1", "ST"):
            hits += int(_within(df[key].to_numpy(), df[f"{key}_conf"].to_numpy(),
                                ref[key]).sum())
            total += 3
    assert hits / total >= 0.85, hits / total  # binomial(120, 0.95): P(< 0.85) ~ 1e-4


def test_efast_ishigami() -> None:
    """eFAST's SALib CIs are indicative only (SALib issue 649), so the check is an absolute
    tolerance of 0.05 at n = 2048 points per curve."""
    prob = ishigami_problem()
    res = run_sensitivity(prob, FunctionEvaluator(ishigami, prob.names), method="efast",
                          n=2048, seed=2, screen_inert=False)
    ref = ishigami_indices()
    assert np.allclose(res.indices["S1"], ref["S1"], atol=0.05), res.indices
    assert np.allclose(res.indices["ST"], ref["ST"], atol=0.05), res.indices
    assert any("indicative" in n for n in res.notes)
    assert res.convergence is not None  # a second design at n/2


def test_morris_ranks_inert_parameters_last() -> None:
    f = LinearInert([1.0, 0.0, 3.0, 0.0, 0.5, 0.0])
    prob = f.problem()
    res = run_sensitivity(prob, FunctionEvaluator(f, prob.names), method="morris", n=20,
                          seed=4, screen_inert=False)
    order = list(res.top("y", 6)["label"])
    assert order[:3] == ["x3", "x1", "x5"]
    assert set(order[3:]) == {"x2", "x4", "x6"}
    df = res.indices.set_index("label")
    assert (df.loc[["x2", "x4", "x6"], "mu_star"] == 0).all()
    # mu* is the effect of a full-range step: y is linear, so mu* = |c|
    assert np.allclose(df.loc[["x1", "x3", "x5"], "mu_star"], [1.0, 3.0, 0.5])


def test_screen_removes_exactly_the_inert_factors() -> None:
    f = LinearInert([1.0, 0.0, 2.0])
    prob = f.problem()
    res = run_sensitivity(prob, FunctionEvaluator(f, prob.names), n=64, seed=0)
    assert res.screened == ["x2"]
    assert res.labels == ["x1", "x3"]
    assert res.problem.fixed["x2"].startswith("no effect")


def test_grouped_sobol_matches_the_closed_group_index() -> None:
    """Grouped indices: for Sobol' G the closed index of {x3, x4} is
    (Π_{i in g}(1 + V_i) − 1)/V."""
    g = SobolG()
    prob = g.problem()
    groups = ["a", "a", "b", "b", "a", "a"]
    prob.factors = [f.__class__(**{**f.__dict__, "group": grp})
                    for f, grp in zip(prob.factors, groups, strict=True)]
    res = run_sensitivity(prob, FunctionEvaluator(g, prob.names), n=N, seed=5, by="group",
                          second_order=False, screen_inert=False)
    vi = 1.0 / (3.0 * (1.0 + g.a) ** 2)
    v = np.prod(1 + vi) - 1
    closed_b = (np.prod(1 + vi[[2, 3]]) - 1) / v
    row = res.indices.set_index("label").loc["b"]
    assert abs(row["S1"] - closed_b) <= row["S1_conf"], row
    assert res.labels == ["a", "b"]


def test_bad_sobol_n_is_an_input_error() -> None:
    from exomir.core import InputError

    prob = ishigami_problem()
    with pytest.raises(InputError, match="power of 2"):
        run_sensitivity(prob, FunctionEvaluator(ishigami, prob.names), n=100,
                        screen_inert=False)


def test_second_order_for_the_headline_and_first_total_order_for_the_rest() -> None:
    """S2 comes for the first (headline) output; the other outputs are analysed on the A,
    A_B and B rows of the same design and still match the analytic S1/ST."""
    prob = ishigami_problem()
    ev = FunctionEvaluator(lambda X: np.column_stack([ishigami(X), 2.0 * ishigami(X) + 1.0]),
                           prob.names, [Column("y", "", "y", "f"), Column("z", "", "z", "f")])
    res = run_sensitivity(prob, ev, n=N, seed=1, screen_inert=False)
    ref = ishigami_indices()
    assert set(res.second["output"]) == {"y"}
    z = res.indices[res.indices["output"] == "z"]
    assert _within(z["S1"].to_numpy(), z["S1_conf"].to_numpy(), ref["S1"]).all(), z
    assert _within(z["ST"].to_numpy(), z["ST_conf"].to_numpy(), ref["ST"]).all(), z
    assert set(res.converged) == {"y", "z"}
