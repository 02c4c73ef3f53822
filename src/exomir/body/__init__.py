"""Body simulator: exosome dose -> distribution -> cells -> RISC -> target knockdown -> outcome.

See docs/body.md for the equations, solver choice, parameter table and calibration.
"""

from exomir.body.model import BodyModel, build_model
from exomir.body.simulate import Result, compare, dose_response, simulate, with_schedule
from exomir.body.spec import BodySpec, load_spec, parse_spec

__all__ = ["BodyModel", "BodySpec", "Result", "build_model", "compare", "dose_response",
           "load_spec", "parse_spec", "simulate", "with_schedule"]
