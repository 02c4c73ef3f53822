"""The arms of a design: each candidate, a true untreated arm and one vehicle-only arm per
vehicle used, all simulated with the same virtual subjects.

* **untreated**: no product, no vehicle, no dose, every mechanism switched off -- the disease
  course. It does not depend on the candidates or their order.
* **vehicle only: <vehicle>**: the candidate's vehicle on its schedule without vesicles
  (:func:`exomir.body.simulate.vehicle_only_spec`), one arm per distinct vehicle.

Every gain is per subject against the untreated arm. It is split over the body model's three
mechanisms (miRNA knockdown, cargo-independent vesicle bioactivity, vehicle) by the Shapley
value over their on/off switches (:func:`exomir.body.attribution.attribute`: the same
subjects in all 8 combinations), which sums exactly to the gain for every subject and does
not depend on an order of switching.

Subjects are paired: every arm is drawn with the same seed and draws are keyed by parameter
name (``exomir.body.simulate.draw_parameters``); :func:`check_paired` asserts it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from exomir.core import ReleaseProfile, Route
from exomir.design.cargo_part import CargoPlan, resolve_cargo, targets_for
from exomir.design.spec import DEPOT_ROUTES, CandidateDesign, DesignSpec

Progress = Callable[[str], None]
UNTREATED = "untreated"
NEUTRAL_ROUTE = Route.INTRAVENOUS  # with dose 0 no vesicle enters; carries no vehicle effect


@dataclass
class Arm:
    """One simulated arm and its population result (``exomir.body.simulate.Result``)."""

    name: str
    kind: str  # candidate | untreated | vehicle | no_mirna
    body_spec: Any
    release: ReleaseProfile | None
    result: Any
    design: CandidateDesign | None = None
    vehicle: str | None = None  # vehicle label for candidate and vehicle arms


@dataclass
class ArmSet:
    """All arms of one design, simulated with the same subjects."""

    untreated: Arm
    candidates: list[Arm]
    vehicles: dict[str, Arm] = field(default_factory=dict)
    attributions: dict[str, Any] = field(default_factory=dict)  # name -> ReadoutAttribution

    def all(self) -> list[Arm]:
        return [self.untreated, *self.vehicles.values(), *self.candidates]


def vehicle_label(c: CandidateDesign, plan: CargoPlan | None = None,
                  spec: DesignSpec | None = None) -> str | None:
    """A vehicle's identity: route, release (preset, custom or default) and the vehicle type
    whose own effect the body model applies (``BodySpec.vehicle_type``), or None."""
    if c.route not in DEPOT_ROUTES:
        return None
    body = c.body or {}
    custom = body.get("vehicle")
    if c.release_preset or body.get("release_preset"):
        rel = str(c.release_preset or body.get("release_preset"))
    elif body.get("release_profile"):
        rel = f"profile {body['release_profile']}"
    elif custom:
        rel = "custom release " + ", ".join(f"{k} {v}" for k, v in sorted(custom.items()))
    else:
        rel = "default release"
    kind = ""
    if plan is not None and spec is not None:
        cb, _ = candidate_body_spec(spec, c, plan)
        kind = f", vehicle type {cb.vehicle_type}" if cb.vehicle_type else ""
    return f"{c.route.value} (release {rel}{kind})"


def release_for(c: CandidateDesign) -> ReleaseProfile | None:
    if c.route not in DEPOT_ROUTES or c.release_preset is None:
        return None
    from exomir.release.profile import vehicle_preset

    return vehicle_preset(c.release_preset)


def candidate_therapy(spec: DesignSpec, c: CandidateDesign, plan: CargoPlan, *,
                      dose: float | None = None, loading: float | None = None
                      ) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The candidate as a complete simulate spec (mapping) and the targets it represses.

    Targets come from the cargo analysis (:func:`exomir.design.cargo_part.targets_for`, one
    per (gene, miRNA) pair) unless the candidate's own ``body.targets`` names them. ``dose``
    (particles) overrides the dose; ``loading`` multiplies every cargo miRNA's copies per
    vesicle (native loading counts as its table value, 0.00825). A ``release_preset`` goes to
    ``body.release_preset``, where ``exomir simulate`` reads it.
    """
    from exomir.body.spec import NATIVE_COPIES_PER_VESICLE

    cargo = resolve_cargo(c, plan)
    body = dict(c.body or {})
    targets = body.get("targets") or targets_for(plan, [x.name for x in cargo])
    body["targets"] = targets
    if c.release_preset is not None:
        body["release_preset"] = c.release_preset
    if spec.calibration is not None:
        body["calibration"] = spec.calibration
    items = [x.model_dump(mode="json", exclude_none=True) for x in cargo]
    if loading is not None:
        for it in items:
            it["copies_per_vesicle"] = float(loading) * float(
                it.get("copies_per_vesicle", NATIVE_COPIES_PER_VESICLE))
    regimen = c.regimen.model_dump(mode="json", exclude_none=True)
    if dose is not None:
        regimen["dose"] = {"value": float(dose), "unit": "particles"}
    subject = c.subject.model_dump(mode="json", exclude_none=True) if c.subject else {}
    subject["species"] = spec.species.value
    if spec.disease_model and "disease_model" not in subject:
        subject["disease_model"] = spec.disease_model
    data: dict[str, Any] = {
        "name": c.name, "indication": spec.indication.value,
        "product": c.product.model_dump(mode="json", exclude_none=True,
                                        exclude_defaults=True),
        "cargo": items,
        "delivery": c.delivery.model_dump(mode="json", exclude_none=True),
        "regimen": regimen, "subject": subject, "days": spec.days, "body": body,
    }
    return data, targets


