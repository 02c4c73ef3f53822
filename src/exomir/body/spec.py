"""Therapy spec input for the simulator: a :class:`TherapySpec` plus a ``body`` section.

```yaml
name: miR-21 + miR-146a EVs in hydrogel
indication: diabetic_wound
cargo:
  - {kind: mirna, name: hsa-miR-21-5p, copies_per_vesicle: 50}
  - {kind: mirna, name: hsa-miR-146a-5p, copies_per_vesicle: 50}
product: {characterization: {particles_per_ug_protein: 2e9}}   # for doses in ug
delivery: {route: hydrogel, description: GelMA hydrogel dressing}
regimen: {dose: {value: 1e10, unit: particles}, times_days: [0]}   # or {value: 100, unit: ug}
subject: {species: mouse, disease_model: db/db diabetic}
days: 28
body:                              # optional
  targets:                         # which miRNA represses which gene, and how strongly
    - {gene: PTEN, mirna: hsa-miR-21-5p, log2fc: -0.6}    # or max_repression: 0.35
    - {gene: IRAK1, mirna: hsa-miR-146a-5p, max_repression: 0.4}
  mechanisms: {mirna: true, vesicle: true, vehicle: true}
  vehicle_type: gelma              # default: from release_preset / description / route
  release_preset: ha_hydrogel      # an exomir.release preset, or
  release_profile: fit.json        # a profile written by `exomir release fit --profile-out`
  vehicle: {scale_days: 6, shape: 1, loss_per_day: 0.11}   # or a custom Weibull release
  diabetic: true
  parameters: {f_escape: 0.05}     # overrides of table values
  calibration: calibrated.json     # exomir calibrate output (values + covariance)
```

A target without ``mirna`` is repressed by the only cargo miRNA (or, with several, by each of
them, with a warning). Input limits (checked before anything is allocated) are listed in
docs/body.md, "Input limits".
"""

from __future__ import annotations

import math
import re
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from exomir.core import CargoKind, InputError, Route, TherapySpec, parse_mirna_name
from exomir.core.files import read_mapping
from exomir.core.mirna import mirna_matches

NATIVE_COPIES_PER_VESICLE = 0.00825  # Chevillet 2014 doi:10.1073/pnas.1408301111 (table row)
MAX_DAYS = 3650.0  # ten years of simulated time
MAX_DOSE_TIMES = 1000
IMPLICIT_MIRNA = "cargo_mirna"  # id of the one miRNA of a spec that names none
VEHICLE_TYPES = ("gelma", "ha_hydrogel", "chitosan", "alginate", "microneedle", "scaffold",
                 "decm", "generic")
_PRESET_TYPE = {"ha_hydrogel": "ha_hydrogel", "chitosan_thermo": "chitosan",
                "chitosan_2pct": "chitosan", "microneedle_core_shell": "microneedle"}
_DESCRIPTION_TYPE = [(r"gelma|gelatin methacryl", "gelma"), (r"hyaluron|\bhama\b", "ha_hydrogel"),
                     (r"chitosan", "chitosan"), (r"alginate", "alginate"),
                     (r"decellulari|\bdecm\b", "decm")]
_ROUTE_TYPE = {Route.MICRONEEDLE: "microneedle", Route.SCAFFOLD: "scaffold",
               Route.DECM: "decm", Route.HYDROGEL: "generic"}


def sid(name: str) -> str:
    """A name as an SBML-safe id fragment (``hsa-miR-146a-5p`` -> ``hsa_miR_146a_5p``)."""
    return re.sub(r"[^A-Za-z0-9_]", "_", name.strip())


class TargetSpec(BaseModel):
    """A target gene, the miRNA that represses it and its maximal repression (fraction) or
    predicted log2 fold change."""

    model_config = ConfigDict(extra="forbid")
    gene: str = Field(pattern=r"^[A-Za-z0-9_.-]+$")
    mirna: str | None = None
    max_repression: float | None = Field(default=None, ge=0, lt=1)
    log2fc: float | None = Field(default=None, le=0, ge=-20)

    @model_validator(mode="after")
    def _one(self) -> TargetSpec:
        if (self.max_repression is None) == (self.log2fc is None):
            raise ValueError("give exactly one of max_repression or log2fc")
        return self

    @property
    def gene_id(self) -> str:
        return self.gene.upper().replace("-", "_").replace(".", "_")

    @property
    def rmax(self) -> float:
        if self.max_repression is not None:
            return self.max_repression
        assert self.log2fc is not None
        return 1.0 - 2.0 ** self.log2fc


class VehicleSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    scale_days: float = Field(gt=0, le=1e4)
    shape: float = Field(default=1.0, gt=0, le=100)
    loss_per_day: float | None = Field(default=None, ge=0, le=1e3)  # None: k_loss_depot


class Mechanisms(BaseModel):
    """On/off switches of the three benefit structures (docs/body.md, "Mechanisms")."""

    model_config = ConfigDict(extra="forbid")
    mirna: bool = True
    vesicle: bool = True
    vehicle: bool = True


class BodySection(BaseModel):
    model_config = ConfigDict(extra="forbid")
    targets: list[TargetSpec] = Field(default_factory=list)
    mechanisms: Mechanisms = Field(default_factory=Mechanisms)
    vehicle_type: str | None = None
    release_preset: str | None = None
    release_profile: str | None = None
    vehicle: VehicleSpec | None = None
    diabetic: bool | None = None
    copies_per_vesicle: float | None = Field(default=None, ge=0)
    parameters: dict[str, float] = Field(default_factory=dict)
    # calibrated-parameter file (exomir calibrate); a relative path is read from the spec's
    # folder
    calibration: str | None = None

    @model_validator(mode="after")
    def _release_once(self) -> BodySection:
        given = [k for k in ("release_preset", "release_profile", "vehicle")
                 if getattr(self, k) is not None]
        if len(given) > 1:
            raise ValueError(f"give at most one of release_preset, release_profile, vehicle "
                             f"(got {', '.join(given)})")
        if self.vehicle_type is not None and self.vehicle_type not in VEHICLE_TYPES:
            raise ValueError(f"vehicle_type {self.vehicle_type!r} unknown; accepted: "
                             + ", ".join(VEHICLE_TYPES))
        return self


@dataclass(frozen=True)
class CargoMirna:
    """One delivered miRNA: its name, state-id fragment and copies per vesicle (None: the
    native value of the parameter table)."""

    name: str
    id: str
    copies_per_vesicle: float | None


@dataclass(frozen=True)
class Target:
    """A resolved target: gene id, the miRNA id that represses it, maximal repression."""

    gene: str
    mirna: str
    rmax: float


