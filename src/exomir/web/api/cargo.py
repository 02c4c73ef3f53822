"""Cargo: ranking for an indication (per-gene reasons), site scanning of pasted or uploaded
sequences, pathway enrichment; thin calls into ``exomir.cargo``."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, File, Form, Query, Request, UploadFile
from pydantic import BaseModel, Field

from exomir.core.errors import InputError
from exomir.web.app import AppState, get_state
from exomir.web.errors import ERRORS
from exomir.web.render import JSON, csv_response
from exomir.web.uploads import parse_upload, read_upload

router = APIRouter(prefix="/api/v1/cargo", tags=["cargo"], responses=ERRORS)
SEQ_SUFFIXES = (".fa", ".fasta", ".fna", ".txt", ".tsv")


class RankRequest(BaseModel):
    indication: str = Field(max_length=40, examples=["diabetic_wound"])
    k: int = Field(1, ge=1, le=3, description="largest cargo set size")
    top: int = Field(10, ge=1, le=50, description="candidates per set size")
    off_target_weight: float = Field(0.01, ge=0, le=10)
    any_direction: bool = Field(False, description="also rank miRNAs no study of the "
                                "indication gives a direction for (as mimics, a hypothesis)")
    allow_passenger: bool = Field(False, description="also rank minor-arm (passenger) strands")


def rank_data(state: AppState, req: RankRequest) -> dict[str, Any]:
    """``exomir cargo rank --format json`` on the app's knowledge base (gated evidence, one
    name per miRNA, mimic/inhibitor by the indication's studies), with its tables."""
    from exomir.cargo.rank import rank_for_indication
    from exomir.web.api.kb import _safe_url

    res = rank_for_indication(req.indication, k=req.k, kb=state.kb,
                              require_direction=not req.any_direction,
                              allow_passenger=req.allow_passenger,
                              off_target_weight=req.off_target_weight, top=req.top)
    result = res.to_dict()
    prov = result.get("provenance") or {}
    if isinstance(prov.get("database"), str):
        prov["database"] = _safe_url(prov["database"])
    tables: dict[str, Any] = {}
    for size, cands in result["candidates"].items():
        tables[f"best cargo of {size} miRNA(s)"] = {
            "columns": ["#", "cargo (modality)", "score", "benefit", "harm", "off-target",
                        "why (gene contribution (evidence))", "EXOmotif"],
            "rows": [[i, c["label"], c["score"], c["benefit"], c["spare_penalty"],
                      f"{c['off_target_penalty']:.2f} ({c['n_off_targets']})",
                      "; ".join(f"{d['gene']} {d['contribution']:+.2f} ("
                                + ",".join(sorted({b['evidence'] for b in d['by']})) + ")"
                                for d in c["contributions"]),
                      ", ".join(f"{m}:{'+'.join(v)}" for m, v in c["motifs"].items() if v)
                      or "-"] for i, c in enumerate(cands, 1)]}
    mod = result["modality"]
    tables["modality (direction of effect from the indication's studies)"] = {
        "columns": ["miRNA", "modality", "deliver (studies)", "inhibit (studies)",
                    "name forms merged"],
        "rows": [[m, mod[m], ", ".join(result["direction_evidence"].get(m, {}).get(
                     "deliver", [])), ", ".join(result["direction_evidence"].get(m, {}).get(
                     "inhibit", [])), ", ".join(result["names"].get("merged", {}).get(m, []))]
                 for m in sorted(mod)]}
    tables["not ranked (kept out, with the reason)"] = {
        "columns": ["miRNA", "reason"],
        "rows": [[x["mirna"], x["reason"]] for x in result["kept_out"]]}
    tables["interactions left out (gated studies)"] = {
        "columns": ["miRNA", "gene", "study", "reason", "detail"],
        "rows": [[x.get("mirna"), x.get("gene"), x.get("study"), x.get("reason"),
                  x.get("detail")] for x in result["interactions_kept_out"]]}
    notes = [f"{len(mod)} miRNAs ranked ({sum(v == 'mimic' for v in mod.values())} as mimics, "
             f"{sum(v == 'inhibitor' for v in mod.values())} as inhibitors); "
             f"{len(result['kept_out'])} not ranked; "
             f"{len(result['interactions_kept_out'])} interactions of gated studies left out"]
    if req.any_direction:
        notes.append("--any-direction: miRNAs no study of the indication gives a direction "
                     "for are ranked as mimics by target profile alone (a hypothesis)")
    return {"result": result, "tables": tables, "figures": {}, "notes": notes}


@router.post("/rank", summary="Rank cargo miRNAs and combinations (exomir cargo rank)")
def rank(request: Request, req: RankRequest) -> Any:
    return JSON(rank_data(get_state(request), req))


def _sequences(state: AppState, upload: UploadFile | None, text: str | None, field: str
               ) -> tuple[bytes, str]:
    got = read_upload(upload, state.settings.max_upload_bytes, field=f"{field}_file",
                      required=False)
    if got is not None:
        return got
    if text and text.strip():
        raw = text.strip()
        return raw.encode(), f"pasted {field}" + (".fa" if raw.startswith(">") else ".tsv")
    raise InputError("sequences are required", field=field,
                     accepted="FASTA (>name, sequence lines) pasted, or a file upload")


