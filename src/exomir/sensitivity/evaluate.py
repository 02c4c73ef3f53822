"""Model evaluation: a chunk of sample rows -> output columns, through the body simulator.

Each sample row is one "subject" of a batched :func:`exomir.body.simulate.simulate` call with
``variability=False`` and ``overrides={name: column}``; the model is built once (here, in the
caller's process) and shipped to wherever the chunk runs. With the compiled engine each
subject controls its own step size, so an output row depends only on its own parameter row,
never on the chunk it ran in or the number of threads (tests check this bit for bit).

Outputs are *families* (registered in :data:`OUTPUTS`, add one with
:func:`register_output`), each giving one or more scalar columns per subject:

* ``outcome``: the indication's outcome at ``day`` (wound closure %, paw withdrawal
  threshold g), from :meth:`exomir.body.simulate.Result.observables`;
* ``gain``: outcome minus the outcome of the same subject untreated (no vesicles, no vehicle:
  the spec with dose 0 and a non-vehicle route);
* ``knockdown``: peak knockdown (1 − protein/baseline) of each target gene over the horizon;
* ``exposure``: AUC of the target tissue, %ID·day (trapezoid on the output grid);
* ``difference``: outcome minus the outcome of a comparator design (another candidate) for the
  same parameter row (``BodyEvaluator(comparator=...)``): what drives the *difference* between
  two candidates.
"""

from __future__ import annotations

import hashlib
import math
import pickle
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from exomir.core import ExomirError, InputError


class ModelFailure(ExomirError):
    """The model could not be solved for a sample row (message names the row's values)."""

    exit_code = 1


@dataclass(frozen=True)
class Column:
    """One scalar output: ``name`` (a column of the result), unit, readable label, family."""

    name: str
    unit: str
    label: str
    family: str


class Evaluator(Protocol):
    """What the engines run: parameter rows (n, len(names)) -> outputs (n, len(columns))."""

    names: list[str]
    columns: list[Column]

    def evaluate(self, X: np.ndarray, threads: int | None = None) -> np.ndarray: ...

    def warm(self) -> None: ...

    def token(self) -> str: ...


# ---------------------------------------------------------------------------- functions

@dataclass
class FunctionEvaluator:
    """A vectorised function f(X) -> (n,) or (n, m) (analytic test functions, user models)."""

    fn: Callable[[np.ndarray], np.ndarray]
    names: list[str]
    columns: list[Column] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not self.columns:
            self.columns = [Column("y", "", "y", "function")]

    def evaluate(self, X: np.ndarray, threads: int | None = None) -> np.ndarray:
        y = np.asarray(self.fn(np.asarray(X, dtype=float)), dtype=float)
        return y.reshape(len(X), -1)

    def warm(self) -> None:
        return None

    def token(self) -> str:
        return _token(self)


def _token(obj: object) -> str:
    return hashlib.sha256(pickle.dumps(obj)).hexdigest()[:16]


# ---------------------------------------------------------------------------- body outputs

MECHANISMS = ("mirna", "vesicle", "vehicle")  # the body model's switchable benefit structures


def readouts(model: Any) -> list[tuple[str, str, str]]:
    """(observable, unit, label) of the indication's read-outs, primary first (pain: the
    von Frey threshold, and the Hargreaves latency when the model has it)."""
    if model.outcome == "wound_closure":
        return [("wound_closure_pct", "%", "wound closure")]
    out = [("paw_withdrawal_threshold_g", "g", "paw withdrawal threshold")]
    if "pwl_baseline" in model.table:
        out.append(("paw_withdrawal_latency_s", "s", "paw withdrawal latency"))
    return out


def has_mechanisms(model: Any) -> bool:
    return all(f"mech_{m}" in model.table for m in MECHANISMS)


def coalitions() -> list[tuple[int, int, int]]:
    """The 8 on/off combinations of (mirna, vesicle, vehicle), none first, all last."""
    combos = [(a, b, c) for a in (0, 1) for b in (0, 1) for c in (0, 1)]
    return sorted(combos, key=lambda c: (sum(c), c))


