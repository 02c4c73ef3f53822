"""Parameter uncertainty next to between-subject variability, and their combination.

Two layers, kept apart:

* **variability**: one virtual cohort (``n_subjects``, the body model's lognormal
  between-subject draws, :func:`exomir.body.simulate.draw_parameters`) at the nominal
  parameter values: the 5-95 % band across subjects (today's ``simulate`` band);
* **uncertainty**: ``n_draws`` Latin-hypercube draws of the uncertain parameters (the
  :class:`SensitivityProblem`: assumption ranges, sourced ranges, calibration CIs); for each
  draw the *same* cohort is simulated with that draw as its typical values (subject value =
  drawn value x the subject's own variability factor), and the headline of the draw is the
  cohort median. The uncertainty band is the 5-95 % range of that headline over draws: what the
  headline would be at the 5th and 95th percentile of uncertainty.
* **combined**: every subject of every draw pooled (a random subject under uncertain
  parameters): 5-95 %.

The dominant parameters of the uncertainty band are ranked by the Spearman rank correlation
between each parameter's draws and the headline (sign = direction), listed when |rho| exceeds
the level any of the k parameters reaches by chance 5 % of the time
(Φ⁻¹(1 − 0.025/k)/√(N − 3), Bonferroni). ``nominal_percentile`` says
where the nominal headline falls among the draws (50 = central; high = optimistic for a
higher-is-better outcome).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from exomir.sensitivity.engine import DEFAULT_CHUNK, Engine, LocalEngine, run_chunks
from exomir.sensitivity.evaluate import BodyEvaluator, Column
from exomir.sensitivity.problem import SensitivityProblem
from exomir.sensitivity.result import _clean, _records
from exomir.sensitivity.text import ordinal

N_DRIVERS = 5
MAX_SUBJECTS = 1_000_000  # (draws + 1) x subjects per draw


@dataclass
class UncertaintyResult:
    """Bands per output (``bands``), dominant parameters per output (``drivers``)."""

    columns: list[Column]
    bands: pd.DataFrame
    drivers: dict[str, list[dict[str, Any]]]
    problem: SensitivityProblem
    n_draws: int
    n_subjects: int
    seed: int
    engine: str = "local"
    wall_s: float = 0.0
    simulations: int = 0
    notes: list[str] = field(default_factory=list)
    model: dict[str, Any] = field(default_factory=dict)
    headline_draws: np.ndarray | None = None  # (n_draws, n_outputs) cohort medians

    @property
    def headline(self) -> str:
        return self.columns[0].name

    def band(self, output: str | None = None) -> dict[str, Any]:
        out = output or self.headline
        row = self.bands[self.bands["output"] == out]
        return {str(k): _clean(v) for k, v in row.iloc[0].to_dict().items()}

    def statement(self, output: str | None = None) -> str:
        """One sentence: nominal, variability band, uncertainty band, dominant parameters."""
        b = self.band(output)
        u = b["unit"]
        unit = "" if u in ("", "fraction") else (u if u == "%" else f" {u}")
        top = ", ".join(f"{d['parameter']} (rho {d['spearman']:+.2f})"
                        for d in self.drivers.get(b["output"], [])[:3])
        return (f"{b['label']}: nominal median {b['nominal_median']:.3g}{unit} "
                f"(between-subject 5-95 %: {b['var_p05']:.3g}-{b['var_p95']:.3g}{unit}); "
                f"at the 5th / 95th percentile of parameter uncertainty the median would be "
                f"{b['unc_p05']:.3g} / {b['unc_p95']:.3g}{unit} (nominal at the "
                f"{ordinal(b['nominal_percentile'])} percentile); uncertainty and variability "
                f"combined 5-95 %: {b['comb_p05']:.3g}-{b['comb_p95']:.3g}{unit}"
                + (f"; dominated by {top}" if top else ""))

    def to_dict(self) -> dict[str, Any]:
        return _clean({
            "columns": [c.__dict__ for c in self.columns], "bands": _records(self.bands),
            "drivers": self.drivers, "problem": self.problem.to_dict(),
            "n_draws": self.n_draws, "n_subjects": self.n_subjects, "seed": self.seed,
            "engine": self.engine, "wall_s": self.wall_s, "simulations": self.simulations,
            "notes": self.notes, "model": self.model,
            "statement": self.statement(),
        })


def _spearman(x: np.ndarray, y: np.ndarray) -> float:
    from scipy.stats import rankdata

    if np.ptp(x) == 0 or np.ptp(y) == 0:
        return float("nan")
    return float(np.corrcoef(rankdata(x), rankdata(y))[0, 1])


def variability_multipliers(model: Any, n_subjects: int, seed: int
                            ) -> dict[str, np.ndarray]:
    """Per-subject factors value/nominal of the body model's between-subject draws."""
    from exomir.body.simulate import draw_parameters

    vals = draw_parameters(model, n_subjects, seed, variability=True)
    out = {}
    for p in model.table:
        if p.cv and n_subjects > 1 and p.value != 0:
            out[p.name] = vals[p.name] / p.value
    return out


