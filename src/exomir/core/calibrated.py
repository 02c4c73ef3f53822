"""The calibrated-parameter file: what a calibration produced, read by body, design, sensitivity.

Written by ``exomir calibrate`` (:mod:`exomir.calibrate`), read here so that no reader imports
the calibration package. One JSON (or YAML) file::

    format: exomir-calibrated-parameters/1
    problem: {id, title, file, indication, species, sha256}
    data_sources: [DOI or citation, ...]
    objective: {nll, n_starts, n_converged}
    parameters:
      - {name, value, unit, scale (lin|log|log10), estimated, lower, upper,
         se (estimation scale), ci95 [low, high] (linear scale), ci_method (profile|fisher),
         identifiability (identifiable | practically non-identifiable | structurally flat |
         fixed), note}
    covariance: {names, matrix}   # Fisher-information covariance on the estimation scale

Draws for virtual populations (:meth:`CalibratedParameters.draw`): the identifiable estimated
parameters are drawn jointly, x ~ N(x_hat, C) on the estimation scale (log10/log/lin) and
transformed back, then clipped to their bounds; parameters that the data did not identify are
kept at their stated value (``mode="fixed"``) or drawn uniformly on the estimation scale within
their bounds (``mode="range"``). Between-subject variability is a separate layer applied by the
simulator on top of these typical values.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from exomir.core.errors import InputError

FORMAT = "exomir-calibrated-parameters/1"
Scale = Literal["lin", "log", "log10"]
Verdict = Literal["identifiable", "practically non-identifiable", "structurally flat", "fixed",
                  "not profiled"]
IDENTIFIABLE: tuple[str, ...] = ("identifiable",)


def to_scale(value: float | np.ndarray, scale: str) -> Any:
    """Linear value -> estimation scale (PEtab parameterScale)."""
    if scale == "log10":
        return np.log10(value)
    if scale == "log":
        return np.log(value)
    return value


def from_scale(x: float | np.ndarray, scale: str) -> Any:
    """Estimation scale -> linear value."""
    if scale == "log10":
        return np.power(10.0, x)
    if scale == "log":
        return np.exp(x)
    return x


class CalibratedValue(BaseModel):
    """One parameter of a calibration: its value and how well the data determine it."""

    model_config = ConfigDict(extra="forbid")
    name: str
    value: float
    unit: str = "dimensionless"
    scale: Scale = "log10"
    estimated: bool = True
    lower: float | None = None
    upper: float | None = None
    se: float | None = None  # on the estimation scale (Fisher information)
    ci95: tuple[float | None, float | None] | None = None  # linear scale; None end = open
    ci_method: str | None = None
    identifiability: Verdict = "not profiled"
    note: str = ""

    @property
    def identified(self) -> bool:
        return self.estimated and self.identifiability in IDENTIFIABLE


class Covariance(BaseModel):
    model_config = ConfigDict(extra="forbid")
    names: list[str]
    matrix: list[list[float]]

    @model_validator(mode="after")
    def _square(self) -> Covariance:
        n = len(self.names)
        if len(self.matrix) != n or any(len(r) != n for r in self.matrix):
            raise ValueError(f"covariance must be {n} x {n} for {n} names")
        return self


class ProblemRef(BaseModel):
    model_config = ConfigDict(extra="allow")
    id: str
    title: str = ""
    file: str | None = None
    indication: str | None = None
    species: str | None = None
    sha256: str | None = None


class CalibratedParameters(BaseModel):
    """The content of a calibrated-parameter file (see the module docstring)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    format: str = FORMAT
    problem: ProblemRef
    data_sources: list[str] = Field(default_factory=list)
    objective: dict[str, Any] = Field(default_factory=dict)
    parameters: list[CalibratedValue]
    covariance: Covariance | None = None
    notes: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _check(self) -> CalibratedParameters:
        if self.format != FORMAT:
            raise ValueError(f"unknown format {self.format!r}; expected {FORMAT!r}")
        names = [p.name for p in self.parameters]
        if len(set(names)) != len(names):
            raise ValueError("duplicate parameter names")
        if self.covariance is not None:
            unknown = set(self.covariance.names) - set(names)
            if unknown:
                raise ValueError(f"covariance names not among parameters: {sorted(unknown)}")
        return self

    # ---- access ------------------------------------------------------------------------
    def get(self, name: str) -> CalibratedValue:
        for p in self.parameters:
            if p.name == name:
                return p
        raise KeyError(name)

    def values(self) -> dict[str, float]:
        """Best-fit (or stated) values of every parameter, linear scale."""
        return {p.name: p.value for p in self.parameters}

    def model_values(self, known: Iterable[str]) -> dict[str, float]:
        """Values of the parameters a model knows (noise parameters are left out)."""
        ks = set(known)
        return {k: v for k, v in self.values().items() if k in ks}

    def uncertain(self) -> list[CalibratedValue]:
        """Estimated parameters the data did not identify (for sensitivity analysis)."""
        return [p for p in self.parameters if p.estimated and not p.identified]

    # ---- draws -------------------------------------------------------------------------
    def draw(self, n: int, rng: np.random.Generator | int | None = 0,
             mode: Literal["fixed", "range"] = "fixed",
             names: Iterable[str] | None = None) -> dict[str, np.ndarray]:
        """n typical-value draws per parameter (linear scale): identifiable parameters jointly
        from N(x_hat, C) on the estimation scale, clipped to their bounds; the others fixed at
        their value (``fixed``) or uniform on the estimation scale within bounds (``range``)."""
        gen = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
        keep = None if names is None else set(names)
        params = [p for p in self.parameters if keep is None or p.name in keep]
        out = {p.name: np.full(n, p.value, dtype=float) for p in params}
        joint = [p for p in params if p.identified and self.covariance is not None
                 and p.name in self.covariance.names]
        if joint and self.covariance is not None:
            idx = [self.covariance.names.index(p.name) for p in joint]
            cov = np.asarray(self.covariance.matrix, dtype=float)[np.ix_(idx, idx)]
            if np.all(np.isfinite(cov)):
                mean = np.array([to_scale(p.value, p.scale) for p in joint], dtype=float)
                # eigen-decomposition tolerates a semi-definite matrix (Cholesky would not)
                w, v = np.linalg.eigh(0.5 * (cov + cov.T))
                z = gen.standard_normal((n, len(joint)))
                x = mean + (z * np.sqrt(np.clip(w, 0.0, None))) @ v.T
                for j, p in enumerate(joint):
                    lo = -np.inf if p.lower is None else to_scale(p.lower, p.scale)
                    hi = np.inf if p.upper is None else to_scale(p.upper, p.scale)
                    out[p.name] = np.asarray(from_scale(np.clip(x[:, j], lo, hi), p.scale),
                                             dtype=float)
        if mode == "range":
            for p in params:
                if p.estimated and not p.identified and p.lower is not None \
                        and p.upper is not None:
                    lo, hi = to_scale(p.lower, p.scale), to_scale(p.upper, p.scale)
                    out[p.name] = np.asarray(from_scale(gen.uniform(lo, hi, n), p.scale),
                                             dtype=float)
        return out

    # ---- files -------------------------------------------------------------------------
    def to_json(self) -> str:
        return json.dumps(_finite(self.model_dump(mode="json")), indent=1)

    def save(self, path: str | Path) -> Path:
        p = Path(path)
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(self.to_json() + "\n", encoding="utf-8")
        return p