@dataclass
class OutputContext:
    """What an output family reads for one chunk: the results and the outcome day."""

    model: Any  # BodyModel
    day: float
    treated: Any  # body Result
    scenarios: dict[str, Any] = field(default_factory=dict)  # name -> body Result

    def outcome_key(self) -> str:
        return outcome_observable(self.model)

    def outcome(self, res: Any, key: str | None = None) -> np.ndarray:
        obs = res.observables()[key or self.outcome_key()]
        return np.array([np.interp(self.day, res.times, row) for row in obs])


@dataclass(frozen=True)
class OutputFamily:
    key: str
    description: str
    needs: tuple[str, ...]  # other scenarios it reads: "untreated", "comparator", ...
    columns: Callable[[Any, float], list[Column]]
    compute: Callable[[OutputContext], dict[str, np.ndarray]]


OUTPUTS: dict[str, OutputFamily] = {}


def register_output(family: OutputFamily) -> OutputFamily:
    """Add an output family."""
    OUTPUTS[family.key] = family
    return family


def outcome_observable(model: Any) -> str:
    return readouts(model)[0][0]


def _pp(unit: str) -> str:
    return "percentage points" if unit == "%" else unit


def _outcome_columns(model: Any, day: float) -> list[Column]:
    return [Column(f"{k}_day{day:g}", u, f"{label} at day {day:g}", "outcome")
            for k, u, label in readouts(model)]


def _outcome(ctx: OutputContext) -> dict[str, np.ndarray]:
    return {f"{k}_day{ctx.day:g}": ctx.outcome(ctx.treated, k) for k, _, _ in
            readouts(ctx.model)}


def _gain_columns(model: Any, day: float) -> list[Column]:
    return [Column(f"gain_{k}_day{day:g}", _pp(u), f"gain in {label} over untreated, day "
                   f"{day:g}", "gain") for k, u, label in readouts(model)]


def _gain(ctx: OutputContext) -> dict[str, np.ndarray]:
    base = ctx.scenarios["untreated"]
    return {f"gain_{k}_day{ctx.day:g}": ctx.outcome(ctx.treated, k) - ctx.outcome(base, k)
            for k, _, _ in readouts(ctx.model)}


def _diff_columns(model: Any, day: float) -> list[Column]:
    return [Column(f"difference_{k}_day{day:g}", _pp(u),
                   f"{label} minus the comparator's, day {day:g}", "difference")
            for k, u, label in readouts(model)]


def _diff(ctx: OutputContext) -> dict[str, np.ndarray]:
    comp = ctx.scenarios["comparator"]
    return {f"difference_{k}_day{ctx.day:g}": ctx.outcome(ctx.treated, k)
            - ctx.outcome(comp, k) for k, _, _ in readouts(ctx.model)}


def _attr_columns(model: Any, day: float) -> list[Column]:
    if not has_mechanisms(model):
        raise InputError("this body model has no mechanism switches (mech_mirna, "
                         "mech_vesicle, mech_vehicle) to attribute the gain to",
                         field="--outputs", value="attribution",
                         accepted="outcome, gain, knockdown, exposure")
    names = {"mirna": "miRNA knockdown", "vesicle": "vesicle bioactivity",
             "vehicle": "vehicle"}
    return [Column(f"contribution_{m}_{k}_day{day:g}", _pp(u),
                   f"{names[m]} part of the gain in {label}, day {day:g}", "attribution")
            for k, u, label in readouts(model)[:1] for m in MECHANISMS]


def _attr(ctx: OutputContext) -> dict[str, np.ndarray]:
    """Shapley value of each mechanism switch (Shapley 1953) over the 8 combinations of the
    same subject: φ_i = Σ_{S ⊆ M∖{i}} |S|!(2 − |S|)!/3! · [y(S ∪ {i}) − y(S)]; sums exactly to
    y(all) − y(none), the gain over the same model with every mechanism off."""
    k = readouts(ctx.model)[0][0]
    y = {c: ctx.outcome(ctx.scenarios.get(f"mechanisms_{''.join(map(str, c))}",
                                          ctx.treated), k) for c in coalitions()}
    fact = [1, 1, 2, 6]
    out = {}
    for i, m in enumerate(MECHANISMS):
        phi = np.zeros_like(y[(0, 0, 0)])
        for c in coalitions():
            if c[i]:
                continue
            w = fact[sum(c)] * fact[3 - sum(c) - 1] / fact[3]
            on = tuple(1 if j == i else c[j] for j in range(3))
            phi = phi + w * (y[on] - y[c])  # type: ignore[index]
        out[f"contribution_{m}_{k}_day{ctx.day:g}"] = phi
    return out


