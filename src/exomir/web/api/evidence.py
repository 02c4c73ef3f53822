"""Meta-analysis: a CSV in metafor's columns or the knowledge base's arm-level outcomes, by
``exomir evidence meta``'s own code path (``exomir.evidence.run``: ``meta_analysis`` for a CSV,
``kb_meta`` for the knowledge base through the evidence gates, so the page shows what was
pooled, what was kept out and why, a single study or no pool as such, and the published
syntheses alongside), with forest and funnel plots from ``exomir.evidence.plots``; and the
published syntheses listing (``exomir kb syntheses``)."""

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
    """Outcome measures with arm-level data in the knowledge base: studies with data, and how
    many of them the evidence gates let into the main pool, a labelled subgroup, or keep out."""
    from exomir.core import EvidenceUse, Indication
    from exomir.core.gates import verdict

    ind = Indication.parse(indication, field="indication") if indication else None
    c: dict[str, Counter[str]] = {}
    for e in state.index.entries:
        s = e.study
        if ind is not None and s.indication != ind:
            continue
        v = verdict(s, EvidenceUse.POOLING)
        for m in {o.measure for a in s.arms for o in a.outcomes}:
            c.setdefault(m, Counter()).update(["studies", v])
    return {"indication": ind.value if ind else None,
            "outcomes": [{"measure": m, "studies": n["studies"], "main": n["use"],
                          "subgroup": n["subgroup"], "kept_out": n["exclude"]}
                         for m, n in sorted(c.items())]}


def _rows(items: list[dict[str, Any]], cols: list[str]) -> dict[str, Any]:
    return {"columns": cols, "rows": [[x.get(k) for k in cols] for x in items]}


def _comparisons(pool: Any) -> dict[str, Any]:
    return {"columns": ["study", "treatment", "control", "day", "yi", "ci_lb", "ci_ub"],
            "rows": [[c["study"], c["treatment"], c["control"], c["timepoint_days"], c["yi"],
                      c["ci_lb"], c["ci_ub"]] for c in pool.comparisons]}


def gates_view(syn: Any) -> dict[str, Any]:
    """What the gates did, as the page shows it: headline, warnings, and tables of the kept-out
    studies, the single-study / subgroup comparisons and the published syntheses."""
    tables: dict[str, Any] = {}
    if syn.kept_out:
        tables["kept out of the main pool by curated exclusions"] = _rows(
            [{**x, "gate": "kept out" if x["gate"] == "exclude" else "labelled subgroup only"}
             for x in syn.kept_out], ["study", "gate", "label", "detail", "source"])
    left = [x for x in syn.main.table.report()["left_out"]]
    if left:
        tables["left out by the arm-level rules"] = _rows(left, ["study", "reason"])
    if syn.main.kind == "single study":
        tables[f"{syn.main.label}: single study {syn.main.studies[0]} (not a "
               "meta-analysis)"] = _comparisons(syn.main)
    for sg in syn.subgroups:
        if sg.k:
            title = f"{sg.label} ({sg.kind}, k = {sg.k}; not in the main estimate)"
            t = _comparisons(sg)
            if sg.result is not None:
                t["rows"].append(["pooled", "", "", None, sg.result.estimate,
                                  sg.result.ci_lb, sg.result.ci_ub])
            tables[title] = t
    tables["published syntheses (systematic reviews; not pooled with exomir's)"] = \
        synthesis_table(syn.published)
    return {"headline": syn.headline(), "kind": syn.main.kind, "k": syn.main.k,
            "warnings": list(syn.warnings), "published_note": syn.published_note,
            "tables": tables}


SYNTHESIS_COLUMNS = ["id", "indication", "intervention", "outcome", "measure", "estimate",
                     "ci_lb", "ci_ub", "k", "i2", "model", "citation", "doi"]


