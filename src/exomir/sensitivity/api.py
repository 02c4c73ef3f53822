"""One call from a therapy spec to a finished analysis (what the CLI and the design report use).

    from exomir.sensitivity import analyze_spec, uncertainty_bands
    res = analyze_spec("examples/diabetic_wound_hydrogel.yaml", method="sobol", n=512)
    res.top("wound_closure_pct_day14")
    unc = uncertainty_bands(model_or_spec, n_draws=200)
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

from exomir.sensitivity.analysis import Progress, run_sensitivity
from exomir.sensitivity.engine import DEFAULT_CHUNK, Engine, get_engine
from exomir.sensitivity.evaluate import DEFAULT_OUTPUTS, BodyEvaluator
from exomir.sensitivity.problem import SensitivityProblem
from exomir.sensitivity.result import SensitivityResult


def load_model(spec: Any, release: Any = None) -> Any:
    """A BodyModel from a spec file path, a BodySpec or a BodyModel (built once)."""
    from exomir.body.model import BodyModel, build_model
    from exomir.body.spec import BodySpec, load_spec

    if isinstance(spec, BodyModel):
        return spec
    if isinstance(spec, str | Path):
        spec = load_spec(spec)
    if not isinstance(spec, BodySpec):
        raise TypeError(f"expected a spec path, BodySpec or BodyModel, got {type(spec)}")
    return build_model(spec, release)


def analyze_spec(
    spec: Any,
    *,
    method: str = "sobol",
    n: int = 512,
    outputs: Sequence[str] = DEFAULT_OUTPUTS,
    day: float | None = None,
    groups: Sequence[str] | None = None,
    names: Sequence[str] | None = None,
    by: Literal["parameter", "group"] = "parameter",
    calibration: Any = None,
    scheduler: Any = None,
    engine: Engine | None = None,
    seed: int = 0,
    second_order: bool = True,
    convergence: bool = True,
    screen_inert: bool = True,
    chunk_size: int = DEFAULT_CHUNK,
    rtol: float = 1e-5,
    release: Any = None,
    comparator: Any = None,
    progress: Progress | None = None,
) -> SensitivityResult:
    """Global sensitivity of a therapy's outputs to every uncertain parameter (or the chosen
    ``groups``/``names``). ``scheduler``: a Dask address (else ``$EXOMIR_DASK_SCHEDULER``,
    else local); ``comparator``: another design (spec path, BodySpec, BodyModel or a
    ``(spec, release)`` pair) for the ``difference`` output."""
    model = load_model(spec, release)
    if calibration is None:  # the spec's own calibrated-parameter file, if it names one
        calibration = getattr(model.spec.body, "calibration", None)
    problem = SensitivityProblem.from_table(model.table, groups=groups, names=names,
                                            calibration=calibration,
                                            source=f"parameter table of '{model.spec.therapy.name}'")
    comp = None if comparator is None else (
        load_model(*comparator) if isinstance(comparator, tuple) else load_model(comparator))
    ev = BodyEvaluator(model, problem.names, tuple(outputs), day=day, rtol=rtol,
                       comparator=comp)
    own = engine is None
    eng = engine or get_engine(scheduler)
    try:
        return run_sensitivity(
            problem, ev, method=method, n=n, seed=seed, by=by, second_order=second_order,
            engine=eng, chunk_size=chunk_size, convergence=convergence,
            screen_inert=screen_inert, progress=progress,
            model_info={"name": model.spec.therapy.name,
                        "indication": model.spec.therapy.indication.value,
                        "species": model.spec.therapy.subject.species.value
                        if model.spec.therapy.subject.species else "mouse",
                        "day": ev.day, "rtol": rtol})
    finally:
        if own:
            eng.close()
