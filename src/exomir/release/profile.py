"""Release objects the body simulator consumes (``exomir.core.release.ReleaseProfile``).

:class:`ModelProfile` wraps a library model with parameter values (from a fit or given by
hand); the depots in :mod:`exomir.release.depot` implement the same protocol. F is clipped to
[0, 1]; Makoid-Banakar, which peaks at t = n/k (+ tlag) and falls afterwards, is held at its
peak so the cumulative fraction never decreases.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from exomir.core.errors import InputError
from exomir.core.release import ReleaseProfile
from exomir.release.depot import DEPOT_PARAMETERS, preset
from exomir.release.fit import FitReport, ModelFit
from exomir.release.models import ReleaseModel, get_model


@dataclass
class ModelProfile:
    """A library model with fixed parameters as a ReleaseProfile (t in days)."""

    model: ReleaseModel
    params: dict[str, float]
    name: str = ""
    stability_loss_per_day: float = 0.0
    origin: str = "library model"
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        vals = self.model._ordered(self.params)
        self.params = dict(zip(self.model.param_names, vals, strict=True))
        if not self.name:
            self.name = self.model.name
        if not (self.stability_loss_per_day >= 0 and np.isfinite(self.stability_loss_per_day)):
            raise InputError("stability loss must be >= 0", field="stability_loss_per_day",
                             value=self.stability_loss_per_day, accepted="rate >= 0 per day")
        for spec in self.model.params:
            v = self.params[spec.name]
            if not (spec.lower <= v <= spec.upper):
                raise InputError(f"parameter out of the model's range ({spec.description})",
                                 field=spec.name, value=v,
                                 accepted=f"{spec.lower:g} to {spec.upper:g} {spec.unit}")

    def _t_peak(self) -> float | None:
        if self.model.family != "makoid_banakar":
            return None
        p = self.params
        if p["k"] <= 0:
            return None
        return p["n"] / p["k"] + p.get("tlag", 0.0)

    def fraction_released(self, t_days: npt.ArrayLike) -> np.ndarray:
        t = np.maximum(np.asarray(t_days, dtype=float), 0.0)
        tp = self._t_peak()
        if tp is not None:
            t = np.minimum(t, tp)
        f = self.model.evaluate(t, self.params)
        return np.asarray(np.clip(np.nan_to_num(f, nan=0.0), 0.0, 1.0))

    def sbml_infix(self, t: str = "t") -> str:
        tp = self._t_peak()
        tt = t if tp is None else f"piecewise({t}, lt({t}, {tp!r}), {tp!r})"
        expr = self.model.sbml_infix(self.params, tt)
        return f"piecewise(0, lt({expr}, 0), piecewise(1, gt({expr}, 1), {expr}))"

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "model": self.model.name, "params": self.params,
                "stability_loss_per_day": self.stability_loss_per_day, "origin": self.origin,
                "sbml_infix": self.sbml_infix(), **self.extra}


def from_model(model: str | ReleaseModel, params: Mapping[str, float], *,
               stability_loss_per_day: float = 0.0, name: str = "") -> ModelProfile:
    """A profile from a library model name and parameter values (t in days)."""
    m = get_model(model) if isinstance(model, str) else model
    return ModelProfile(model=m, params=dict(params), name=name,
                        stability_loss_per_day=stability_loss_per_day)


def from_fit(fit: ModelFit | FitReport, *, stability_loss_per_day: float | None = None,
             name: str = "") -> ModelProfile:
    """A profile from a fitted model (or a report's recommended model).

    The in-depot stability loss defaults to the assumed ``k_loss_depot`` (see depot.py).
    """
    if isinstance(fit, FitReport):
        if fit.recommended is None:
            raise InputError("the fit report has no recommended model", field="model",
                             value=fit.reason, accepted="a report with an identifiable fit")
        chosen = fit.recommended
        src = fit.data.source
    else:
        chosen = fit
        src = ""
    k = DEPOT_PARAMETERS.value("k_loss_depot") if stability_loss_per_day is None \
        else stability_loss_per_day
    return ModelProfile(
        model=chosen.model, params=dict(zip(chosen.model.param_names, chosen.values,
                                            strict=True)),
        name=name or f"{chosen.name} fit" + (f" to {src}" if src else ""),
        stability_loss_per_day=k, origin="fit",
        extra={"ci95": {p.name: [p.ci_low, p.ci_high] for p in chosen.params},
               "R2_adj": chosen.r2_adj, "AICc": chosen.aicc})


PROFILE_FILE_KIND = "exomir.release_profile"


def write_profile(profile: ModelProfile, path: str | Path) -> Path:
    """Write a profile as JSON (``exomir release fit --profile-out``); read back by
    :func:`load_profile` and accepted by ``exomir simulate --release-profile`` and the
    simulate spec's ``body.release_profile``."""
    p = Path(path)
    data = {"kind": PROFILE_FILE_KIND, "version": 1, "time_unit": "day",
            **profile.to_dict()}
    p.write_text(json.dumps(data, indent=1, default=float) + "\n", encoding="utf-8")
    return p


def load_profile(path: str | Path) -> ModelProfile:
    """Read a release profile file written by :func:`write_profile` (InputError naming the
    file and field when it is not one)."""
    from exomir.core.files import read_mapping

    p = Path(path)
    data = read_mapping(p, accepted=f"a JSON file written by 'exomir release fit "
                                    f"--profile-out' (kind: {PROFILE_FILE_KIND})")
    if data.get("kind") != PROFILE_FILE_KIND:
        raise InputError("not a release profile file", source=p, field="kind",
                         value=data.get("kind"), accepted=PROFILE_FILE_KIND)
    if data.get("time_unit", "day") != "day":
        raise InputError("release profile time unit must be days", source=p,
                         field="time_unit", value=data.get("time_unit"), accepted="day")
    params = data.get("params")
    if not isinstance(params, dict) or not all(
            isinstance(v, int | float) and math.isfinite(v) for v in params.values()):
        raise InputError("params must map names to finite numbers", source=p, field="params",
                         accepted="{name: number}")
    loss = data.get("stability_loss_per_day", 0.0)
    if not isinstance(loss, int | float):
        raise InputError("not a number", source=p, field="stability_loss_per_day", value=loss,
                         accepted="rate >= 0 per day")
    try:
        prof = from_model(str(data.get("model")), params,
                          stability_loss_per_day=float(loss), name=str(data.get("name", "")))
    except InputError as exc:
        raise exc.located(p) from None
    prof.origin = f"profile file {p.name}"
    return prof


def vehicle_preset(name: str) -> ReleaseProfile:
    """A calibrated vehicle preset (chitosan_thermo, chitosan_2pct, ha_hydrogel,
    microneedle_core_shell) as a ReleaseProfile."""
    return preset(name)
