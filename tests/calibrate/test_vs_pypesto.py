"""exomir's best fit against pyPESTO (its libRoadRunner PEtab objective, L-BFGS-B with its own
finite differences) on the exported built-in PK problem: the same optimum objective within
1e-3, and pyPESTO's best parameters inside exomir's 95 % profile intervals.

Kept small for the test budget: three of the problem's five rate constants, exomir 10 starts,
pyPESTO 2 starts (the first two of the same Latin hypercube)."""

from __future__ import annotations

import importlib.util
import logging
from pathlib import Path

import numpy as np
import pytest

from exomir.calibrate import calibrate
from exomir.calibrate.optimize import start_points
from exomir.calibrate.petab_io import write_petab
from exomir.calibrate.problem import load_builtin
from tests.conftest import require_reference


@pytest.mark.reference
def test_best_fit_agrees_with_pypesto(tmp_path: Path) -> None:
    for mod in ("pypesto", "roadrunner"):
        require_reference(importlib.util.find_spec(mod) is not None, mod)
    import pypesto
    import pypesto.optimize as optimize
    from pypesto.objective import FD
    from pypesto.objective.roadrunner import PetabImporterRR

    logging.getLogger("petab").setLevel(logging.ERROR)
    # the built-in PK problem with three of its five rate constants (test budget)
    p = load_builtin("pk_iv_mouse").with_estimated(
        ["k_liver_uptake", "k_spleen_uptake", "k_lung_uptake"])
    res = calibrate(p, 10, seed=0, profile=True, refit_unidentified=False)
    y = write_petab(p, tmp_path / "petab", constant_noise=True)
    prob = PetabImporterRR.from_yaml(str(y)).create_problem()
    fprob = pypesto.Problem(FD(prob.objective), lb=prob.lb_full, ub=prob.ub_full,
                            x_fixed_indices=prob.x_fixed_indices,
                            x_fixed_vals=prob.x_fixed_vals, x_names=prob.x_names,
                            x_scales=prob.x_scales)
    free = [prob.x_names[i] for i in prob.x_free_indices]
    assert free == p.names
    guesses = [fprob.get_full_vector(x, fprob.x_fixed_vals) for x in start_points(p, 3, 0)[1:]]
    fprob.set_x_guesses(guesses)  # x_guesses are pyPESTO's first starts
    out = optimize.minimize(fprob, optimize.ScipyOptimizer(method="L-BFGS-B"), n_starts=2,
                            progress_bar=False)
    best = out.optimize_result[0]
    assert abs(float(best.fval) - res.nll) < 1e-3, (best.fval, res.nll)
    xb = np.asarray(best.x)[prob.x_free_indices]
    for i, name in enumerate(p.names):
        lo, hi = res.profiles[name].ci_x
        assert lo is None or xb[i] >= lo - 1e-6, (name, xb[i], lo)
        assert hi is None or xb[i] <= hi + 1e-6, (name, xb[i], hi)