def standalone(data: dict[str, Any]) -> tuple[dict[str, Any], str | None]:
    """A candidate mapping that ``exomir simulate`` reads (checked), and a note (None: the
    standalone run reproduces the design's arm exactly)."""
    from exomir.body.spec import parse_spec

    parse_spec(dict(data))
    return data, None


def _parse(data: dict[str, Any], what: str) -> Any:
    from exomir.body.spec import parse_spec

    return parse_spec(data, source=what)


def candidate_body_spec(spec: DesignSpec, c: CandidateDesign, plan: CargoPlan, *,
                        dose: float | None = None, loading: float | None = None
                        ) -> tuple[Any, list[dict[str, Any]]]:
    data, targets = candidate_therapy(spec, c, plan, dose=dose, loading=loading)
    return _parse(data, f"design candidate '{c.name}'"), targets


OFF = {"mirna": False, "vesicle": False, "vehicle": False}


def untreated_spec(spec: DesignSpec) -> Any:
    """No product, no vehicle, no dose, every mechanism off: the disease course of the same
    subjects, the same whatever the candidates are."""
    subject: dict[str, Any] = {"species": spec.species.value}
    if spec.disease_model:
        subject["disease_model"] = spec.disease_model
    return _parse({"name": UNTREATED, "indication": spec.indication.value, "cargo": [],
                   "delivery": {"route": NEUTRAL_ROUTE.value},
                   "regimen": {"dose": {"value": 0.0, "unit": "particles"},
                               "times_days": [0.0]},
                   "subject": subject, "days": spec.days,
                   "body": {"mechanisms": dict(OFF),
                            **({} if spec.calibration is None
                               else {"calibration": spec.calibration})}}, "untreated arm")


def vehicle_only_spec(spec: DesignSpec, c: CandidateDesign, plan: CargoPlan) -> Any:
    """The candidate's vehicle on its schedule without vesicles
    (:func:`exomir.body.simulate.vehicle_only_spec`)."""
    from exomir.body.simulate import vehicle_only_spec as body_vehicle_only

    cb, _ = candidate_body_spec(spec, c, plan)
    return body_vehicle_only(cb)


def simulate_arm(bspec: Any, n: int, spec: DesignSpec, release: ReleaseProfile | None = None
                 ) -> Any:
    from exomir.body.simulate import simulate

    return simulate(bspec, n, seed=spec.seed, release=release)


