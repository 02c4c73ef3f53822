"""Population simulation: lognormal parameter draws, one batched solve, tidy outputs.

Subjects differ by parameters drawn as ``value·exp(σ·z)`` with ``σ = sqrt(ln(1 + cv²))``
(median = table value) for every parameter with a ``cv`` in the table. **Paired subjects:**
each parameter's ``z`` comes from its own random stream keyed by (seed, parameter name), so
subject k gets the same draw of a parameter in every arm of an indication and species
(untreated, vehicle-only, any candidate, cargo, route or vehicle), however many other
parameters the arm's model reads and however many subjects the batch has.

Two engines integrate the population, neither a Python loop over subjects: ``compiled``
(default; :mod:`exomir.body.kernel`, the model generated as numba code, subjects in parallel,
each with its own step size) and ``numpy`` (:func:`exomir.body.solver.rosenbrock_batch`, all
subjects in one array with a shared step). Both use the same Rosenbrock method, Jacobian and
tolerances; the tests hold them to each other, to scipy's Radau and to libRoadRunner.
"""

from __future__ import annotations

import math
import warnings
import zlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from exomir.body.model import TISSUES, VESICLE_STATES, BodyModel, Evaluator, build_model
from exomir.body.solver import SolverStats, StepSizeUnderflow, rosenbrock_batch
from exomir.body.spec import MAX_DAYS, BodySpec, parse_spec
from exomir.core import InputError, ReleaseProfile
from exomir.core.calibrated import CalibratedParameters, load_calibrated

UNCERTAINTY_NOTE = ("pathway activity and outcome (wound closure, paw withdrawal threshold and "
                    "latency) are the least certain, assumption-based links of the model: "
                    "functional forms and weights are assumptions calibrated to single "
                    "published studies (V3 Chen 2024, V4 Hsu 2020); read them as scenarios, "
                    "not predictions")
MAX_OUTPUT_BYTES = 2 * 1024**3  # trajectories kept in memory (subjects x states x times x 8 B)
MAX_SUBJECTS = 1_000_000
RTOL_RANGE = (1e-12, 1e-2)


def default_times(days: float) -> np.ndarray:
    """Output grid (days): every 15 min over the first day, then every 6 h."""
    early = np.linspace(0.0, min(1.0, days), 97)
    late = np.arange(1.0, days + 1e-9, 0.25)
    return np.unique(np.concatenate([early, late, [days]]))


def _check_seed(seed: object) -> int | None:
    if seed is None:
        return None
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or int(seed) < 0:
        raise InputError("seed must be a whole number >= 0", field="seed", value=seed,
                         accepted="an integer >= 0 (e.g. 0, 42)")
    return int(seed)


def parameter_stream(seed: int | None, name: str) -> np.random.Generator:
    """The random stream of one parameter: keyed by (seed, CRC-32 of its name), so a draw
    does not depend on which other parameters a model has or in which order."""
    key = zlib.crc32(name.encode("utf-8"))
    if seed is None:
        return np.random.default_rng()
    return np.random.default_rng([int(seed), key])


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
    """Per-subject table values (n,): typical values (the table's, or a calibration's values
    and, for a population, correlated draws from its covariance on their own stream keyed by
    (seed, "calibration")), times lognormal between-subject variability exp(sigma z) for
    parameters with a ``cv`` (a separate layer); subject k's BSV draw of a parameter is the
    same in every model of the same table and seed."""
    seed = _check_seed(seed)
    typical: dict[str, np.ndarray] = {}
    if calibration is not None:
        typical = calibrated_typical(model, calibration, n,
                                     parameter_stream(seed, "calibration"),
                                     variability and n > 1)
    vals: dict[str, np.ndarray] = {}
    for p in model.table:
        base = typical.get(p.name, np.full(n, p.value))
        if variability and p.cv and n > 1:
            sigma = np.sqrt(np.log1p(p.cv**2))
            z = parameter_stream(seed, p.name).standard_normal(n)
            vals[p.name] = base * np.exp(sigma * z)
        else:
            vals[p.name] = np.array(base, dtype=float)
    return vals


def elimination_order(model: BodyModel) -> list[int]:
    """States in an order that keeps LU fill small (plasma after the tissues)."""
    ix = model.index
    order = [i for s, i in ix.items() if s != "plasma"]
    pos = order.index(ix["rest"]) + 1 + int("csf" in ix)
    order.insert(pos, ix["plasma"])
    return order


