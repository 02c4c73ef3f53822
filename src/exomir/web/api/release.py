"""Release kinetics: fit an uploaded curve (ranked models with CIs and the figure), compare
two profiles (f1, f2, bootstrap CI); thin calls into ``exomir.release``."""

from __future__ import annotations

import json
import math
import warnings
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Request, UploadFile

from exomir.core.errors import InputError
from exomir.web.api.evidence import svg_of
from exomir.web.app import AppState, get_state
from exomir.web.errors import ERRORS
from exomir.web.render import JSON
from exomir.web.uploads import parse_upload, read_upload

router = APIRouter(prefix="/api/v1/release", tags=["release"], responses=ERRORS)


def _g(v: float | None) -> str:
    return "—" if v is None or not math.isfinite(v) else f"{v:.4g}"


def _read(state: AppState, data: tuple[bytes, str], time_unit: str | None, released_unit: str
          ) -> Any:
    from exomir.release.io import read_release_csv

    return parse_upload(state.settings.tmp_dir, data[0], data[1],
                        lambda p: read_release_csv(p, time_unit=time_unit or None,
                                                   released_unit=released_unit))


def fit_data(state: AppState, data: tuple[bytes, str], models: str, time_unit: str | None,
             released_unit: str, geometry: str, plot: bool) -> dict[str, Any]:
    from exomir.release.fit import KP_LIMITS, fit_models
    from exomir.release.plot import plot_fit

    if geometry not in KP_LIMITS:
        raise InputError("unknown geometry", field="geometry", value=geometry,
                         accepted=", ".join(KP_LIMITS))
    with warnings.catch_warnings(record=True) as wl:
        warnings.simplefilter("always")
        ds = _read(state, data, time_unit, released_unit)
        report = fit_models(ds, models, geometry=geometry)  # type: ignore[arg-type]
    rows = []
    for f in report.fits:
        name = f.name + (" (recommended)" if f is report.recommended else "")
        name += f" [{f.subset}]" if f.subset != "all" else ""
        rows.append([f.rank, name, "; ".join(f"{p.name} = {_g(p.value)} [{_g(p.ci_low)}, "
                                             f"{_g(p.ci_high)}]" for p in f.params),
                     f.r2, f.r2_adj, f.aicc, f.delta_aicc, f.bic])
    out: dict[str, Any] = {
        "result": {**json.loads(json.dumps(report.to_dict(), default=float)),
                   "source": data[1]},
        "recommended": report.recommended.name if report.recommended else None,
        "tables": {"ranked fits (AICc; time in days, F as fraction)": {
            "columns": ["rank", "model", "parameters ± 95% CI", "R2", "adj R2", "AICc",
                        "ΔAICc", "BIC"], "rows": rows}},
        "figures": {},
        "notes": [f"recommended: {report.recommended.name if report.recommended else 'none'}"
                  f" — {report.reason}", *ds.notes, *[f"skipped {m}: {w}" for m, w in
                                                    report.skipped],
                  *[str(w.message) for w in wl]],
    }
    if plot:
        out["figures"]["fit"] = svg_of(state, lambda p: plot_fit(report, p))
    return out


@router.post("/fit", summary="Fit release models to an uploaded curve (exomir release fit)")
def fit(request: Request,
        file: Annotated[UploadFile, File(description="CSV: time, released [, sd, replicate, "
                                                     "time_unit, released_unit]")],
        models: Annotated[str, Form(max_length=300)] = "all",
        time_unit: Annotated[str | None, Form(max_length=20)] = None,
        released_unit: Annotated[str, Form(max_length=20)] = "auto",
        geometry: Annotated[str, Form(max_length=20)] = "slab",
        plot: Annotated[bool, Form()] = True) -> Any:
    state = get_state(request)
    got = read_upload(file, state.settings.max_upload_bytes)
    assert got is not None
    return JSON(fit_data(state, got, models, time_unit, released_unit, geometry, plot))


def compare_data(state: AppState, a: tuple[bytes, str], b: tuple[bytes, str], time_unit: str | None,
                 released_unit: str, n_boot: int, seed: int) -> dict[str, Any]:
    from exomir.release.compare import compare_profiles

    ra = _read(state, a, time_unit, released_unit)
    rb = _read(state, b, time_unit, released_unit)
    cmp = compare_profiles(ra, rb, n_boot=n_boot, seed=seed)
    d = cmp.to_dict()
    ci = d.get("bootstrap_f2_ci90")
    return {"result": d,
            "tables": {"similarity": {"columns": ["quantity", "value"], "rows": [
                ["f1 (difference)", d["f1"]], ["f2 (similarity)", d["f2"]],
                ["bootstrap f2 90% CI", f"{ci[0]:.2f} – {ci[1]:.2f}" if ci else "—"],
                ["MDT reference (days)", d["mdt_reference_days"]],
                ["MDT test (days)", d["mdt_test_days"]]]},
                "f2 conditions (FDA 1997, EMA 2010)": {
                    "columns": ["condition", "passed", "detail"],
                    "rows": [[c.name, c.passed, c.detail] for c in cmp.conditions]}},
            "figures": {}, "notes": [cmp.conclusion(), *cmp.notes]}


@router.post("/compare", summary="f1, f2 and bootstrap f2 CI of two profiles")
def compare(request: Request,
            reference: Annotated[UploadFile, File(description="reference profile CSV (A)")],
            test: Annotated[UploadFile, File(description="test profile CSV (B)")],
            time_unit: Annotated[str | None, Form(max_length=20)] = None,
            released_unit: Annotated[str, Form(max_length=20)] = "auto",
            n_boot: Annotated[int, Form(ge=100, le=5000)] = 1000,
            seed: Annotated[int, Form(ge=0, le=2**31)] = 0) -> Any:
    state = get_state(request)
    lim = state.settings.max_upload_bytes
    a = read_upload(reference, lim, field="reference")
    b = read_upload(test, lim, field="test")
    assert a is not None and b is not None
    return JSON(compare_data(state, a, b, time_unit, released_unit, n_boot, seed))


@router.get("/models", summary="The release model library (exomir release models)")
async def models() -> Any:
    from exomir.release.models import MODELS

    return JSON({"models": [{"name": m.name, "label": m.label, "equation": m.equation,
                             "params": [{"name": p.name, "unit": p.unit,
                                         "bounds": [p.lower, p.upper]} for p in m.params],
                             "valid": m.valid, "reference": m.reference}
                            for m in MODELS.values()]})
