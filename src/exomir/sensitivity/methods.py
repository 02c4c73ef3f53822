"""Sampler and analyzer pairs (SALib), each working on the unit hypercube.

Every method turns a SALib problem dict and a base sample size ``n`` into a unit sample, and
a unit sample with the model outputs ``Y`` (one column) into indices with bootstrap CIs:

* ``sobol``: Saltelli's extension of the scrambled Sobol' sequence (``n`` a power of 2;
  ``n·(D+2)`` runs, ``n·(2D+2)`` with second order, S2 for the headline output;
  D = number of factors or groups);
  first-order S1, total ST (Saltelli 2010 / Jansen estimators) and second-order S2, with
  bootstrap CIs (SALib ``sobol.analyze``). The first ``n/2`` base rows are a complete
  design of their own, so the convergence check (indices at n/2 and n) costs nothing.
* ``morris``: elementary effects on a 4-level grid (``n`` trajectories, ``n·(D+1)`` runs):
  mu* (mean |EE|, in output units per full factor range) with a bootstrap CI, sigma, mu.
  The first ``n/2`` trajectories are a design of their own (free convergence check).
* ``efast``: extended FAST (``n`` points per search curve, ``n·D`` runs, n > 64): S1 and ST.
  SALib says its eFAST CIs are indicative only (SALib issue 649); so does the output. No
  groups. A convergence check needs a second design at n/2 (1.5x the runs).

SALib is imported on first use.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from exomir.core import InputError

Indices = dict[str, Any]


@dataclass(frozen=True)
class Method:
    name: str
    description: str
    indices: tuple[str, ...]  # the main index columns (each has a *_conf)
    ranking: str  # index used to rank factors
    grouped: bool  # supports grouped factors
    prefix_halves: bool  # the first n/2 of the design is a design at n/2
    sample: Callable[..., np.ndarray]
    analyze: Callable[..., Indices]
    runs: Callable[[int, int, bool], int]  # (n, D, second_order) -> model runs
    stride: Callable[[int, bool], int]  # rows per base sample (prefix slicing)
    check: Callable[[int], None]  # raises InputError for an unusable n
    note: str = ""


def _d(problem: dict[str, Any]) -> int:
    groups = problem.get("groups")
    return len(dict.fromkeys(groups)) if groups else int(problem["num_vars"])


def _labels(problem: dict[str, Any]) -> list[str]:
    groups = problem.get("groups")
    return list(dict.fromkeys(groups)) if groups else list(problem["names"])


def _is_pow2(n: int) -> bool:
    return n >= 2 and n & (n - 1) == 0


# ---- sobol --------------------------------------------------------------------------------

def _sobol_check(n: int) -> None:
    if not _is_pow2(n):
        raise InputError("Sobol' designs need a power of 2 base samples", field="--n",
                         value=n, accepted="2, 4, ..., 256, 512, 1024, ...")


def _sobol_sample(problem: dict[str, Any], n: int, seed: int,
                  second_order: bool = True) -> np.ndarray:
    from SALib.sample import sobol

    _sobol_check(n)
    return np.asarray(sobol.sample(problem, n, calc_second_order=second_order, seed=seed))


def _sobol_analyze(problem: dict[str, Any], U: np.ndarray, Y: np.ndarray, *, seed: int,
                   second_order: bool = True, num_resamples: int = 100,
                   conf_level: float = 0.95) -> Indices:
    from SALib.analyze import sobol

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        si = sobol.analyze(problem, np.asarray(Y, dtype=float), calc_second_order=second_order,
                           num_resamples=num_resamples, conf_level=conf_level,
                           seed=seed + 1)  # SALib ignores a seed of 0
    out: Indices = {"labels": _labels(problem)}
    for key in ("S1", "S1_conf", "ST", "ST_conf"):
        out[key] = np.asarray(si[key], dtype=float)
    if second_order:
        out["S2"] = np.asarray(si["S2"], dtype=float)
        out["S2_conf"] = np.asarray(si["S2_conf"], dtype=float)
    return out


# ---- morris -------------------------------------------------------------------------------

MORRIS_LEVELS = 4


def _morris_check(n: int) -> None:
    if n < 2:
        raise InputError("Morris needs at least 2 trajectories", field="--n", value=n,
                         accepted=">= 2 (10-50 is usual for screening)")


def _morris_sample(problem: dict[str, Any], n: int, seed: int, **_: Any) -> np.ndarray:
    from SALib.sample import morris

    _morris_check(n)
    return np.asarray(morris.sample(problem, n, num_levels=MORRIS_LEVELS, seed=seed))


def _morris_analyze(problem: dict[str, Any], U: np.ndarray, Y: np.ndarray, *, seed: int,
                    num_resamples: int = 100, conf_level: float = 0.95, **_: Any) -> Indices:
    from SALib.analyze import morris

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        si = morris.analyze(problem, np.asarray(U, dtype=float), np.asarray(Y, dtype=float),
                            num_resamples=num_resamples, conf_level=conf_level,
                            num_levels=MORRIS_LEVELS, seed=seed + 1)
    out: Indices = {"labels": _labels(problem)}
    for key in ("mu_star", "mu_star_conf", "sigma", "mu"):
        out[key] = np.asarray(si[key], dtype=float)
    return out


# ---- efast --------------------------------------------------------------------------------

FAST_M = 4


def _efast_check(n: int) -> None:
    if n <= 4 * FAST_M**2:
        raise InputError("eFAST needs more points per curve", field="--n", value=n,
                         accepted=f"> {4 * FAST_M**2}")


def _efast_sample(problem: dict[str, Any], n: int, seed: int, **_: Any) -> np.ndarray:
    from SALib.sample import fast_sampler

    if problem.get("groups"):
        raise InputError("eFAST (SALib) has no grouped indices", field="--by-group",
                         value="efast", accepted="--method sobol or morris for groups, or "
                         "per-parameter eFAST")
    _efast_check(n)
    return np.asarray(fast_sampler.sample(problem, n, M=FAST_M, seed=seed))


def _efast_analyze(problem: dict[str, Any], U: np.ndarray, Y: np.ndarray, *, seed: int,
                   num_resamples: int = 100, conf_level: float = 0.95, **_: Any) -> Indices:
    from SALib.analyze import fast

    state = np.random.get_state()  # SALib's eFAST seeds numpy's global generator
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            si = fast.analyze(problem, np.asarray(Y, dtype=float), M=FAST_M,
                              num_resamples=num_resamples, conf_level=conf_level,
                              seed=seed + 1)
    finally:
        np.random.set_state(state)
    out: Indices = {"labels": _labels(problem)}
    for key in ("S1", "S1_conf", "ST", "ST_conf"):
        out[key] = np.asarray(si[key], dtype=float)
    return out


METHODS: dict[str, Method] = {
    "sobol": Method(
        "sobol", "Saltelli/Sobol' variance decomposition", ("S1", "ST"), "ST", True, True,
        _sobol_sample, _sobol_analyze,
        runs=lambda n, d, so: n * ((2 * d + 2) if so else (d + 2)),
        stride=lambda d, so: (2 * d + 2) if so else (d + 2), check=_sobol_check),
    "morris": Method(
        "morris", "Morris elementary effects (screening)", ("mu_star",), "mu_star", True, True,
        _morris_sample, _morris_analyze,
        runs=lambda n, d, so: n * (d + 1), stride=lambda d, so: d + 1, check=_morris_check,
        note="mu* is in output units per full range of a factor (unit-hypercube steps)"),
    "efast": Method(
        "efast", "extended Fourier amplitude sensitivity test", ("S1", "ST"), "ST", False,
        False, _efast_sample, _efast_analyze,
        runs=lambda n, d, so: n * d, stride=lambda d, so: 0, check=_efast_check,
        note="eFAST confidence intervals are indicative only (SALib issue 649)"),
}


def get_method(name: str) -> Method:
    try:
        return METHODS[name]
    except KeyError:
        raise InputError("unknown sensitivity method", field="--method", value=name,
                         accepted=sorted(METHODS)) from None


def n_groups(problem: dict[str, Any]) -> int:
    return _d(problem)
