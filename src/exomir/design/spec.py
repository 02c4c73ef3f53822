"""The design spec: an indication and the candidate designs to compare.

A candidate is written with the fields of a simulate (therapy) spec -- ``name``, ``product``,
``cargo``, ``delivery``, ``regimen``, optional ``subject``/``indication``/``days`` and an
optional ``body`` section -- so a candidate runs alone with ``exomir simulate`` and a simulate
spec can be pasted into a design's ``candidates`` list. The older flat candidate form
(``route``, ``dose_particles``, ``times_days``, ``source_cell``, ...) is still read and
converted, with a deprecation note in the report.

Every field has a documented default (docs/design.md); a bad spec fails before any
computation with an error naming the field and the accepted values.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    field_validator,
    model_validator,
)

from exomir.core import (
    Cargo,
    CargoKind,
    CargoMode,
    Delivery,
    ExosomeProduct,
    Indication,
    InputError,
    Regimen,
    Route,
    Species,
    Subject,
)
from exomir.core.files import read_mapping
from exomir.core.mirna import parse_mirna_name

EXAMPLES = {"diabetic_wound": "diabetic_wound.yaml", "neuropathic_pain": "neuropathic_pain.yaml"}
ISOLATION_METHODS = ("ultracentrifugation", "sec", "tff", "precipitation")
DEPOT_ROUTES = (Route.HYDROGEL, Route.MICRONEEDLE, Route.SCAFFOLD, Route.DECM)
DEFAULT_SOURCE_CELL = "human umbilical-cord MSC"
DEFAULT_DOSE_PARTICLES = 1e10
# Keys of the older flat candidate form (read, converted, reported as deprecated).
LEGACY_KEYS = ("route", "dose_particles", "times_days", "source_cell", "isolation_method",
               "targeting_ligand")
# Keys that make a mapping a simulate (therapy) spec rather than a design spec.
THERAPY_KEYS = ("delivery", "regimen", "cargo", "product")
SPEC_REFERENCE = ("spec reference: docs/design.md; bundled examples: "
                  "'exomir demo --show-spec [--indication neuropathic_pain]'")


class _M(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _isolation(v: str | None) -> str:
    key = (v or "tff").strip().lower().replace("-", "_").replace(" ", "_")
    alias = {"uc": "ultracentrifugation", "size_exclusion_chromatography": "sec",
             "tangential_flow_filtration": "tff"}
    key = alias.get(key, key)
    if key not in ISOLATION_METHODS:
        raise ValueError(f"unknown isolation_method {v!r}; accepted: "
                         + ", ".join(ISOLATION_METHODS))
    return key


def legacy_to_therapy(data: dict[str, Any]) -> dict[str, Any]:
    """The older flat candidate (``route``, ``dose_particles``, ...) as simulate-spec fields."""
    d = dict(data)
    out: dict[str, Any] = {"name": d.pop("name", None)}
    out["product"] = {"source_cell": d.pop("source_cell", DEFAULT_SOURCE_CELL),
                      "isolation_method": d.pop("isolation_method", "tff")}
    if "cargo" in d:
        cargo = d.pop("cargo")
        out["cargo"] = ([{"kind": "mirna", **c} if isinstance(c, dict) else c for c in cargo]
                        if isinstance(cargo, list) else cargo)
    delivery: dict[str, Any] = {"route": d.pop("route", None)}
    if d.get("targeting_ligand") is not None:
        delivery["targeting_ligand"] = d.pop("targeting_ligand")
    d.pop("targeting_ligand", None)
    out["delivery"] = delivery
    out["regimen"] = {"dose": {"value": d.pop("dose_particles", DEFAULT_DOSE_PARTICLES),
                               "unit": "particles"},
                      "times_days": d.pop("times_days", [0.0])}
    out.update(d)  # release_preset, body, and anything unknown (rejected by the model)
    return {k: v for k, v in out.items() if v is not None or k == "name"}


class CandidateDesign(_M):
    """One candidate therapy: the fields of a simulate spec plus an optional release preset.

    ``subject``, ``indication`` and ``days`` may be given (a pasted simulate spec has them);
    they must agree with the design, which simulates every arm with the same subjects over
    its own window. ``cargo`` omitted: the best-ranked single miRNA at native loading.
    """

    name: str = Field(min_length=1, max_length=200)
    product: ExosomeProduct = Field(default_factory=lambda: ExosomeProduct(
        source_cell=DEFAULT_SOURCE_CELL, isolation_method="tff"))
    cargo: list[Cargo] | None = None
    delivery: Delivery
    release_preset: str | None = None  # depots: a calibrated exomir.release preset
    regimen: Regimen
    body: dict[str, Any] | None = None  # the simulate spec's optional body section
    indication: Indication | None = None
    subject: Subject | None = None
    days: Annotated[float, Field(gt=0)] | None = None
    _legacy: bool = PrivateAttr(default=False)

    @model_validator(mode="wrap")
    @classmethod
    def _read_legacy(cls, data: Any, handler: Any) -> Any:
        """Convert the older flat form and remember that it was used (deprecation note)."""
        legacy = isinstance(data, dict) and any(k in data for k in LEGACY_KEYS)
        if legacy:
            new = [k for k in ("delivery", "regimen", "product") if k in data]
            if new:
                raise ValueError(
                    f"mixes the simulate-spec form ({', '.join(new)}) with the older flat form "
                    f"({', '.join(k for k in LEGACY_KEYS if k in data)}); write the candidate "
                    "as a simulate spec (docs/design.md)")
            data = legacy_to_therapy(data)
        obj = handler(data)
        obj._legacy = legacy
        return obj

    @field_validator("product")
    @classmethod
    def _product(cls, v: ExosomeProduct) -> ExosomeProduct:
        v.isolation_method = _isolation(v.isolation_method)
        if v.source_cell is None:
            v.source_cell = DEFAULT_SOURCE_CELL
        return v

    @field_validator("cargo")
    @classmethod
    def _cargo(cls, v: list[Cargo] | None) -> list[Cargo] | None:
        if v is None:
            return v
        if not v:
            raise ValueError("cargo needs at least one miRNA (or omit it for the best-ranked "
                             "miRNA at native loading)")
        seen: dict[str, str] = {}
        for i, c in enumerate(v):
            if c.kind is not CargoKind.MIRNA:
                raise ValueError(f"cargo.{i}: kind '{c.kind.value}' is not simulated by the "
                                 "design; accepted: mirna")
            try:
                parse_mirna_name(c.name, field=f"cargo.{i}.name")
            except InputError as exc:
                raise ValueError(f"cargo.{i}.name {c.name!r} is not a miRNA name; accepted: "
                                 f"{exc.accepted}") from None
            key = c.name.strip().lower()
            if key in seen:
                raise ValueError(f"cargo lists {c.name!r} twice (as {seen[key]!r}); give each "
                                 "miRNA once with its copies per vesicle")
            seen[key] = c.name
            if c.mode is CargoMode.INHIBITED:
                raise ValueError(f"cargo.{i}: mode 'inhibited' (an antagomiR) is not simulated "
                                 "by the body model; accepted: loaded, overexpressed, native")
            if c.copies_per_vesicle is None and c.mode is not CargoMode.NATIVE:
                raise ValueError(f"cargo {c.name}: copies_per_vesicle is required for mode "
                                 f"'{(c.mode or CargoMode.LOADED).value}' (measured copies per "
                                 "particle), or use mode: native")
        return v

    @field_validator("regimen")
    @classmethod
    def _regimen(cls, v: Regimen) -> Regimen:
        if v.dose is None:
            raise ValueError("regimen.dose is required (value and unit, e.g. "
                             "{value: 1e10, unit: particles})")
        if v.dose.value <= 0:
            raise ValueError("regimen.dose.value must be > 0 (the untreated and vehicle-only "
                             "arms are added by the design)")
        if v.times_days is None:
            v.times_days = [0.0]
        return v

    @field_validator("body")
    @classmethod
    def _body(cls, v: dict[str, Any] | None) -> dict[str, Any] | None:
        if not v:
            return v
        genes = [str(t.get("gene", "")) for t in v.get("targets") or [] if isinstance(t, dict)]
        seen: dict[str, str] = {}
        for g in genes:
            key = g.strip().upper()
            if key in seen:
                raise ValueError(f"body.targets names gene {g!r} twice (as {seen[key]!r}); "
                                 "give each target gene once")
            seen[key] = g
        return v

    @model_validator(mode="after")
    def _route(self) -> CandidateDesign:
        if self.delivery.route is None:
            raise ValueError("delivery.route is required; accepted: "
                             + ", ".join(Route.accepted()))
        if self.release_preset is not None and self.route not in DEPOT_ROUTES:
            raise ValueError(f"release_preset '{self.release_preset}' needs a depot route "
                             f"({', '.join(r.value for r in DEPOT_ROUTES)}), not "
                             f"'{self.route.value}'")
        return self

    # Convenience views used by the design sections.
    @property
    def legacy_form(self) -> bool:
        return self._legacy

    @property
    def route(self) -> Route:
        assert self.delivery.route is not None
        return self.delivery.route

    @property
    def targeting_ligand(self) -> str | None:
        return self.delivery.targeting_ligand

    @property
    def source_cell(self) -> str:
        return self.product.source_cell or DEFAULT_SOURCE_CELL

    @property
    def isolation_method(self) -> str:
        return self.product.isolation_method or "tff"

    @property
    def times_days(self) -> list[float]:
        return list(self.regimen.times_days or [0.0])

    @property
    def dose_particles(self) -> float:
        """Particles per administration (a dose in other units is converted by the body
        spec; see :func:`exomir.design.simulate_part.candidate_body_spec`)."""
        dose = self.regimen.dose
        assert dose is not None
        q = dose.quantity()
        if q.check("[particle]"):
            return float(q.to("particle").magnitude)
        return float("nan")


class GlobalSettings(_M):
    """Global sensitivity (exomir.sensitivity) and parameter-uncertainty settings."""

    method: Literal["sobol", "morris", "efast"] = "sobol"
    n: Annotated[int, Field(ge=8, le=8192)] = 128  # base samples (Sobol': a power of 2)
    uncertainty_draws: Annotated[int, Field(ge=0, le=5000)] = 50  # 0: no uncertainty bands
    uncertainty_subjects: Annotated[int, Field(ge=1, le=1000)] = 20


class MinimalImportantDifference(_M):
    """The smallest difference in the headline outcome that would matter, with its source."""

    value: Annotated[float, Field(gt=0)]
    source: str = Field(min_length=3)


class DesignSpec(_M):
    """What to design: the indication, the species, the candidates and the questions."""

    name: str = Field(default="exomir design", max_length=300)
    indication: Indication
    species: Species = Species.MOUSE
    disease_model: str | None = None
    days: Annotated[float, Field(gt=0, le=120)] = 28.0
    subjects: Annotated[int, Field(ge=2, le=100_000)] = 100
    seed: Annotated[int, Field(ge=0, le=2**32 - 1)] = 0
    outcome_day: Annotated[float, Field(gt=0)] | None = None
    knockdown_goal: Annotated[float, Field(gt=0, lt=1)] = 0.2
    minimal_important_difference: MinimalImportantDifference | None = None
    dose_range_particles: tuple[Annotated[float, Field(gt=0)], Annotated[float, Field(gt=0)]] \
        = (1e8, 1e12)
    dose_response_points: Annotated[int, Field(ge=3, le=13)] = 5
    dose_response_subjects: Annotated[int, Field(ge=2, le=10_000)] = 30
    cargo_k: Annotated[int, Field(ge=1, le=4)] = 2
    cohort_subjects: Annotated[int, Field(ge=1, le=100_000)] = 20
    gene_sets: str | None = None  # GMT path for enrichment; default: gene sets in the KB
    sensitivity: bool = True  # global sensitivity and parameter uncertainty on/off
    sensitivity_settings: GlobalSettings = Field(default_factory=GlobalSettings)
    candidates: list[CandidateDesign] = Field(min_length=1, max_length=12)
    # a calibrated-parameter file (exomir calibrate) for every arm: untreated, vehicle only
    # and candidates simulate with the same calibrated, correlated typical values
    calibration: str | None = Field(default=None, max_length=4096)

    @model_validator(mode="after")
    def _window(self) -> DesignSpec:
        lo, hi = self.dose_range_particles
        if not lo < hi:
            raise ValueError(f"dose_range_particles must be increasing, got {lo:g}..{hi:g}")
        for i, c in enumerate(self.candidates):
            late = [t for t in c.times_days if t > self.days]
            if late:
                raise ValueError(f"candidates.{i}.times_days {late} fall outside the "
                                 f"{self.days:g}-day window; extend 'days'")
            if c.indication is not None and c.indication is not self.indication:
                raise ValueError(f"candidates.{i}.indication '{c.indication.value}' differs "
                                 f"from the design's '{self.indication.value}'")
            sp = c.subject.species if c.subject is not None else None
            if sp is not None and sp is not self.species:
                raise ValueError(f"candidates.{i}.subject.species '{sp.value}' differs from the "
                                 f"design's species '{self.species.value}'; all arms share "
                                 "the same virtual subjects")
            dm = c.subject.disease_model if c.subject is not None else None
            if dm is not None and self.disease_model is not None and \
                    dm.strip().lower() != self.disease_model.strip().lower():
                raise ValueError(f"candidates.{i}.subject.disease_model {dm!r} differs from the "
                                 f"design's {self.disease_model!r}")
        if self.outcome_day is not None and self.outcome_day > self.days:
            raise ValueError(f"outcome_day {self.outcome_day:g} is after 'days' {self.days:g}")
        names = [c.name.strip().lower() for c in self.candidates]
        if len(set(names)) != len(names):
            raise ValueError("candidate names must be unique")
        reserved = {"untreated"} | {n for n in names if n.startswith("vehicle only")}
        clash = [c.name for c in self.candidates if c.name.strip().lower() in reserved
                 or c.name.strip().lower().startswith("vehicle only")]
        if clash:
            raise ValueError(f"candidate name {clash[0]!r} is reserved for the reference arms "
                             "the design adds (untreated, vehicle only: ...)")
        return self

    @property
    def global_settings(self) -> GlobalSettings | None:
        """The global sensitivity/uncertainty settings, or None when switched off."""
        return self.sensitivity_settings if self.sensitivity else None

    @property
    def headline_day(self) -> float:
        default = 14.0 if self.indication is Indication.DIABETIC_WOUND else 21.0
        return self.outcome_day if self.outcome_day is not None else min(default, self.days)

    @property
    def legacy_candidates(self) -> list[str]:
        """Names of candidates written in the older flat form (deprecated)."""
        return [c.name for c in self.candidates if c.legacy_form]


def _looks_like_therapy(data: dict[str, Any]) -> bool:
    return "candidates" not in data and any(k in data for k in THERAPY_KEYS)


def parse_design(data: Any, source: str | Path | None = None,
                 base_dir: str | Path | None = None) -> DesignSpec:
    """Validate a design spec; the first problem becomes one InputError naming the field.
    A relative ``calibration`` path is read from ``base_dir`` (the spec file's folder)."""
    if not isinstance(data, dict):
        raise InputError("a design spec is a mapping (YAML/JSON object)", source=source,
                         accepted="keys: indication, species, candidates, ...")
    if _looks_like_therapy(data):
        raise InputError(
            "this is a simulate (therapy) spec, not a design spec: run 'exomir simulate "
            f"{source or 'FILE'}', or paste it as one entry under 'candidates:' of a design "
            "spec to compare it with others", source=source,
            accepted=SPEC_REFERENCE)
    try:
        spec = DesignSpec.model_validate(data)
    except InputError as exc:
        raise exc.located(source) from None
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = [str(p) for p in err["loc"]]
        # pydantic names the wrap validator's branch ("function-wrap[...]"): drop it.
        loc = [p for p in loc if not p.startswith("function-")]
        field = ".".join(loc) or None
        value = err.get("input")
        accepted = None
        last = field.split(".")[-1] if field else ""
        if last == "route":
            accepted = ", ".join(Route.accepted())
        elif last == "indication":
            accepted = ", ".join(Indication.accepted())
        elif last == "species":
            accepted = ", ".join(Species.accepted())
        elif field == "candidates" and err["type"] == "missing":
            accepted = SPEC_REFERENCE
        msg = err["msg"].removeprefix("Value error, ")
        raise InputError(msg, source=source, field=field,
                         value=None if isinstance(value, dict | list) else value,
                         accepted=accepted) from None
    return _with_calibration(spec, source, None if base_dir is None else Path(base_dir))


def _with_calibration(spec: DesignSpec, source: str | Path | None,
                      base_dir: Path | None) -> DesignSpec:
    """Resolve ``calibration`` (relative to the spec file) and read it once, so a bad file
    fails before any arm runs; a candidate's own ``body.calibration`` is refused (the
    untreated and vehicle-only arms would run on other parameters than the candidate)."""
    for i, c in enumerate(spec.candidates):
        if c.body and c.body.get("calibration") is not None:
            raise InputError("a calibration applies to every arm of a design: name it once at "
                             "the top level", source=source,
                             field=f"candidates.{i}.body.calibration",
                             value=str(c.body["calibration"]),
                             accepted="calibration: FILE at the top of the design spec")
    if spec.calibration is None:
        return spec
    from exomir.core.calibrated import load_calibrated

    cal = Path(spec.calibration)
    if not cal.is_absolute() and base_dir is not None:
        cal = base_dir / cal
    load_calibrated(cal)  # InputError naming the file and field
    return spec.model_copy(update={"calibration": str(cal.resolve())})


def load_design(path: str | Path) -> DesignSpec:
    p = Path(path)
    return parse_design(read_mapping(p, accepted="a design spec: indication, candidates, ..."),
                        source=p, base_dir=p.parent)


def example_text(indication: str | Indication) -> str:
    """The bundled example spec for an indication, as YAML text."""
    ind = Indication.parse(indication, field="indication")
    return (resources.files("exomir.design") / "examples" / EXAMPLES[ind.value]).read_text()


def example_spec(indication: str | Indication) -> DesignSpec:
    """The bundled example spec for an indication (used by ``exomir demo``)."""
    ind = Indication.parse(indication, field="indication")
    return parse_design(yaml.safe_load(example_text(ind)),
                        source=f"<bundled {EXAMPLES[ind.value]}>")
