"""Model parameters with units and provenance.

Every parameter carries a value, a unit and either a source (DOI or PMID) or the flag
``assumption=True`` with a plausible range. A value fitted to data says so in ``calibrated``
(the data or the calibration problem it came from). A between-subject coefficient of
variation ``cv`` needs its own provenance: ``cv_source`` or an assumed range
(``cv_low``/``cv_high``). ``group`` names the model block (e.g. "PK", "RISC", "pathway
weights") so that sensitivity analyses and reports can group parameters. The table renders to
Markdown/records so that the docs and reports list exactly what a model used.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator

from pydantic import BaseModel, ConfigDict, model_validator

from exomir.core.units import parse_unit


class Parameter(BaseModel):
    """One model parameter. ``low``/``high`` give the plausible (or reported) range."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    value: float
    unit: str
    description: str = ""
    source: str | None = None
    assumption: bool = False
    low: float | None = None
    high: float | None = None
    cv: float | None = None  # between-subject coefficient of variation (lognormal)
    cv_source: str | None = None  # where the CV comes from; None: an assumption (range below)
    cv_low: float | None = None
    cv_high: float | None = None
    calibrated: str | None = None  # data / calibration problem that produced the value
    group: str | None = None  # model block, e.g. "PK", "RISC", "pathway weights"
    note: str | None = None

    @model_validator(mode="after")
    def _provenance(self) -> Parameter:
        parse_unit(self.unit, field=f"{self.name}.unit")
        if not math.isfinite(self.value):
            raise ValueError(f"parameter {self.name!r}: value must be finite")
        if not self.assumption and not self.source and not self.calibrated:
            raise ValueError(f"parameter {self.name!r} needs a source (DOI/PMID), a "
                             "calibration (calibrated=...) or assumption=True with a "
                             "plausible range")
        if self.assumption and (self.low is None or self.high is None):
            raise ValueError(f"assumed parameter {self.name!r} needs a plausible range (low, high)")
        if self.low is not None and self.high is not None and not self.low <= self.high:
            raise ValueError(f"parameter {self.name!r}: low {self.low} > high {self.high}")
        if self.cv is not None:
            if not (self.cv >= 0 and math.isfinite(self.cv)):
                raise ValueError(f"parameter {self.name!r}: cv must be >= 0")
            if self.cv_source is None and (self.cv_low is None or self.cv_high is None):
                raise ValueError(f"parameter {self.name!r}: a cv needs cv_source or an "
                                 "assumed range (cv_low, cv_high)")
        return self

    def with_value(self, value: float) -> Parameter:
        return self.model_copy(update={"value": value})


class ParameterTable:
    """An ordered, name-indexed collection of :class:`Parameter`."""

    def __init__(self, params: Iterable[Parameter] = ()) -> None:
        self._p: dict[str, Parameter] = {}
        for p in params:
            if p.name in self._p:
                raise ValueError(f"duplicate parameter {p.name!r}")
            self._p[p.name] = p

    def __getitem__(self, name: str) -> Parameter:
        return self._p[name]

    def __contains__(self, name: object) -> bool:
        return name in self._p

    def __iter__(self) -> Iterator[Parameter]:
        return iter(self._p.values())

    def __len__(self) -> int:
        return len(self._p)

    def value(self, name: str) -> float:
        return self._p[name].value

    def names(self) -> list[str]:
        return list(self._p)

    def replace(self, **values: float) -> ParameterTable:
        """A copy with some values changed (units and sources kept)."""
        unknown = set(values) - set(self._p)
        if unknown:
            raise KeyError(f"unknown parameters: {sorted(unknown)}")
        return ParameterTable(p.with_value(values[p.name]) if p.name in values else p
                              for p in self)

    def assumptions(self) -> list[Parameter]:
        return [p for p in self if p.assumption]

    def groups(self) -> dict[str, list[str]]:
        """Parameter names per ``group`` (ungrouped under "other")."""
        out: dict[str, list[str]] = {}
        for p in self:
            out.setdefault(p.group or "other", []).append(p.name)
        return out

    def cv_parameters(self) -> list[Parameter]:
        """The between-subject CVs as parameters ``cv_<name>`` (group "population
        variability"), with their own source or assumed range."""
        out = []
        for p in self:
            if p.cv is None:
                continue
            out.append(Parameter(
                name=f"cv_{p.name}", value=p.cv, unit="dimensionless",
                description=f"between-subject CV of {p.name} (lognormal)",
                source=p.cv_source, assumption=p.cv_source is None,
                low=p.cv_low if p.cv_source is None else None,
                high=p.cv_high if p.cv_source is None else None,
                group="population variability"))
        return out

    def to_records(self) -> list[dict[str, object]]:
        return [p.model_dump() for p in self]

    def to_markdown(self) -> str:
        rows = ["| name | group | value | unit | provenance | range | CV | description |",
                "|---|---|---|---|---|---|---|---|"]
        for p in self:
            if p.calibrated:
                src = f"calibrated: {p.calibrated}" + (f" ({p.source})" if p.source else "")
            else:
                src = p.source or "**assumption**"
            if p.assumption and p.source:
                src = f"**assumption** ({p.source})"
            rng = f"{p.low:g}–{p.high:g}" if p.low is not None and p.high is not None else ""
            cv = ""
            if p.cv is not None:
                cv = f"{p.cv:g} " + (f"({p.cv_source})" if p.cv_source
                                     else f"(assumed {p.cv_low:g}–{p.cv_high:g})")
            rows.append(f"| {p.name} | {p.group or ''} | {p.value:g} | {p.unit} | {src} | "
                        f"{rng} | {cv} | {p.description} |")
        return "\n".join(rows)
