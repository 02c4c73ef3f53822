"""Model parameters with units and provenance.

Every parameter carries a value, a unit and either a source (DOI or PMID) or the flag
``assumption=True`` with a plausible range. The table renders to Markdown/DataFrame so that the
docs and reports list exactly what a model used.
"""

from __future__ import annotations

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
    note: str | None = None

    @model_validator(mode="after")
    def _provenance(self) -> Parameter:
        parse_unit(self.unit, field=f"{self.name}.unit")
        if not self.assumption and not self.source:
            raise ValueError(f"parameter {self.name!r} needs a source (DOI/PMID) or "
                             "assumption=True with a plausible range")
        if self.assumption and (self.low is None or self.high is None):
            raise ValueError(f"assumed parameter {self.name!r} needs a plausible range (low, high)")
        if self.low is not None and self.high is not None and not self.low <= self.high:
            raise ValueError(f"parameter {self.name!r}: low {self.low} > high {self.high}")
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

    def replace(self, **values: float) -> ParameterTable:
        """A copy with some values changed (units and sources kept)."""
        unknown = set(values) - set(self._p)
        if unknown:
            raise KeyError(f"unknown parameters: {sorted(unknown)}")
        return ParameterTable(p.with_value(values[p.name]) if p.name in values else p
                              for p in self)

    def assumptions(self) -> list[Parameter]:
        return [p for p in self if p.assumption]

    def to_records(self) -> list[dict[str, object]]:
        return [p.model_dump() for p in self]

    def to_markdown(self) -> str:
        rows = ["| name | value | unit | source | range | description |",
                "|---|---|---|---|---|---|"]
        for p in self:
            src = p.source or "**assumption**"
            rng = f"{p.low:g}–{p.high:g}" if p.low is not None and p.high is not None else ""
            rows.append(f"| {p.name} | {p.value:g} | {p.unit} | {src} | {rng} | {p.description} |")
        return "\n".join(rows)
