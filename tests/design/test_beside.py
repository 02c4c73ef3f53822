"""The global sensitivity run beside the later sections (a forked child) changes no number of
the design report, and a failing or unpicklable step falls back to a serial run."""

from __future__ import annotations

import os
import re
import warnings
from typing import Any

import pytest

from exomir.design.beside import Beside
from exomir.design.spec import GlobalSettings, example_spec

TIMING_KEYS = {"wall_s", "eval_s", "warm_s"}


def _without_timings(x: Any) -> Any:
    if isinstance(x, dict):
        return {k: _without_timings(v) for k, v in x.items()
                if k not in TIMING_KEYS and k != "generated"}
    if isinstance(x, list):
        return [_without_timings(v) for v in x]
    if isinstance(x, str):
        return re.sub(r"threads in [0-9.]+ s", "threads in <t> s", x)
    return x


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_concurrent_design_report_equals_the_serial_one() -> None:
    from exomir.design import run_design
    from exomir.kb import embedded

    spec = example_spec("diabetic_wound").model_copy(update={
        "subjects": 12, "dose_response_points": 3, "dose_response_subjects": 4,
        "sensitivity_settings": GlobalSettings(method="sobol", n=16, uncertainty_draws=8,
                                               uncertainty_subjects=4)})
    serial = run_design(spec, kb=embedded()).report.to_json()
    beside = run_design(spec, kb=embedded(), concurrent=True).report.to_json()
    a, b = _without_timings(serial), _without_timings(beside)
    assert a == b
    glob = next(s for s in b["sections"] if s["title"] == "Global sensitivity and uncertainty")
    assert glob["data"]["simulations"] > 0  # the sensitivity did run (in the child)


def _warns_then(value: int) -> int:
    warnings.warn("first", UserWarning, stacklevel=1)
    warnings.warn("second", UserWarning, stacklevel=1)
    return value * 2


def _pid() -> int:
    return os.getpid()


def _fails() -> None:
    raise ValueError("bad step")


def test_result_and_warnings_come_back_in_order() -> None:
    value, rec = Beside(_warns_then, 21).result()
    assert value == 42
    assert [m for m, _ in rec] == ["first", "second"]
    assert all(c is UserWarning for _, c in rec)


@pytest.mark.skipif(not hasattr(os, "fork") or (os.cpu_count() or 1) < 2,
                    reason="runs in a child only with fork and 2+ CPUs")
def test_the_step_runs_in_another_process() -> None:
    pid, _ = Beside(_pid).result()
    assert pid != os.getpid()


def test_a_failing_step_raises_in_the_caller() -> None:
    with pytest.raises(ValueError, match="bad step"):
        Beside(_fails).result()


def test_an_unpicklable_result_falls_back_to_a_serial_run() -> None:
    value, _ = Beside(lambda: (lambda: 7)).result()  # a lambda does not pickle
    assert value() == 7


def test_discard_waits_for_the_child() -> None:
    b = Beside(_warns_then, 1)
    b.discard()
    value, _ = b.result()  # nothing pending any more: computed here
    assert value == 2
