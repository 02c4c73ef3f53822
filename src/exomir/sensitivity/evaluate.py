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

@dataclass
class OutputContext:
    """What an output family reads for one chunk: the results and the outcome day."""

    model: Any  # BodyModel
    day: float
    treated: Any  # body Result
    scenarios: dict[str, Any] = field(default_factory=dict)  # name -> body Result

    def outcome_key(self) -> str:
        return outcome_observable(self.model)

    def outcome(self, res: Any) -> np.ndarray:
        obs = res.observables()[self.outcome_key()]
        return np.array([np.interp(self.day, res.times, row) for row in obs])


@dataclass(frozen=True)
class OutputFamily:
    key: str
    description: str
    needs: tuple[str, ...]  # other scenarios it reads: "untreated", "comparator"
    columns: Callable[[Any, float], list[Column]]
    compute: Callable[[OutputContext], dict[str, np.ndarray]]


OUTPUTS: dict[str, OutputFamily] = {}


def register_output(family: OutputFamily) -> OutputFamily:
    """Add an output family (e.g. the mechanism attribution shares)."""
    OUTPUTS[family.key] = family
    return family


def outcome_observable(model: Any) -> str:
    return "wound_closure_pct" if model.outcome == "wound_closure" else \
        "paw_withdrawal_threshold_g"


def _outcome_unit(model: Any) -> tuple[str, str]:
    if model.outcome == "wound_closure":
        return "%", "wound closure"
    return "g", "paw withdrawal threshold"


def _outcome_columns(model: Any, day: float) -> list[Column]:
    unit, label = _outcome_unit(model)
    return [Column(f"{outcome_observable(model)}_day{day:g}", unit, f"{label} at day {day:g}",
                   "outcome")]


def _outcome(ctx: OutputContext) -> dict[str, np.ndarray]:
    (col,) = _outcome_columns(ctx.model, ctx.day)
    return {col.name: ctx.outcome(ctx.treated)}


def _gain_columns(model: Any, day: float) -> list[Column]:
    unit, label = _outcome_unit(model)
    return [Column(f"gain_{outcome_observable(model)}_day{day:g}",
                   "percentage points" if unit == "%" else unit,
                   f"gain in {label} over untreated, day {day:g}", "gain")]


def _gain(ctx: OutputContext) -> dict[str, np.ndarray]:
    (col,) = _gain_columns(ctx.model, ctx.day)
    return {col.name: ctx.outcome(ctx.treated) - ctx.outcome(ctx.scenarios["untreated"])}


def _diff_columns(model: Any, day: float) -> list[Column]:
    unit, label = _outcome_unit(model)
    return [Column(f"difference_{outcome_observable(model)}_day{day:g}",
                   "percentage points" if unit == "%" else unit,
                   f"{label} minus the comparator's, day {day:g}", "difference")]


def _diff(ctx: OutputContext) -> dict[str, np.ndarray]:
    (col,) = _diff_columns(ctx.model, ctx.day)
    return {col.name: ctx.outcome(ctx.treated) - ctx.outcome(ctx.scenarios["comparator"])}


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
DEFAULT_OUTPUTS = ("outcome", "gain", "knockdown", "exposure")


def default_day(model: Any) -> float:
    """Headline day: 14 for the wound (closure), 21 for pain (the design report's default)."""
    day = 14.0 if model.outcome == "wound_closure" else 21.0
    return min(day, float(model.days))


def untreated_spec(spec: Any) -> Any:
    """The same subject without treatment: dose 0 and no vehicle (intravenous route)."""
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
    scenarios: dict[str, Any] = field(default_factory=dict)  # name -> BodyModel
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
        if not 0 <= self.day <= self.model.days:
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
            self.scenarios["comparator"] = self.comparator
        if "untreated" in needs and "untreated" not in self.scenarios:
            from exomir.body.model import build_model

            self.scenarios["untreated"] = build_model(untreated_spec(self.model.spec))
        self.times = np.unique(np.concatenate([default_times(self.model.days), [self.day]]))

    @property
    def noise(self) -> float:
        """Relative spread of an output below which it counts as constant (solver noise):
        10 x rtol. Parameters acting only downstream still change the adaptive steps."""
        return 10.0 * self.rtol

    def _run(self, model: Any, X: np.ndarray, threads: int | None) -> Any:
        from exomir.body.simulate import simulate

        ov = {n: X[:, i] for i, n in enumerate(self.names)}
        try:
            return simulate(model, len(X), variability=False, overrides=ov, times=self.times,
                            rtol=self.rtol, engine=self.engine,  # type: ignore[arg-type]
                            threads=threads)
        except RuntimeError as exc:
            raise ModelFailure(_failure(exc, X, self.names)) from None

    def evaluate(self, X: np.ndarray, threads: int | None = None) -> np.ndarray:
        X = np.atleast_2d(np.asarray(X, dtype=float))
        if len(X) == 0:
            return np.empty((0, len(self.columns)))
        ctx = OutputContext(self.model, float(self.day or 0.0), self._run(self.model, X, threads))
        for name, model in self.scenarios.items():
            ctx.scenarios[name] = self._run(model, X, threads)
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
                       sorted(self.scenarios)))


def _failure(exc: Exception, X: np.ndarray, names: Sequence[str]) -> str:
    import re

    m = re.search(r"subject (\d+)", str(exc))
    if not m:
        return f"the body model failed on a chunk of samples: {exc}"
    row = X[int(m.group(1))]
    vals = ", ".join(f"{n}={v:.4g}" for n, v in zip(names, row, strict=True))
    return f"the body model failed for a sample ({exc}); its parameters: {vals}"


def evaluator_for(model: Any, names: Sequence[str], outputs: Sequence[str] = DEFAULT_OUTPUTS,
                  **kw: Any) -> BodyEvaluator:
    return BodyEvaluator(model, list(names), tuple(outputs), **kw)


def columns_by_name(columns: Sequence[Column]) -> Mapping[str, Column]:
    return {c.name: c for c in columns}
