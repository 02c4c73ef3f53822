"""CalibrationResult: the starts, the best fit with its Fisher covariance, and the profiles.

Covariance C = F^+ (pseudo-inverse of the expected Fisher information on the estimation
scale; directions with a singular value below 1e-10 of the largest are reported as infinite
variance), SE_i = sqrt(C_ii), correlation C_ij / (SE_i SE_j). Fisher 95 % interval
x_i +- 1.96 SE_i on the estimation scale; the profile interval replaces it where a profile was
computed. ``to_calibrated`` writes the calibrated-parameter file
(:mod:`exomir.core.calibrated`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from exomir import __version__
from exomir.calibrate.optimize import Start
from exomir.calibrate.problem import CalibrationProblem
from exomir.calibrate.profile import Profile
from exomir.core.calibrated import (
    CalibratedParameters,
    CalibratedValue,
    Covariance,
    ProblemRef,
)

Z95 = 1.959963984540054
CONVERGED_TOL = 1e-3  # starts within this NLL of the best count as reaching the optimum


def covariance_from_fisher(F: np.ndarray, rcond: float = 1e-10) -> np.ndarray:
    """Pseudo-inverse of F; variance is infinite along directions F cannot see."""
    F = 0.5 * (F + F.T)
    w, V = np.linalg.eigh(F)
    big = float(np.max(np.abs(w))) if w.size else 0.0
    keep = w > rcond * max(big, 1e-300)
    C = (V[:, keep] / w[keep]) @ V[:, keep].T
    if not keep.all():
        null = V[:, ~keep]
        touched = np.any(np.abs(null) > 1e-8, axis=1)
        C[touched, :] = np.inf
        C[:, touched] = np.inf
    return np.asarray(C)


@dataclass
class CalibrationResult:
    """Everything a calibration produced; ``to_dict``/``save``/``load`` round-trip it."""

    problem: CalibrationProblem
    starts: list[Start]
    x: np.ndarray
    nll: float
    fisher: np.ndarray
    profiles: dict[str, Profile] = field(default_factory=dict)
    settings: dict[str, Any] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    final: dict[str, Any] = field(default_factory=dict)  # reduced refit (non-identified fixed)
    predictions: dict[str, Any] = field(default_factory=dict)

    # ---- statistics --------------------------------------------------------------------
    @property
    def names(self) -> list[str]:
        return self.problem.names

    @property
    def covariance(self) -> np.ndarray:
        return covariance_from_fisher(self.fisher)

    @property
    def se(self) -> np.ndarray:
        return np.sqrt(np.clip(np.diag(self.covariance), 0.0, None))

    @property
    def correlation(self) -> np.ndarray:
        C = self.covariance
        se = self.se
        with np.errstate(all="ignore"):
            R = C / np.outer(se, se)
        R[~np.isfinite(R)] = np.nan
        return np.asarray(R)

    @property
    def n_converged(self) -> int:
        return sum(1 for s in self.starts if s.nll - self.nll < CONVERGED_TOL)

    def verdict(self, name: str) -> str:
        p = self.profiles.get(name)
        return p.verdict if p is not None else "not profiled"

    def values(self) -> dict[str, float]:
        """Best-fit values (linear scale) of the estimated parameters."""
        return {p.id: float(p.from_x(xi)) for p, xi in zip(self.problem.estimated, self.x,
                                                         strict=True)}

    def ci(self, name: str) -> tuple[tuple[float | None, float | None], str]:
        """95 % interval (linear scale) and its method (profile, else Fisher)."""
        if name in self.profiles:
            return self.profiles[name].ci, "profile likelihood"
        i = self.names.index(name)
        p = self.problem.estimated[i]
        se = self.se[i]
        if not np.isfinite(se):
            return (None, None), "fisher (singular)"
        lo, hi = p.x_bounds
        a = max(self.x[i] - Z95 * se, lo)
        b = min(self.x[i] + Z95 * se, hi)
        return (float(p.from_x(a)), float(p.from_x(b))), "fisher"

    def table(self) -> pd.DataFrame:
        """One row per estimated parameter: value, SE, CI, verdict."""
        rows = []
        se = self.se
        for i, p in enumerate(self.problem.estimated):
            (lo, hi), how = self.ci(p.id)
            rows.append({"parameter": p.id, "kind": p.kind, "unit": p.unit, "scale": p.scale,
                         "value": float(p.from_x(self.x[i])), "nominal": p.nominal,
                         "se_scale": float(se[i]), "ci_low": lo, "ci_high": hi,
                         "ci_method": how, "lower": p.lower, "upper": p.upper,
                         "identifiability": self.verdict(p.id)})
        return pd.DataFrame(rows)

    def fit_frame(self) -> pd.DataFrame:
        """Data vs fit per measurement row (plus held-out rows if predicted)."""
        m = self.problem.measurements.copy()
        m["fit"] = self.predictions.get("fit", [np.nan] * len(m))
        m["residual"] = self.predictions.get("residual", [np.nan] * len(m))
        m["sigma"] = self.predictions.get("sigma", [np.nan] * len(m))
        m["role"] = "calibration"
        if self.problem.held_out is not None and "held_out" in self.predictions:
            h = self.problem.held_out.copy()
            h["fit"] = self.predictions["held_out"]
            h["role"] = "held out"
            m = pd.concat([m, h], ignore_index=True)
        return m

    # ---- output ------------------------------------------------------------------------
    def to_calibrated(self) -> CalibratedParameters:
        """The calibrated-parameter file: values, CIs, covariance, problem, data sources."""
        pr = self.problem
        vals = self.values()
        fixed_vals = self.final.get("values", {})
        params: list[CalibratedValue] = []
        model_names = [p.id for p in pr.estimated if p.kind == "model"]
        for p in pr.estimated:
            (lo, hi), how = self.ci(p.id)
            i = self.names.index(p.id)
            verdict = self.verdict(p.id)
            identified = verdict in ("identifiable", "not profiled")
            value = fixed_vals.get(p.id, vals[p.id]) if identified else p.nominal
            note = (f"fitted by {pr.id}" if identified else
                    f"not identified by {pr.id} ({verdict}); kept at the stated value "
                    f"{p.nominal:g}, range {p.lower:g}-{p.upper:g}")
            params.append(CalibratedValue(
                name=p.id, value=float(value), unit=p.unit, scale=p.scale,
                estimated=True, lower=p.lower, upper=p.upper,
                se=float(self.se[i]) if np.isfinite(self.se[i]) else None,
                ci95=(lo, hi), ci_method=how,
                identifiability=verdict,
                note=note + ("" if p.kind == "model" else "; noise parameter")))
        C = self.covariance
        idx = [self.names.index(n) for n in model_names]
        sub = C[np.ix_(idx, idx)] if idx else np.zeros((0, 0))
        cov = Covariance(names=model_names, matrix=[[float(v) if np.isfinite(v) else 1e300
                                                     for v in row] for row in sub])
        return CalibratedParameters(
            problem=ProblemRef(id=pr.id, title=pr.title, file=pr.file, indication=pr.indication,
                               species=pr.species, sha256=pr.sha256(),
                               exomir_version=__version__, data_files=pr.data_files),
            data_sources=pr.sources,
            objective={"nll": self.nll, "n_starts": len(self.starts),
                       "n_converged": self.n_converged, **self.settings},
            parameters=params, covariance=cov,
            notes=[*pr.notes, "covariance: expected Fisher information on the estimation scale "
                   "(entries of non-identified directions written as 1e300)"])

    def to_dict(self) -> dict[str, Any]:
        return {
            "problem": {"id": self.problem.id, "title": self.problem.title,
                        "file": self.problem.file, "sha256": self.problem.sha256()},
            "names": self.names, "x": self.x.tolist(), "nll": self.nll,
            "values": self.values(), "fisher": self.fisher.tolist(),
            "se": [float(v) if np.isfinite(v) else None for v in self.se],
            "correlation": [[None if not np.isfinite(v) else float(v) for v in row]
                            for row in self.correlation],
            "table": json.loads(self.table().to_json(orient="records")),
            "starts": [s.to_dict() for s in self.starts],
            "profiles": {k: v.to_dict() for k, v in self.profiles.items()},
            "settings": self.settings, "timings": self.timings, "final": self.final,
            "predictions": self.predictions,
            "fit": json.loads(self.fit_frame().to_json(orient="records")),
        }

    def save(self, path: str | Path) -> Path:
        from exomir.core.calibrated import _finite

        p = Path(path)
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(json.dumps(_finite(self.to_dict()), indent=1), encoding="utf-8")
        return p

    @classmethod
    def load(cls, path: str | Path, problem: CalibrationProblem) -> CalibrationResult:
        """Read a saved result back (the problem is passed in: results never re-run)."""
        d = json.loads(Path(path).read_text(encoding="utf-8"))
        return cls(problem=problem, starts=[Start.from_dict(s) for s in d["starts"]],
                   x=np.asarray(d["x"], dtype=float), nll=float(d["nll"]),
                   fisher=np.asarray(d["fisher"], dtype=float),
                   profiles={k: Profile.from_dict(v) for k, v in d["profiles"].items()},
                   settings=d.get("settings", {}), timings=d.get("timings", {}),
                   final=d.get("final", {}), predictions=d.get("predictions", {}))
