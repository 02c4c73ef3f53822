"""Which release profile a vehicle gets: one reading of every release end-point.

The published end-points live in one place, :data:`exomir.release.depot.ENDPOINTS` (with their
reading stated), and the vehicle presets are calibrated to them; the body defaults, the release
presets and the design pipeline all use those presets. The "HA hydrogel 90 %, 14 d" row of
IJMS 2021 22:6203 Table 4 (ref 108) sits in the column "Retention Rate (%)" next to "Release
Time", and the primary paper says the hydrogel glue *retains* the exosomes at the defect
(Liu 2017, "EHG can retain SC-Exos"); so 90 % is the fraction still in the gel at 14 days and
F(14 d) = 0.10. (The previous body default read it as 90 % released.)

Order of choice (:func:`release_for`): ``body.vehicle`` (a custom Weibull) > ``release`` passed
to :func:`exomir.body.simulate.simulate` > ``body.release_preset`` > ``body.release_profile``
(a file from ``exomir release fit --profile-out``) > the default of the vehicle type:

* ``ha_hydrogel`` -> preset ``ha_hydrogel``; ``chitosan`` -> preset ``chitosan_2pct``;
  ``microneedle`` -> preset ``microneedle_core_shell`` (sourced end-points);
* any other vehicle (GelMA, alginate, scaffold, dECM, unnamed hydrogel) -> first-order release
  with half-time ``t50_release_generic`` (an assumption with a range, read from the parameter
  table per subject: F(τ) = 1 − exp(−k_release τ), k_release = ln 2 / t50).

In-depot loss of intact vesicles: the release package's ``k_loss_depot`` (Evtushenko 2020),
the same number for every default.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from exomir.core import InputError, ReleaseProfile

TYPE_PRESET = {"ha_hydrogel": "ha_hydrogel", "chitosan": "chitosan_2pct",
               "microneedle": "microneedle_core_shell"}


def depot_loss_per_day() -> float:
    """In-depot loss of intact vesicles (1/day): exomir.release's ``k_loss_depot``."""
    from exomir.release.depot import DEPOT_PARAMETERS

    return float(DEPOT_PARAMETERS.value("k_loss_depot"))


@dataclass
class WeibullRelease:
    """Weibull cumulative release ``F = 1 - exp(-(t/scale)^shape)``; shape 1 = first order."""

    scale_days: float
    shape: float = 1.0
    stability_loss_per_day: float = 0.0
    name: str = "weibull"

    def __post_init__(self) -> None:
        for fld, v, ok in (("body.vehicle.scale_days", self.scale_days, self.scale_days > 0),
                           ("body.vehicle.shape", self.shape, self.shape > 0),
                           ("body.vehicle.loss_per_day", self.stability_loss_per_day,
                            self.stability_loss_per_day >= 0)):
            if not (ok and math.isfinite(v)):
                raise InputError("out of range", field=fld, value=v, accepted="a finite "
                                 "number > 0 (loss >= 0)")

    def fraction_released(self, t_days: npt.ArrayLike) -> np.ndarray:
        t = np.maximum(np.asarray(t_days, dtype=float), 0.0)
        return np.asarray(-np.expm1(-((t / self.scale_days) ** self.shape)))

    def sbml_infix(self, t: str = "t") -> str:
        return f"(1 - exp(-(({t}) / {float(self.scale_days)!r})^{float(self.shape)!r}))"


@dataclass
class ParamFirstOrderRelease:
    """First-order release whose rate is a model parameter (``param``, 1/day), so that it can
    differ between subjects and be varied without recompiling; ``rate`` is its nominal value
    (used by :meth:`fraction_released`)."""

    rate: float
    param: str = "k_release"
    stability_loss_per_day: float = 0.0
    name: str = "first order"

    def fraction_released(self, t_days: npt.ArrayLike) -> np.ndarray:
        t = np.maximum(np.asarray(t_days, dtype=float), 0.0)
        return np.asarray(-np.expm1(-self.rate * t))

    def sbml_infix(self, t: str = "t") -> str:
        return f"(1 - exp(-{self.param} * ({t})))"


def release_for(spec: object, t50_generic_days: float,
                release: ReleaseProfile | None = None) -> tuple[ReleaseProfile, str]:
    """The release profile of a vehicle spec and a sentence saying where it comes from."""
    from exomir.body.spec import BodySpec

    assert isinstance(spec, BodySpec)
    b = spec.body
    if b.vehicle is not None:
        v = b.vehicle
        loss = depot_loss_per_day() if v.loss_per_day is None else v.loss_per_day
        return (WeibullRelease(v.scale_days, v.shape, loss, "custom Weibull"),
                "custom Weibull release from body.vehicle")
    if release is not None:
        return release, f"release profile {getattr(release, 'name', '')!r} given to simulate"
    from exomir.release.profile import load_profile, vehicle_preset

    if b.release_preset is not None:
        try:
            return vehicle_preset(b.release_preset), f"release preset {b.release_preset}"
        except InputError as exc:
            raise InputError(exc.message, field="body.release_preset", value=b.release_preset,
                             accepted=exc.accepted) from None
    if b.release_profile is not None:
        p = Path(b.release_profile)
        if not p.is_absolute() and spec.base_dir is not None:
            p = Path(spec.base_dir) / p
        return load_profile(p), f"release profile file {p}"
    kind = spec.vehicle_type or "generic"
    if kind in TYPE_PRESET:
        return (vehicle_preset(TYPE_PRESET[kind]),
                f"release preset {TYPE_PRESET[kind]} (default for vehicle type {kind})")
    return (ParamFirstOrderRelease(math.log(2.0) / t50_generic_days, "k_release",
                                   depot_loss_per_day(), f"first order ({kind}, assumed)"),
            f"first-order release with assumed half-time t50_release_generic "
            f"({t50_generic_days:g} d): no published end-point for vehicle type {kind}")