def uncertainty_bands(
    model: Any,
    *,
    problem: SensitivityProblem | None = None,
    n_draws: int = 100,
    n_subjects: int = 50,
    outputs: Sequence[str] = ("outcome", "gain", "knockdown", "exposure"),
    day: float | None = None,
    seed: int = 0,
    engine: Engine | None = None,
    chunk_size: int = DEFAULT_CHUNK,
    rtol: float = 1e-5,
    calibration: Any = None,
    screen_inert: bool = True,
    include_cv: bool = True,
    progress: Callable[[int, int], None] | None = None,
) -> UncertaintyResult:
    """Variability, uncertainty and combined bands for a therapy (spec path, BodySpec or
    BodyModel). ``engine``: default local (``get_engine(scheduler)`` gives a Dask one).

    Runs ``(n_draws + 1) x n_subjects`` subjects (x2 when ``gain`` needs the untreated
    course); ``problem`` defaults to every uncertain parameter of the model's table.
    ``include_cv``: also draw the between-subject CVs that are assumptions (``cv_<name>``
    factors from ``ParameterTable.cv_parameters()``, when the table has them); a subject's
    factor is then exp(σ_j·z) with its own z and the draw's σ_j = sqrt(ln(1 + cv_j²))."""
    from scipy.stats import qmc

    from exomir.core import InputError

    if n_draws < 2:
        raise InputError("need at least 2 uncertainty draws", field="--uncertainty",
                         value=n_draws, accepted=">= 2 (100 or more for stable percentiles)")
    if n_subjects < 1:
        raise InputError("must be >= 1", field="subjects", value=n_subjects)
    from exomir.sensitivity.analysis import check_seed

    check_seed(seed)
    if (n_draws + 1) * n_subjects > MAX_SUBJECTS:
        raise InputError("too many subjects in the uncertainty design", field="--uncertainty",
                         value=f"{n_draws} draws x {n_subjects} subjects",
                         accepted=f"(draws + 1) x subjects per draw <= {MAX_SUBJECTS:,}")
    from exomir.sensitivity.api import load_model

    model = load_model(model)
    if calibration is None:
        calibration = getattr(model.spec.body, "calibration", None)
    t_start = time.perf_counter()
    prob = problem or SensitivityProblem.from_table(model.table, calibration=calibration)
    eng = engine or LocalEngine()
    notes: list[str] = []
    if screen_inert:
        from exomir.sensitivity.analysis import screen

        inert, _ = screen(prob, BodyEvaluator(model, prob.names, ("outcome",), day=day,
                                              rtol=rtol), eng, chunk_size, seed=seed)
        if inert:
            prob = prob.without(inert, "no effect at the screen's base points")
            notes.append(f"{len(inert)} parameters had no effect at the screen's base "
                         "points (most are not read by this model) and were left out: "
                         + ", ".join(inert))
    mult = variability_multipliers(model, n_subjects, seed)
    if include_cv and problem is None and hasattr(model.table, "cv_parameters"):
        from exomir.core import ParameterTable

        cvs = [p for p in model.table.cv_parameters() if p.name[3:] in mult]
        cv_prob = SensitivityProblem.from_table(ParameterTable(cvs))
        if cv_prob.k:
            prob = SensitivityProblem([*prob.factors, *cv_prob.factors],
                                      {**prob.fixed, **cv_prob.fixed}, prob.blocks, prob.source)
            notes.append(f"{cv_prob.k} between-subject CVs are assumptions and are drawn too "
                         f"({len(cv_prob.fixed)} sourced CVs held)")
    theta = prob.transform(qmc.LatinHypercube(d=prob.k, seed=seed).random(n_draws))
    cv_cols = {n[3:]: j for j, n in enumerate(prob.names) if n.startswith("cv_")
               and n[3:] in mult}
    model_names = [n for n in prob.names if n not in {f"cv_{p}" for p in cv_cols}]
    names = list(dict.fromkeys([*model_names, *mult]))
    base = np.array([model.table.value(n) for n in names])
    typical = np.repeat(base[None, :], n_draws + 1, axis=0)  # row 0: nominal
    for j, n in enumerate(prob.names):
        if n in names:
            typical[1:, names.index(n)] = theta[:, j]
    X = np.repeat(typical, n_subjects, axis=0)
    for n, f in mult.items():
        col = names.index(n)
        if n in cv_cols:  # the draw's own CV: exp(sigma_j z) with the subject's z
            cv0 = model.table[n].cv
            z = np.log(f) / np.sqrt(np.log1p(cv0**2))
            cv = np.concatenate([[cv0], theta[:, cv_cols[n]]])
            sig = np.sqrt(np.log1p(cv**2))
            X[:, col] *= np.exp(np.outer(sig, z)).ravel()
        else:
            X[:, col] *= np.tile(f, n_draws + 1)
    from exomir.body import model as body_model

    for n in getattr(body_model, "FRACTIONS", ()):
        if n in names:  # a fraction drawn above 1 (typical value x subject factor) is 1
            col = names.index(n)
            over = int((X[:, col] > 1.0).sum())
            if over:
                X[:, col] = np.minimum(X[:, col], 1.0)
                notes.append(f"{n}: {over} of {len(X)} subject values above 1 set to 1 "
                             "(a fraction)")
    ev = BodyEvaluator(model, names, tuple(outputs), day=day, rtol=rtol)
    Y = run_chunks(eng, ev, X, chunk_size, progress).reshape(n_draws + 1, n_subjects, -1)
    nominal, draws = Y[0], Y[1:]
    head = np.median(draws, axis=1)  # (n_draws, m)
    nom_head = np.median(nominal, axis=0)
    from scipy.stats import norm

    # |rho| that any of the k parameters reaches by chance 5 % of the time (Bonferroni over
    # k; sd of a rank correlation ~ 1/sqrt(n - 3))
    z_crit = float(norm.ppf(1.0 - 0.025 / max(prob.k, 1)))
    noise = z_crit / np.sqrt(max(n_draws - 3, 1))
    rows, drivers = [], {}
    for j, c in enumerate(ev.columns):
        pooled = draws[:, :, j].ravel()
        rows.append({
            "output": c.name, "unit": c.unit, "label": c.label,
            "nominal_median": float(nom_head[j]),
            "var_p05": float(np.percentile(nominal[:, j], 5)),
            "var_p95": float(np.percentile(nominal[:, j], 95)),
            "unc_p05": float(np.percentile(head[:, j], 5)),
            "unc_p50": float(np.percentile(head[:, j], 50)),
            "unc_p95": float(np.percentile(head[:, j], 95)),
            "comb_p05": float(np.percentile(pooled, 5)),
            "comb_p50": float(np.percentile(pooled, 50)),
            "comb_p95": float(np.percentile(pooled, 95)),
            "nominal_percentile": float(100.0 * np.mean(head[:, j] <= nom_head[j])),
        })
        rho = [(n, _spearman(theta[:, i], head[:, j])) for i, n in enumerate(prob.names)]
        rho = [r for r in rho if np.isfinite(r[1]) and abs(r[1]) > noise]
        rho.sort(key=lambda r: -abs(r[1]))
        drivers[c.name] = [{"parameter": n, "spearman": r, "group": prob.factor(n).group,
                            "distribution": prob.factor(n).describe()}
                           for n, r in rho[:N_DRIVERS]]
    notes += [f"{prob.k} uncertain parameters ({sum(1 for f in prob.factors if 'assumption' in f.origin)} "
             f"assumptions); {len(mult)} parameters vary between subjects",
             "the uncertainty band is the spread of the cohort median over parameter draws; "
             f"{n_subjects} subjects per draw (the same cohort for every draw)",
              f"dominant parameters: Spearman rank correlation with the cohort median over "
              f"the draws, listed when |rho| > {noise:.2f} (reached by chance by any of the "
              f"{prob.k} parameters 5 % of the time: {z_crit:.2f}/sqrt(n_draws - 3))"]
    return UncertaintyResult(
        columns=list(ev.columns), bands=pd.DataFrame(rows), drivers=drivers, problem=prob,
        n_draws=n_draws, n_subjects=n_subjects, seed=seed, engine=eng.describe(),
        wall_s=time.perf_counter() - t_start,
        simulations=len(X) * ev.simulations_per_row, notes=notes,
        model={"name": model.spec.therapy.name, "indication": model.spec.therapy.indication.value,
               "day": ev.day}, headline_draws=head)
