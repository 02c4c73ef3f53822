"""The pipeline: screen -> sample -> evaluate (on an engine) -> analyze -> check convergence.

:func:`run_sensitivity` chains the steps the way SALib's ``ProblemSpec`` does, on exomir's
own engines:

1. **screen** (``screen=True``): from the nominal row and from 3 random rows, every factor
   alone at each end of its range. A factor whose outputs stay bit-identical at both ends from
   all four base rows has no effect (in practice: it is not read by this model structure,
   e.g. the intranasal absorption rate in a hydrogel wound model); it is removed and listed in
   ``result.screened`` (4·(2k+1) runs).
2. **sample**: the method's design on the unit hypercube, mapped to parameter values by
   :meth:`SensitivityProblem.transform`.
3. **evaluate**: rows in fixed-size chunks on the engine (local or Dask); outputs in order.
4. **analyze**: the method's indices with bootstrap CIs for every output column.
5. **convergence**: the same analysis at n/2 (free for Sobol' and Morris, whose first half is a
   design of its own; a second design for eFAST), the change of the ranking index and
   whether the five leading labels stay the same.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, Literal

import numpy as np
import pandas as pd

from exomir.core import InputError
from exomir.sensitivity.engine import DEFAULT_CHUNK, Engine, LocalEngine, run_chunks
from exomir.sensitivity.evaluate import Evaluator
from exomir.sensitivity.methods import Method, get_method, n_groups
from exomir.sensitivity.problem import SensitivityProblem
from exomir.sensitivity.result import CONVERGENCE_TOL, SensitivityResult

Progress = Callable[[str, int, int], None]  # (stage, done, total)
CONVERGENCE_RESAMPLES = 10  # the n/2 analysis compares point estimates; its CIs are unused


def check_seed(seed: object) -> int:
    """A seed is a whole number >= 0 (numpy and SALib refuse others)."""
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or int(seed) < 0:
        raise InputError("seed must be a whole number >= 0", field="--seed", value=seed,
                         accepted="an integer >= 0 (e.g. 0, 42)")
    return int(seed)


MAX_RUNS = 20_000_000  # model runs one analysis may plan (hours on a large cluster)
MAX_SAMPLE_BYTES = 2 * 2**30  # the sample matrix held in memory
SCREEN_POINTS = 3  # random base points of the screen, besides the nominal one


def screen(problem: SensitivityProblem, evaluator: Evaluator, engine: Engine,
           chunk_size: int = DEFAULT_CHUNK, points: int = SCREEN_POINTS, seed: int = 0
           ) -> tuple[list[str], np.ndarray]:
    """Factors with no effect: outputs bit-identical when the factor alone moves to either end
    of its range, from the nominal point and from ``points`` random points of the design
    space (so a parameter read only beyond a threshold, e.g. a cut-off, is kept).
    Returns the inert factors and the nominal outputs. (2k + 1)·(points + 1) runs."""
    k = problem.k
    lo, hi = problem.ends()
    rng = np.random.default_rng([seed, 7])
    bases = np.vstack([problem.nominal()[None, :],
                       problem.transform(rng.random((points, k)))])
    blocks = []
    for b in bases:
        X = np.repeat(b[None, :], 2 * k + 1, axis=0)
        for i in range(k):
            X[1 + 2 * i, i] = lo[i]
            X[2 + 2 * i, i] = hi[i]
        blocks.append(X)
    Y = run_chunks(engine, evaluator, np.vstack(blocks), chunk_size)
    Y = Y.reshape(len(bases), 2 * k + 1, -1)
    inert = []
    for i, f in enumerate(problem.factors):
        if f.block is None and all(np.array_equal(y[1 + 2 * i], y[0])
                                   and np.array_equal(y[2 + 2 * i], y[0]) for y in Y):
            inert.append(f.name)
    return inert, Y[0, 0]


def _without_ba(rows: int, d: int) -> np.ndarray:
    """Row indices of a second-order Saltelli design without its B_A block: per base sample
    [A, A_B(1..d), B_A(1..d), B] -> [A, A_B(1..d), B], the first/total-order layout."""
    stride = 2 * d + 2
    base = np.arange(rows // stride)[:, None] * stride
    per = np.r_[np.arange(d + 1), stride - 1]
    return np.asarray((base + per[None, :]).ravel())


def _analyze_columns(method: Method, salib: dict[str, Any], U: np.ndarray, Y: np.ndarray,
                     names: list[str], seed: int, noise: float = 0.0, **kw: Any
                     ) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """Indices per output column. An output whose spread is within ``noise`` (relative to its
    largest magnitude: the solver's tolerance) is reported as constant, with no indices:
    its variance would be numerical noise, not sensitivity."""
    rows: list[dict[str, Any]] = []
    second: list[dict[str, Any]] = []
    for j, out in enumerate(names):
        y = Y[:, j]
        if not np.all(np.isfinite(y)):
            raise InputError("non-finite model output", field="output", value=out)
        if np.ptp(y) <= noise * np.max(np.abs(y)):
            labels = list(dict.fromkeys(salib.get("groups") or salib["names"]))
            for lab in labels:
                rows.append({"output": out, "label": lab, "constant": True,
                             **{f"{i}{s}": np.nan for i in method.indices
                                for s in ("", "_conf")}})
            continue
        if j > 0 and kw.get("second_order"):
            # S2 for the headline (first) output only; the others use the A, AB and B rows
            # of the same design (the S1/ST layout), which halves their analysis cost
            d = len(dict.fromkeys(salib.get("groups") or salib["names"]))
            keep = _without_ba(len(y), d)
            si = method.analyze(salib, U[keep], y[keep], seed=seed,
                                **{**kw, "second_order": False})
        else:
            si = method.analyze(salib, U, y, seed=seed, **kw)
        if any(np.isnan(v).any() for k, v in si.items() if k in method.indices):
            raise RuntimeError(f"SALib returned NaN indices for {out}")
        keys = [k for k in si if k != "labels" and k not in ("S2", "S2_conf")]
        for i, lab in enumerate(si["labels"]):
            rows.append({"output": out, "label": lab, "constant": False,
                         **{k: float(si[k][i]) for k in keys}})
        if "S2" in si:
            labs = si["labels"]
            for a in range(len(labs)):
                for b in range(a + 1, len(labs)):
                    second.append({"output": out, "a": labs[a], "b": labs[b],
                                   "S2": float(si["S2"][a, b]),
                                   "S2_conf": float(si["S2_conf"][a, b])})
    df = pd.DataFrame(rows)
    if method.name == "morris" and not df.empty:
        peak = df.groupby("output")["mu_star"].transform("max")
        df["mu_star_rel"] = np.where(peak > 0, df["mu_star"] / peak.where(peak > 0, 1.0), 0.0)
    return df, (pd.DataFrame(second) if second else None)


def _convergence(method: Method, full: pd.DataFrame, half: pd.DataFrame
                 ) -> tuple[pd.DataFrame, dict[str, bool]]:
    key = "mu_star_rel" if method.name == "morris" else method.ranking
    if method.name == "morris":  # compare both halves on the full run's scale
        peak = full.groupby("output")["mu_star"].transform("max").replace(0, 1.0)
        half = half.copy()
        half["mu_star_rel"] = half["mu_star"] / peak.to_numpy()
    m = full[["output", "label", key]].merge(half[["output", "label", key]],
                                             on=["output", "label"], suffixes=("", "_half"))
    m = m.rename(columns={key: "at_n", f"{key}_half": "at_half"})
    m["change"] = (m["at_n"] - m["at_half"]).abs()
    m.insert(2, "index", key)
    verdict: dict[str, bool] = {}
    for out, g in m.groupby("output", sort=False):
        if g["at_n"].isna().all():
            verdict[str(out)] = True
            continue
        top_n = set(g.sort_values("at_n", ascending=False)["label"].head(5))
        top_h = set(g.sort_values("at_half", ascending=False)["label"].head(5))
        verdict[str(out)] = bool(g["change"].max() <= CONVERGENCE_TOL and top_n == top_h)
    return m, verdict


def run_sensitivity(
    problem: SensitivityProblem,
    evaluator: Evaluator,
    *,
    method: str = "sobol",
    n: int = 512,
    seed: int = 0,
    by: Literal["parameter", "group"] = "parameter",
    second_order: bool = True,
    engine: Engine | None = None,
    chunk_size: int = DEFAULT_CHUNK,
    convergence: bool = True,
    screen_inert: bool = True,
    num_resamples: int = 100,
    conf_level: float = 0.95,
    progress: Progress | None = None,
    model_info: dict[str, Any] | None = None,
) -> SensitivityResult:
    """Global sensitivity of every output column of ``evaluator`` over ``problem``.

    ``n``: base samples (Sobol', a power of 2), trajectories (Morris) or points per search
    curve (eFAST). ``by="group"`` gives one index per parameter group. ``engine`` defaults to
    :class:`LocalEngine`; any engine gives the same numbers for the same seed.
    """
    m = get_method(method)
    m.check(n)
    check_seed(seed)
    if by not in ("parameter", "group"):
        raise InputError("unknown grouping", field="by", value=by, accepted="parameter, group")
    if by == "group" and not m.grouped:
        raise InputError(f"{method} has no grouped indices", field="--by-group", value=method,
                         accepted="sobol, morris")
    if list(evaluator.names) != problem.names:
        raise ValueError("evaluator columns must be the problem's factors, in order")
    if problem.k < 2:
        raise InputError("need at least two uncertain parameters", field="parameters",
                         value=problem.names, accepted="a larger group or all parameters")
    eng = engine or LocalEngine()
    t_start = time.perf_counter()
    notes: list[str] = []
    say = progress or (lambda stage, done, total: None)
    names = [c.name for c in evaluator.columns]
    full_names = list(problem.names)
    full_nominal = problem.nominal()
    sims_per_row = int(getattr(evaluator, "simulations_per_row", 1))

    screened: list[str] = []
    nominal_out: np.ndarray | None = None
    runs = 0
    eval_s = 0.0
    if screen_inert:
        n_screen = (2 * problem.k + 1) * (SCREEN_POINTS + 1)
        say("screening", 0, n_screen)
        t0 = time.perf_counter()
        screened, nominal_out = screen(problem, evaluator, eng, chunk_size, seed=seed)
        eval_s += time.perf_counter() - t0
        runs += n_screen
        say("screening", n_screen, n_screen)
        if screened:
            problem = problem.without(screened, "no effect: outputs bit-identical with it at "
                                                "either end of its range, from the nominal "
                                                "and 3 random points")
            notes.append(f"{len(screened)} parameters had no effect on any output at the "
                         "screen's 4 base points (most are not read by this model structure) "
                         f"and were left out: {', '.join(screened)}")
        if problem.k < 2:
            raise InputError("fewer than two parameters influence the outputs",
                             field="parameters", value=problem.names)

    embed = _embedding(problem, full_names, full_nominal)
    salib = problem.salib(by)
    d = n_groups(salib)
    planned = m.runs(n, d, second_order)
    if planned > MAX_RUNS or planned * problem.k * 8 > MAX_SAMPLE_BYTES:
        raise InputError(f"{planned:,} model runs for {problem.k} factors is more than one "
                         "analysis may plan", field="--n", value=n,
                         accepted=f"at most {MAX_RUNS:,} runs (and a sample of at most "
                                  f"{MAX_SAMPLE_BYTES // 2**30} GiB); {method} needs "
                                  f"{m.runs(1, d, second_order)} runs per unit of n here")
    U = m.sample(salib, n, seed, second_order=second_order)
    X = embed(problem.transform(U))
    t0 = time.perf_counter()
    Y = run_chunks(eng, evaluator, X, chunk_size,
                   progress=lambda done, total: say("sampling", done, total))
    eval_s += time.perf_counter() - t0
    runs += len(X)
    kw: dict[str, Any] = {"num_resamples": num_resamples, "conf_level": conf_level,
                          "noise": float(getattr(evaluator, "noise", 0.0))}
    if m.name == "sobol":
        kw["second_order"] = second_order
    indices, second = _analyze_columns(m, salib, U, Y, names, seed, **kw)
    if m.note:
        notes.append(m.note)

    conv: pd.DataFrame | None = None
    verdict: dict[str, bool] = {}
    kw["num_resamples"] = min(num_resamples, CONVERGENCE_RESAMPLES)  # point estimates only
    if convergence:
        if m.prefix_halves:
            rows = np.arange((n // 2) * m.stride(d, second_order))
            if m.name == "sobol" and second_order:  # only the ranking index is compared
                rows = rows[_without_ba(len(rows), d)]
                kw["second_order"] = False
            if n // 2 >= 2:
                half, _ = _analyze_columns(m, salib, U[rows], Y[rows], names, seed, **kw)
                conv, verdict = _convergence(m, indices, half)
        else:
            n2 = n // 2
            try:
                U2 = m.sample(salib, n2, seed + 1, second_order=second_order)
            except InputError:
                notes.append(f"no convergence check: n/2 = {n2} is too small for {method}")
            else:
                t0 = time.perf_counter()
                Y2 = run_chunks(eng, evaluator, embed(problem.transform(U2)), chunk_size,
                                progress=lambda done, total: say("convergence", done, total))
                eval_s += time.perf_counter() - t0
                runs += len(U2)
                half, _ = _analyze_columns(m, salib, U2, Y2, names, seed, **kw)
                conv, verdict = _convergence(m, indices, half)

    stats = _output_stats(m, evaluator, U, Y, d, second_order, n, nominal_out)
    return SensitivityResult(
        method=m.name, by=by, n=n, seed=seed, second_order=bool(second_order and
                                                                m.name == "sobol"),
        problem=problem, columns=list(evaluator.columns),
        labels=list(dict.fromkeys(salib.get("groups") or salib["names"])),
        indices=indices, second=second, convergence=conv, converged=verdict,
        output_stats=stats, screened=screened, runs=runs, simulations=runs * sims_per_row,
        wall_s=time.perf_counter() - t_start, eval_s=eval_s, engine=eng.describe(),
        notes=notes, model=dict(model_info or {}))


def _embedding(problem: SensitivityProblem, names: list[str], nominal: np.ndarray
               ) -> Callable[[np.ndarray], np.ndarray]:
    """Rows over ``problem``'s factors -> rows over all of the evaluator's ``names`` (factors
    left out by the screen stay at their nominal values)."""
    idx = [names.index(n) for n in problem.names]

    def embed(X: np.ndarray) -> np.ndarray:
        full = np.repeat(nominal[None, :], len(X), axis=0)
        full[:, idx] = X
        return full

    return embed


def _output_stats(m: Method, evaluator: Evaluator, U: np.ndarray, Y: np.ndarray, d: int,
                  second_order: bool, n: int, nominal: np.ndarray | None
                  ) -> pd.DataFrame | None:
    """Distribution of each output over the independent draws of a Sobol' design (its A and
    B matrices: 2n quasi-random draws of the inputs); None for other designs."""
    if m.name != "sobol":
        return None
    stride = m.stride(d, second_order)
    rows = np.concatenate([np.arange(n) * stride, np.arange(n) * stride + stride - 1])
    out = []
    for j, c in enumerate(evaluator.columns):
        y = Y[rows, j]
        nom = None if nominal is None else float(nominal[j])
        out.append({"output": c.name, "unit": c.unit, "label": c.label, "nominal": nom,
                    "mean": float(np.mean(y)), "sd": float(np.std(y, ddof=1)),
                    "p05": float(np.percentile(y, 5)), "p50": float(np.percentile(y, 50)),
                    "p95": float(np.percentile(y, 95)),
                    "nominal_percentile": None if nom is None
                    else float(100.0 * np.mean(y <= nom))})
    return pd.DataFrame(out)
