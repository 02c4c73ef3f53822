"""Quality and dose: MISEV check of a record, NTA size statistics and comparison, HED, dose
conversion and the manufacturing plan; thin calls into ``exomir.quality``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Query, Request, UploadFile

from exomir.core.errors import InputError
from exomir.web.api.evidence import svg_of
from exomir.web.app import get_state
from exomir.web.errors import ERRORS
from exomir.web.render import JSON
from exomir.web.uploads import parse_upload, read_upload

router = APIRouter(prefix="/api/v1", tags=["quality and dose"], responses=ERRORS)
NTA_SUFFIXES = (".csv", ".txt", ".tsv", ".dat")


@router.post("/quality/misev", summary="MISEV2018/2023 check of a characterization record")
def misev(request: Request,
          file: Annotated[UploadFile, File(description="characterization record (YAML/JSON)")]
          ) -> Any:
    from exomir.quality.misev import evaluate, load_record

    state = get_state(request)
    got = read_upload(file, state.settings.max_upload_bytes)
    assert got is not None
    rec = parse_upload(state.settings.tmp_dir, got[0], got[1], load_record,
                       (".yaml", ".yml", ".json"), ".yaml")
    rep = evaluate(rec)
    met, total = rep.mandatory_met
    return JSON({"result": rep.to_dict(), "tables": {
        f"{rep.record_id}: {rep.completeness_pct:.0f}% complete (mandatory {met}/{total})": {
            "columns": ["item", "level", "status", "evidence", "why it matters"],
            "rows": [[r.key, r.level, "n/a" if not r.applicable else
                      ("met" if r.met else "missing"), r.evidence,
                      "" if r.met or not r.applicable else r.why] for r in rep.items]}},
        "figures": {}, "notes": [
            "Sources: MISEV2018 doi:10.1080/20013078.2018.1535750; MISEV2023 "
            "doi:10.1002/jev2.12404; score as in EV-METRIC doi:10.1038/nmeth.4185"]})


@router.post("/quality/nta", summary="Size statistics of NTA/TRPS/DLS exports; two files "
             "are also compared")
def nta(request: Request,
        files: Annotated[list[UploadFile], File(description="one to four size exports")],
        dilution: Annotated[float, Form(gt=0, le=1e9)] = 1.0,
        n_tracks: Annotated[int, Form(ge=2, le=10**7)] = 1000,
        plot: Annotated[bool, Form()] = True) -> Any:
    from exomir.quality.nta import (
        SizeDistribution,
        SizeSummary,
        compare,
        overlay_plot,
        read_size_file,
        size_stats,
    )

    state = get_state(request)
    if not 1 <= len(files) <= 4:
        raise InputError("give one to four files", field="files", value=len(files),
                         accepted="1-4 files")
    dists: list[SizeDistribution] = []
    summaries: list[dict[str, Any]] = []
    for f in files:
        got = read_upload(f, state.settings.max_upload_bytes, field="files")
        assert got is not None
        stem = got[1].rsplit(".", 1)[0]

        def reader(p: Path, stem: str = stem) -> SizeDistribution | SizeSummary:
            return read_size_file(p, dilution=dilution, name=stem)

        r = parse_upload(state.settings.tmp_dir, got[0], got[1], reader, NTA_SUFFIXES, ".csv")
        if isinstance(r, SizeDistribution):
            dists.append(r)
        else:
            summaries.append({"name": r.name, "summary": r.values, "dilution": r.dilution})
    stats = [size_stats(d) for d in dists]
    out: dict[str, Any] = {"result": {"distributions": [s.to_dict() for s in stats],
                                      "summaries": summaries},
                           "tables": {}, "figures": {}, "notes": []}
    if stats:
        out["tables"]["size statistics (number-weighted unless flagged)"] = {
            "columns": ["sample", "particles/mL", "mean nm", "mode nm", "D10", "D50", "D90",
                        "span", "captures", "fraction > 200 nm", "flags"],
            "rows": [[s.name, s.total_per_ml, s.mean_nm, s.mode_nm, s.d10_nm, s.d50_nm,
                      s.d90_nm, s.span, s.n_captures, s.fraction_above_200nm,
                      "; ".join(s.flags)] for s in stats]}
    if len(dists) == 2:
        c = compare(dists[0], dists[1], n_tracks=(n_tracks, n_tracks))
        out["result"]["comparison"] = c.to_dict()
        out["tables"][f"{c.a} vs {c.b}"] = {"columns": ["measure", "value"], "rows": [
            ["Wasserstein-1 distance (nm)", c.wasserstein_nm],
            ["KS statistic D", c.ks_statistic], [f"KS p-value (n={n_tracks} each)",
                                                  c.ks_pvalue],
            ["D50 difference B - A (nm)", c.d50_difference_nm],
            ["concentration ratio B/A", c.concentration_ratio]]}
        out["notes"].append(c.note)
    if plot and dists:
        out["figures"]["overlay"] = svg_of(state, lambda p: overlay_plot(dists, p))
    return JSON(out)


def _conversion(title: str, c: Any) -> dict[str, Any]:
    return {"result": c.to_dict(), "tables": {title: {
        "columns": ["", ""], "rows": [["result", f"{c.value:.4g} {c.unit}"],
                                      *[["step", s] for s in c.steps],
                                      *[["assumption", a] for a in c.assumptions]]}},
        "figures": {}, "notes": []}


@router.get("/dose/hed", summary="Human-equivalent dose by body-surface-area scaling")
async def dose_hed(dose: Annotated[float, Query(gt=0, le=1e30)],
                   unit: Annotated[str, Query(max_length=40)] = "mg/kg",
                   species: Annotated[str, Query(alias="from", max_length=20)] = "mouse",
                   human_weight_kg: Annotated[float | None, Query(gt=0, le=1000)] = None
                   ) -> Any:
    from exomir.quality.dose import hed

    c = hed(dose, unit, species, human_weight_kg=human_weight_kg)
    return JSON(_conversion(f"HED from {species} {dose:g} {unit}", c))


@router.get("/dose/convert", summary="Convert a dose; every factor is shown as an assumption")
async def dose_convert(value: Annotated[float, Query(ge=0, le=1e30)],
                       unit: Annotated[str, Query(max_length=40)],
                       to: Annotated[str, Query(max_length=40)],
                       particles_per_ug: Annotated[float | None, Query(gt=0, le=1e30)] = None,
                       copies_per_particle: Annotated[float | None, Query(gt=0, le=1e12)]
                       = None,
                       body_weight_kg: Annotated[float | None, Query(gt=0, le=1e4)] = None,
                       wound_area_cm2: Annotated[float | None, Query(gt=0, le=1e5)] = None
                       ) -> Any:
    from exomir.quality.dose import convert

    c = convert(value, unit, to, particles_per_ug=particles_per_ug,
                copies_per_particle=copies_per_particle, body_weight_kg=body_weight_kg,
                wound_area_cm2=wound_area_cm2)
    return JSON(_conversion(f"{value:g} {unit} in {to}", c))


@router.get("/manufacture/plan", summary="Cells, culture surface, medium, batches and days")
async def manufacture_plan(subjects: Annotated[int, Query(ge=1, le=10**6)],
                           doses: Annotated[int, Query(ge=1, le=1000)],
                           particles_per_dose: Annotated[float, Query(gt=0, le=1e18)],
                           method: Annotated[str, Query(max_length=40)] = "tff") -> Any:
    from exomir.quality.manufacture import scenarios, sensitivity
    from exomir.quality.params import MANUFACTURING

    sc = scenarios(subjects, doses, particles_per_dose, method, MANUFACTURING)
    sens = sensitivity(subjects, doses, particles_per_dose, method, MANUFACTURING)
    fields = [("particles to deliver", "particles_final"),
              ("particles to secrete", "particles_secreted"), ("producer cells", "cells"),
              ("culture surface cm^2", "surface_cm2"), ("T175 flasks", "t175_flasks"),
              ("or bioreactor L", "bioreactor_l"), ("medium L", "medium_l"),
              ("batches", "batches"), ("days", "days")]
    return JSON({
        "result": {"scenarios": {k: v.to_dict() for k, v in sc.items()},
                   "sensitivity": [dict(s.__dict__, surface_fold=s.surface_fold,
                                        days_fold=s.days_fold) for s in sens],
                   "assumptions": [p.name for p in MANUFACTURING.assumptions()]},
        "tables": {
            f"production plan ({sc['central'].method})": {
                "columns": ["quantity", "low", "central", "high"],
                "rows": [[label, *(getattr(sc[k], attr) for k in ("low", "central", "high"))]
                         for label, attr in fields]},
            "one-at-a-time sensitivity (others central)": {
                "columns": ["parameter", "low", "high", "surface fold", "days fold"],
                "rows": [[s.parameter, s.low, s.high, s.surface_fold, s.days_fold]
                         for s in sens]}},
        "figures": {},
        "notes": [*sc["central"].steps, "Assumed (unsourced) parameters: " + ", ".join(
            p.name for p in MANUFACTURING.assumptions())]})
