"""Meta-analysis: a CSV in metafor's columns or the knowledge base's arm-level outcomes,
pooled by ``exomir.evidence.run.meta_analysis`` (the CLI's numbers), with forest and funnel
plots from ``exomir.evidence.plots``."""

from __future__ import annotations

import threading
import uuid
from collections import Counter
from typing import Annotated, Any, Literal

from fastapi import APIRouter, File, Form, Query, Request, UploadFile

from exomir.core.errors import InputError
from exomir.web.app import AppState, get_state
from exomir.web.errors import ERRORS
from exomir.web.render import JSON, csv_response
from exomir.web.uploads import parse_upload, read_upload

router = APIRouter(prefix="/api/v1", tags=["evidence"], responses=ERRORS)
PLOT_LOCK = threading.Lock()  # matplotlib's pyplot is not thread-safe


def svg_of(state: AppState, draw: Any) -> str:
    """Call ``draw(path)`` with a fresh .svg path in the app's data folder; return the SVG."""
    path = state.settings.tmp_dir / f"{uuid.uuid4().hex}.svg"
    try:
        with PLOT_LOCK:
            draw(path)
        return path.read_text(encoding="utf-8")
    finally:
        path.unlink(missing_ok=True)


def outcomes_data(state: AppState, indication: str | None) -> dict[str, Any]:
    """Outcome measures with arm-level data in the knowledge base, with study counts."""
    from exomir.core import Indication

    ind = Indication.parse(indication, field="indication") if indication else None
    c: Counter[str] = Counter()
    for e in state.index.entries:
        s = e.study
        if ind is not None and s.indication != ind:
            continue
        c.update({o.measure for a in s.arms for o in a.outcomes})
    return {"indication": ind.value if ind else None,
            "outcomes": [{"measure": m, "studies": n} for m, n in sorted(c.items())]}


def meta_data(state: AppState, *, data: tuple[bytes, str] | None, indication: str | None,
              outcome: str | None, timepoint: float | None, impute_sd: bool, measure: str,
              method: str, knha: bool, by: str | None, mods: str | None, bias: bool,
              loo: bool, level: float, plots: bool) -> dict[str, Any]:
    from exomir.evidence import analysis
    from exomir.evidence import plots as ev_plots
    from exomir.evidence.run import kb_arm_table, meta_analysis, read_meta_csv

    if (data is None) == (not indication):
        raise InputError("give either a CSV file or an indication (with an outcome)",
                         field="file/indication", accepted="file=CSV, or indication+outcome")
    source: dict[str, Any]
    if data is not None:
        raw, name = data
        frame = parse_upload(state.settings.tmp_dir, raw, name,
                             lambda p: read_meta_csv(p, name=name))
        source = {"file": name}
    else:
        if not outcome:
            raise InputError("an indication needs an outcome (e.g. wound_closure)",
                             field="outcome", accepted=", ".join(
                                 o["measure"] for o in outcomes_data(state, indication)
                                 ["outcomes"]) or None)
        studies = [e.study for e in state.index.query({"indication": indication})]
        table = kb_arm_table(studies, outcome, timepoint=timepoint, impute_sd=impute_sd,
                             measure=measure)
        frame = table.data
        source = {"knowledge_base": True, "indication": indication, "outcome": outcome,
                  **table.report()}
    mod_list = [m.strip() for m in mods.split(",") if m.strip()] if mods else None
    run = meta_analysis(frame, measure=measure, method=method, knha=knha, by=by or None,
                        mods=mod_list, bias=bias, loo=loo, level=level)
    r = run.result
    out: dict[str, Any] = {"result": run.data, "source": source,
                           "pooled": {"estimate": r.estimate, "ci_lb": r.ci_lb,
                                      "ci_ub": r.ci_ub, "se": r.se, "k": r.k,
                                      "measure": run.measure, "method": r.method,
                                      "test": r.test},
                           "tables": {"studies": {
                               "columns": ["study", "yi", "vi", "weight"],
                               "rows": [[d["study"], d["yi"], d["vi"], d["weight"]]
                                        for d in run.data["studies"]]}},
                           "figures": {}, "notes": list(run.warnings)}
    if "small_study" in run.data:
        ss = run.data["small_study"]
        out["tables"]["small-study tests"] = {
            "columns": ["test", "statistic", "p", "detail"],
            "rows": [["Egger regression", ss["egger"].get("statistic"),
                      ss["egger"].get("pval"), ""],
                     ["Begg rank correlation", ss["begg"].get("statistic"),
                      ss["begg"].get("pval"), ""],
                     ["trim-and-fill", ss["trimfill"]["estimate"], None,
                      f"k0 = {ss['trimfill']['k0']} ({ss['trimfill']['side']})"]]}
    if plots:
        if not run.has_mods:
            out["figures"]["forest"] = svg_of(
                state, lambda p: ev_plots.forest(run.plot_result, p, measure=run.measure))
        if r.int_only:
            tf = run.trimfill or (analysis.trimfill(r) if r.k >= 3 else None)
            out["figures"]["funnel"] = svg_of(
                state, lambda p: ev_plots.funnel(r, p, trimfill=tf, measure=run.measure))
        elif run.has_mods:
            out["figures"]["bubble"] = svg_of(state, lambda p: ev_plots.bubble(r, p))
    return out


Measure = Annotated[str, Form(max_length=10, description="SMD, MD, ROM, RR, OR, RD, ...")]


@router.post("/meta", summary="Meta-analysis of an uploaded CSV or the knowledge base",
             responses={200: {"content": {"application/json": {}, "text/csv": {}}}})
def meta(request: Request,
         file: Annotated[UploadFile | None, File(description="CSV in metafor's columns "
                                                  "(m1i, sd1i, n1i, m2i, sd2i, n2i | ai, bi, "
                                                  "ci, di | yi, vi) and 'study'")] = None,
         indication: Annotated[str | None, Form(max_length=40)] = None,
         outcome: Annotated[str | None, Form(max_length=80)] = None,
         timepoint: Annotated[float | None, Form(ge=0, le=1e4)] = None,
         impute_sd: Annotated[bool, Form()] = False,
         measure: Measure = "SMD",
         method: Annotated[str, Form(max_length=6)] = "REML",
         knha: Annotated[bool, Form()] = False,
         by: Annotated[str | None, Form(max_length=80)] = None,
         mods: Annotated[str | None, Form(max_length=300)] = None,
         bias: Annotated[bool, Form()] = False,
         loo: Annotated[bool, Form()] = False,
         level: Annotated[float, Form(gt=0, lt=100)] = 95.0,
         plots: Annotated[bool, Form()] = True,
         format: Annotated[Literal["json", "csv"], Query()] = "json") -> Any:
    state = get_state(request)
    data = read_upload(file, state.settings.max_upload_bytes, required=False)
    out = meta_data(state, data=data, indication=indication or None, outcome=outcome or None,
                    timepoint=timepoint, impute_sd=impute_sd, measure=measure, method=method,
                    knha=knha, by=by, mods=mods, bias=bias, loo=loo, level=level,
                    plots=plots and format == "json")
    if format == "csv":
        return csv_response(out["result"]["studies"], "meta-studies.csv")
    return JSON(out)


@router.get("/meta/outcomes", summary="Outcome measures with arm-level data in the KB")
async def meta_outcomes(request: Request,
                        indication: Annotated[str | None, Query(max_length=40)] = None) -> Any:
    return JSON(outcomes_data(get_state(request), indication))