def tolerances(model: BodyModel, flat: Mapping[str, np.ndarray], atol: float) -> np.ndarray:
    """Absolute tolerances (N, n): particle states scale with the dose, copies per cell with
    the RISC capacity, others are O(1)."""
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
        """One state (N, T) by SBML id; also the sums ``wound_closure`` (contraction +
        re-epithelialisation), ``<tissue>_mirna_risc`` / ``<tissue>_mirna_cyt`` (all
        delivered miRNAs)."""
        m = self.model
        ix = m.index
        if sid in ix:
            return self.Y[:, ix[sid], :]
        if sid in VESICLE_STATES:  # a compartment this route never reaches
            return np.zeros((self.Y.shape[0], self.times.size))
        if sid == "wound_closure" and "wound_contraction" in ix:
            return self.Y[:, ix["wound_contraction"], :] + self.Y[:, ix[
                "wound_reepithelialisation"], :]
        for kind in ("risc", "cyt"):
            if sid == f"{m.target}_mirna_{kind}":
                idx = [ix[f"{m.target}_{kind}_{x.id}"] for x in m.mirnas]
                return self.Y[:, idx, :].sum(axis=1)
        raise InputError("unknown state", field="state", value=sid,
                         accepted=", ".join([*m.species, "wound_closure",
                                             f"{m.target}_mirna_risc"]))

    def observables(self) -> dict[str, np.ndarray]:
        """Derived outputs (N, T): knockdown per gene, pathway activity, RISC occupancy,
        outcome read-outs (wound closure %; paw withdrawal threshold g and latency s, each
        capped at its cut-off)."""
        m = self.model
        p = self.params
        obs: dict[str, np.ndarray] = {}
        for g in m.genes:
            obs[f"knockdown_{g}"] = 1.0 - self.state(f"protein_{g}")
        for pw in m.pathways:
            a = np.ones((self.Y.shape[0], self.times.size))
            for g in pw["genes"]:  # type: ignore[attr-defined]
                h = p[f"pw_{pw['name']}_{g}"][:, None]
                a = a * np.maximum(self.state(f"protein_{g}"), 1e-12) ** h
            obs[f"pathway_{pw['name']}"] = a
        tot = sum(self.state(m.risc_state(j)) for j in ["endo", *[x.id for x in m.mirnas]])
        obs["risc_occupancy"] = tot / p["risc_capacity"][:, None]
        if m.outcome == "wound_closure":
            obs["wound_closure_pct"] = 100.0 * self.state("wound_closure")
        else:
            s = self.state("sensitization")
            pwt = p["pwt_baseline"][:, None] * np.exp(-p["sensitization_depth"][:, None] * s)
            pwl = p["pwl_baseline"][:, None] * np.exp(
                -p["sensitization_depth_thermal"][:, None] * s)
            obs["paw_withdrawal_threshold_g"] = np.minimum(pwt, p["pwt_cutoff"][:, None])
            obs["paw_withdrawal_latency_s"] = np.minimum(pwl, p["pwl_cutoff"][:, None])
        return obs

    def to_frame(self) -> pd.DataFrame:
        """Tidy time courses: one row per subject and time; state columns = SBML ids."""
        N, _, T = self.Y.shape
        data: dict[str, np.ndarray] = {
            "subject": np.repeat(np.arange(N), T),
            "time": np.tile(self.times, N),
        }
        m = self.model
        for i, s in enumerate(m.species):
            data[s] = self.Y[:, i, :].reshape(-1)
        aggregates = [f"{m.target}_mirna_risc", f"{m.target}_mirna_cyt"]
        if m.outcome == "wound_closure":
            aggregates.append("wound_closure")
        for s in aggregates:
            data[s] = self.state(s).reshape(-1)
        for k, v in self.observables().items():
            data[k] = v.reshape(-1)
        return pd.DataFrame(data)

    def outcome_keys(self) -> list[tuple[str, str]]:
        """(observable, unit) of the indication's read-outs, primary first."""
        if self.model.outcome == "wound_closure":
            return [("wound_closure_pct", "%")]
        return [("paw_withdrawal_threshold_g", "g"), ("paw_withdrawal_latency_s", "s")]

    def summary(self, outcome_days: Sequence[float] | None = None) -> pd.DataFrame:
        """Per-metric median and 5-95 % band across subjects."""
        m = self.model
        rows: list[tuple[str, str, np.ndarray]] = []
        t = self.times
        dose = np.maximum(self.params["dose"], 1.0)
        for s in ["plasma", *TISSUES, "csf"]:
            x = self.state(s)
            rows.append((f"auc_{s}", "%ID·day", 100 * np.trapezoid(x, t, axis=1) / dose))
            rows.append((f"peak_{s}", "%ID", 100 * x.max(axis=1) / dose))
        rows.append((f"peak_{m.target}_mirna_risc", "copy/cell",
                     self.state(f"{m.target}_mirna_risc").max(axis=1)))
        for mir in m.mirnas:
            rows.append((f"peak_{m.target}_risc_{mir.id}", "copy/cell",
                         self.state(m.risc_state(mir.id)).max(axis=1)))
        rows.append((f"peak_{m.target}_ev_per_cell", "particle/cell",
                     (self.state(f"{m.target}_cell_ev")
                      / self.params["n_cells"][:, None]).max(axis=1)))
        obs = self.observables()
        rows.append(("min_endogenous_risc_fraction", "fraction",
                     (self.state(m.risc_state("endo"))
                      / self.state(m.risc_state("endo"))[:, :1]).min(axis=1)))
        dt = np.diff(t)
        thr = m.table.value("report_knockdown_threshold")
        for g in m.genes:
            kd = obs[f"knockdown_{g}"]
            rows.append((f"peak_knockdown_{g}", "fraction", kd.max(axis=1)))
            above = (kd[:, :-1] >= thr) & (kd[:, 1:] >= thr)
            rows.append((f"days_knockdown_over_{100 * thr:g}pct_{g}", "day",
                         (above * dt).sum(axis=1)))
        for key, unit in self.outcome_keys():
            for d in outcome_days or [x for x in (4, 8, 12, 14, 21, 28) if x <= t[-1]]:
                y = np.array([np.interp(d, t, row) for row in obs[key]])
                rows.append((f"{key}_day{d:g}", unit, y))
        out = pd.DataFrame([{"metric": name, "unit": u, "median": float(np.median(v)),
                             "p05": float(np.percentile(v, 5)),
                             "p95": float(np.percentile(v, 95))} for name, u, v in rows])
        out.attrs["note"] = UNCERTAINTY_NOTE
        return out


