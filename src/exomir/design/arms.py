"""The arms of a design: each candidate, a true untreated arm and one vehicle-only arm per
vehicle used, all simulated with the same virtual subjects.

* **untreated**: no product, no vehicle, no dose -- the disease course. It does not depend on
  the candidates or their order.
* **vehicle only: <vehicle>**: the candidate's depot (route and release preset) without
  vesicles, one arm per distinct vehicle.
* **<candidate> without miRNA**: the same product, dose, route and vehicle with the miRNA
  loading set to zero (``body.copies_per_vesicle: 0``), to attribute the gain.

Every gain is per subject against the untreated arm. The attribution is the documented
sequential switch-off (docs/design.md), which sums to the total gain for every subject:

    gain     = y(candidate) - y(untreated)
    vehicle  = y(vehicle only) - y(untreated)               (0 without a vehicle)
    vesicle  = y(candidate without miRNA) - y(vehicle only)  (cargo-independent EV effect)
    miRNA    = y(candidate) - y(candidate without miRNA)

Subjects are paired by drawing every arm with the same seed over the same parameter table
(``exomir.body.simulate.draw_parameters``); :func:`check_paired` asserts it on the draws.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from exomir.core import InputError, ReleaseProfile, Route
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
    no_mirna: dict[str, Arm] = field(default_factory=dict)

    def all(self) -> list[Arm]:
        return [self.untreated, *self.vehicles.values(), *self.candidates,
                *self.no_mirna.values()]

    def vehicle_arm(self, cand: Arm) -> Arm:
        """The reference for the vehicle's own share: its vehicle-only arm, else untreated."""
        return self.vehicles.get(cand.vehicle or "", self.untreated)


def vehicle_label(c: CandidateDesign) -> str | None:
    """A depot vehicle's identity (route and release preset or custom release), or None."""
    if c.route not in DEPOT_ROUTES:
        return None
    custom = (c.body or {}).get("vehicle")
    if c.release_preset:
        return f"{c.route.value} ({c.release_preset})"
    if custom:
        return f"{c.route.value} (custom release " + ", ".join(
            f"{k} {v}" for k, v in sorted(custom.items())) + ")"
    return f"{c.route.value} (default release)"


def release_for(c: CandidateDesign) -> ReleaseProfile | None:
    if c.route not in DEPOT_ROUTES or c.release_preset is None:
        return None
    from exomir.release.profile import vehicle_preset

    return vehicle_preset(c.release_preset)


def candidate_therapy(spec: DesignSpec, c: CandidateDesign, plan: CargoPlan, *,
                      dose: float | None = None, copies: float | None = None
                      ) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The candidate as a complete simulate spec (mapping) and the targets it represses.

    Targets come from the cargo analysis (:func:`exomir.design.cargo_part.targets_for`)
    unless the candidate's own ``body.targets`` names them. ``dose`` (particles) and
    ``copies`` (miRNA copies per vesicle, all cargo) override the candidate's values.
    """
    cargo = resolve_cargo(c, plan)
    body = dict(c.body or {})
    targets = body.get("targets") or targets_for(plan, [x.name for x in cargo])
    body["targets"] = targets
    if copies is not None:
        body["copies_per_vesicle"] = float(copies)
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
        "cargo": [x.model_dump(mode="json", exclude_none=True) for x in cargo],
        "delivery": c.delivery.model_dump(mode="json", exclude_none=True),
        "regimen": regimen, "subject": subject, "days": spec.days, "body": body,
    }
    if c.release_preset is not None:
        data["release_preset"] = c.release_preset
    return data, targets


def standalone(data: dict[str, Any]) -> tuple[dict[str, Any], str | None]:
    """A candidate mapping that ``exomir simulate`` reads, and a note when something the
    design used cannot be carried (a release preset, until the simulate spec accepts one)."""
    from exomir.body.spec import parse_spec

    try:
        parse_spec(dict(data))
        return data, None
    except InputError:
        if "release_preset" not in data:
            raise
    out = {k: v for k, v in data.items() if k != "release_preset"}
    parse_spec(dict(out))
    return out, (f"the design released this depot with the '{data['release_preset']}' preset "
                 "(exomir.release); this simulate spec cannot name a preset yet, so run alone "
                 "it uses the body model's default release for the vehicle")


def _parse(data: dict[str, Any], what: str) -> Any:
    from exomir.body.spec import parse_spec

    data = {k: v for k, v in data.items() if k != "release_preset"}  # passed as `release`
    return parse_spec(data, source=what)


def candidate_body_spec(spec: DesignSpec, c: CandidateDesign, plan: CargoPlan, *,
                        dose: float | None = None, copies: float | None = None
                        ) -> tuple[Any, list[dict[str, Any]]]:
    data, targets = candidate_therapy(spec, c, plan, dose=dose, copies=copies)
    return _parse(data, f"design candidate '{c.name}'"), targets


def untreated_spec(spec: DesignSpec) -> Any:
    """No product, no vehicle, no dose: the disease course of the same subjects."""
    subject: dict[str, Any] = {"species": spec.species.value}
    if spec.disease_model:
        subject["disease_model"] = spec.disease_model
    return _parse({"name": UNTREATED, "indication": spec.indication.value, "cargo": [],
                   "delivery": {"route": NEUTRAL_ROUTE.value},
                   "regimen": {"dose": {"value": 0.0, "unit": "particles"},
                               "times_days": [0.0]},
                   "subject": subject, "days": spec.days,
                   "body": {"copies_per_vesicle": 0.0}}, "untreated arm")


def vehicle_only_spec(spec: DesignSpec, c: CandidateDesign) -> Any:
    """The candidate's vehicle (route, release) on its schedule, without vesicles or cargo."""
    base = untreated_spec(spec)
    data = base.therapy.model_dump(mode="json", exclude_none=True)
    data["name"] = f"vehicle only: {vehicle_label(c)}"
    data["delivery"] = {"route": c.route.value}
    data["regimen"] = {"dose": {"value": 0.0, "unit": "particles"}, "times_days": c.times_days}
    body: dict[str, Any] = {"copies_per_vesicle": 0.0}
    if (c.body or {}).get("vehicle"):
        body["vehicle"] = c.body["vehicle"]  # type: ignore[index]
    data["body"] = body
    return _parse(data, f"vehicle-only arm of '{c.name}'")


