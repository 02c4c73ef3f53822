"""The contract between vehicle release kinetics (``exomir.release``) and the body simulator.

Whatever produced it (a fit to a release curve, a library model with given parameters, or a
mechanistic depot), a release profile answers two questions the simulator asks:

* ``fraction_released(t_days)``: cumulative fraction F(t) of the loaded dose that has left the
  vehicle by time t (days after application), F(0) >= 0, non-decreasing, <= 1;
* ``sbml_infix(t)``: the same F as an SBML L3 infix formula in the time symbol ``t`` (days), so
  that exports carry the release function.

``stability_loss_per_day`` is the first-order loss of intact vesicles inside the depot (1/day);
released vesicles are ``dose * dF/dt * exp(-k_loss t)`` per day.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt


@runtime_checkable
class ReleaseProfile(Protocol):
    """What the body simulator needs from a vehicle."""

    name: str
    stability_loss_per_day: float

    def fraction_released(self, t_days: npt.ArrayLike) -> np.ndarray:
        """Cumulative fraction released, dimensionless, same shape as ``t_days``."""
        ...

    def sbml_infix(self, t: str = "t") -> str:
        """The cumulative fraction as an SBML infix formula of time ``t`` in days."""
        ...