def _finite(obj: Any) -> Any:
    """JSON has no NaN/inf: write them as null."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, Mapping):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_finite(v) for v in obj]
    return obj


def load_calibrated(path: str | Path) -> CalibratedParameters:
    """Read a calibrated-parameter file (JSON or YAML); InputError names the file and field."""
    from exomir.core.files import read_mapping

    p = Path(path)
    data = read_mapping(p, accepted=f"a calibrated-parameter file ({FORMAT}) written by "
                                    "exomir calibrate")
    return parse_calibrated(data, source=p)


def parse_calibrated(data: Mapping[str, Any], source: str | Path | None = None
                     ) -> CalibratedParameters:
    try:
        return CalibratedParameters.model_validate(dict(data))
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = ".".join(str(x) for x in err["loc"])
        raw = err.get("input")
        raise InputError(str(err["msg"]), source=source, field=loc or None,
                         value=None if isinstance(raw, dict | list) else raw,
                         accepted=f"a calibrated-parameter file ({FORMAT})") from None


def calibration_mapping(cal: Any) -> tuple[dict[str, Any], str]:
    """(content as a mapping, source label) of a calibration given as a file, a mapping or a
    :class:`CalibratedParameters`; the one reader for body, design and sensitivity.

    A file is read through :func:`exomir.core.files.read_mapping` (limits, one-line errors).
    Content that declares ``format: exomir-calibrated-parameters/...`` is validated as that
    format (:func:`parse_calibrated`) and returned as its normalised dump, so every reader sees
    the same fields; any other mapping (a hand-written file with ``ci``/``bounds`` spellings,
    which :mod:`exomir.sensitivity.calibration` accepts) is returned as it is.
    """
    if isinstance(cal, CalibratedParameters):
        return cal.model_dump(mode="json"), f"calibration {cal.problem.id}"
    if isinstance(cal, str | Path):
        from exomir.core.files import read_mapping

        data = read_mapping(cal, accepted=f"a calibrated-parameter file ({FORMAT}, or "
                                          "parameters: [{name, value, ci|se, scale}], "
                                          "covariance)")
        src = str(cal)
    elif isinstance(cal, Mapping):
        data, src = dict(cal), "calibration"
    elif hasattr(cal, "to_dict"):
        data, src = dict(cal.to_dict()), type(cal).__name__
    else:
        raise InputError("not a calibrated-parameter file or mapping", field="calibration",
                         value=type(cal).__name__)
    if str(data.get("format", "")).startswith("exomir-calibrated-parameters"):
        return parse_calibrated(data, source=src).model_dump(mode="json"), src
    return data, src
