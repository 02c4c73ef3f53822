"""The compiled engine (exomir.body.kernel) against the numpy engine, itself and the release
library.

Independent references for the compiled engine are scipy's Radau (test_solver.py) and
libRoadRunner (test_sbml_roadrunner.py, which runs both engines); here: (1) the infix
translator reproduces every release model of ``exomir.release`` (the formula the SBML export
uses) against the model's own numpy ``fraction_released``; (2) the two engines agree; (3) a
subject's trajectory does not depend on the batch or on the number of threads; (4) a release
formula that cannot be compiled, or compiles to something else, never runs silently.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from exomir.body import build_model, simulate
from exomir.body.kernel import KernelUnavailable, translate_infix
from exomir.core import InputError
from exomir.release.models import MODELS
from exomir.release.profile import from_model

from .helpers import make_spec


def _profile(name: str, tc: float, fend: float):  # type: ignore[no-untyped-def]
    model = MODELS[name]
    params = {p.name: min(max(p.guess(tc, fend), p.lower), p.upper) for p in model.params}
    if "tlag" in params:
        params["tlag"] = 0.3 * tc
    if "F0" in params:
        params["F0"] = 0.1
    if "Fmax" in params:
        params["Fmax"] = 0.9
    return from_model(model, params, stability_loss_per_day=0.1)


@pytest.mark.parametrize("name", sorted(MODELS))
def test_translated_release_formula_equals_fraction_released(name: str) -> None:
    """Every release model's SBML infix, translated, evaluates to its numpy F(t)."""
    prof = _profile(name, tc=4.0, fend=0.8)
    expr = translate_infix(prof.sbml_infix("tau_x"), "tau_x")
    f = eval(f"lambda x: {expr}", {"math": math})  # the generated text, run by Python
    t = np.concatenate([[0.0, 1e-4, 2e-4], np.geomspace(1e-3, 60.0, 80)])
    got = np.array([float(f(float(x))) for x in t])
    np.testing.assert_allclose(got, prof.fraction_released(t), rtol=1e-9, atol=1e-12)


@settings(max_examples=40, deadline=None)
@given(tc=st.floats(0.2, 40.0), fend=st.floats(0.2, 0.99),
       name=st.sampled_from(["weibull", "first_order", "korsmeyer_peppas", "hixson_crowell",
                             "baker_lonsdale", "gompertz", "logistic", "hopfenberg_tlag"]))
def test_translation_property(tc: float, fend: float, name: str) -> None:
    prof = _profile(name, tc, fend)
    f = eval(f"lambda x: {translate_infix(prof.sbml_infix('tau_x'), 'tau_x')}", {"math": math})
    t = np.linspace(0.0, 5 * tc, 50)
    np.testing.assert_allclose([float(f(float(x))) for x in t], prof.fraction_released(t),
                               rtol=1e-9, atol=1e-12)


def test_translator_rejects_unknown_names_and_functions() -> None:
    with pytest.raises(KernelUnavailable, match="unknown name"):
        translate_infix("k * tau_x", "tau_x")
    with pytest.raises(KernelUnavailable, match="not supported"):
        translate_infix("delay(tau_x, 1)", "tau_x")


ENGINE_CASES = [
    dict(route="hydrogel", dose=1e10, times=[0, 7, 14],
         body={"targets": [{"gene": "PTEN", "log2fc": -0.8}], "copies_per_vesicle": 50}),
    dict(indication="neuropathic_pain", route="intrathecal", dose=1e10, times=[1, 8],
         species="rat", body={"targets": [{"gene": "IRAK1", "max_repression": 0.4},
                                          {"gene": "TLR4", "log2fc": -0.5}]}),
    dict(indication="neuropathic_pain", route="intranasal", dose=1e10, ligand="RVG",
         times=[0, 3]),
    dict(route="intravenous", dose=5e11, days=9.0, times=[0, 7],
         cargo=[{"kind": "mirna", "name": "hsa-miR-146a-5p", "copies_per_vesicle": 300},
                {"kind": "mirna", "name": "hsa-miR-21-5p", "copies_per_vesicle": 100}],
         body={"targets": [{"gene": "IRAK1", "mirna": "hsa-miR-146a-5p", "log2fc": -0.7},
                           {"gene": "PTEN", "mirna": "hsa-miR-21-5p", "max_repression": 0.4},
                           {"gene": "PTEN", "mirna": "hsa-miR-146a-5p",
                            "max_repression": 0.2}]}),
    dict(route="microneedle", dose=2e10, disease="db/db diabetic", times=[0, 10],
         body={"targets": [{"gene": "IRAK1", "max_repression": 0.3}]}),
]


