"""The design spec: an indication and the candidate designs to compare.

Every field has a documented default (docs/design.md); a bad spec fails before any
computation with an error naming the field and the accepted values.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from exomir.core import CargoMode, Indication, InputError, Route, Species
from exomir.core.files import read_mapping

EXAMPLES = {"diabetic_wound": "diabetic_wound.yaml", "neuropathic_pain": "neuropathic_pain.yaml"}
ISOLATION_METHODS = ("ultracentrifugation", "sec", "tff", "precipitation")
DEPOT_ROUTES = (Route.HYDROGEL, Route.MICRONEEDLE, Route.SCAFFOLD, Route.DECM)


class _M(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CargoChoice(_M):
    """One miRNA in the cargo: name (miRBase), loading mode, copies per vesicle.

    ``copies_per_vesicle`` omitted: native loading (0.00825, Chevillet 2014) for ``native``;
    required for ``loaded``/``overexpressed`` (a measured number, never guessed)."""

    name: str
    mode: CargoMode = CargoMode.LOADED
    copies_per_vesicle: Annotated[float, Field(ge=0)] | None = None

    @model_validator(mode="after")
    def _copies(self) -> CargoChoice:
        if self.copies_per_vesicle is None and self.mode is not CargoMode.NATIVE:
            raise ValueError(f"cargo {self.name}: copies_per_vesicle is required for mode "
                             f"'{self.mode.value}' (measured copies per particle), or use "
                             "mode: native")
        return self


class CandidateDesign(_M):
    """One candidate therapy to simulate and compare."""

    name: str
    source_cell: str = "human umbilical-cord MSC"
    isolation_method: str = "tff"
    cargo: list[CargoChoice] | None = None  # None: best single miRNA from cargo ranking
    route: Route
    release_preset: str | None = None  # depot routes: a calibrated exomir.release preset
    targeting_ligand: str | None = None
    dose_particles: Annotated[float, Field(gt=0)] = 1e10
    times_days: list[Annotated[float, Field(ge=0)]] = Field(default_factory=lambda: [0.0])

    @field_validator("isolation_method")
    @classmethod
    def _method(cls, v: str) -> str:
        key = v.strip().lower().replace("-", "_").replace(" ", "_")
        alias = {"uc": "ultracentrifugation", "size_exclusion_chromatography": "sec",
                 "tangential_flow_filtration": "tff"}
        key = alias.get(key, key)
        if key not in ISOLATION_METHODS:
            raise ValueError(f"unknown isolation_method {v!r}; accepted: "
                             + ", ".join(ISOLATION_METHODS))
        return key

    @field_validator("times_days")
    @classmethod
    def _times(cls, v: list[float]) -> list[float]:
        if not v:
            raise ValueError("times_days needs at least one administration day")
        return sorted(v)


class DesignSpec(_M):
    """What to design: the indication, the species, the candidates and the questions."""

    name: str = "exomir design"
    indication: Indication
    species: Species = Species.MOUSE
    disease_model: str | None = None
    days: Annotated[float, Field(gt=0, le=120)] = 28.0
    subjects: Annotated[int, Field(ge=1, le=100_000)] = 100
    seed: int = 0
    outcome_day: Annotated[float, Field(gt=0)] | None = None
    knockdown_goal: Annotated[float, Field(gt=0, lt=1)] = 0.2
    dose_range_particles: tuple[Annotated[float, Field(gt=0)], Annotated[float, Field(gt=0)]] \
        = (1e8, 1e12)
    dose_response_points: Annotated[int, Field(ge=3, le=13)] = 5
    dose_response_subjects: Annotated[int, Field(ge=1, le=10_000)] = 30
    cargo_k: Annotated[int, Field(ge=1, le=4)] = 2
    cohort_subjects: Annotated[int, Field(ge=1)] = 20
    gene_sets: str | None = None  # GMT path for enrichment; default: gene sets in the KB
    sensitivity: bool = True
    candidates: list[CandidateDesign] = Field(min_length=1)

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
        if self.outcome_day is not None and self.outcome_day > self.days:
            raise ValueError(f"outcome_day {self.outcome_day:g} is after 'days' {self.days:g}")
        names = [c.name for c in self.candidates]
        if len(set(names)) != len(names):
            raise ValueError("candidate names must be unique")
        return self

    @property
    def headline_day(self) -> float:
        default = 14.0 if self.indication is Indication.DIABETIC_WOUND else 21.0
        return self.outcome_day if self.outcome_day is not None else min(default, self.days)


def parse_design(data: Any, source: str | Path | None = None) -> DesignSpec:
    """Validate a design spec; the first problem becomes one InputError naming the field."""
    if not isinstance(data, dict):
        raise InputError("a design spec is a mapping (YAML/JSON object)", source=source,
                         accepted="keys: indication, species, candidates, ...")
    try:
        return DesignSpec.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        field = ".".join(str(p) for p in err["loc"]) or None
        value = err.get("input")
        accepted = None
        if field and field.split(".")[-1] in ("route",):
            accepted = ", ".join(Route.accepted())
        elif field and field.split(".")[-1] in ("indication",):
            accepted = ", ".join(Indication.accepted())
        elif field and field.split(".")[-1] in ("species",):
            accepted = ", ".join(Species.accepted())
        msg = err["msg"].removeprefix("Value error, ")
        raise InputError(msg, source=source, field=field,
                         value=None if isinstance(value, dict | list) else value,
                         accepted=accepted) from None


def load_design(path: str | Path) -> DesignSpec:
    p = Path(path)
    return parse_design(read_mapping(p, accepted="a design spec: indication, candidates, ..."),
                        source=p)


def example_spec(indication: str | Indication) -> DesignSpec:
    """The bundled example spec for an indication (used by ``exomir demo``)."""
    ind = Indication.parse(indication, field="indication")
    text = (resources.files("exomir.design") / "examples" / EXAMPLES[ind.value]).read_text()
    return parse_design(yaml.safe_load(text), source=f"<bundled {EXAMPLES[ind.value]}>")
