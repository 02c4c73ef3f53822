"""Negative log-likelihood of a calibration problem, with batched finite-difference Jacobians.

For measurement i with observable value y_i (model), measured m_i and noise SD sigma_i (PEtab
v1, normal noise):

* lin:  nllh_i = 0.5 ln(2 pi sigma_i^2) + 0.5 ((m_i - y_i) / sigma_i)^2
* log:  nllh_i = 0.5 ln(2 pi sigma_i^2 m_i^2) + 0.5 ((ln m_i - ln y_i) / sigma_i)^2

NLL = sum_i nllh_i. Weighted residuals r_i = (t(m_i) - t(y_i)) / sigma_i (t = identity or ln).
When noise parameters are estimated, least squares runs on the augmented residual vector
[r, s] with s_i = sqrt(2 (ln sigma_i + C)), C = 1 - ln(sigma_floor), so that
0.5 ||[r, s]||^2 = NLL - const for every parameter vector.

Sensitivities: forward (or central) finite differences on the estimation scale. The p + 1
perturbed parameter vectors of one arm run as p + 1 "subjects" of one batched
``body.simulate(..., variability=False, overrides=...)`` call (compiled engine: subjects in
parallel threads); noise parameters need no simulation.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from exomir.body.model import Evaluator
from exomir.body.simulate import simulate
from exomir.calibrate.formula import Formula, parse_formula
from exomir.calibrate.problem import CalibrationProblem, Condition

LOG2PI = float(np.log(2.0 * np.pi))
FAIL_RESIDUAL = 1e4  # weighted residual returned where a simulation fails


@dataclass
class _Arm:
    cond: Condition
    times: np.ndarray  # output grid (days), starts at 0
    rows: np.ndarray  # indices into the measurement table
    col: np.ndarray  # time index of each row
    obs: list[tuple[str, Formula, np.ndarray]]  # (observable id, formula, row positions)
    needs_rates: bool


@dataclass
class Evaluation:
    """Model observables and noise at one or more parameter vectors."""

    y: np.ndarray  # (S, m) observable values
    sigma: np.ndarray  # (S, m)
    ok: np.ndarray  # (S,) simulation succeeded


@dataclass
class NegLogLikelihood:
    """x (estimation scale, ``problem.estimated`` order) -> NLL, residuals, Jacobian."""

    problem: CalibrationProblem
    rtol: float = 1e-9
    atol: float = 1e-13
    engine: Literal["auto", "compiled", "numpy"] = "auto"
    fd_step: float = 1e-5
    fd: Literal["forward", "central"] = "forward"
    threads: int | None = None
    include_held_out: bool = False
    n_sim: int = field(default=0, init=False)  # simulated parameter vectors (subjects)
    n_calls: int = field(default=0, init=False)

    def __post_init__(self) -> None:
        pr = self.problem
        meas = pr.measurements
        if self.include_held_out and pr.held_out is not None:
            import pandas as pd

            meas = pd.concat([meas, pr.held_out], ignore_index=True)
        self.meas = meas.reset_index(drop=True)
        self.m = len(self.meas)
        self.measured = self.meas["measurement"].to_numpy(dtype=float)
        self.noise_par = self.meas["noiseParameters"].to_numpy(dtype=float)
        self.est = pr.estimated
        self.model_idx = [k for k, p in enumerate(self.est) if p.kind == "model"]
        self.noise_idx = [k for k, p in enumerate(self.est) if p.kind == "noise"]
        obs = pr.observables
        self.log = np.array([obs[o].transformation == "log" for o in self.meas["observableId"]])
        self.noise_f = {o: parse_formula(ob.noise_formula, f"{o}.noiseFormula")
                        for o, ob in obs.items()}
        self.arms: list[_Arm] = []
        for cid, cond in pr.conditions.items():
            sel = np.flatnonzero(self.meas["simulationConditionId"].to_numpy() == cid)
            if sel.size == 0:
                continue
            t = self.meas["time"].to_numpy(dtype=float)[sel]
            grid = np.unique(np.concatenate([[0.0], t]))
            col = np.searchsorted(grid, t)
            ob_rows = []
            rates = False
            oid_arr = self.meas["observableId"].to_numpy()[sel]
            for oid in dict.fromkeys(oid_arr):
                f = parse_formula(obs[oid].formula, f"{oid}.observableFormula")
                rates |= any(s.startswith(f"{cond.prefix}d_") for s in f.symbols)
                ob_rows.append((oid, f, np.flatnonzero(oid_arr == oid)))
            self.arms.append(_Arm(cond, grid, sel, col, ob_rows, rates))
        lo = [self._sigma_floor()]
        self.C = 1.0 - float(np.log(min(lo)))
        self.has_noise_params = bool(self.noise_idx)
        self._fixed_log_sigma: float | None = None
        m_log = np.where(self.log, np.log(np.where(self.log, self.measured, 1.0)), 0.0)
        self.const = 0.5 * LOG2PI * self.m + float(np.sum(m_log))
        self.t_meas = np.where(self.log, np.log(np.where(self.measured > 0, self.measured,
                                                         np.nan)), self.measured)

    # ---- pieces ----------------------------------------------------------------------
    def _sigma_floor(self) -> float:
        floors = [p.lower for p in self.est if p.kind == "noise"]
        fin = self.noise_par[np.isfinite(self.noise_par) & (self.noise_par > 0)]
        return float(min(floors + ([float(fin.min())] if fin.size else []) + [1.0]))

    def simulate_obs(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Observable values y (S, m) at parameter vectors X (S, p); ok flags (S,)."""
        X = np.atleast_2d(np.asarray(X, dtype=float))
        S = X.shape[0]
        lin = [self.problem.linear(x) for x in X]
        model_names = [self.est[k].id for k in self.model_idx]
        y = np.full((S, self.m), np.nan)
        ok = np.ones(S, dtype=bool)
        for arm in self.arms:
            cond = arm.cond
            over: dict[str, np.ndarray] = {k: np.full(S, v) for k, v in cond.fixed.items()}
            for name in model_names:
                over[name] = np.array([v[name] for v in lin], dtype=float)
            self.n_sim += S
            try:
                res = simulate(cond.model, S, variability=False, overrides=over,
                               times=arm.times, rtol=self.rtol, atol=self.atol,
                               engine=self.engine, threads=self.threads)
            except (RuntimeError, FloatingPointError, ZeroDivisionError):
                ok[:] = False
                continue
            ns = self._namespace(arm, res, lin)
            with np.errstate(all="ignore"):
                for _oid, f, pos in arm.obs:
                    val = np.broadcast_to(np.asarray(f(ns), dtype=float), (S, arm.times.size))
                    y[:, arm.rows[pos]] = val[:, arm.col[pos]]
        bad = ~np.all(np.isfinite(y), axis=1)
        ok &= ~bad
        return y, ok

    def _namespace(self, arm: _Arm, res: Any, lin: Sequence[Mapping[str, float]]
                   ) -> dict[str, Any]:
        """SBML ids -> arrays (S, T) or (S, 1): states, flat parameters, state rates
        ``d_<state>`` and the body's SBML read-outs, with the arm's prefix (table
        parameters and noise parameters unprefixed)."""
        from exomir.body.sbml import observables

        P = arm.cond.prefix
        model = arm.cond.model
        table = {p.name for p in model.table}
        local: dict[str, Any] = {"time": arm.times[None, :]}
        for k, v in res.params.items():
            local[k] = np.asarray(v)[:, None]
        for i, s in enumerate(model.species):
            local[s] = res.Y[:, i, :]
        if arm.needs_rates:
            ev = Evaluator(model, res.params)
            dy = np.empty_like(res.Y)
            for j, t in enumerate(arm.times):
                dy[:, :, j] = ev.rhs(float(t), np.ascontiguousarray(res.Y[:, :, j].T))[0].T
            for i, s in enumerate(model.species):
                local[f"d_{s}"] = dy[:, i, :]
        with np.errstate(all="ignore"):
            for oid, (infix, _unit) in observables(model).items():
                local[oid] = parse_formula(infix, f"body observable {oid}")(local)
        ns: dict[str, Any] = {"time": local.pop("time")}
        for k, v in local.items():
            ns[k if k in table else P + k] = v
        for p in self.problem.parameters:  # noise parameters used in observable formulas
            if p.id not in ns:
                ns[p.id] = np.array([v[p.id] for v in lin])[:, None]
        return ns

    def noise(self, X: np.ndarray) -> np.ndarray:
        """sigma (S, m) at parameter vectors X (noise parameters and per-row SDs)."""
        X = np.atleast_2d(np.asarray(X, dtype=float))
        S = X.shape[0]
        lin = [self.problem.linear(x) for x in X]
        sig = np.empty((S, self.m))
        oids = self.meas["observableId"].to_numpy()
        for oid in dict.fromkeys(oids):
            pos = np.flatnonzero(oids == oid)
            f = self.noise_f[oid]
            ns: dict[str, Any] = {}
            for s in f.symbols:
                if s.startswith("noiseParameter1_"):
                    ns[s] = self.noise_par[pos][None, :]
                else:
                    ns[s] = np.array([v[s] for v in lin], dtype=float)[:, None]
            sig[:, pos] = np.broadcast_to(np.asarray(f(ns), dtype=float), (S, pos.size))
        return sig

    def weighted(self, y: np.ndarray, sigma: np.ndarray) -> np.ndarray:
        with np.errstate(all="ignore"):
            ty = np.where(self.log, np.log(np.where(self.log, y, 1.0)), y)
            r = (self.t_meas - ty) / sigma
        return np.where(np.isfinite(r), r, FAIL_RESIDUAL)

    def _sres(self, sigma: np.ndarray) -> np.ndarray:
        return np.sqrt(np.maximum(2.0 * (np.log(sigma) + self.C), 0.0))

    # ---- public ----------------------------------------------------------------------
    def evaluate(self, x: np.ndarray) -> Evaluation:
        y, ok = self.simulate_obs(np.atleast_2d(x))
        return Evaluation(y=y, sigma=self.noise(np.atleast_2d(x)), ok=ok)

    def nll(self, x: np.ndarray) -> float:
        """Negative log-likelihood (PEtab v1 convention, all constants included)."""
        self.n_calls += 1
        ev = self.evaluate(x)
        if not ev.ok[0]:
            return float("inf")
        return self.nll_from(ev.y[0], ev.sigma[0])

    def nll_from(self, y: np.ndarray, sigma: np.ndarray) -> float:
        r = self.weighted(y, sigma)
        return float(0.5 * r @ r + np.sum(np.log(sigma)) + self.const)

    def residuals(self, x: np.ndarray) -> np.ndarray:
        """Residual vector whose half squared norm is NLL - const (augmented if needed)."""
        self.n_calls += 1
        ev = self.evaluate(x)
        return self._stack(ev.y[0], ev.sigma[0], bool(ev.ok[0]))

    def _stack(self, y: np.ndarray, sigma: np.ndarray, ok: bool) -> np.ndarray:
        r = np.full(self.m, FAIL_RESIDUAL) if not ok else self.weighted(y, sigma)
        if self.has_noise_params:
            return np.concatenate([r, self._sres(sigma)])
        return r

    def cost_constant(self) -> float:
        """NLL = 0.5 ||residuals||^2 + this (fixed noise: includes sum ln sigma)."""
        if self.has_noise_params:
            return self.const - self.m * self.C
        if self._fixed_log_sigma is None:
            x = self.problem.x_nominal()
            self._fixed_log_sigma = float(np.sum(np.log(self.noise(x[None, :])[0])))
        return self.const + self._fixed_log_sigma

    def jacobian(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(residuals, Jacobian d residuals / d x) by batched finite differences."""
        self.n_calls += 1
        x = np.asarray(x, dtype=float)
        p = x.size
        h = self.fd_step * np.maximum(1.0, np.abs(x))
        _, hi = self.problem.x_bounds()
        mi = self.model_idx
        if self.fd == "central":
            Xp = np.repeat(x[None, :], 2 * len(mi) + 1, axis=0)
            for j, k in enumerate(mi):
                Xp[1 + 2 * j, k] += h[k]
                Xp[2 + 2 * j, k] -= h[k]
        else:
            Xp = np.repeat(x[None, :], len(mi) + 1, axis=0)
            for j, k in enumerate(mi):
                # step away from the upper bound so the perturbed point stays inside
                h[k] = -h[k] if x[k] + h[k] > hi[k] else h[k]
                Xp[1 + j, k] += h[k]
        y, ok = self.simulate_obs(Xp) if mi else self.simulate_obs(x[None, :])
        sig0 = self.noise(x[None, :])[0]
        r0 = self._stack(y[0], sig0, bool(ok[0]))
        J = np.zeros((r0.size, p))
        if not ok[0]:
            return r0, J
        for j, k in enumerate(mi):
            if self.fd == "central":
                a, b = 1 + 2 * j, 2 + 2 * j
                ra = self._stack(y[a], sig0, bool(ok[a]))
                rb = self._stack(y[b], sig0, bool(ok[b]))
                J[:, k] = (ra - rb) / (2 * h[k])
            else:
                rk = self._stack(y[1 + j], sig0, bool(ok[1 + j]))
                J[:, k] = (rk - r0) / h[k]
        for k in self.noise_idx:  # noise parameters: no simulation, central differences
            d = 1e-6 * max(1.0, abs(x[k]))
            xa, xb = x.copy(), x.copy()
            xa[k] += d
            xb[k] -= d
            sa, sb = self.noise(np.stack([xa, xb]))
            J[:, k] = (self._stack(y[0], sa, True) - self._stack(y[0], sb, True)) / (2 * d)
        return r0, J

    def fisher(self, x: np.ndarray) -> np.ndarray:
        """Expected Fisher information on the estimation scale (normal noise):
        F_ab = sum_i d t(y_i)/d x_a * d t(y_i)/d x_b / sigma_i^2
             + 2 sum_i d ln sigma_i/d x_a * d ln sigma_i/d x_b."""
        x = np.asarray(x, dtype=float)
        _, J = self.jacobian(x)
        p = x.size
        F = np.zeros((p, p))
        mi = self.model_idx
        if mi:
            Jy = J[: self.m][:, mi]
            F[np.ix_(mi, mi)] = Jy.T @ Jy
        if self.noise_idx:
            D = np.zeros((self.m, p))
            for k in self.noise_idx:
                d = 1e-6 * max(1.0, abs(x[k]))
                xa, xb = x.copy(), x.copy()
                xa[k] += d
                xb[k] -= d
                sa, sb = self.noise(np.stack([xa, xb]))
                D[:, k] = (np.log(sa) - np.log(sb)) / (2 * d)
            ni = self.noise_idx
            F[np.ix_(ni, ni)] = 2.0 * D[:, ni].T @ D[:, ni]
        return F

    def curves(self, x: np.ndarray, n_points: int = 121
               ) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """Observable time courses (days, values) at one parameter vector on a fine grid per
        arm, for every observable of the problem (held-out ones included); keys
        ``<arm>/<observableId>``."""
        pr = self.problem
        lin = [pr.linear(np.asarray(x, dtype=float))]
        model_names = [self.est[k].id for k in self.model_idx]
        out: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        frames = [pr.measurements] + ([pr.held_out] if pr.held_out is not None else [])
        for cid, cond in pr.conditions.items():
            obs = [o for o in pr.observables.values() if o.condition in (cid, "")]
            if not obs:
                continue
            t_meas = np.concatenate([f.loc[f["simulationConditionId"] == cid, "time"]
                                     .to_numpy(dtype=float) for f in frames])
            top = min(float(cond.spec.therapy.days),
                      1.1 * float(t_meas.max()) if t_meas.size and t_meas.max() > 0
                      else float(cond.spec.therapy.days))
            grid = np.unique(np.concatenate([np.linspace(0.0, top, n_points), t_meas]))
            fs = [(o.id, parse_formula(o.formula)) for o in obs]
            rates = any(s.startswith(f"{cond.prefix}d_") for _, f in fs for s in f.symbols)
            arm = _Arm(cond, grid, np.empty(0, dtype=int), np.empty(0, dtype=int), [], rates)
            over = {k: np.array([v]) for k, v in cond.fixed.items()}
            for name in model_names:
                over[name] = np.array([lin[0][name]])
            res = simulate(cond.model, 1, variability=False, overrides=over, times=grid,
                           rtol=self.rtol, atol=self.atol, engine=self.engine)
            ns = self._namespace(arm, res, lin)
            with np.errstate(all="ignore"):
                for oid, f in fs:
                    val = np.broadcast_to(np.asarray(f(ns), dtype=float), (1, grid.size))[0]
                    out[f"{cid}/{oid}"] = (grid, np.array(val))
        return out

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Observable values at the measurement rows for one parameter vector."""
        y, _ = self.simulate_obs(np.atleast_2d(x))
        return y[0]