class BodySpec(BaseModel):
    """What the simulator reads: the validated therapy and the body-specific section."""

    model_config = ConfigDict(extra="forbid")
    therapy: TherapySpec
    body: BodySection = Field(default_factory=BodySection)
    base_dir: str | None = None  # folder of the spec file (relative release_profile paths)

    # ---------------------------------------------------------------- cargo and targets
    @property
    def mirnas(self) -> list[CargoMirna]:
        """Delivered miRNAs (``kind: mirna``), in spec order; an implicit one when none."""
        mir = [c for c in self.therapy.cargo if c.kind == CargoKind.MIRNA]
        if not mir:
            cpv = self.body.copies_per_vesicle
            return [CargoMirna(IMPLICIT_MIRNA, IMPLICIT_MIRNA, cpv)]
        if self.body.copies_per_vesicle is not None and len(mir) > 1:
            raise InputError("body.copies_per_vesicle is ambiguous with several cargo miRNAs",
                             field="body.copies_per_vesicle",
                             value=self.body.copies_per_vesicle,
                             accepted="copies_per_vesicle on each cargo entry")
        out = []
        seen: set[str] = set()
        for i, c in enumerate(mir):
            key = sid(c.name)
            if key.lower() in seen:
                raise InputError("the same miRNA twice in the cargo", field=f"cargo.{i}.name",
                                 value=c.name, accepted="each miRNA once")
            seen.add(key.lower())
            cpv = c.copies_per_vesicle
            if self.body.copies_per_vesicle is not None:
                cpv = self.body.copies_per_vesicle
            out.append(CargoMirna(c.name, key, cpv))
        return out

    @property
    def targets(self) -> list[Target]:
        """(gene, miRNA, rmax) for every target; the same gene may be repressed by several
        miRNAs, but the same (gene, miRNA) pair only once."""
        mirs = self.mirnas
        out: list[Target] = []
        seen: dict[tuple[str, str], int] = {}
        for i, t in enumerate(self.body.targets):
            if t.mirna is None:
                if len(mirs) > 1:
                    warnings.warn(
                        f"body.targets.{i}: gene {t.gene} names no miRNA; assuming every cargo "
                        f"miRNA ({', '.join(m.name for m in mirs)}) represses it with the "
                        "same strength - give 'mirna' per target", UserWarning, stacklevel=3)
                chosen = mirs
            else:
                chosen = [_match_mirna(t.mirna, mirs, f"body.targets.{i}.mirna")]
            for m in chosen:
                key = (t.gene_id, m.id)
                if key in seen:
                    raise InputError("the same target gene twice for one miRNA (gene names "
                                     "are case-insensitive)", field=f"body.targets.{i}.gene",
                                     value=t.gene, accepted=f"each gene once per miRNA "
                                     f"(first given as body.targets.{seen[key]})")
                seen[key] = i
                out.append(Target(t.gene_id, m.id, t.rmax))
        return out

    @property
    def copies_per_vesicle(self) -> float:
        """Total miRNA copies per vesicle over the cargo (native value where none given)."""
        return float(sum(NATIVE_COPIES_PER_VESICLE if m.copies_per_vesicle is None
                         else m.copies_per_vesicle for m in self.mirnas))

    # ---------------------------------------------------------------- dose
    @property
    def dose_particles(self) -> float:
        """Particles per administration; a dose in mass of protein is converted with the
        product's particles per ug (or the table default, see :func:`dose_conversion`)."""
        return dose_conversion(self)["particles"]

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

    @property
    def species(self) -> str:
        sp = self.therapy.subject.species
        return sp.value if sp is not None else "mouse"

    @property
    def vehicle_type(self) -> str | None:
        """The vehicle material whose own effect applies (None for non-vehicle routes):
        ``body.vehicle_type``, else from ``release_preset``, the delivery description, or the
        route (an unnamed hydrogel is ``generic``: no vehicle effect unless sourced)."""
        if not self.route.is_vehicle:
            return None
        if self.body.vehicle_type is not None:
            return self.body.vehicle_type
        if self.body.release_preset in _PRESET_TYPE:
            return _PRESET_TYPE[self.body.release_preset]
        text = (self.therapy.delivery.description or "").lower()
        for pat, kind in _DESCRIPTION_TYPE:
            if re.search(pat, text):
                return kind
        return _ROUTE_TYPE.get(self.route, "generic")


def _match_mirna(name: str, mirs: list[CargoMirna], field: str) -> CargoMirna:
    for m in mirs:
        if m.name.lower() == name.strip().lower() or m.id.lower() == sid(name).lower():
            return m
    try:
        q = parse_mirna_name(name, field=field)
        hits = []
        for m in mirs:
            try:
                if mirna_matches(q, parse_mirna_name(m.name)):
                    hits.append(m)
            except InputError:
                continue
        if len(hits) == 1:
            return hits[0]
    except InputError:
        pass
    raise InputError("target names a miRNA that is not in the cargo", field=field, value=name,
                     accepted=", ".join(m.name for m in mirs))


def dose_conversion(spec: BodySpec) -> dict[str, Any]:
    """The dose as given and in particles: ``{value, unit, particles, particles_per_ug,
    ratio_source}``. Mass of protein uses ``product.characterization.particles_per_ug_protein``
    or the table's ``particles_per_ug_default`` (Webber & Clayton 2013 range)."""
    dose = spec.therapy.regimen.dose
    if dose is None:
        return {"value": 0.0, "unit": "particles", "particles": 0.0, "particles_per_ug": None,
                "ratio_source": None}
    try:
        q = dose.quantity()
    except InputError as exc:
        raise InputError(exc.message, field="regimen.dose.value", value=dose.value,
                         accepted=exc.accepted) from None
    out: dict[str, Any] = {"value": float(dose.value), "unit": dose.unit,
                           "particles_per_ug": None, "ratio_source": None}
    if q.check("[particle]"):
        out["particles"] = float(q.to("particle").magnitude)
    elif q.check("[mass]"):
        ppu = spec.therapy.product.characterization.particles_per_ug_protein
        src = "product.characterization.particles_per_ug_protein"
        if ppu is None:
            from exomir.body.params import parameter_table

            ppu = parameter_table(spec.therapy.indication.value, spec.species).value(
                "particles_per_ug_default")
            src = ("table default particles_per_ug_default (assumption, range 1.5e9-3e10, "
                   "Webber & Clayton 2013)")
        out["particles"] = float(q.to("microgram").magnitude) * float(ppu)
        out["particles_per_ug"] = float(ppu)
        out["ratio_source"] = src
    else:
        raise InputError("the simulator needs a dose in particles or in mass of vesicle "
                         "protein", field="regimen.dose.unit", value=dose.unit,
                         accepted="particles (EVs), ug, mg (protein; converted with "
                                  "product.characterization.particles_per_ug_protein)")
    return out


