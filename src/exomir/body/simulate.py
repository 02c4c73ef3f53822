"""Population simulation: lognormal parameter draws, one batched solve, tidy outputs.

Subjects differ by parameters drawn as ``value·exp(σ·z)`` with ``σ = sqrt(ln(1 + cv²))``
(median = table value) for every parameter with a ``cv`` in the table; ``z`` comes from a
seeded ``numpy.random.Generator``. Two engines integrate the population, neither a Python loop
over subjects: ``compiled`` (default; :mod:`exomir.body.kernel`, the model generated as numba
code, subjects in parallel, each with its own step size) and ``numpy``
(:func:`exomir.body.solver.rosenbrock_batch`, all subjects in one array with a shared step).
Both use the same Rosenbrock method, Jacobian and tolerances; the tests hold them to each
other, to scipy's Radau and to libRoadRunner.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from exomir.body.model import TISSUES, BodyModel, Evaluator, build_model
from exomir.body.solver import SolverStats, rosenbrock_batch
from exomir.body.spec import BodySpec
from exomir.core import InputError, ReleaseProfile
from exomir.core.calibrated import CalibratedParameters, load_calibrated

UNCERTAINTY_NOTE = ("pathway activity and outcome (wound closure, paw withdrawal threshold) are "
                    "the least certain, assumption-based links of the model: functional forms "
                    "and weights are assumptions calibrated to single published studies (V3 Chen "
                    "2024, V4 Hsu 2020); read them as scenarios, not predictions")
KNOCKDOWN_THRESHOLD = 0.2  # knockdown counted as 'active' above 20 %


def default_times(days: float) -> np.ndarray:
    """Output grid (days): every 15 min over the first day, then every 6 h."""
    early = np.linspace(0.0, min(1.0, days), 97)
    late = np.arange(1.0, days + 1e-9, 0.25)
    return np.unique(np.concatenate([early, late, [days]]))


def calibrated_typical(model: BodyModel, calibration: CalibratedParameters, n: int,
                       rng: np.random.Generator, draw: bool) -> dict[str, np.ndarray]:
    """Typical values (n,) of the parameters a calibration covers, for this model.

    Only parameters of the model's table are used; indication-specific ones (the profile's
    outcome parameters) only when the calibration's indication is the model's. A calibration
    made in another species is carried over by the same relative change of the table value
    (the allometric scaling of docs/body.md is kept). ``draw``: joint draws from the
    calibrated covariance (uncertainty layer), else the calibrated values."""
    from exomir.body.params import base_table, parameter_table

    shared = {p.name for p in base_table()}
    ind = model.spec.therapy.indication.value
    cal_ind = calibration.problem.indication or ind
    names = [p.name for p in model.table
             if p.name in {c.name for c in calibration.parameters}
             and (p.name in shared or cal_ind == ind)]
    if not names:
        return {}
    vals = calibration.draw(n, rng, names=names) if draw else \
        {k: np.full(n, v) for k, v in calibration.model_values(names).items()}
    sp = model.spec.therapy.subject.species
    species = sp.value if sp else "mouse"
    cal_sp = calibration.problem.species or species
    if cal_sp != species:
        here = parameter_table(ind, species)
        there = parameter_table(cal_ind if cal_ind == ind else ind, cal_sp)
        for k in vals:
            vals[k] = vals[k] * (here[k].value / there[k].value)
    return vals


def draw_parameters(model: BodyModel, n: int, seed: int | None = 0,
                    variability: bool = True,
                    calibration: CalibratedParameters | None = None) -> dict[str, np.ndarray]:
    """Per-subject table values (n,): typical values (table, or a calibration's values and,
    for a population, correlated draws from its covariance), times lognormal between-subject
    variability exp(sigma z) for parameters with a ``cv`` (a separate layer)."""
    rng = np.random.default_rng(seed)
    typical: dict[str, np.ndarray] = {}
    if calibration is not None:
        typical = calibrated_typical(model, calibration, n, rng, variability and n > 1)
    vals: dict[str, np.ndarray] = {}
    for p in model.table:
        base = typical.get(p.name, np.full(n, p.value))
        if variability and p.cv and n > 1:
            sigma = np.sqrt(np.log1p(p.cv**2))
            vals[p.name] = base * np.exp(sigma * rng.standard_normal(n))
        else:
            vals[p.name] = np.array(base, dtype=float)
    return vals


def elimination_order(model: BodyModel) -> list[int]:
    """States in an order that keeps LU fill small (plasma after the tissues)."""
    ix = model.index
    order = [i for s, i in ix.items() if s != "plasma"]
    pos = order.index(ix["rest"]) + 1
    order.insert(pos, ix["plasma"])
    return order


def tolerances(model: BodyModel, flat: Mapping[str, np.ndarray], atol: float) -> np.ndarray:
    """Absolute tolerances (N, n): particle states scale with the dose, others are O(1)."""
    dose = np.maximum(flat["dose"], 1.0)
    scale = np.ones((len(dose), len(model.species)))
    for i, s in enumerate(model.species):
        if model.units.get(s) == "particle":
            scale[:, i] = dose
    return atol * scale


@dataclass
class Result:
    """Trajectories Y (N, n, T) at ``times`` (days) with the model and parameters used."""

    model: BodyModel
    times: np.ndarray
    Y: np.ndarray
    params: dict[str, np.ndarray]
    stats: SolverStats

    def state(self, sid: str) -> np.ndarray:
        return self.Y[:, self.model.index[sid], :]

    def observables(self) -> dict[str, np.ndarray]:
        """Derived outputs (N, T): knockdown per gene, pathway activity, outcome."""
        m = self.model
        obs: dict[str, np.ndarray] = {}
        for g in m.genes:
            obs[f"knockdown_{g}"] = 1.0 - self.state(f"protein_{g}")
        for pw in m.pathways:
            a = np.ones_like(self.times)[None, :] * np.ones((self.Y.shape[0], 1))
            for g, h in pw["genes"].items():  # type: ignore[attr-defined]
                a = a * np.maximum(self.state(f"protein_{g}"), 1e-12) ** h
            obs[f"pathway_{pw['name']}"] = a
        if m.outcome == "wound_closure":
            obs["wound_closure_pct"] = 100.0 * self.state("wound_closure")
        else:
            p = self.params
            obs["paw_withdrawal_threshold_g"] = (p["pwt_baseline"][:, None]
                                                 * np.exp(-p["sensitization_depth"][:, None]
                                                          * self.state("sensitization")))
        return obs

    def to_frame(self) -> pd.DataFrame:
        """Tidy time courses: one row per subject and time; state columns = SBML ids."""
        N, _, T = self.Y.shape
        data: dict[str, np.ndarray] = {
            "subject": np.repeat(np.arange(N), T),
            "time": np.tile(self.times, N),
        }
        for i, s in enumerate(self.model.species):
            data[s] = self.Y[:, i, :].reshape(-1)
        for k, v in self.observables().items():
            data[k] = v.reshape(-1)
        return pd.DataFrame(data)

    def summary(self, outcome_days: Sequence[float] | None = None) -> pd.DataFrame:
        """Per-metric median and 5-95 % band across subjects."""
        m = self.model
        rows: list[tuple[str, str, np.ndarray]] = []
        t = self.times
        dose = np.maximum(self.params["dose"], 1.0)
        for s in ["plasma", *TISSUES]:
            x = self.state(s)
            rows.append((f"auc_{s}", "%ID·day", 100 * np.trapezoid(x, t, axis=1) / dose))
            rows.append((f"peak_{s}", "%ID", 100 * x.max(axis=1) / dose))
        rows.append((f"peak_{m.target}_mirna_risc", "copy/cell",
                     self.state(f"{m.target}_mirna_risc").max(axis=1)))
        rows.append((f"peak_{m.target}_ev_per_cell", "particle/cell",
                     (self.state(f"{m.target}_cell_ev")
                      / self.params["n_target_cells"][:, None]).max(axis=1)))
        obs = self.observables()
        dt = np.diff(t)
        for g in m.genes:
            kd = obs[f"knockdown_{g}"]
            rows.append((f"peak_knockdown_{g}", "fraction", kd.max(axis=1)))
            above = (kd[:, :-1] >= KNOCKDOWN_THRESHOLD) & (kd[:, 1:] >= KNOCKDOWN_THRESHOLD)
            rows.append((f"days_knockdown_over_20pct_{g}", "day", (above * dt).sum(axis=1)))
        key = "wound_closure_pct" if m.outcome == "wound_closure" else \
            "paw_withdrawal_threshold_g"
        unit = "%" if m.outcome == "wound_closure" else "g"
        for d in outcome_days or [x for x in (4, 8, 12, 21, 28) if x <= t[-1]]:
            y = np.array([np.interp(d, t, row) for row in obs[key]])
            rows.append((f"{key}_day{d:g}", unit, y))
        out = pd.DataFrame([{"metric": name, "unit": u, "median": float(np.median(v)),
                             "p05": float(np.percentile(v, 5)),
                             "p95": float(np.percentile(v, 95))} for name, u, v in rows])
        out.attrs["note"] = UNCERTAINTY_NOTE
        return out


def simulate(
    spec: BodySpec | BodyModel,
    n_subjects: int = 1,
    *,
    days: float | None = None,
    seed: int | None = 0,
    variability: bool = True,
    overrides: Mapping[str, float | np.ndarray] | None = None,
    times: np.ndarray | None = None,
    rtol: float = 1e-6,
    atol: float = 1e-9,
    release: ReleaseProfile | None = None,
    progress: Callable[[float], None] | None = None,
    engine: Literal["auto", "compiled", "numpy"] = "auto",
    threads: int | None = None,
    calibration: CalibratedParameters | str | Path | None = None,
) -> Result:
    """Simulate ``n_subjects`` virtual subjects of a therapy in one batched solve.

    ``engine``: ``auto`` uses the compiled engine and falls back to ``numpy`` (with a
    warning) when the model cannot be compiled; ``compiled`` raises instead of falling back.
    ``progress`` receives simulated days (numpy) or days × fraction of subjects done.
    ``threads`` (compiled engine): worker threads, default all CPUs; results do not depend
    on it. ``calibration``: a calibrated-parameter file (``exomir calibrate``) or its content;
    default: the spec's ``body.calibration``. Its values replace the table's typical values;
    a population (``variability``, n > 1) draws them jointly from the calibrated covariance.
    ``overrides`` apply last.
    """
    if engine not in ("auto", "compiled", "numpy"):
        raise InputError("unknown engine", field="engine", value=engine,
                         accepted=["auto", "compiled", "numpy"])
    if n_subjects < 1:
        raise InputError("must be >= 1", field="subjects", value=n_subjects)
    model = spec if isinstance(spec, BodyModel) else build_model(spec, release)
    horizon = float(days if days is not None else model.days)
    late = [t for t in model.dose_times if t > horizon]
    if late:
        raise InputError(f"doses at {late} fall outside the simulation window",
                         field="regimen.times_days", value=late,
                         accepted=f"times within 0..{horizon:g} days")
    if calibration is None and model.spec.body.calibration:
        calibration = model.spec.body.calibration
    if isinstance(calibration, str | Path):
        calibration = load_calibrated(calibration)
    vals = draw_parameters(model, n_subjects, seed, variability, calibration)
    for k, v in (overrides or {}).items():
        if k not in vals:
            raise InputError("unknown parameter", field=k, value=k, accepted=sorted(vals))
        vals[k] = np.broadcast_to(np.asarray(v, dtype=float), (n_subjects,)).copy()
    flat = model.flat_params(vals, n_subjects)
    ev = Evaluator(model, flat)
    t_eval = default_times(horizon) if times is None else np.asarray(times, dtype=float)
    y0 = model.initial_state(flat)
    jump = model.dose_jump(flat)
    tol = tolerances(model, flat, atol)
    if engine != "numpy":
        from exomir.body import kernel

        try:
            kern = kernel.compile_model(model, ev, elimination_order(model))
        except kernel.KernelUnavailable as exc:
            if engine == "compiled":
                raise
            warnings.warn(f"compiled engine unavailable ({exc}); using the numpy engine",
                          RuntimeWarning, stacklevel=2)
        else:
            Y, stats = kernel.run(
                kern, ev, y0, jump, tol, t_eval, model.dose_times, rtol=rtol, threads=threads,
                progress=None if progress is None else (lambda f: progress(f * horizon)))
            stats.engine = "compiled"
            return Result(model=model, times=t_eval, Y=Y, params=flat, stats=stats)
    jumps = [(t, jump) for t in model.dose_times]
    Y, stats = rosenbrock_batch(
        ev.rhs, (ev.lin_rows, ev.lin_cols, ev.lin_vals), ev.dfdt, y0.T.copy(), t_eval,
        jumps=[(t, j.T.copy()) for t, j in jumps], atol=tol.T.copy(),
        rtol=rtol, pattern=ev.pattern, order=elimination_order(model), progress=progress)
    return Result(model=model, times=t_eval, Y=Y, params=flat, stats=stats)


def dose_response(spec: BodySpec, doses: Sequence[float] = (1e8, 1e9, 1e10, 1e11, 1e12),
                  n_subjects: int = 200, seed: int = 0, **kw: object) -> pd.DataFrame:
    """Summaries for each dose (particles per administration), stacked with a ``dose`` column."""
    frames = []
    for d in doses:
        th = spec.therapy.model_copy(deep=True)
        assert th.regimen.dose is not None
        th.regimen.dose.value = float(d)
        th.regimen.dose.unit = "particles"
        s = BodySpec(therapy=th, body=spec.body)
        f = simulate(s, n_subjects, seed=seed, **kw).summary()  # type: ignore[arg-type]
        f.insert(0, "dose", d)
        frames.append(f)
    return pd.concat(frames, ignore_index=True)


def compare(specs: Mapping[str, BodySpec], n_subjects: int = 200, seed: int = 0,
            **kw: object) -> pd.DataFrame:
    """Summaries of several scenarios (e.g. single vs weekly, hydrogel vs injection)."""
    frames = []
    for label, s in specs.items():
        f = simulate(s, n_subjects, seed=seed, **kw).summary()  # type: ignore[arg-type]
        f.insert(0, "scenario", label)
        frames.append(f)
    return pd.concat(frames, ignore_index=True)


def with_schedule(spec: BodySpec, times_days: Sequence[float]) -> BodySpec:
    """A copy of ``spec`` with another administration schedule."""
    th = spec.therapy.model_copy(deep=True)
    th.regimen.times_days = list(times_days)
    return BodySpec(therapy=th, body=spec.body)
