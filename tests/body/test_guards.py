"""Simulator input guards (issue 17 findings that concern ``simulate``): each bad input is one
InputError naming the field and what is accepted, raised before anything is allocated; a
solver failure becomes an InputError naming the likely parameter."""

from __future__ import annotations

import math
import time
import tracemalloc
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from exomir.body import parse_spec, simulate
from exomir.cli import app
from exomir.core import InputError

from .helpers import make_spec

BASE: dict[str, Any] = {"indication": "diabetic_wound", "delivery": {"route": "hydrogel"},
                        "regimen": {"dose": {"value": 1e10, "unit": "particles"},
                                    "times_days": [0, 7]},
                        "subject": {"species": "mouse"}, "days": 28,
                        "cargo": [{"kind": "mirna", "name": "hsa-miR-21-5p",
                                   "copies_per_vesicle": 5}],
                        "body": {"targets": [{"gene": "PTEN", "log2fc": -0.6}]}}


def _with(**changes: Any) -> dict[str, Any]:
    d = {k: (dict(v) if isinstance(v, dict) else v) for k, v in BASE.items()}
    for k, v in changes.items():
        if isinstance(v, dict) and isinstance(d.get(k), dict):
            d[k] = {**d[k], **v}
        else:
            d[k] = v
    return d


@pytest.mark.parametrize(("data", "field"), [
    (_with(regimen={"dose": {"value": 1e300, "unit": "particles"}}), "regimen.dose.value"),
    (_with(regimen={"dose": {"value": "inf", "unit": "particles"}}), "regimen.dose.value"),
    (_with(regimen={"dose": {"value": 1e-320, "unit": "particles"}}), "regimen.dose.value"),
    (_with(cargo=[{"kind": "mirna", "name": "hsa-miR-21-5p", "copies_per_vesicle": 1e300}]),
     "cargo.0.copies_per_vesicle"),
    (_with(body={"copies_per_vesicle": 1e300, "targets": []}, cargo=[]),
     "body.copies_per_vesicle"),
    (_with(days=math.inf), "days"),
    (_with(days=1e300), "days"),
    (_with(days=math.nan), "days"),
    (_with(days=1e6), "days"),
    (_with(regimen={"dose": {"value": 1e10, "unit": "particles"},
                    "times_days": [i * 0.002 for i in range(10_000)]}),
     "regimen.times_days"),
    (_with(body={"targets": [{"gene": "PTEN", "log2fc": -0.6},
                             {"gene": "pten", "log2fc": -0.3}]}), "body.targets.1.gene"),
    (_with(body={"targets": [{"gene": "PTEN", "log2fc": -0.6}],
                 "parameters": {"f_escape": math.nan}}), "body.parameters.f_escape"),
    (_with(body={"targets": [{"gene": "PTEN", "log2fc": -0.6}],
                 "parameters": {"f_escape": -5.0}}), "body.parameters.f_escape"),
    (_with(body={"targets": [{"gene": "PTEN", "log2fc": -0.6}],
                 "parameters": {"f_escape": 2.0}}), "body.parameters.f_escape"),
    (_with(body={"targets": [{"gene": "PTEN", "log2fc": -0.6}],
                 "parameters": {"k_risc_load": 1e300}}), "body.parameters.k_risc_load"),
    (_with(body={"targets": [{"gene": "PTEN", "mirna": "hsa-miR-999", "log2fc": -0.6}]}),
     "body.targets.0.mirna"),
    (_with(body={"release_preset": "jelly"}), "body.release_preset"),
])
def test_bad_input_is_one_input_error(data: dict[str, Any], field: str) -> None:
    t0 = time.perf_counter()
    tracemalloc.start()
    with pytest.raises(InputError) as info:
        simulate(parse_spec(data), 2, days=1)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert info.value.field == field, info.value
    assert info.value.accepted, info.value
    assert peak < 50 * 1024**2 and time.perf_counter() - t0 < 20


@pytest.mark.parametrize(("kw", "field"), [
    ({"seed": -1}, "seed"), ({"seed": 1.5}, "seed"), ({"rtol": -1.0}, "rtol"),
    ({"rtol": 1e300}, "rtol"), ({"rtol": math.nan}, "rtol"), ({"threads": 0}, "threads"),
    ({"days": math.nan}, "days"), ({"days": math.inf}, "days"), ({"days": 1e300}, "days"),
    ({"n_subjects": 0}, "subjects"), ({"n_subjects": 10**6, "days": 3000.0}, "subjects"),
    ({"atol": 0.0}, "atol"),
])
def test_bad_run_arguments(kw: dict[str, Any], field: str) -> None:
    spec = make_spec(route="intravenous", days=3000.0 if "days" in kw else 2.0)
    n = kw.pop("n_subjects", 1)
    t0 = time.perf_counter()
    with pytest.raises(InputError) as info:
        simulate(spec, n, **kw)
    assert info.value.field == field, info.value
    assert time.perf_counter() - t0 < 10


def test_overrides_are_checked_like_spec_parameters() -> None:
    spec = make_spec(route="intravenous", days=1.0)
    with pytest.raises(InputError) as info:
        simulate(spec, 2, overrides={"f_escape": [0.01, math.nan]})
    assert info.value.field == "overrides.f_escape"
    with pytest.raises(InputError, match="unknown parameter"):
        simulate(spec, 1, overrides={"no_such": 1.0})


def test_solver_failure_names_the_likely_parameter(monkeypatch: pytest.MonkeyPatch) -> None:
    """A step-size underflow (forced here by a step floor no step can meet) becomes an
    InputError that names the input furthest from its table value."""
    import importlib

    from exomir.body import solver

    def fail(*a: Any, **k: Any) -> Any:
        raise solver.StepSizeUnderflow(0.5)

    monkeypatch.setattr(importlib.import_module("exomir.body.simulate"), "rosenbrock_batch",
                        fail)
    spec = make_spec(route="intravenous", days=1.0,
                     body={"parameters": {"k_plasma_elim": 5000.0}})
    with pytest.raises(InputError) as info:
        simulate(spec, 1, engine="numpy")
    assert info.value.field == "body.parameters.k_plasma_elim"
    assert "step size underflow" in info.value.message


def test_cli_options_are_checked(tmp_path: Path) -> None:
    p = tmp_path / "s.yaml"
    p.write_text("indication: diabetic_wound\ndelivery: {route: intravenous}\n"
                 "regimen: {dose: {value: 1e9, unit: particles}}\nsubject: {species: mouse}\n"
                 "days: 2\n", encoding="utf-8")
    runner = CliRunner()
    for args, field in ((["--rtol", "-1"], "rtol"), (["--threads", "0"], "threads"),
                        (["--seed", "-3"], "seed"), (["--days", "nan"], "days"),
                        (["--release-preset", "ha_hydrogel"], "delivery.route")):
        res = runner.invoke(app, ["simulate", str(p), "-n", "2", *args])
        assert res.exit_code == 2, (args, res.output)
        assert field in res.output, (args, res.output)
        assert "Traceback" not in res.output
