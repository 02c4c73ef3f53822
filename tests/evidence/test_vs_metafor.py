"""exomir.evidence against metafor itself (one batched Rscript run; see rref.py).

Agreement required by the issue: 1e-6 relative on estimates, SEs, tau^2, Q, I^2 (and the other
point quantities); 1e-4 relative on interval bounds. tau^2 values at the boundary get an
absolute tolerance because metafor's Fisher scoring approaches 0 by step halving.
"""

from __future__ import annotations

import os
import pickle
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from exomir.evidence import analysis
from exomir.evidence.effects import escalc
from exomir.evidence.meta import rma

from .rref import METHODS, TESTS, random_datasets, run_reference

pytestmark = pytest.mark.reference

_CACHE: dict[str, tuple[dict[str, np.ndarray], dict[str, pd.DataFrame]]] = {}
DEVIATIONS: dict[str, float] = {}


@pytest.fixture
def ref(rscript: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, np.ndarray]:
    if "ref" not in _CACHE:
        cache = os.environ.get("EXOMIR_METAFOR_CACHE")  # developer speed-up: a pickled run
        if cache and Path(cache).is_file():
            with open(cache, "rb") as fh:
                _CACHE["ref"] = pickle.load(fh)
        else:
            _CACHE["ref"] = run_reference(rscript, Path(tmp_path_factory.mktemp("metafor")))
    return _CACHE["ref"][0]


RANDOM = random_datasets()
DATASETS = (
    [f"bcg.{m}" for m in ("RR", "OR", "RD")]
    + [f"normand.{m}" for m in ("SMD", "MD", "ROM")]
    + ["curtis.ROM", "curtis.SMD", "hackshaw.GEN"]
    + [f"yusuf.{m}" for m in ("OR", "RR", "RD")]
    + [f"{n}.{m}" for n in RANDOM if n.startswith("cont") for m in ("SMD", "MD", "ROM")]
    + [f"{n}.{m}" for n in RANDOM if n.startswith("bin") for m in ("RR", "OR", "RD")]
    + [f"{n}.GEN" for n in RANDOM if n.startswith("gen")]
)


def _data(ref: dict[str, np.ndarray], name: str) -> dict[str, np.ndarray]:
    return {k.split("|")[2]: v for k, v in ref.items() if k.startswith(f"data|{name}|")}


