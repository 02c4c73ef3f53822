"""``exomir design``: from an indication to a justified, compared therapy design and its report.

The design package joins the capabilities; it computes nothing of its own beyond arranging the
arms and comparing them. Each number in the report names the function that made it.
Submodules are imported on first use, so ``exomir design --help`` stays light.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "CandidateDesign": "exomir.design.spec",
    "DesignSpec": "exomir.design.spec",
    "example_spec": "exomir.design.spec",
    "load_design": "exomir.design.spec",
    "parse_design": "exomir.design.spec",
    "DesignResult": "exomir.design.pipeline",
    "run_design": "exomir.design.pipeline",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'exomir.design' has no attribute {name!r}")