def synthesis_table(items: list[Any]) -> dict[str, Any]:
    """Published syntheses as a table (``exomir kb syntheses``' columns)."""
    return {"columns": SYNTHESIS_COLUMNS,
            "rows": [[getattr(x, c, None) if c != "doi" else (x.source.doi or x.source.key
                                                               or x.source.url)
                      for c in SYNTHESIS_COLUMNS] for x in items]}


def meta_data(state: AppState, *, data: tuple[bytes, str] | None, indication: str | None,
              outcome: str | None, timepoint: float | None, impute_sd: bool, measure: str,
              method: str, knha: bool, by: str | None, mods: str | None, bias: bool,
              loo: bool, level: float, plots: bool) -> dict[str, Any]:
    """``exomir evidence meta``'s one code path (:mod:`exomir.evidence.run`): a CSV through
    ``meta_analysis``, the knowledge base through ``kb_meta`` (the evidence gates)."""
    from exomir.evidence import analysis
    from exomir.evidence import plots as ev_plots
    from exomir.evidence.run import kb_meta, meta_analysis, read_meta_csv

    if (data is None) == (not indication):
        raise InputError("give either a CSV file or an indication (with an outcome)",
                         field="file/indication", accepted="file=CSV, or indication+outcome")
    mod_list = [m.strip() for m in mods.split(",") if m.strip()] if mods else None
    gates: dict[str, Any] | None = None
    if data is not None:
        raw, name = data
        frame = parse_upload(state.settings.tmp_dir, raw, name,
                             lambda p: read_meta_csv(p, name=name))
        run = meta_analysis(frame, measure=measure, method=method, knha=knha, by=by or None,
                            mods=mod_list, bias=bias, loo=loo, level=level)
        source: dict[str, Any] = {"file": name}
    else:
        if not outcome:
            raise InputError("an indication needs an outcome (e.g. wound_closure)",
                             field="outcome", accepted=", ".join(
                                 o["measure"] for o in outcomes_data(state, indication)
                                 ["outcomes"]) or None)
        kbm = kb_meta(state.kb, str(indication), outcome, timepoint=timepoint,
                      impute_sd=impute_sd, measure=measure, method=method, knha=knha,
                      by=by or None, mods=mod_list, bias=bias, loo=loo, level=level,
                      figures=False, strict=False)
        gates = gates_view(kbm.synthesis)
        source = kbm.data["source"]
        if kbm.run is None:  # a single study or no pool: reported as such, nothing pooled
            return {"result": kbm.data, "source": source, "pooled": None, **gates,
                    "figures": {}, "notes": kbm.not_run}
        run = kbm.run
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
                           "figures": {}, "notes": [], "warnings": list(run.warnings)}
    if gates is not None:
        out.update(headline=gates["headline"], kind=gates["kind"], k=gates["k"],
                   published_note=gates["published_note"])
        out["tables"].update(gates["tables"])
        # the main pool's warnings are the model's (above); the subgroups' follow
        out["warnings"] += [w for w in gates["warnings"] if w.startswith("subgroup")]
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


COMPARISON_COLUMNS = ["pool", "kind", "study", "label", "treatment", "control", "timepoint_days",
                      "yi", "vi", "ci_lb", "ci_ub"]
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
        if out["pooled"] is None:  # no meta-analysis: each pool's comparisons with CIs
            res = out["result"]
            rows = [{"pool": pool["label"], "kind": pool["kind"], **c}
                    for pool in [res["main"], *res["subgroups"]] for c in pool["comparisons"]]
            return csv_response(rows, "meta-comparisons.csv", COMPARISON_COLUMNS)
        return csv_response(out["result"]["studies"], "meta-studies.csv")
    return JSON(out)


@router.get("/meta/outcomes", summary="Outcome measures with arm-level data in the KB")
async def meta_outcomes(request: Request,
                        indication: Annotated[str | None, Query(max_length=40)] = None) -> Any:
    return JSON(outcomes_data(get_state(request), indication))