def _check_run_args(n_subjects: object, rtol: float, atol: float, threads: int | None,
                    horizon: float) -> None:
    if isinstance(n_subjects, bool) or not isinstance(n_subjects, int | np.integer) or not (
            1 <= int(n_subjects) <= MAX_SUBJECTS):
        raise InputError("number of subjects out of range", field="subjects", value=n_subjects,
                         accepted=f"a whole number 1..{MAX_SUBJECTS:,}")
    if not (math.isfinite(rtol) and RTOL_RANGE[0] <= rtol <= RTOL_RANGE[1]):
        raise InputError("relative tolerance out of range", field="rtol", value=rtol,
                         accepted=f"{RTOL_RANGE[0]:g} to {RTOL_RANGE[1]:g}")
    if not (math.isfinite(atol) and 0 < atol <= 1e-3):
        raise InputError("absolute tolerance out of range", field="atol", value=atol,
                         accepted="a number in (0, 1e-3] (scaled by the dose for particles)")
    if threads is not None and (isinstance(threads, bool) or not isinstance(
            threads, int | np.integer) or not 1 <= int(threads) <= 1024):
        raise InputError("threads must be a whole number >= 1", field="threads", value=threads,
                         accepted="1..1024, or omit for all CPUs")
    if not (math.isfinite(horizon) and 0 < horizon <= MAX_DAYS):
        raise InputError("simulated days out of range", field="days", value=horizon,
                         accepted=f"a finite number of days in (0, {MAX_DAYS:g}]")


