"""Knowledge base: studies with facets and search, one study, trials, published syntheses,
counts, import."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, File, Path, Query, Request, UploadFile
from fastapi.responses import Response
from pydantic import BaseModel

from exomir.core.mirna import find_mirna_names, mirna_matches, parse_mirna_name
from exomir.web.app import AppState, get_state
from exomir.web.errors import ERRORS, WRITE_ERRORS, WebError
from exomir.web.index import FACET_LABELS, FACETS
from exomir.web.render import JSON, csv_response
from exomir.web.security import require_token
from exomir.web.uploads import parse_upload, read_upload

router = APIRouter(prefix="/api/v1", tags=["knowledge base"], responses=ERRORS)

Text = Annotated[str | None, Query(max_length=200)]
CSV_OR_JSON: dict[int | str, dict[str, Any]] = {
    200: {"content": {"application/json": {}, "text/csv": {}}}}


class Filters(BaseModel):
    indication: str | None = None
    mirna: str | None = None
    gene: str | None = None
    pathway: str | None = None
    source: str | None = None
    route: str | None = None
    species: str | None = None
    model: str | None = None
    confidence: str | None = None
    exclusion: str | None = None


def filters_dep(indication: Text = None, mirna: Text = None, gene: Text = None,
                pathway: Text = None, source: Text = None, route: Text = None,
                species: Text = None, model: Text = None, confidence: Text = None,
                exclusion: Text = None) -> Filters:
    """The filters of ``exomir kb query`` (all combine with AND) plus confidence, exclusion."""
    return Filters(indication=indication, mirna=mirna, gene=gene, pathway=pathway,
                   source=source, route=route, species=species, model=model,
                   confidence=confidence, exclusion=exclusion)


def _resolved_mirna(state: AppState, query: str) -> dict[str, Any]:
    q = parse_mirna_name(query, field="mirna")
    names = sorted({n for e in state.index.entries for n in e.facets["mirna"]
                    if any(mirna_matches(q, c) for c in find_mirna_names(n))})
    return {"query": query, "parsed": str(q), "matches": names}


def studies_data(state: AppState, filters: Filters, q: str | None, limit: int = 1000,
                 offset: int = 0) -> dict[str, Any]:
    """Studies matching the filters and search words, facet counts and how names resolved."""
    f = filters.model_dump()
    entries = state.index.query(f, q)
    active = {k: v for k, v in f.items() if v not in (None, "")}
    data: dict[str, Any] = {
        "count": len(entries), "total": len(state.index.entries), "filters": active, "q": q,
        "facets": state.index.facet_counts(entries),
        "facet_labels": {k: FACET_LABELS[k] for k in FACETS},
        "studies": [e.row for e in entries[offset:offset + limit]],
        "offset": offset, "limit": limit,
    }
    if active.get("mirna"):
        data["resolved"] = {"mirna": _resolved_mirna(state, active["mirna"])}
    return data


def study_data(state: AppState, study_id: str) -> dict[str, Any]:
    e = state.index.by_id.get(study_id)
    if e is None:
        raise WebError(404, "no such study in the knowledge base", field="study_id",
                       value=study_id, accepted="an id listed by /api/v1/studies")
    s = e.study
    return {"id": s.id, "citation": s.citation, "link": s.source.link,
            "source_key": s.source.key, "row": e.row, "exclusions": exclusions_of(s),
            "study": s.model_dump(mode="json", exclude_none=True)}


def exclusions_of(s: Any) -> list[dict[str, Any]]:
    """Each curated exclusion with its label (RETRACTED in capitals), detail, source and what
    it bars (the gate table of :mod:`exomir.core.gates`: pooling, interactions, ranking)."""
    from exomir.core import EvidenceUse
    from exomir.core.gates import LABELS, effect, flags

    order = {label: i for i, label in enumerate(flags(s))}
    out = []
    for x in sorted(s.exclusions, key=lambda x: order.get(LABELS[x.reason], 99)):
        src = x.source
        out.append({"reason": x.reason.value, "label": LABELS[x.reason], "detail": x.detail,
                    "source": (src.key or src.url or src.citation) if src else None,
                    "link": src.link if src else None,
                    "uses": {u.value: effect(x.reason, u) for u in EvidenceUse}})
    return out


def trials_data(state: AppState, indication: str | None) -> dict[str, Any]:
    from exomir.core import Indication

    items = state.index.trials
    if indication:
        ind = Indication.parse(indication, field="indication")
        items = [t for t in items if t.indication == ind]
    return {"count": len(items),
            "trials": [t.model_dump(mode="json", exclude_none=True) for t in items]}


def syntheses_data(state: AppState, indication: str | None) -> dict[str, Any]:
    """Published pooled estimates (systematic reviews), as ``exomir kb syntheses``; for an
    indication with none, the reason none is shown (never an invented number)."""
    from exomir.core import Indication
    from exomir.evidence.synthesis import NO_PUBLISHED

    items = state.index.syntheses
    notes: dict[str, str] = {}
    inds = [Indication.parse(indication, field="indication")] if indication else \
        list(Indication)
    items = [x for x in items if x.indication in inds]
    for ind in inds:
        if not any(x.indication == ind for x in items):
            notes[ind.value] = NO_PUBLISHED.get(
                ind, f"no published synthesis recorded for {ind.value}")
    return {"count": len(items), "indication": inds[0].value if indication else None,
            "syntheses": [x.model_dump(mode="json", exclude_none=True) for x in items],
            "none_for": notes, "items": items}


def syntheses_csv(data: dict[str, Any]) -> Response:
    """The CSV of ``exomir kb syntheses --format csv`` (one record per row)."""
    from exomir.kb import io as kbio

    return Response(kbio.dump_csv("syntheses", data["items"]),
                    media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": 'attachment; filename="syntheses.csv"'})


def syntheses_json(data: dict[str, Any]) -> Response:
    return JSON({k: v for k, v in data.items() if k != "items"})


TRIAL_COLUMNS = ["registry_id", "indication", "condition", "title", "sponsor", "phase",
                 "status", "enrollment", "start", "notes", "source_url"]


@router.get("/studies", responses=CSV_OR_JSON, summary="Studies with facets and search")
async def studies(request: Request, filters: Annotated[Filters, Depends(filters_dep)],
                  q: Annotated[str | None, Query(max_length=200, description="search words "
                                                 "(AND) over titles and curated text")] = None,
                  limit: Annotated[int, Query(ge=1, le=1000)] = 1000,
                  offset: Annotated[int, Query(ge=0, le=100000)] = 0,
                  format: Literal["json", "csv"] = "json") -> Any:
    state = get_state(request)
    data = studies_data(state, filters, q, limit, offset)
    if format == "csv":
        return csv_response(data["studies"], "studies.csv")
    return JSON(data)


@router.get("/studies/{study_id}", summary="One study with every field and its source link")
async def study(request: Request, study_id: Annotated[str, Path(max_length=64)]) -> Any:
    return JSON(study_data(get_state(request), study_id))


@router.get("/trials", responses=CSV_OR_JSON, summary="Registered clinical trials")
async def trials(request: Request, indication: Text = None,
                 format: Literal["json", "csv"] = "json") -> Any:
    data = trials_data(get_state(request), indication)
    if format == "csv":
        return csv_response(data["trials"], "trials.csv", TRIAL_COLUMNS)
    return JSON(data)


@router.get("/syntheses", responses=CSV_OR_JSON,
            summary="Published syntheses: systematic reviews' pooled estimates, with DOIs")
async def syntheses(request: Request, indication: Text = None,
                    format: Literal["json", "csv"] = "json") -> Any:
    data = syntheses_data(get_state(request), indication)
    return syntheses_csv(data) if format == "csv" else syntheses_json(data)


@router.get("/kb/stats", summary="Counts by indication (exomir kb stats)")
async def stats(request: Request) -> Any:
    state = get_state(request)
    return JSON({"stats": state.index.stats, "database": _safe_url(state.kb.url),
                 "version": state.index.version})


def _safe_url(url: str) -> str:
    """The database URL without a password."""
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        return f"{scheme}://***@{rest.split('@', 1)[1]}"
    return url


@router.post("/kb/import", responses=WRITE_ERRORS, dependencies=[Depends(require_token)],
             summary="Import records (exomir kb import): one transaction, all or nothing")
def kb_import(request: Request, file: Annotated[UploadFile, File(description="JSON/CSV "
              "records, or a reference file: miRBase .fa, miRTarBase .tsv, .gmt")],
              kind: Annotated[str | None, Query(max_length=20)] = None) -> Any:
    from exomir.kb.cli import read_any

    state = get_state(request)
    got = read_upload(file, state.settings.max_upload_bytes)
    assert got is not None
    data, name = got
    records = parse_upload(state.settings.tmp_dir, data, name, lambda p: read_any(p, kind),
                           suffixes=(".json", ".csv", ".fa", ".fasta", ".tsv", ".txt", ".gmt"),
                           default_suffix=".json")
    counts = state.kb.import_records(dict(records))
    state.index.reload()
    return JSON({"imported": counts, "file": name})