@pytest.mark.parametrize("kw", ENGINE_CASES, ids=[c["route"] for c in ENGINE_CASES])
def test_compiled_and_numpy_engines_agree(kw: dict) -> None:  # type: ignore[type-arg]
    """Same method, Jacobian and tolerance; the compiled engine steps per subject, the numpy
    engine with a shared step, so they agree to the accumulated integration error (rtol 1e-9
    here; required 1e-5 relative on values above 1e-6 of each state's maximum, where the
    absolute tolerance 1e-13 x dose starts to matter; observed up to ~1.2e-6)."""
    model = build_model(make_spec(**kw))
    ts = np.linspace(0.0, model.days, 57)
    a = simulate(model, 8, seed=3, times=ts, rtol=1e-9, atol=1e-13, engine="compiled")
    b = simulate(model, 8, seed=3, times=ts, rtol=1e-9, atol=1e-13, engine="numpy")
    assert a.stats.engine == "compiled" and b.stats.engine == "numpy"
    floor = 1e-6 * np.abs(b.Y).max(axis=2, keepdims=True)
    mask = np.abs(b.Y) > np.maximum(floor, 1e-300)
    rel = np.abs(a.Y[mask] - b.Y[mask]) / np.abs(b.Y[mask])
    assert rel.max() < 1e-5, rel.max()


def test_subject_result_independent_of_batch_and_threads() -> None:
    spec = make_spec(route="hydrogel", dose=1e10, times=[0, 7], days=14,
                     body={"targets": [{"gene": "PTEN", "log2fc": -0.7}],
                           "copies_per_vesicle": 20})
    ts = np.linspace(0, 14, 29)
    batch = simulate(spec, 40, seed=11, times=ts, engine="compiled")
    serial = simulate(spec, 40, seed=11, times=ts, engine="compiled", threads=1)
    np.testing.assert_array_equal(batch.Y, serial.Y)
    for k in (0, 29):
        vals = {p.name: batch.params[p.name][k] for p in batch.model.table}
        one = simulate(spec, 1, variability=False, overrides=vals, times=ts, engine="compiled")
        np.testing.assert_array_equal(one.Y[0], batch.Y[k])
    assert batch.stats.mean_steps <= batch.stats.steps


@dataclass
class _OddRelease:
    """A release profile whose SBML formula the compiled engine cannot (or must not) use."""

    infix: str
    stability_loss_per_day: float = 0.1
    name: str = "odd"

    def fraction_released(self, t_days: object) -> np.ndarray:
        t = np.maximum(np.asarray(t_days, dtype=float), 0.0)
        return np.asarray(1.0 - np.exp(-t / 3.0))

    def sbml_infix(self, t: str = "t") -> str:
        return self.infix.replace("T", t)


def test_untranslatable_release_falls_back_loudly() -> None:
    spec = make_spec(route="hydrogel", dose=1e10, days=5)
    rel = _OddRelease("1 - exp(-(T) / k_unknown)")
    with pytest.raises(KernelUnavailable):
        simulate(spec, 2, engine="compiled", release=rel)
    with pytest.warns(RuntimeWarning, match="numpy engine"):
        res = simulate(spec, 2, engine="auto", release=rel)
    assert res.stats.engine == "numpy"


def test_release_formula_that_disagrees_with_its_profile_is_refused() -> None:
    spec = make_spec(route="hydrogel", dose=1e10, days=5)
    wrong = _OddRelease("1 - exp(-(T) / 4)")  # fraction_released uses 3 days
    with pytest.raises(KernelUnavailable, match="differs from fraction_released"):
        simulate(spec, 1, engine="compiled", release=wrong)
    right = _OddRelease("1 - exp(-(T) / 3)")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert simulate(spec, 1, release=right).stats.engine == "compiled"


def test_unknown_engine_is_an_input_error() -> None:
    with pytest.raises(InputError, match="engine"):
        simulate(make_spec(), 1, engine="fortran")  # type: ignore[arg-type]