def simulate_arm(bspec: Any, n: int, spec: DesignSpec, release: ReleaseProfile | None) -> Any:
    from exomir.body.simulate import simulate

    return simulate(bspec, n, seed=spec.seed, release=release)


def run_arms(spec: DesignSpec, plan: CargoPlan, progress: Progress) -> ArmSet:
    """Simulate untreated, each vehicle alone, each candidate and each candidate without its
    miRNA, with ``spec.subjects`` subjects drawn from ``spec.seed`` (the same subjects)."""
    n = spec.subjects
    progress("simulating the untreated disease course")
    ub = untreated_spec(spec)
    arms = ArmSet(untreated=Arm(UNTREATED, "untreated", ub, None,
                                simulate_arm(ub, n, spec, None)), candidates=[])
    for c in spec.candidates:
        label = vehicle_label(c)
        rel = release_for(c)
        if label is not None and label not in arms.vehicles:
            progress(f"simulating the vehicle alone: {label}")
            vb = vehicle_only_spec(spec, c)
            arms.vehicles[label] = Arm(f"vehicle only: {label}", "vehicle", vb, rel,
                                       simulate_arm(vb, n, spec, rel), vehicle=label)
    for c in spec.candidates:
        progress(f"simulating {n} subjects: {c.name}")
        rel = release_for(c)
        label = vehicle_label(c)
        cb, _ = candidate_body_spec(spec, c, plan)
        arms.candidates.append(Arm(c.name, "candidate", cb, rel, simulate_arm(cb, n, spec, rel),
                                   design=c, vehicle=label))
        nb, _ = candidate_body_spec(spec, c, plan, copies=0.0)
        arms.no_mirna[c.name] = Arm(f"{c.name} without miRNA", "no_mirna", nb, rel,
                                    simulate_arm(nb, n, spec, rel), design=c, vehicle=label)
    check_paired(arms.all())
    return arms


def check_paired(arms: list[Arm]) -> None:
    """Every arm must hold the same subjects: identical draws of every shared table
    parameter (the body model's between-subject variability)."""
    ref = arms[0].result.params
    names = {p.name for p in arms[0].result.model.table}
    for a in arms[1:]:
        shared = names & {p.name for p in a.result.model.table}
        for k in sorted(shared):
            if k.startswith("mech_"):
                continue  # mechanism switches (body model) are set per arm, not drawn
            if not np.array_equal(ref[k], a.result.params[k]):
                # a user override of that parameter in one candidate is not a pairing fault
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
    """Per-subject gain over untreated and its sequential switch-off decomposition."""
    y0 = outcome_at(arms.untreated.result, day)
    yv = outcome_at(arms.vehicle_arm(cand).result, day)
    yn = outcome_at(arms.no_mirna[cand.name].result, day)
    y = outcome_at(cand.result, day)
    return {"total": y - y0, "vehicle": yv - y0, "vesicle": yn - yv, "mirna": y - yn}
