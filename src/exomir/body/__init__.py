"""Body simulator: exosome dose -> distribution -> cells -> RISC -> target knockdown -> outcome.

See docs/body.md for the equations, solver choice, parameter table and calibration.

The names below load their module on first use, so that importing a light part of the
package (``exomir.body.driver``, which starts the driver's compilation on a fresh machine)
does not import the simulator's numpy/pandas/pint stack first.
"""

from __future__ import annotations

import sys
import types
from typing import TYPE_CHECKING, Any

from exomir._lazy import attach

if TYPE_CHECKING:
    from exomir.body.model import BodyModel, build_model
    from exomir.body.simulate import Result, compare, dose_response, simulate, with_schedule
    from exomir.body.spec import BodySpec, load_spec, parse_spec

_LAZY = {"BodyModel": "exomir.body.model", "build_model": "exomir.body.model",
         "Result": "exomir.body.simulate", "compare": "exomir.body.simulate",
         "dose_response": "exomir.body.simulate",
         "with_schedule": "exomir.body.simulate", "BodySpec": "exomir.body.spec",
         "load_spec": "exomir.body.spec", "parse_spec": "exomir.body.spec"}

__all__ = ["BodyModel", "BodySpec", "Result", "build_model", "compare", "dose_response",
           "load_spec", "parse_spec", "simulate", "with_schedule"]

__getattr__, __dir__ = attach(globals(), _LAZY, __all__)


class _Package(types.ModuleType):
    """``exomir.body.simulate`` names both a submodule and its function (hence not in
    ``_LAZY``, whose ``__getattr__`` this property shadows); the package attribute
    stays the function (as when this file imported it eagerly), also after the import system
    binds the submodule to it on ``import exomir.body.simulate``."""

    @property
    def simulate(self) -> Any:
        from exomir.body.simulate import simulate

        return simulate

    @simulate.setter
    def simulate(self, _value: Any) -> None:
        pass


sys.modules[__name__].__class__ = _Package
