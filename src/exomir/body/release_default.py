"""Default vehicle release models (used until ``exomir.release`` is wired in).

A Weibull cumulative release ``F(t) = 1 - exp(-(t/scale)**shape)`` (shape 1 = first order)
satisfying :class:`exomir.core.ReleaseProfile`. Defaults per vehicle are sourced end-points
(validation case V5): HA hydrogel ~90 % over 14 days (IJMS 2021 22:6203 Table 4, ref 108)
-> scale 14/ln(10) = 6.08 d; PGLADMA-core microneedle 30 % in 3 weeks (Mater Horiz 2024
doi:10.1039/D3MH01910A) -> scale 21/-ln(0.7) = 58.9 d. In-depot loss 0.11/day (Evtushenko
2020 doi:10.1371/journal.pone.0243738, 18-21 % per 48 h).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from exomir.core import InputError, Route


@dataclass
class WeibullRelease:
    """Weibull cumulative release; ``shape`` = 1 is first-order release."""

    scale_days: float
    shape: float = 1.0
    stability_loss_per_day: float = 0.11
    name: str = "weibull"

    def __post_init__(self) -> None:
        if not self.scale_days > 0:
            raise InputError("must be > 0", field="body.vehicle.scale_days", value=self.scale_days)
        if not self.shape > 0:
            raise InputError("must be > 0", field="body.vehicle.shape", value=self.shape)
        if self.stability_loss_per_day < 0:
            raise InputError("must be >= 0", field="body.vehicle.loss_per_day",
                             value=self.stability_loss_per_day)

    def fraction_released(self, t_days: npt.ArrayLike) -> np.ndarray:
        t = np.maximum(np.asarray(t_days, dtype=float), 0.0)
        return np.asarray(-np.expm1(-((t / self.scale_days) ** self.shape)))

    def sbml_infix(self, t: str = "t") -> str:
        return f"(1 - exp(-(({t}) / {float(self.scale_days)!r})^{float(self.shape)!r}))"


DEFAULT_VEHICLES: dict[Route, WeibullRelease] = {
    Route.HYDROGEL: WeibullRelease(14.0 / float(np.log(10.0)), 1.0, 0.11, "hydrogel (HA, 90 %/14 d)"),
    Route.SCAFFOLD: WeibullRelease(14.0 / float(np.log(10.0)), 1.0, 0.11, "scaffold (as HA hydrogel)"),
    Route.DECM: WeibullRelease(14.0 / float(np.log(10.0)), 1.0, 0.11, "dECM (as HA hydrogel)"),
    Route.MICRONEEDLE: WeibullRelease(21.0 / -float(np.log(0.7)), 1.0, 0.11,
                                      "microneedle (PGLADMA core, 30 %/21 d)"),
}
