"""The HTML pages. Listings use the API's data functions and are also served as
``.json`` and ``.csv`` with the same filters (datasette's one data, many formats)."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import Response

from exomir.web.api.jobs import job_out
from exomir.web.api.kb import (
    TRIAL_COLUMNS,
    Filters,
    filters_dep,
    studies_data,
    study_data,
    syntheses_csv,
    syntheses_data,
    syntheses_json,
    trials_data,
)
from exomir.web.app import get_state
from exomir.web.errors import WebError
from exomir.web.index import FACET_LABELS
from exomir.web.jobs import JOB_ID
from exomir.web.render import JSON, csv_response, html

router = APIRouter(include_in_schema=False)
Q = Annotated[str | None, Query(max_length=200)]

NAV = [("/evidence", "Evidence"), ("/trials", "Trials"), ("/syntheses", "Published syntheses"),
       ("/meta", "Meta-analysis"),
       ("/cargo", "Cargo"), ("/release", "Release"), ("/design", "Design"),
       ("/simulate", "Simulate"), ("/jobs", "Runs"), ("/quality", "Quality"),
       ("/dose", "Dose & manufacture"), ("/api/docs", "API")]


def _ctx(**kw: Any) -> dict[str, Any]:
    return {"nav": NAV, **kw}


@router.get("/")
async def home(request: Request) -> Response:
    state = get_state(request)
    return html(request, "index.html", _ctx(title="exomir", stats=state.index.stats,
                                             queue=state.jobs.counts()))


def _cached(request: Request, build: Any) -> Response:
    """KB pages change only on import (the index's version): render each URL once."""
    state = get_state(request)
    key = (request.url.path, tuple(sorted(request.query_params.multi_items())))
    body, media, status, headers = state.index.page(key, lambda: _freeze(build()))
    return Response(body, status_code=status, media_type=media, headers=headers)


def _freeze(r: Response) -> tuple[bytes, str | None, int, dict[str, str]]:
    keep = {k: v for k, v in r.headers.items() if k.lower() == "content-disposition"}
    return bytes(r.body), r.media_type, r.status_code, keep


def _qs(params: dict[str, Any], **change: Any) -> str:
    p = {k: v for k, v in {**params, **change}.items() if v not in (None, "")}
    return ("?" + urlencode(p)) if p else ""


def _evidence(request: Request, filters: Filters, q: str | None, fmt: str) -> Response:
    state = get_state(request)
    data = studies_data(state, filters, q)
    if fmt == "json":
        return JSON(data)
    if fmt == "csv":
        return csv_response(data["studies"], "studies.csv")
    params = {**data["filters"], "q": q}
    facet_links = {
        f: [{"value": v["value"], "label": v.get("label", v["value"]), "count": v["count"],
             "href": "/evidence" + _qs(params, **{f: v["value"]}),
             "active": data["filters"].get(f) == v["value"]} for v in vals]
        for f, vals in data["facets"].items()}
    remove = [{"name": FACET_LABELS.get(k, k), "value": v,
               "href": "/evidence" + _qs(params, **{k: None})}
              for k, v in data["filters"].items()]
    entries = state.index.query(data["filters"], q)
    retracted = [e.study.id for e in entries if e.row.get("flags", "").startswith("RETRACTED")]
    flagged = sum(1 for e in entries if e.study.exclusions)
    return html(request, ["evidence.html"], _ctx(
        title="Evidence", data=data, facet_links=facet_links, remove=remove, q=q or "",
        qs=_qs(params), labels=FACET_LABELS, retracted=retracted, flagged=flagged,
        included_href="/evidence" + _qs(params, exclusion="included")))


@router.get("/evidence")
async def evidence(request: Request, filters: Annotated[Filters, Depends(filters_dep)],
                   q: Q = None) -> Response:
    return _cached(request, lambda: _evidence(request, filters, q, "html"))


@router.get("/evidence.json")
async def evidence_json(request: Request, filters: Annotated[Filters, Depends(filters_dep)],
                        q: Q = None) -> Response:
    return _cached(request, lambda: _evidence(request, filters, q, "json"))


@router.get("/evidence.csv")
async def evidence_csv(request: Request, filters: Annotated[Filters, Depends(filters_dep)],
                       q: Q = None) -> Response:
    return _cached(request, lambda: _evidence(request, filters, q, "csv"))


@router.get("/evidence/{study_id}")
async def study_page(request: Request, study_id: Annotated[str, Path(max_length=70)]
                     ) -> Response:
    state = get_state(request)
    if study_id.endswith(".json"):
        return JSON(study_data(state, study_id[:-5]))
    data = study_data(state, study_id)
    return _cached(request, lambda: html(request, ["study-" + study_id + ".html", "study.html"],
                                         _ctx(title=f"{data['id']}: {data['citation']}",
                                              data=data)))


def _trials(request: Request, indication: str | None, fmt: str) -> Response:
    data = trials_data(get_state(request), indication)
    if fmt == "json":
        return JSON(data)
    if fmt == "csv":
        return csv_response(data["trials"], "trials.csv", TRIAL_COLUMNS)
    return html(request, "trials.html", _ctx(title="Clinical trials", data=data,
                                              indication=indication or "",
                                              qs=_qs({"indication": indication})))


def _syntheses(request: Request, indication: str | None, fmt: str) -> Response:
    data = syntheses_data(get_state(request), indication)
    if fmt == "json":
        return syntheses_json(data)
    if fmt == "csv":
        return syntheses_csv(data)
    return html(request, "syntheses.html", _ctx(title="Published syntheses", data=data,
                                                 indication=indication or "",
                                                 qs=_qs({"indication": indication})))


def _by_indication(name: str, build: Any) -> None:
    """``/name``, ``/name.json``, ``/name.csv`` filtered by indication, each rendered once per
    URL and KB version."""
    def route(fmt: str) -> Any:
        async def page(request: Request, indication: Q = None) -> Response:
            return _cached(request, lambda: build(request, indication, fmt))
        page.__name__ = f"{name}_{fmt}"
        return page

    for suffix, fmt in (("", "html"), (".json", "json"), (".csv", "csv")):
        router.add_api_route(f"/{name}{suffix}", route(fmt), methods=["GET"])


_by_indication("trials", _trials)
_by_indication("syntheses", _syntheses)


def _tool(name: str, title: str) -> Any:
    async def page(request: Request) -> Response:
        return html(request, f"{name}.html", _ctx(title=title))
    page.__name__ = f"page_{name}"
    return page


for _name, _title in [("meta", "Meta-analysis"), ("cargo", "Cargo"), ("release", "Release"),
                      ("quality", "Quality"), ("dose", "Dose and manufacture")]:
    router.add_api_route(f"/{_name}", _tool(_name, _title), methods=["GET"])


@router.get("/design")
async def design_page(request: Request) -> Response:
    return html(request, "spec.html", _ctx(title="Design", kind="design"))


@router.get("/simulate")
async def simulate_page(request: Request) -> Response:
    return html(request, "spec.html", _ctx(title="Simulate", kind="simulate"))


@router.get("/jobs")
async def jobs_page(request: Request) -> Response:
    state = get_state(request)
    return html(request, "jobs.html", _ctx(title="Runs", jobs=[job_out(j) for j in
                                                                state.jobs.list()],
                                           queue=state.jobs.counts()))


@router.get("/jobs/{job_id}")
async def job_page(request: Request, job_id: Annotated[str, Path(pattern=JOB_ID)]
                   ) -> Response:
    state = get_state(request)
    job = state.jobs.get(job_id)
    if job is None:
        raise WebError(404, "no such run", field="job_id", value=job_id)
    return html(request, "job.html", _ctx(title=f"Run {job.id[:8]} ({job.kind})",
                                          job=job_out(job)))
