"""Batch release: a specification YAML checked against a batch record YAML.

(Named ``batch`` so it is not confused with ``exomir.release``, the vehicle release kinetics.)

Specification::

    name: ...
    ranges:                       # any numeric field of the batch record, unit in the name
      concentration_particles_per_ml: {min: 1.0e11, max: 1.0e13}
      modal_size_nm: {min: 50, max: 150}
      endotoxin_eu_per_ml: {max: 0.5}
    markers_present: [CD63, TSG101]
    markers_absent: [calnexin]
    pass_fail: [sterility, mycoplasma]

Batch record::

    batch_id: B-001
    values: {concentration_particles_per_ml: 3.2e11, endotoxin_eu_per_ml: 0.1, ...}
    nta: {file: batch_a.csv, dilution: 1000}   # optional: size statistics filled from NTA
    markers_present: [CD63, CD81, TSG101]
    markers_absent: [calnexin]
    results: {sterility: pass, mycoplasma: pass}

A specified item that the batch does not report FAILS (not reported = not shown).
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from exomir.core.errors import InputError
from exomir.core.files import read_mapping
from exomir.quality.nta import SizeDistribution, read_size_file, size_stats


class _M(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


#: Name endings of batch values that are amounts, sizes or fractions (never negative); a
#: fraction is at most 1 and a percentage at most 100. Other names (e.g. zeta_potential_mv)
#: may be negative. Every value is finite and within +-1e15.
_NONNEGATIVE = ("_per_ml", "_nm", "_per_ug_protein", "_ug", "_mg", "_ml", "_count", "_eu",
                "_eu_per_ml", "_percent", "_pct", "_cfu")
_VALUE_MAX = 1e15


def _check_value(name: str, value: float) -> None:
    if abs(value) > _VALUE_MAX:
        raise ValueError(f"{name} = {value:g} is beyond any measured value (|x| <= 1e15)")
    low = name.lower()
    if (low.endswith(_NONNEGATIVE) or low.startswith(("fraction_", "particles_"))) \
            and value < 0:
        raise ValueError(f"{name} must not be negative (got {value:g})")
    if low.startswith("fraction_") and value > 1:
        raise ValueError(f"{name} is a fraction: at most 1 (got {value:g})")
    if low.endswith(("_percent", "_pct")) and value > 100:
        raise ValueError(f"{name} is a percentage: at most 100 (got {value:g})")


class Range(_M):
    min: float | None = None
    max: float | None = None

    @model_validator(mode="after")
    def _ok(self) -> Range:
        for v in (self.min, self.max):
            if v is not None and abs(v) > _VALUE_MAX:
                raise ValueError(f"limit {v:g} is beyond any measured value (|x| <= 1e15)")
        if self.min is None and self.max is None:
            raise ValueError("a range needs min and/or max")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min {self.min} > max {self.max}")
        return self

    def text(self) -> str:
        if self.min is not None and self.max is not None:
            return f"{self.min:g} - {self.max:g}"
        return f">= {self.min:g}" if self.min is not None else f"<= {self.max:g}"


class ReleaseSpec(_M):
    name: str = "release specification"
    ranges: dict[str, Range] = Field(default_factory=dict)
    markers_present: list[str] = Field(default_factory=list)
    markers_absent: list[str] = Field(default_factory=list)
    pass_fail: list[str] = Field(default_factory=list)


class NtaRef(_M):
    file: str
    dilution: float = Field(default=1.0, gt=0)


class BatchRecord(_M):
    batch_id: str
    values: dict[str, float] = Field(default_factory=dict)
    nta: NtaRef | None = None
    markers_present: list[str] = Field(default_factory=list)
    markers_absent: list[str] = Field(default_factory=list)
    results: dict[str, Literal["pass", "fail"]] = Field(default_factory=dict)

    @field_validator("values")
    @classmethod
    def _values_ok(cls, values: dict[str, float]) -> dict[str, float]:
        for name, value in values.items():
            _check_value(name, value)
        return values


class Check(BaseModel):
    item: str
    requirement: str
    observed: str
    passed: bool
    reason: str = ""


class ReleaseReport(BaseModel):
    spec: str
    batch_id: str
    checks: list[Check]
    notes: list[str] = Field(default_factory=list)

    @property
    def passed(self) -> bool:
        return all(c.passed for c in self.checks)

    def to_dict(self) -> dict[str, object]:
        return {"spec": self.spec, "batch_id": self.batch_id,
                "verdict": "PASS" if self.passed else "FAIL",
                "checks": [c.model_dump() for c in self.checks], "notes": self.notes}


def _load_yaml(path: str | Path) -> dict[str, object]:
    return read_mapping(path)


def _validate(model: type[_M], data: dict[str, object], path: str | Path) -> _M:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        value = err.get("input") if err["type"] != "missing" else None
        top = len(err["loc"]) <= 1 and err["type"] in ("missing", "extra_forbidden")
        raise InputError(str(err["msg"]).removeprefix("Value error, "), source=path,
                         field=".".join(str(x) for x in err["loc"]) or None,
                         value=None if isinstance(value, dict | list) else value,
                         accepted=", ".join(model.model_fields) if top else None) from None


def load_spec(path: str | Path) -> ReleaseSpec:
    spec = _validate(ReleaseSpec, _load_yaml(path), path)
    assert isinstance(spec, ReleaseSpec)
    return spec


def load_batch(path: str | Path) -> BatchRecord:
    rec = _validate(BatchRecord, _load_yaml(path), path)
    assert isinstance(rec, BatchRecord)
    return rec


def nta_values(dist: SizeDistribution) -> dict[str, float]:
    s = size_stats(dist)
    out = {"modal_size_nm": s.mode_nm, "mean_size_nm": s.mean_nm, "d10_nm": s.d10_nm,
           "d50_nm": s.d50_nm, "d90_nm": s.d90_nm, "span": s.span,
           "fraction_above_200nm": s.fraction_above_200nm,
           "fraction_above_1000nm": s.fraction_above_1000nm}
    if s.total_per_ml is not None:
        out["concentration_particles_per_ml"] = s.total_per_ml
    return out


def _norm_marker(m: str) -> str:
    return m.strip().upper().replace("-", "").replace(" ", "")


def check_release(spec: ReleaseSpec, batch: BatchRecord, *, base_dir: Path | None = None
                  ) -> ReleaseReport:
    """Check every specified item; values from an NTA export fill fields not given explicitly."""
    values = dict(batch.values)
    notes: list[str] = []
    if batch.nta is not None:
        f = Path(batch.nta.file)
        if not f.is_absolute() and base_dir is not None:
            f = base_dir / f
        read = read_size_file(f, dilution=batch.nta.dilution)
        if not isinstance(read, SizeDistribution):
            raise InputError("batch 'nta' must be a size-bin table, not a summary file",
                             source=f, field="nta.file")
        for k, v in nta_values(read).items():
            if k in values:
                notes.append(f"{k}: explicit value {values[k]:g} kept (NTA gives {v:.4g})")
            else:
                values[k] = v
        notes.append(f"size statistics from {f.name} (dilution x{batch.nta.dilution:g})")
    checks: list[Check] = []
    for name, rng in spec.ranges.items():
        if name not in values:
            checks.append(Check(item=name, requirement=rng.text(), observed="not reported",
                                passed=False, reason="not reported"))
            continue
        v = values[name]
        ok = (rng.min is None or v >= rng.min) and (rng.max is None or v <= rng.max)
        reason = "" if ok else ("below minimum" if rng.min is not None and v < rng.min
                                else "above maximum")
        checks.append(Check(item=name, requirement=rng.text(), observed=f"{v:.4g}", passed=ok,
                            reason=reason))
    present = {_norm_marker(m) for m in batch.markers_present}
    absent = {_norm_marker(m) for m in batch.markers_absent}
    for m in spec.markers_present:
        k = _norm_marker(m)
        ok = k in present
        checks.append(Check(item=f"marker {m}", requirement="present",
                            observed="present" if ok else (
                                "absent" if k in absent else "not reported"),
                            passed=ok, reason="" if ok else "required marker not shown"))
    for m in spec.markers_absent:
        k = _norm_marker(m)
        ok = k in absent
        checks.append(Check(item=f"marker {m}", requirement="absent",
                            observed="absent" if ok else (
                                "present" if k in present else "not reported"),
                            passed=ok, reason="" if ok else (
                                "contaminant marker detected" if k in present
                                else "absence not shown")))
    for test in spec.pass_fail:
        r = batch.results.get(test)
        checks.append(Check(item=test, requirement="pass", observed=r or "not reported",
                            passed=r == "pass",
                            reason="" if r == "pass" else ("failed" if r else "not reported")))
    return ReleaseReport(spec=spec.name, batch_id=batch.batch_id, checks=checks, notes=notes)