def check_limits(spec: BodySpec) -> list[str]:
    """Refuse inputs the simulator cannot honour (InputError naming field and limit) and
    return warnings for inputs beyond the published range. Runs before anything is built."""
    from exomir.body.params import parameter_table, species_table

    th = spec.therapy
    notes: list[str] = []
    if not (math.isfinite(th.days) and 0 < th.days <= MAX_DAYS):
        raise InputError("simulated days out of range", field="days", value=th.days,
                         accepted=f"a finite number of days in (0, {MAX_DAYS:g}]")
    times = th.regimen.times_days or []
    if len(times) > MAX_DOSE_TIMES:
        raise InputError("too many administration times", field="regimen.times_days",
                         value=f"{len(times)} times", accepted=f"at most {MAX_DOSE_TIMES}")
    for t in times:
        if not math.isfinite(t):
            raise InputError("administration time is not finite", field="regimen.times_days",
                             value=t, accepted=f"days in [0, {th.days:g}]")
    table = parameter_table(th.indication.value, spec.species)
    for i, m in enumerate(spec.mirnas):
        c = m.copies_per_vesicle
        if c is None:
            continue
        cmax = table.value("max_copies_per_vesicle")
        if not (math.isfinite(c) and 0 <= c <= cmax):
            fld = ("body.copies_per_vesicle" if spec.body.copies_per_vesicle is not None
                   or m.id == IMPLICIT_MIRNA else f"cargo.{i}.copies_per_vesicle")
            raise InputError("miRNA copies per vesicle beyond the physical ceiling", field=fld,
                             value=c, accepted=f"0 to {cmax:.3g} copies per vesicle "
                             "(max_copies_per_vesicle: lumen volume of a 100 nm vesicle)")
    conv = dose_conversion(spec)
    d = conv["particles"]
    if not math.isfinite(d) or d < 0:
        raise InputError("dose is not a finite number", field="regimen.dose.value",
                         value=conv["value"], accepted="a finite dose >= 0")
    if 0 < d < 1:
        raise InputError("dose below one vesicle", field="regimen.dose.value",
                         value=conv["value"], accepted="0, or at least 1 particle")
    bw = th.subject.body_weight_kg or species_table()[spec.species]["body_weight_kg"]
    blood_ml = species_table()[spec.species]["blood_volume_ml"] * (
        bw / species_table()[spec.species]["body_weight_kg"])
    r_cm = 0.5 * table.value("ev_diameter_nm") * 1e-7
    v_ml = 4.0 / 3.0 * math.pi * r_cm**3
    phys = table.value("max_vesicle_volume_fraction_of_blood") * blood_ml / v_ml
    pub = table.value("largest_published_dose_per_kg") * bw
    ceiling = min(phys, 100.0 * pub)
    if d > ceiling:
        why = (f"vesicle volume {d * v_ml:.3g} mL > {table.value('max_vesicle_volume_fraction_of_blood'):g}"
               f" x blood volume {blood_ml:.3g} mL" if phys <= 100.0 * pub else
               f"> 100 x the largest published dose ({pub:.3g} particles for {bw:g} kg)")
        raise InputError(f"dose beyond the ceiling ({why})", field="regimen.dose.value",
                         value=conv["value"],
                         accepted=f"at most {ceiling:.3g} particles per administration for a "
                                  f"{bw:g} kg {spec.species}")
    if d > pub:
        notes.append(f"dose {d:.3g} particles is above the largest published dose "
                     f"({pub:.3g} particles for a {bw:g} kg {spec.species}; "
                     "largest_published_dose_per_kg)")
    spec.targets  # noqa: B018 - validates targets (duplicates, unknown miRNA)
    _ = spec.vehicle_type
    return notes


