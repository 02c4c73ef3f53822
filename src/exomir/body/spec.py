"""Therapy spec input for the simulator: a :class:`TherapySpec` plus a ``body`` section.

```yaml
name: miR-21 EVs in hydrogel
indication: diabetic_wound
cargo: [{kind: mirna, name: hsa-miR-21-5p, copies_per_vesicle: 5}]
delivery: {route: hydrogel}
regimen: {dose: {value: 1e10, unit: particles}, times_days: [0]}
subject: {species: mouse, disease_model: db/db diabetic}
days: 28
body:                              # optional
  targets: [{gene: PTEN, log2fc: -0.6}]   # or max_repression: 0.35 (fraction)
  vehicle: {scale_days: 6, shape: 1, loss_per_day: 0.11}
  diabetic: true
  parameters: {f_escape: 0.05}     # overrides of table values
  calibration: calibrated.json     # exomir calibrate output (values + covariance)
```
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from exomir.core import CargoKind, InputError, Route, TherapySpec
from exomir.core.files import read_mapping

NATIVE_COPIES_PER_VESICLE = 0.00825  # Chevillet 2014 doi:10.1073/pnas.1408301111


class TargetSpec(BaseModel):
    """A target gene and its maximal repression (fraction) or predicted log2 fold change."""

    model_config = ConfigDict(extra="forbid")
    gene: str = Field(pattern=r"^[A-Za-z0-9_.-]+$")
    max_repression: float | None = Field(default=None, ge=0, lt=1)
    log2fc: float | None = Field(default=None, le=0)

    @model_validator(mode="after")
    def _one(self) -> TargetSpec:
        if (self.max_repression is None) == (self.log2fc is None):
            raise ValueError("give exactly one of max_repression or log2fc")
        return self

    @property
    def rmax(self) -> float:
        if self.max_repression is not None:
            return self.max_repression
        assert self.log2fc is not None
        return 1.0 - 2.0 ** self.log2fc


class VehicleSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    scale_days: float = Field(gt=0)
    shape: float = Field(default=1.0, gt=0)
    loss_per_day: float = Field(default=0.11, ge=0)


class BodySection(BaseModel):
    model_config = ConfigDict(extra="forbid")
    targets: list[TargetSpec] = Field(default_factory=list)
    vehicle: VehicleSpec | None = None
    diabetic: bool | None = None
    copies_per_vesicle: float | None = Field(default=None, ge=0)
    parameters: dict[str, float] = Field(default_factory=dict)
    # calibrated-parameter file (exomir calibrate); a relative path is read from the spec's
    # folder
    calibration: str | None = None


class BodySpec(BaseModel):
    """What the simulator reads: the validated therapy and the body-specific section."""

    model_config = ConfigDict(extra="forbid")
    therapy: TherapySpec
    body: BodySection = Field(default_factory=BodySection)

    @property
    def copies_per_vesicle(self) -> float:
        if self.body.copies_per_vesicle is not None:
            return self.body.copies_per_vesicle
        mir = [c for c in self.therapy.cargo if c.kind == CargoKind.MIRNA]
        given = [c.copies_per_vesicle for c in mir if c.copies_per_vesicle is not None]
        return float(sum(given)) if given else NATIVE_COPIES_PER_VESICLE

    @property
    def dose_particles(self) -> float:
        dose = self.therapy.regimen.dose
        if dose is None:
            return 0.0
        q = dose.quantity()
        if not q.check("[particle]"):
            raise InputError("the simulator needs a dose in particles (convert mass with the "
                             "product characterisation first)", field="regimen.dose.unit",
                             value=dose.unit, accepted="particles, EVs")
        return float(q.to("particle").magnitude)

    @property
    def route(self) -> Route:
        r = self.therapy.delivery.route
        if r is None:
            raise InputError("missing", field="delivery.route", accepted=Route.accepted())
        return r

    @property
    def diabetic(self) -> bool:
        if self.body.diabetic is not None:
            return self.body.diabetic
        text = (self.therapy.subject.disease_model or "").lower()
        return any(w in text for w in ("diabet", "db/db", "stz", "streptozotocin"))


def _first_error(exc: ValidationError) -> tuple[str, str, object]:
    err = exc.errors()[0]
    field = ".".join(str(p) for p in err["loc"])
    msg = str(err["msg"])
    if not field:  # model-level validators name their field at the start of the message
        for known in ("regimen.times_days", "days"):
            if known in msg:
                field = known
                break
    return field, msg, err.get("input")


def parse_spec(data: dict[str, Any], source: str | Path | None = None) -> BodySpec:
    """Validate a dict as a :class:`BodySpec`; errors name the field."""
    if not isinstance(data, dict):
        raise InputError("a therapy spec must be a mapping", source=source)
    data = dict(data)
    body = data.pop("body", None) or {}
    route = (data.get("delivery") or {}).get("route")
    if route is not None:
        Route.parse(route, field="delivery.route")
    try:
        therapy = TherapySpec.model_validate(data)
    except ValidationError as exc:
        field, msg, value = _first_error(exc)
        raise InputError(msg, source=source, field=field or None,
                         value=value if not isinstance(value, dict) else None) from None
    try:
        section = BodySection.model_validate(body)
    except ValidationError as exc:
        field, msg, value = _first_error(exc)
        raise InputError(msg, source=source, field=f"body.{field}",
                         value=value if not isinstance(value, dict) else None) from None
    if section.calibration is not None:
        cal = Path(section.calibration)
        if not cal.is_absolute() and source is not None:
            cal = Path(source).parent / cal
        if not cal.is_file():
            raise InputError("calibrated-parameter file not found", source=source,
                             field="body.calibration", value=section.calibration,
                             accepted="a file written by exomir calibrate (calibrated.json)")
        section = section.model_copy(update={"calibration": str(cal)})
    spec = BodySpec(therapy=therapy, body=section)
    _ = spec.dose_particles, spec.route
    return spec


def load_spec(path: str | Path) -> BodySpec:
    """Read a YAML or JSON therapy spec file."""
    p = Path(path)
    return parse_spec(read_mapping(p, accepted="a therapy spec (see examples/)"), source=p)