def _kd_columns(model: Any, day: float) -> list[Column]:
    return [Column(f"peak_knockdown_{g}", "fraction", f"peak knockdown of {g}", "knockdown")
            for g in model.genes]


def _kd(ctx: OutputContext) -> dict[str, np.ndarray]:
    res = ctx.treated
    return {f"peak_knockdown_{g}": (1.0 - res.state(f"protein_{g}")).max(axis=1)
            for g in ctx.model.genes}


def _exp_columns(model: Any, day: float) -> list[Column]:
    return [Column(f"auc_{model.target}", "%ID·day",
                   f"exposure of {model.target} (AUC)", "exposure")]


def _exp(ctx: OutputContext) -> dict[str, np.ndarray]:
    res = ctx.treated
    tgt = ctx.model.target
    dose = np.maximum(res.params["dose"], 1.0)
    return {f"auc_{tgt}": 100.0 * np.trapezoid(res.state(tgt), res.times, axis=1) / dose}


register_output(OutputFamily("outcome", "outcome at the day", (), _outcome_columns, _outcome))
register_output(OutputFamily("gain", "outcome gain over untreated at the day", ("untreated",),
                             _gain_columns, _gain))
register_output(OutputFamily("knockdown", "peak knockdown per target gene", (),
                             _kd_columns, _kd))
register_output(OutputFamily("exposure", "target-tissue exposure (AUC, %ID·day)", (),
                             _exp_columns, _exp))
register_output(OutputFamily("difference", "outcome minus a comparator design's", ("comparator",),
                             _diff_columns, _diff))
register_output(OutputFamily(
    "attribution", "the gain split into miRNA, vesicle and vehicle contributions (Shapley)",
    ("mechanisms",), _attr_columns, _attr))
DEFAULT_OUTPUTS = ("outcome", "gain", "knockdown", "exposure")


def default_day(model: Any) -> float:
    """Headline day: 14 for the wound (closure), 21 for pain (the design report's default)."""
    day = 14.0 if model.outcome == "wound_closure" else 21.0
    return min(day, float(model.days))


def untreated_spec(spec: Any) -> Any:
    """The same subject without treatment: the body model's own untreated arm
    (``exomir.body.simulate.untreated_spec``: dose 0, every mechanism off) when it has one,
    else dose 0 and no vehicle (intravenous route)."""
    from exomir.body import simulate as body_simulate

    if hasattr(body_simulate, "untreated_spec"):
        return body_simulate.untreated_spec(spec)
    from exomir.body.spec import BodySpec
    from exomir.core import Dose, Route

    th = spec.therapy.model_copy(deep=True)
    th.regimen.dose = Dose(value=0.0, unit="particles")
    th.delivery.route = Route.INTRAVENOUS
    return BodySpec(therapy=th, body=spec.body.model_copy(update={"vehicle": None}))