_ACCEPTED = {"greater_than": "> {gt}", "greater_than_equal": ">= {ge}", "less_than": "< {lt}",
             "less_than_equal": "<= {le}", "float_parsing": "a number",
             "float_type": "a number", "int_parsing": "a whole number",
             "bool_parsing": "true or false", "missing": "a value (required field)",
             "extra_forbidden": "only the documented fields (see docs/body.md)",
             "string_pattern_mismatch": "text matching {pattern}",
             "list_type": "a list", "dict_type": "a mapping", "finite_number": "a finite number"}


def _first_error(exc: ValidationError) -> tuple[str, str, object, str | None]:
    err = exc.errors()[0]
    field = ".".join(str(p) for p in err["loc"])
    msg = str(err["msg"])
    if not field:  # model-level validators name their field at the start of the message
        for known in ("regimen.times_days", "days", "release_preset", "vehicle_type"):
            if known in msg:
                field = known
                break
    tmpl = _ACCEPTED.get(str(err.get("type")))
    try:
        accepted = tmpl.format(**(err.get("ctx") or {})) if tmpl else None
    except (KeyError, IndexError):
        accepted = None
    return field, msg, err.get("input"), accepted


def _shown(value: object) -> object:
    return value if not isinstance(value, dict | list) else None


def parse_spec(data: dict[str, Any], source: str | Path | None = None,
               base_dir: str | Path | None = None) -> BodySpec:
    """Validate a dict as a :class:`BodySpec`; errors name the field. Warnings (e.g. a dose
    above the largest published one) are issued as ``UserWarning``."""
    if not isinstance(data, dict):
        raise InputError("a therapy spec must be a mapping", source=source)
    if "candidates" in data:  # the other spec family: say which command reads it
        raise InputError("this is a design spec (it lists candidates), not a therapy spec: run "
                         f"'exomir design {source or 'FILE'}'; each of its candidates can run "
                         "alone with 'exomir simulate' (exomir design writes them to "
                         "OUT/candidates/)", source=source, accepted="docs/design.md")
    data = dict(data)
    body = data.pop("body", None) or {}
    if not isinstance(body, dict):
        raise InputError("the body section must be a mapping", source=source, field="body")
    route = (data.get("delivery") or {}).get("route") if isinstance(data.get("delivery"),
                                                                      dict) else None
    if route is not None:
        Route.parse(route, field="delivery.route")
    try:
        therapy = TherapySpec.model_validate(data)
    except ValidationError as exc:
        field, msg, value, acc = _first_error(exc)
        raise InputError(msg, source=source, field=field or None, value=_shown(value),
                         accepted=acc) from None
    try:
        section = BodySection.model_validate(body)
    except ValidationError as exc:
        field, msg, value, acc = _first_error(exc)
        raise InputError(msg, source=source, field=f"body.{field}".rstrip("."),
                         value=_shown(value), accepted=acc) from None
    if section.calibration is not None:
        cal = Path(section.calibration)
        root = base_dir if base_dir is not None else (
            Path(source).parent if source is not None else None)
        if not cal.is_absolute() and root is not None:
            cal = Path(root) / cal
        if not cal.is_file():
            raise InputError("calibrated-parameter file not found", source=source,
                             field="body.calibration", value=section.calibration,
                             accepted="a file written by exomir calibrate (calibrated.json)")
        section = section.model_copy(update={"calibration": str(cal)})
    spec = BodySpec(therapy=therapy, body=section,
                    base_dir=None if base_dir is None else str(base_dir))
    try:
        _ = spec.route
        for note in check_limits(spec):
            warnings.warn(note, UserWarning, stacklevel=2)
    except InputError as exc:
        raise exc.located(source) from None
    return spec


def load_spec(path: str | Path) -> BodySpec:
    """Read a YAML or JSON therapy spec file."""
    p = Path(path)
    return parse_spec(read_mapping(p, accepted="a therapy spec (see examples/)"), source=p,
                      base_dir=p.parent)
