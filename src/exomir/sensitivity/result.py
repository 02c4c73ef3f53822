"""A finished sensitivity analysis: indices with CIs per output, convergence, provenance.

Results summarise themselves (``top``, ``to_frame``) and save to / load from JSON without
re-running anything (``save``/``load``), so reports and the web app can serve them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from exomir.sensitivity.evaluate import Column
from exomir.sensitivity.problem import SensitivityProblem

CONVERGENCE_TOL = 0.05  # max change of the ranking index between n/2 and n (S: absolute;
# Morris: relative to the largest mu*) for an output to count as converged


def _clean(v: Any) -> Any:
    if isinstance(v, float) and not np.isfinite(v):
        return None
    if isinstance(v, np.floating):
        return _clean(float(v))
    if isinstance(v, np.integer):
        return int(v)
    if isinstance(v, dict):
        return {k: _clean(x) for k, x in v.items()}
    if isinstance(v, list | tuple):
        return [_clean(x) for x in v]
    return v


def _records(df: pd.DataFrame | None) -> list[dict[str, Any]] | None:
    if df is None:
        return None
    return [_clean(r) for r in df.to_dict("records")]


@dataclass
class SensitivityResult:
    """Indices of one method over one problem for every output column."""

    method: str
    by: str  # "parameter" or "group"
    n: int
    seed: int
    second_order: bool
    problem: SensitivityProblem
    columns: list[Column]
    labels: list[str]
    indices: pd.DataFrame  # output, label, <index>, <index>_conf, ...
    second: pd.DataFrame | None = None  # output, a, b, S2, S2_conf
    convergence: pd.DataFrame | None = None  # output, label, at_half, at_n, change
    converged: dict[str, bool] = field(default_factory=dict)
    output_stats: pd.DataFrame | None = None  # output, unit, nominal, mean, sd, p05..p95
    screened: list[str] = field(default_factory=list)  # factors found inert, removed
    runs: int = 0
    simulations: int = 0
    wall_s: float = 0.0
    eval_s: float = 0.0
    engine: str = "local"
    notes: list[str] = field(default_factory=list)
    model: dict[str, Any] = field(default_factory=dict)  # spec name, indication, day, ...

    @property
    def ranking_index(self) -> str:
        from exomir.sensitivity.methods import METHODS

        return METHODS[self.method].ranking

    @property
    def outputs(self) -> list[str]:
        return [c.name for c in self.columns]

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(name)

    def convergence_detail(self, output: str) -> tuple[float, bool] | None:
        """(largest change of the ranking index between n/2 and n, whether the five leading
        labels are the same) for one output; None without a convergence check."""
        if self.convergence is None:
            return None
        g = self.convergence[self.convergence["output"] == output]
        if g.empty or g["at_n"].isna().all():
            return None
        top_n = set(g.sort_values("at_n", ascending=False)["label"].head(5))
        top_h = set(g.sort_values("at_half", ascending=False)["label"].head(5))
        return float(g["change"].max()), top_n == top_h

    def top(self, output: str | None = None, k: int = 5) -> pd.DataFrame:
        """The ``k`` labels with the largest ranking index for one output (default first)."""
        out = output or self.outputs[0]
        df = self.indices[self.indices["output"] == out]
        return df.sort_values(self.ranking_index, ascending=False,
                              na_position="last").head(k).reset_index(drop=True)

    def to_frame(self) -> pd.DataFrame:
        return self.indices.copy()

    def to_dict(self) -> dict[str, Any]:
        return _clean({
            "method": self.method, "by": self.by, "n": self.n, "seed": self.seed,
            "second_order": self.second_order, "problem": self.problem.to_dict(),
            "columns": [c.__dict__ for c in self.columns], "labels": self.labels,
            "indices": _records(self.indices), "second": _records(self.second),
            "convergence": _records(self.convergence), "converged": self.converged,
            "output_stats": _records(self.output_stats), "screened": self.screened,
            "runs": self.runs, "simulations": self.simulations, "wall_s": self.wall_s,
            "eval_s": self.eval_s, "engine": self.engine, "notes": self.notes,
            "model": self.model,
        })

    def save(self, path: str | Path) -> Path:
        p = Path(path)
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(json.dumps(self.to_dict(), indent=1), encoding="utf-8")
        return p

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> SensitivityResult:
        def frame(x: Any) -> pd.DataFrame | None:
            return None if x is None else pd.DataFrame(x).astype(object).fillna(np.nan)

        idx = frame(d["indices"])
        assert idx is not None
        return cls(
            method=d["method"], by=d["by"], n=d["n"], seed=d["seed"],
            second_order=d["second_order"], problem=SensitivityProblem.from_dict(d["problem"]),
            columns=[Column(**c) for c in d["columns"]], labels=list(d["labels"]),
            indices=idx.infer_objects(), second=frame(d.get("second")),
            convergence=frame(d.get("convergence")), converged=dict(d.get("converged", {})),
            output_stats=frame(d.get("output_stats")), screened=list(d.get("screened", [])),
            runs=d.get("runs", 0), simulations=d.get("simulations", 0),
            wall_s=d.get("wall_s", 0.0), eval_s=d.get("eval_s", 0.0),
            engine=d.get("engine", ""), notes=list(d.get("notes", [])),
            model=dict(d.get("model", {})))

    @classmethod
    def load(cls, path: str | Path) -> SensitivityResult:
        return cls.from_dict(json.loads(Path(path).read_text(encoding="utf-8")))