@dataclass
class BodyEvaluator:
    """Sample rows -> output columns through the body simulator (model built once)."""

    model: Any  # BodyModel
    names: list[str]
    outputs: Sequence[str] = DEFAULT_OUTPUTS
    day: float | None = None
    rtol: float = 1e-5
    engine: str = "auto"
    comparator: Any | None = None  # BodyModel of another design ("difference")
    scenarios: dict[str, Any] = field(default_factory=dict)  # name -> (BodyModel, overrides)
    columns: list[Column] = field(default_factory=list)
    families: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        from exomir.body.simulate import default_times

        unknown = [o for o in self.outputs if o not in OUTPUTS]
        if unknown:
            raise InputError("unknown output", field="--outputs", value=unknown[0],
                             accepted=sorted(OUTPUTS))
        known = {p.name for p in self.model.table}
        bad = [n for n in self.names if n not in known]
        if bad:
            raise InputError("not a parameter of the model", field="parameters", value=bad[0],
                             accepted=sorted(known))
        if self.day is None:
            self.day = default_day(self.model)
        self.day = float(self.day) + 0.0  # -0.0 -> 0.0 (column names use the day)
        if not (math.isfinite(self.day) and 0 <= self.day <= self.model.days):
            raise InputError("outcome day outside the simulated window", field="--day",
                             value=self.day, accepted=f"0..{self.model.days:g}")
        self.families = list(dict.fromkeys(self.outputs))
        self.columns = [c for f in self.families for c in OUTPUTS[f].columns(self.model,
                                                                             self.day)]
        if not self.columns:
            raise InputError("the chosen outputs give no columns for this model (no target "
                             "genes for knockdown?)", field="--outputs",
                             value=",".join(self.outputs), accepted=sorted(OUTPUTS))
        needs = {n for f in self.families for n in OUTPUTS[f].needs}
        if "comparator" in needs:
            if self.comparator is None:
                raise InputError("the 'difference' output needs a comparator design",
                                 field="--outputs", value="difference",
                                 accepted="outcome, gain, knockdown, exposure")
            self.scenarios["comparator"] = (self.comparator, {})
        if "untreated" in needs and "untreated" not in self.scenarios:
            from exomir.body.model import build_model

            self.scenarios["untreated"] = (build_model(untreated_spec(self.model.spec)), {})
        if "mechanisms" in needs:  # the 8 switch combinations of the same model
            enabled = [self.model.table.value(f"mech_{m}") > 0 for m in MECHANISMS]
            for c in coalitions():
                if all(bool(c[i]) == enabled[i] for i in range(3)):
                    continue  # the treated run itself
                sw = {f"mech_{m}": float(c[i] and enabled[i]) for i, m in enumerate(MECHANISMS)}
                self.scenarios.setdefault(f"mechanisms_{''.join(map(str, c))}",
                                          (self.model, sw))
        self.times = np.unique(np.concatenate([default_times(self.model.days), [self.day]]))

    @property
    def noise(self) -> float:
        """Relative spread of an output below which it counts as constant (solver noise):
        10 x rtol. Parameters acting only downstream still change the adaptive steps."""
        return 10.0 * self.rtol

    def _run(self, model: Any, X: np.ndarray, threads: int | None,
             extra: Mapping[str, float] | None = None) -> Any:
        from exomir.body.simulate import simulate

        ov: dict[str, Any] = {n: X[:, i] for i, n in enumerate(self.names)}
        ov.update(extra or {})
        try:
            return simulate(model, len(X), variability=False, overrides=ov, times=self.times,
                            rtol=self.rtol, engine=self.engine,  # type: ignore[arg-type]
                            threads=threads)
        except (RuntimeError, InputError) as exc:
            if isinstance(exc, InputError) and "underflow" not in str(exc):
                raise
            raise ModelFailure(_failure(exc, X, self.names)) from None

    def evaluate(self, X: np.ndarray, threads: int | None = None) -> np.ndarray:
        X = np.atleast_2d(np.asarray(X, dtype=float))
        if len(X) == 0:
            return np.empty((0, len(self.columns)))
        ctx = OutputContext(self.model, float(self.day or 0.0) + 0.0,
                            self._run(self.model, X, threads))
        for name, (model, extra) in self.scenarios.items():
            ctx.scenarios[name] = self._run(model, X, threads, extra)
        vals: dict[str, np.ndarray] = {}
        for f in self.families:
            vals.update(OUTPUTS[f].compute(ctx))
        return np.column_stack([vals[c.name] for c in self.columns])

    def warm(self) -> None:
        """Compile (or load from the on-disk cache) the kernels once in this process."""
        X = np.array([[self.model.table.value(n) for n in self.names]]).reshape(1, -1)
        self.evaluate(X, threads=1)

    @property
    def simulations_per_row(self) -> int:
        return 1 + len(self.scenarios)

    def token(self) -> str:
        return _token((self.model.spec.model_dump_json(), self.names, self.families, self.day,
                       self.rtol, self.engine, [p.value for p in self.model.table],
                       sorted(self.scenarios), self.comparator is not None))


def _failure(exc: Exception, X: np.ndarray, names: Sequence[str]) -> str:
    import re

    m = re.search(r"subject (\d+)", str(exc))
    if not m:
        return f"the body model failed on a chunk of samples: {exc}"
    row = X[int(m.group(1))]
    vals = ", ".join(f"{n}={v:.4g}" for n, v in zip(names, row, strict=True))
    return f"the body model failed for a sample ({exc}); its parameters: {vals}"
