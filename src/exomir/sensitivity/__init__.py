"""Global sensitivity and uncertainty: which assumptions drive each answer, and by how much.

``SensitivityProblem.from_table`` -> ``run_sensitivity(problem, evaluator, method=...)`` with
SALib's Sobol', Morris and eFAST; ``uncertainty_bands`` separates parameter uncertainty from
between-subject variability. Engines: local (all cores) or Dask distributed. See
docs/sensitivity.md. Submodules are imported on first use (SALib, Dask and the body model are
not loaded by ``import exomir.sensitivity``).
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "SensitivityProblem": "exomir.sensitivity.problem",
    "Factor": "exomir.sensitivity.problem",
    "run_sensitivity": "exomir.sensitivity.analysis",
    "SensitivityResult": "exomir.sensitivity.result",
    "BodyEvaluator": "exomir.sensitivity.evaluate",
    "FunctionEvaluator": "exomir.sensitivity.evaluate",
    "LocalEngine": "exomir.sensitivity.engine",
    "DaskEngine": "exomir.sensitivity.engine",
    "get_engine": "exomir.sensitivity.engine",
    "analyze_spec": "exomir.sensitivity.api",
    "uncertainty_bands": "exomir.sensitivity.uncertainty",
    "UncertaintyResult": "exomir.sensitivity.uncertainty",
    "sensitivity_section": "exomir.sensitivity.report",
    "uncertainty_section": "exomir.sensitivity.report",
    "one_at_a_time": "exomir.sensitivity.oat",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'exomir.sensitivity' has no attribute {name!r}")