def scan_data(state: AppState, mirna: tuple[bytes, str], utr: tuple[bytes, str],
              species: int | None, site_types: str | None, mask_5p: int, scores: bool,
              limit: int) -> dict[str, Any]:
    from exomir.cargo.context import score_sites
    from exomir.cargo.inputs import read_mirnas, read_utrs
    from exomir.cargo.sites import DEFAULT_SITE_TYPES, scan

    tmp = state.settings.tmp_dir
    mirs = parse_upload(tmp, mirna[0], mirna[1], lambda p: read_mirnas(p, species),
                        SEQ_SUFFIXES, ".fa")
    utrs = parse_upload(tmp, utr[0], utr[1], lambda p: read_utrs(p, species),
                        SEQ_SUFFIXES, ".fa")
    types = [t.strip() for t in (site_types or "").split(",") if t.strip()] or \
        list(DEFAULT_SITE_TYPES)
    table = scan(mirs, utrs, site_types=types, mask_5p=mask_5p)
    frame = score_sites(table, utrs, mature=dict(mirs), mask_5p=mask_5p) if scores \
        else table.to_frame()
    rows = frame.head(limit).to_dict("records")
    cols = list(frame.columns)
    return {"result": {"n_mirnas": len(mirs), "n_utrs": len(utrs), "n_sites": len(frame),
                       "shown": len(rows), "site_types": types, "sites": rows},
            "tables": {"sites": {"columns": cols, "rows": [[r[c] for c in cols]
                                                          for r in rows]}},
            "figures": {},
            "notes": [f"{len(frame)} sites in {len(utrs)} UTRs for {len(mirs)} miRNAs"
                      + (f"; first {limit} shown" if len(frame) > limit else "")]}


@router.post("/scan", summary="Scan miRNAs against UTRs (exomir cargo scan)",
             responses={200: {"content": {"application/json": {}, "text/csv": {}}}})
def scan_sites(request: Request,
               mirna_file: Annotated[UploadFile | None, File()] = None,
               mirna_text: Annotated[str | None, Form(max_length=200_000)] = None,
               utr_file: Annotated[UploadFile | None, File()] = None,
               utr_text: Annotated[str | None, Form(max_length=2_000_000)] = None,
               species: Annotated[int | None, Form(ge=1, le=10_000_000)] = None,
               site_types: Annotated[str | None, Form(max_length=100)] = None,
               mask_5p: Annotated[int, Form(ge=0, le=1000)] = 14,
               scores: Annotated[bool, Form()] = True,
               limit: Annotated[int, Form(ge=1, le=10_000)] = 500,
               format: Annotated[Literal["json", "csv"], Query()] = "json") -> Any:
    state = get_state(request)
    out = scan_data(state, _sequences(state, mirna_file, mirna_text, "mirna"),
                    _sequences(state, utr_file, utr_text, "utr"), species, site_types,
                    mask_5p, scores, limit)
    if format == "csv":
        return csv_response(out["result"]["sites"], "sites.csv")
    return JSON(out)


def enrich_data(state: AppState, mirnas: str | None, genes: str | None,
                gmt: tuple[bytes, str] | None, background: str | None, top: int
                ) -> dict[str, Any]:
    from exomir.cargo.enrich import enrich, read_gmt
    from exomir.cargo.evidence import gather

    if (not mirnas) == (not genes):
        raise InputError("give exactly one of miRNA names or a gene list", field="mirnas",
                         accepted="mirnas=miR-146a-5p,miR-21-5p or genes=PTEN TRAF6 ...")
    if genes:
        query = [g.strip() for g in genes.replace(",", " ").split() if g.strip()]
    else:
        inter, _ = gather(kb=state.kb)
        names = [m.strip() for m in (mirnas or "").split(",") if m.strip()]
        query = sorted(set(inter[inter.mirna.isin(names)].gene))
        if not query:
            raise InputError("no targets known for these miRNAs", field="mirnas",
                             value=mirnas, accepted="names as in the interaction data, "
                             "e.g. hsa-miR-146a-5p")
    if gmt is not None:
        sets = parse_upload(state.settings.tmp_dir, gmt[0], gmt[1], read_gmt, (".gmt",),
                            ".gmt")
        source = gmt[1]
    else:
        sets = state.kb.gene_sets()
        source = "gene sets in the knowledge base"
        if not sets:
            raise InputError("the knowledge base holds no gene sets", field="gmt_file",
                             accepted="a GMT upload, or 'exomir kb import FILE.gmt' first")
    bg = background.split() if background else None
    res = enrich(query, sets, background=bg).head(top)
    rows = res.to_dict("records")
    cols = list(res.columns)
    return {"result": {"query": query, "gene_sets": source, "rows": rows},
            "tables": {"enrichment": {"columns": cols, "rows": [[r[c] for c in cols]
                                                                for r in rows]}},
            "figures": {}, "notes": [f"{len(query)} query genes; gene sets: {source}"]}


@router.post("/enrich", summary="Hypergeometric pathway enrichment (exomir cargo enrich)")
def enrich_sets(request: Request,
                mirnas: Annotated[str | None, Form(max_length=2000)] = None,
                genes: Annotated[str | None, Form(max_length=200_000)] = None,
                gmt_file: Annotated[UploadFile | None, File()] = None,
                background: Annotated[str | None, Form(max_length=2_000_000)] = None,
                top: Annotated[int, Form(ge=1, le=500)] = 20) -> Any:
    state = get_state(request)
    gmt = read_upload(gmt_file, state.settings.max_upload_bytes, field="gmt_file",
                      required=False)
    return JSON(enrich_data(state, mirnas or None, genes or None, gmt, background, top))