def effect_sizes(ref: dict[str, np.ndarray], ds: str) -> pd.DataFrame:
    """exomir's own yi/vi for a dataset, computed from the raw data."""
    name, measure = ds.rsplit(".", 1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if name == "bcg":
            d = _data(ref, "bcg")
            return escalc(measure, ai=d["tpos"], bi=d["tneg"], ci=d["cpos"], di=d["cneg"])
        if name == "yusuf":
            d = _data(ref, "yusuf")
            return escalc(measure, ai=d["ai"], bi=d["n1i"] - d["ai"], ci=d["ci"],
                          di=d["n2i"] - d["ci"])
        if name in ("normand", "curtis"):
            return escalc(measure, **_data(ref, name))
        if name == "hackshaw":
            d = _data(ref, "hackshaw")
            return escalc("GEN", yi=d["yi"], vi=d["vi"])
        return escalc(measure, RANDOM[name])


def close(name: str, got: float | np.ndarray | None, want: np.ndarray, rtol: float,
          atol: float = 1e-12) -> None:
    g = np.atleast_1d(np.asarray(got, dtype=float))
    w = np.atleast_1d(want)
    assert g.shape == w.shape, f"{name}: shape {g.shape} vs {w.shape}"
    both_nan = np.isnan(g) & np.isnan(w)
    dev = np.where(both_nan, 0.0, np.abs(g - w) / np.maximum(np.abs(w), atol / rtol))
    kind = name.rsplit("|", 1)[-1]
    DEVIATIONS[kind] = max(DEVIATIONS.get(kind, 0.0), float(np.nanmax(dev)) if dev.size else 0)
    np.testing.assert_allclose(g, w, rtol=rtol, atol=atol, err_msg=name)


@pytest.mark.parametrize("ds", DATASETS)
def test_escalc_matches_metafor(ref: dict[str, np.ndarray], ds: str) -> None:
    es = effect_sizes(ref, ds)
    want_y = ref[f"{ds}|yi"]
    want_v = ref[f"{ds}|vi"]
    keep = ~np.isnan(want_y)
    close(f"{ds}|escalc.yi", es["yi"].to_numpy(), want_y[keep], 1e-9)
    close(f"{ds}|escalc.vi", es["vi"].to_numpy(), want_v[keep], 1e-9)


def _tau_atol(yi: np.ndarray) -> float:
    return 1e-9 * max(1.0, float(np.var(yi)))


@pytest.mark.parametrize("ds", DATASETS)
@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("test", TESTS)
def test_rma_matches_metafor(ref: dict[str, np.ndarray], ds: str, method: str,
                             test: str) -> None:
    es = effect_sizes(ref, ds)
    key = f"{ds}|{method}|{test}"
    if f"{key}|beta" not in ref:
        pytest.fail(f"metafor produced no result for {key}")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = rma(es["yi"], es["vi"], method=method, test=test)
    ta = _tau_atol(r.yi)
    scale = float(np.sqrt(max(np.var(r.yi), 1e-12)))
    close(f"{key}|tau2", r.tau2, ref[f"{key}|tau2"], 1e-6, ta)
    close(f"{key}|beta", r.estimate, ref[f"{key}|beta"], 1e-6, 1e-9 * scale)
    close(f"{key}|se", r.se, ref[f"{key}|se"], 1e-6, 1e-12)
    close(f"{key}|zval", r.zval, ref[f"{key}|zval"], 1e-6, 1e-8)
    close(f"{key}|pval", r.pval, ref[f"{key}|pval"], 1e-6, 1e-12)
    close(f"{key}|QE", r.q, ref[f"{key}|QE"], 1e-6, 1e-10)
    close(f"{key}|QEp", r.q_pval, ref[f"{key}|QEp"], 1e-6, 1e-12)
    close(f"{key}|I2", r.i2, ref[f"{key}|I2"], 1e-6, 1e-6)
    close(f"{key}|H2", r.h2, ref[f"{key}|H2"], 1e-6, 1e-8)
    for q, got in (("ci.lb", r.ci_lb), ("ci.ub", r.ci_ub), ("pi.lb", r.pi_lb),
                   ("pi.ub", r.pi_ub)):
        want = ref[f"{key}|{q}"]
        if want.size == 0:  # metafor gives no PI for FE models; exomir's equals the CI there
            want = ref[f"{key}|{q.replace('pi', 'ci')}"]
        close(f"{key}|{q}", got, want, 1e-4, 1e-8 * scale)
    if f"{key}|tau2ci" in ref:
        close(f"{key}|tau2ci", [r.tau2_ci_lb, r.tau2_ci_ub], ref[f"{key}|tau2ci"], 1e-4, ta)


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("test", TESTS)
def test_meta_regression_and_moderators_match_metafor(ref: dict[str, np.ndarray], method: str,
                                                      test: str) -> None:
    es = effect_sizes(ref, "bcg.RR")
    d = _data(ref, "bcg")
    es["ablat"] = d["ablat"]
    es["year"] = d["year"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = analysis.meta_regression(es, ["ablat", "year"], method=method, test=test)
    key = f"bcg.RR.mreg|{method}|{test}"
    close(f"{key}|beta", r.beta, ref[f"{key}|beta"], 1e-6, 1e-10)
    close(f"{key}|se", r.se_beta, ref[f"{key}|se"], 1e-6)
    close(f"{key}|tau2", r.tau2, ref[f"{key}|tau2"], 1e-6, 1e-9)
    close(f"{key}|QM", r.qm, ref[f"{key}|QM"], 1e-6)
    close(f"{key}|QMp", r.qm_pval, ref[f"{key}|QMp"], 1e-6, 1e-12)
    close(f"{key}|QE", r.q, ref[f"{key}|QE"], 1e-6)
    close(f"{key}|I2", r.i2, ref[f"{key}|I2"], 1e-6, 1e-6)
    close(f"{key}|ci.lb", r.ci_lbs, ref[f"{key}|ci.lb"], 1e-4, 1e-10)

    alloc = [str(int(a)) for a in d["alloc"]]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m = analysis.moderator_test(es["yi"], es["vi"], alloc, method=method, test=test)
        sg = analysis.subgroups(es["yi"], es["vi"], alloc, method=method, test=test)
    key = f"bcg.RR.alloc|{method}|{test}"
    close(f"{key}|QM", m.qm, ref[f"{key}|QM"], 1e-6)
    close(f"{key}|QMp", m.qm_pval, ref[f"{key}|QMp"], 1e-6, 1e-12)
    close(f"{key}|beta", m.beta, ref[f"{key}|beta"], 1e-6, 1e-10)
    close(f"{key}|sub.beta", [g.estimate for g in sg.groups.values()], ref[f"{key}|sub.beta"],
          1e-6)
    close(f"{key}|sub.tau2", [g.tau2 for g in sg.groups.values()], ref[f"{key}|sub.tau2"],
          1e-6, 1e-9)
    close(f"{key}|sub.QM", [sg.q_between, sg.q_between_pval], ref[f"{key}|sub.QM"], 1e-6,
          1e-12)


MREG = [n for n, df in RANDOM.items() if n.startswith("gen") and len(df) >= 5]


@pytest.mark.parametrize("ds", MREG)
@pytest.mark.parametrize("method", ("REML", "DL", "FE"))
@pytest.mark.parametrize("test", TESTS)
def test_random_meta_regressions_match_metafor(ref: dict[str, np.ndarray], ds: str, method: str,
                                               test: str) -> None:
    df = RANDOM[ds]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = analysis.meta_regression(df, ["x1", "x2"], method=method, test=test)
    key = f"{ds}|mreg|{method}|{test}"
    close(f"{key}|beta", r.beta, ref[f"{key}|beta"], 1e-6, 1e-9)
    close(f"{key}|se", r.se_beta, ref[f"{key}|se"], 1e-6)
    close(f"{key}|tau2", r.tau2, ref[f"{key}|tau2"], 1e-6, 1e-9)
    close(f"{key}|QM", r.qm, ref[f"{key}|QM"], 1e-6, 1e-10)
    close(f"{key}|QE", r.q, ref[f"{key}|QE"], 1e-6)


EXTRAS = (
    [("bcg.RR", "REML"), ("bcg.RR", "DL"), ("hackshaw.GEN", "REML"), ("hackshaw.GEN", "FE")]
    + [(f"{n}.SMD", "REML") for n, df in RANDOM.items()
       if n.startswith("cont") and 3 <= len(df) <= 40]
    + [(f"{n}.GEN", m) for n, df in RANDOM.items() if n.startswith("gen") and 3 <= len(df) <= 40
       for m in ("REML", "PM")]
)


def _year(ref: dict[str, np.ndarray], ds: str) -> np.ndarray:
    name = ds.rsplit(".", 1)[0]
    if name in ("bcg", "hackshaw"):
        return _data(ref, name)["year"]
    return RANDOM[name]["year"].to_numpy(dtype=float)


@pytest.mark.parametrize(("ds", "method"), EXTRAS)
def test_sensitivity_and_small_study_match_metafor(ref: dict[str, np.ndarray], ds: str,
                                                   method: str) -> None:
    es = effect_sizes(ref, ds)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = rma(es["yi"], es["vi"], method=method)
        l1 = analysis.leave1out(r)
        cu = analysis.cumulative(r, _year(ref, ds))
        key = f"{ds}|{method}"
        ta = _tau_atol(r.yi)
        close(f"{key}|l1o.estimate", l1["estimate"], ref[f"{key}|l1o.estimate"], 1e-6, 1e-10)
        close(f"{key}|l1o.se", l1["se"], ref[f"{key}|l1o.se"], 1e-6)
        if method != "FE":  # metafor omits tau2 from FE leave1out/cumul; exomir's is 0
            close(f"{key}|l1o.tau2", l1["tau2"], ref[f"{key}|l1o.tau2"], 1e-6, ta)
            close(f"{key}|cumul.tau2", cu["tau2"], ref[f"{key}|cumul.tau2"], 1e-6, ta)
        else:
            assert (l1["tau2"] == 0).all() and (cu["tau2"] == 0).all()
        close(f"{key}|l1o.I2", l1["i2"], ref[f"{key}|l1o.I2"], 1e-6, 1e-6)
        close(f"{key}|l1o.Q", l1["q"], ref[f"{key}|l1o.Q"], 1e-6)
        close(f"{key}|l1o.ci.lb", l1["ci_lb"], ref[f"{key}|l1o.ci.lb"], 1e-4, 1e-10)
        close(f"{key}|cumul.estimate", cu["estimate"], ref[f"{key}|cumul.estimate"], 1e-6,
              1e-10)
        close(f"{key}|cumul.se", cu["se"], ref[f"{key}|cumul.se"], 1e-6)
        eg = analysis.egger(r)
        close(f"{key}|egger", [eg.statistic, eg.pval, eg.estimate, eg.ci_lb, eg.ci_ub],
              ref[f"{key}|egger"], 1e-6, 1e-10)
        bg = analysis.begg(r)
        close(f"{key}|begg", [bg.statistic, bg.pval], ref[f"{key}|begg"], 1e-6, 1e-12)
        if f"{key}|tf.k0" in ref:
            tf = analysis.trimfill(r)
            assert tf.k0 == int(ref[f"{key}|tf.k0"][0]), key
            close(f"{key}|tf.fit", [tf.fit.estimate, tf.fit.se, tf.fit.tau2, tf.fit.q],
                  ref[f"{key}|tf.fit"], 1e-6, ta)
            if tf.k0:
                close(f"{key}|tf.yi", tf.filled_yi, ref[f"{key}|tf.yi"], 1e-6, 1e-10)
                close(f"{key}|tf.vi", tf.filled_vi, ref[f"{key}|tf.vi"], 1e-9)


def test_zz_report_max_deviation(ref: dict[str, np.ndarray]) -> None:
    """Prints the largest relative deviation per quantity (run with -s to see it)."""
    assert DEVIATIONS, "the comparisons above ran"
    for k in sorted(DEVIATIONS):
        print(f"max rel dev {k:16s} {DEVIATIONS[k]:.2e}")