def run_arms(spec: DesignSpec, plan: CargoPlan, progress: Progress) -> ArmSet:
    """Simulate untreated, each vehicle alone and each candidate with ``spec.subjects``
    subjects drawn from ``spec.seed`` (the same subjects), and attribute each candidate's gain
    (:func:`exomir.body.attribution.attribute`, the same subjects again)."""
    from exomir.body.attribution import attribute

    n = spec.subjects
    progress("simulating the untreated disease course")
    ub = untreated_spec(spec)
    arms = ArmSet(untreated=Arm(UNTREATED, "untreated", ub, None,
                                simulate_arm(ub, n, spec)), candidates=[])
    for c in spec.candidates:
        label = vehicle_label(c, plan, spec)
        if label is not None and label not in arms.vehicles:
            progress(f"simulating the vehicle alone: {label}")
            vb = vehicle_only_spec(spec, c, plan)
            arms.vehicles[label] = Arm(f"vehicle only: {label}", "vehicle", vb, None,
                                       simulate_arm(vb, n, spec), vehicle=label)
    for c in spec.candidates:
        progress(f"simulating {n} subjects: {c.name}")
        label = vehicle_label(c, plan, spec)
        cb, _ = candidate_body_spec(spec, c, plan)
        res = simulate_arm(cb, n, spec)
        arms.candidates.append(Arm(c.name, "candidate", cb, res.model.release, res,
                                   design=c, vehicle=label))
        progress(f"attributing the gain of {c.name} (8 mechanism combinations)")
        arms.attributions[c.name] = attribute(res.model, n, spec.seed,
                                              day=spec.headline_day).primary
    check_paired(arms.all())
    return arms


def check_paired(arms: list[Arm]) -> None:
    """Every arm must hold the same subjects: identical draws of every shared table
    parameter (draws are keyed by parameter name, exomir.body.simulate.draw_parameters)."""
    ref = arms[0].result.params
    names = {p.name for p in arms[0].result.model.table}
    for a in arms[1:]:
        shared = names & {p.name for p in a.result.model.table}
        for k in sorted(shared):
            if k.startswith("mech_"):
                continue  # mechanism switches are set per arm, not drawn
            if not np.array_equal(ref[k], a.result.params[k]):
                overridden = k in ((a.design.body or {}).get("parameters") or {}) \
                    if a.design is not None else False
                if not overridden:
                    raise AssertionError(f"arm '{a.name}' does not hold the same subjects as "
                                         f"'{arms[0].name}' (parameter {k})")


def outcome_key(result: Any) -> tuple[str, str, str]:
    """(observable, unit, label) of the indication's outcome."""
    if result.model.outcome == "wound_closure":
        return "wound_closure_pct", "%", "wound closure (%)"
    return "paw_withdrawal_threshold_g", "g", "paw withdrawal threshold (g)"


def outcome_at(result: Any, day: float) -> np.ndarray:
    """Per subject, the outcome at ``day`` (linear interpolation on the output grid)."""
    key, _, _ = outcome_key(result)
    obs = result.observables()[key]
    return np.array([np.interp(day, result.times, row) for row in obs])


def band(x: np.ndarray) -> dict[str, float]:
    """Median and 5-95 % band across subjects."""
    return {"median": float(np.median(x)), "p05": float(np.percentile(x, 5)),
            "p95": float(np.percentile(x, 95))}


def attribution(arms: ArmSet, cand: Arm, day: float) -> dict[str, np.ndarray]:
    """Per-subject gain over the untreated arm and its Shapley split over the three
    mechanisms (miRNA, vesicle, vehicle) at the headline day (``day`` must be the one
    attributed). ``shapley_total`` is the attribution's own gain, y(all) - y(no mechanism);
    it equals ``total`` to the solver's tolerance (a test holds them together)."""
    from exomir.body.attribution import MECHANISMS

    att = arms.attributions[cand.name]
    if abs(att.day - day) > 1e-9:
        raise ValueError(f"attribution was computed at day {att.day:g}, not {day:g}")
    out = {"total": outcome_at(cand.result, day) - outcome_at(arms.untreated.result, day),
           "shapley_total": att.total}
    for i, m in enumerate(MECHANISMS):
        out[m] = att.contributions[i]
    return out