def _likely_culprit(model: BodyModel, overrides: Mapping[str, object]) -> tuple[str, object]:
    """The input most likely behind a solver failure: the override furthest (in decades)
    from its table value, else the dose or the loading."""
    from exomir.body.params import parameter_table

    nominal = parameter_table(model.spec.therapy.indication.value, model.spec.species)
    worst: tuple[float, str, object] = (-1.0, "", None)
    for k, v in overrides.items():
        if k not in nominal:
            continue
        a = np.abs(np.asarray(v, dtype=float)).max()
        ref = max(abs(nominal.value(k)), 1e-300)
        dist = abs(math.log10(max(a, 1e-300) / ref))
        if dist > worst[0]:
            worst = (dist, k, float(a))
    if worst[1] and worst[0] > 1.0:
        return f"body.parameters.{worst[1]}", worst[2]
    cpv = max((m.copies_per_vesicle or 0.0) for m in model.mirnas)
    if cpv > 1e3:
        return "cargo.copies_per_vesicle", cpv
    return "regimen.dose.value", model.spec.dose_particles


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

    ``overrides`` replace table values per subject (scalars or arrays of shape
    (n_subjects,)), e.g. the mechanism switches ``mech_mirna``/``mech_vesicle``/
    ``mech_vehicle``. ``engine``: ``auto`` uses the compiled engine and falls back to
    ``numpy`` (with a warning) when the model cannot be compiled; ``compiled`` raises instead.
    ``progress`` receives simulated days (numpy) or days × fraction of subjects done.
    ``threads`` (compiled engine): worker threads, default all CPUs; results do not depend
    on it. ``calibration``: a calibrated-parameter file (``exomir calibrate``) or its content;
    default: the spec's ``body.calibration``. Its values replace the table's typical values;
    a population (``variability``, n > 1) draws them jointly from the calibrated covariance.
    ``overrides`` apply last. Bad arguments raise :class:`InputError` before anything is
    allocated.
    """
    if engine not in ("auto", "compiled", "numpy"):
        raise InputError("unknown engine", field="engine", value=engine,
                         accepted=["auto", "compiled", "numpy"])
    seed = _check_seed(seed)
    model = spec if isinstance(spec, BodyModel) else build_model(spec, release)
    horizon = float(days if days is not None else model.days)
    _check_run_args(n_subjects, rtol, atol, threads, horizon)
    n_subjects = int(n_subjects)
    late = [t for t in model.dose_times if t > horizon]
    if late:
        raise InputError(f"doses at {late} fall outside the simulation window",
                         field="regimen.times_days", value=late,
                         accepted=f"times within 0..{horizon:g} days")
    if times is None:
        t_eval = default_times(horizon)
    else:
        t_eval = np.asarray(times, dtype=float)
        if (t_eval.ndim != 1 or t_eval.size < 1 or t_eval.size > 10**6
                or not np.all(np.isfinite(t_eval)) or np.any(np.diff(t_eval) < 0)
                or t_eval[0] < 0):
            raise InputError("output times must be finite, increasing and >= 0",
                             field="times", value=f"{t_eval.size} values",
                             accepted="1..1e6 increasing times in days")
    need = n_subjects * len(model.species) * t_eval.size * 8
    if need > MAX_OUTPUT_BYTES:
        raise InputError(f"the trajectories would need {need / 1024**3:.1f} GiB",
                         field="subjects", value=n_subjects,
                         accepted=f"subjects x {len(model.species)} states x "
                                  f"{t_eval.size} output times x 8 bytes <= "
                                  f"{MAX_OUTPUT_BYTES / 1024**3:g} GiB (fewer subjects, "
                                  "days or output times)")
    if calibration is None and model.spec.body.calibration:
        calibration = model.spec.body.calibration
    if isinstance(calibration, str | Path):
        calibration = load_calibrated(calibration)
    vals = draw_parameters(model, n_subjects, seed, variability, calibration)
    if overrides:
        model.check_values(overrides, "overrides")
    for k, v in (overrides or {}).items():
        arr = np.asarray(v, dtype=float)
        if arr.ndim and arr.shape != (n_subjects,):
            raise InputError("override must be a scalar or one value per subject",
                             field=f"overrides.{k}", value=f"shape {arr.shape}",
                             accepted=f"shape ({n_subjects},)")
        vals[k] = np.broadcast_to(arr, (n_subjects,)).copy()
    flat = model.flat_params(vals, n_subjects)
    ev = Evaluator(model, flat)
    y0 = model.initial_state(flat)
    jump = model.dose_jump(flat)
    tol = tolerances(model, flat, atol)
    try:
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
                    kern, ev, y0, jump, tol, t_eval, model.dose_times, rtol=rtol,
                    threads=threads,
                    progress=None if progress is None else (lambda f: progress(f * horizon)))
                stats.engine = "compiled"
                return Result(model=model, times=t_eval, Y=Y, params=flat, stats=stats)
        jumps = [(t, jump) for t in model.dose_times]
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            Y, stats = rosenbrock_batch(
                ev.rhs, (ev.lin_rows, ev.lin_cols, ev.lin_vals), ev.dfdt, y0.T.copy(), t_eval,
                jumps=[(t, j.T.copy()) for t, j in jumps], atol=tol.T.copy(),
                rtol=rtol, pattern=ev.pattern, order=elimination_order(model),
                progress=progress)
    except StepSizeUnderflow as exc:
        field, value = _likely_culprit(model, {**model.spec.body.parameters,
                                               **(overrides or {})})
        who = "" if exc.subject is None else f" (subject {exc.subject})"
        raise InputError(f"the solver could not integrate this model{who}: step size "
                         "underflow, most likely from an extreme value", field=field,
                         value=value, accepted="values within the parameter table's "
                         "plausible ranges (exomir simulate --params)") from None
    return Result(model=model, times=t_eval, Y=Y, params=flat, stats=stats)


# ---------------------------------------------------------------- arms and scenarios
def _respec(spec: BodySpec, therapy: dict[str, object] | None = None,
            body: dict[str, object] | None = None) -> BodySpec:
    th = spec.therapy.model_dump(mode="json", exclude_none=True)
    th.update(therapy or {})
    bd = spec.body.model_dump(mode="json", exclude_none=True)
    bd.update(body or {})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return parse_spec({**th, "body": bd}, source=f"derived from spec '{spec.therapy.name}'",
                          base_dir=spec.base_dir)


def with_mechanisms(spec: BodySpec, *, mirna: bool | None = None, vesicle: bool | None = None,
                    vehicle: bool | None = None) -> BodySpec:
    """A copy of ``spec`` with some mechanism switches changed (same model structure)."""
    m = spec.body.mechanisms.model_dump()
    for k, v in (("mirna", mirna), ("vesicle", vesicle), ("vehicle", vehicle)):
        if v is not None:
            m[k] = v
    return _respec(spec, body={"mechanisms": m})


def untreated_spec(spec: BodySpec) -> BodySpec:
    """The untreated arm of ``spec``: no product and no vehicle (dose 0, every mechanism
    off). Same indication, species, route structure and subjects (paired draws)."""
    dose = spec.therapy.regimen.model_dump(mode="json", exclude_none=True)
    dose["dose"] = {"value": 0.0, "unit": "particles"}
    return _respec(spec, therapy={"name": f"{spec.therapy.name} (untreated)", "regimen": dose},
                   body={"mechanisms": {"mirna": False, "vesicle": False, "vehicle": False}})


def vehicle_only_spec(spec: BodySpec) -> BodySpec:
    """The vehicle-only arm: the vehicle applied on the same schedule, no vesicles (dose 0);
    for a route without a vehicle this equals :func:`untreated_spec`."""
    if not spec.route.is_vehicle:
        return untreated_spec(spec)
    dose = spec.therapy.regimen.model_dump(mode="json", exclude_none=True)
    dose["dose"] = {"value": 0.0, "unit": "particles"}
    mech = {"mirna": False, "vesicle": False, "vehicle": True}
    return _respec(spec, therapy={"name": f"{spec.therapy.name} (vehicle only)",
                                  "regimen": dose}, body={"mechanisms": mech})


def dose_response(spec: BodySpec, doses: Sequence[float] = (1e8, 1e9, 1e10, 1e11, 1e12),
                  n_subjects: int = 200, seed: int = 0, **kw: object) -> pd.DataFrame:
    """Summaries for each dose (particles per administration), stacked with a ``dose`` column."""
    frames = []
    for d in doses:
        reg = spec.therapy.regimen.model_dump(mode="json", exclude_none=True)
        reg["dose"] = {"value": float(d), "unit": "particles"}
        s = _respec(spec, therapy={"regimen": reg})
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
    reg = spec.therapy.regimen.model_dump(mode="json", exclude_none=True)
    reg["times_days"] = list(times_days)
    return _respec(spec, therapy={"regimen": reg})
