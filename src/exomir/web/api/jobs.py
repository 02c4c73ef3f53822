"""Design and simulation runs: the spec's JSON Schema (for the form), the bundled examples,
validation naming every bad field, and the job queue (submit, progress by server-sent
events, cancel, results, past runs)."""

from __future__ import annotations

import asyncio
import json
import time
from importlib import resources
from pathlib import Path as FsPath
from typing import Annotated, Any, Literal

import yaml
from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import HTMLResponse, StreamingResponse
from pydantic import BaseModel, Field, ValidationError

from exomir.core import Indication, InputError, Route, Species
from exomir.web.app import AppState, get_state
from exomir.web.errors import ERRORS, JOB_ERRORS, WRITE_ERRORS, WebError, validation_details
from exomir.web.jobs import FINISHED, JOB_ID, Job, QueueFull
from exomir.web.render import JSON
from exomir.web.security import require_token

router = APIRouter(prefix="/api/v1", tags=["design and simulation"], responses=ERRORS)
Kind = Literal["design", "simulate"]
JobId = Annotated[str, Path(pattern=JOB_ID, description="job id (32 hex digits)")]
SSE_MAX_SECONDS = 3600.0


def _models() -> dict[str, Any]:
    from exomir.body.spec import BodySection
    from exomir.core import TherapySpec
    from exomir.design.spec import DesignSpec

    return {"design": DesignSpec, "therapy": TherapySpec, "body": BodySection}


def schema_of(kind: str) -> dict[str, Any]:
    m = _models()
    if kind == "design":
        out: dict[str, Any] = m["design"].model_json_schema()
        return out
    th = m["therapy"].model_json_schema()
    body = m["body"].model_json_schema()
    defs = {**th.pop("$defs", {}), **body.pop("$defs", {})}
    body["title"] = "body (optional)"
    th["properties"]["body"] = body
    th["$defs"] = defs
    th["title"] = "Therapy spec for the simulator"
    return th


def examples_of(kind: str) -> dict[str, Any]:
    """The example specs shipped as package data (so a non-editable install has them): the
    design examples (``exomir.design``) or the simulator's (``exomir.body.presets``)."""
    out: dict[str, Any] = {}
    if kind == "design":
        from exomir.design.spec import EXAMPLES

        for ind, fname in EXAMPLES.items():
            text = (resources.files("exomir.design") / "examples" / fname).read_text()
            out[ind] = yaml.safe_load(text)
        return out
    from exomir.body.presets import example_specs

    return example_specs()


def _accepted_for(field: str | None) -> str | None:
    last = (field or "").split(".")[-1]
    vocab: dict[str, Any] = {"route": Route, "indication": Indication, "species": Species}
    return ", ".join(vocab[last].accepted()) if last in vocab else None


#: spec fields that name a file on the machine that reads the spec: a browser's spec may not
#: make the server read its files (calibrated parameters, fitted release profiles).
SERVER_FILE_FIELDS = ("calibration", "release_profile")


def server_file_problems(spec: Any, at: str = "") -> list[dict[str, Any]]:
    """A problem for every field of ``spec`` (at any depth) that names a server-side file."""
    out: list[dict[str, Any]] = []
    if isinstance(spec, dict):
        for k, v in spec.items():
            where = f"{at}.{k}" if at else str(k)
            if k in SERVER_FILE_FIELDS and v is not None:
                out.append({"field": where, "message": "a spec sent to the server may not name "
                            "a file on the server; run it with the command line (exomir "
                            "simulate / exomir design) where the file is yours",
                            "value": str(v)[:200], "accepted": "no value (null)"})
            else:
                out += server_file_problems(v, where)
    elif isinstance(spec, list):
        for i, v in enumerate(spec):
            out += server_file_problems(v, f"{at}.{i}" if at else str(i))
    return out


def validate_spec(state: AppState, kind: str, spec: Any) -> list[dict[str, Any]]:
    """Every problem of a spec (empty: valid), each naming its field."""
    if not isinstance(spec, dict):
        return [{"field": "spec", "message": "a spec is a JSON object", "value": None,
                 "accepted": "an object with indication, ..."}]
    problems: list[dict[str, Any]] = server_file_problems(spec)
    if problems:
        return problems
    try:
        if kind == "design":
            from exomir.design.spec import DesignSpec

            d = DesignSpec.model_validate(spec)
            lim = state.settings.max_design_subjects
            for name in ("subjects", "dose_response_subjects", "cohort_subjects"):
                if getattr(d, name) > lim:
                    problems.append({"field": name, "message": "too many subjects for this "
                                     "server", "value": str(getattr(d, name)),
                                     "accepted": f"<= {lim}"})
        else:
            from exomir.body.spec import parse_spec

            parse_spec(spec, source=None)
    except ValidationError as exc:
        for dct in validation_details(list(exc.errors())):
            e = dct.model_dump()
            e["accepted"] = e["accepted"] or _accepted_for(e["field"])
            if e["field"] == "request":
                e["field"] = ""
            problems.append(e)
    except InputError as exc:
        problems.append({"field": exc.field, "message": exc.message,
                         "value": None if exc.value is None else str(exc.value),
                         "accepted": exc.accepted})
    return [{k: p.get(k) for k in ("field", "message", "value", "accepted")} for p in problems]


class Problem(BaseModel):
    field: str | None = None
    message: str
    value: str | None = None
    accepted: str | None = None


class Validation(BaseModel):
    valid: bool
    errors: list[Problem]


class JobRequest(BaseModel):
    """A run: a design spec or a therapy spec for the simulator (see the schema routes)."""

    kind: Kind
    spec: dict[str, Any]
    subjects: int | None = Field(None, ge=1, description="simulate: virtual subjects (200)")
    days: float | None = Field(None, gt=0, le=365, description="simulate: days (spec's)")
    seed: int = Field(0, ge=0, le=2**31)


class JobOut(BaseModel):
    id: str
    kind: str
    status: str
    created: float
    started: float | None = None
    finished: float | None = None
    progress: float
    message: str
    error: dict[str, Any] | None = None
    result: dict[str, Any] | None = None
    spec: dict[str, Any]
    params: dict[str, Any]
    links: dict[str, str] = {}


class JobList(BaseModel):
    jobs: list[JobOut]
    queue: dict[str, int]


def job_out(job: Job) -> dict[str, Any]:
    d = job.public()
    base = f"/api/v1/jobs/{job.id}"
    links = {"self": base, "events": f"{base}/events", "page": f"/jobs/{job.id}"}
    if job.status == "done" and job.kind == "design":
        links["report"] = f"{base}/report"
    if job.status == "done" and job.kind == "simulate":
        links["timecourse"] = f"{base}/timecourse"
    d["links"] = links
    return d


@router.get("/schema/{kind}", summary="JSON Schema of a design or therapy spec")
async def spec_schema(kind: Kind) -> Any:
    return JSON(schema_of(kind))


@router.get("/examples/{kind}", summary="Example specs (the form's presets)")
async def spec_examples(kind: Kind) -> Any:
    return JSON(examples_of(kind))


@router.post("/validate/{kind}", response_model=Validation,
             summary="Validate a spec; every problem names its field")
def validate(request: Request, kind: Kind, spec: dict[str, Any]) -> Any:
    errs = validate_spec(get_state(request), kind, spec)
    return JSON({"valid": not errs, "errors": errs})


def submit_job(state: AppState, req: JobRequest, client: str) -> Job:
    errs = validate_spec(state, req.kind, req.spec)
    if errs:
        e = errs[0]
        raise WebError(400, e["message"], field=e["field"], value=e["value"],
                       accepted=e["accepted"])
    if req.kind == "simulate":
        n = req.subjects or 200
        if n > state.settings.max_subjects:
            raise WebError(400, "too many subjects for this server", field="subjects",
                           value=n, accepted=f"<= {state.settings.max_subjects}")
        params: dict[str, Any] = {"subjects": n, "days": req.days, "seed": req.seed}
    else:
        params = {}
    state.limiter.check(client)
    try:
        return state.jobs.submit(req.kind, req.spec, params)
    except QueueFull as exc:
        raise WebError(503, str(exc), field="queue", accepted="retry when a job has finished",
                       headers={"Retry-After": "10"}) from None


@router.post("/jobs", status_code=202, response_model=JobOut, responses=JOB_ERRORS,
             summary="Queue a design or simulation run")
def create_job(request: Request, req: JobRequest) -> Any:
    state = get_state(request)
    client = request.client.host if request.client else "unknown"
    return JSON(job_out(submit_job(state, req, client)), status_code=202)


@router.get("/jobs", response_model=JobList, summary="Past and current runs, newest first")
async def list_jobs(request: Request) -> Any:
    state = get_state(request)
    return JSON({"jobs": [job_out(j) for j in state.jobs.list()],
                 "queue": state.jobs.counts()})


def _job(state: AppState, job_id: str) -> Job:
    job = state.jobs.get(job_id)
    if job is None:
        raise WebError(404, "no such job", field="job_id", value=job_id,
                       accepted="an id listed by /api/v1/jobs")
    return job


@router.get("/jobs/{job_id}", response_model=JobOut, summary="One run: status and result")
async def get_job(request: Request, job_id: JobId) -> Any:
    return JSON(job_out(_job(get_state(request), job_id)))


@router.get("/jobs/{job_id}/events", summary="Progress as server-sent events until the run ends",
            responses={200: {"content": {"text/event-stream": {}}}})
async def job_events(request: Request, job_id: JobId) -> Any:
    job = _job(get_state(request), job_id)

    async def stream() -> Any:
        last = -1
        start = time.monotonic()
        while time.monotonic() - start < SSE_MAX_SECONDS:
            if job.version != last or job.status in FINISHED:
                last = job.version
                payload = {k: v for k, v in job_out(job).items() if k not in ("spec",)}
                yield f"event: progress\ndata: {json.dumps(payload, default=str)}\n\n"
                if job.status in FINISHED:
                    yield "event: end\ndata: {}\n\n"
                    return
            if await request.is_disconnected():
                return
            await asyncio.sleep(0.2)

    return StreamingResponse(stream(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})


@router.post("/jobs/{job_id}/cancel", response_model=JobOut, summary="Cancel a run")
def cancel_job(request: Request, job_id: JobId) -> Any:
    state = get_state(request)
    _job(state, job_id)
    job = state.jobs.cancel(job_id)
    assert job is not None
    return JSON(job_out(job))


@router.delete("/jobs/{job_id}", responses=WRITE_ERRORS, dependencies=[Depends(require_token)],
               summary="Delete a run and its files (needs the token)")
def delete_job(request: Request, job_id: JobId) -> Any:
    state = get_state(request)
    _job(state, job_id)
    state.jobs.delete(job_id)
    return JSON({"deleted": job_id})


def _result_file(state: AppState, job_id: str, kind: str, rel: str) -> FsPath:
    job = _job(state, job_id)
    if job.kind != kind or job.status != "done":
        raise WebError(404, f"this run has no {kind} result", field="job_id", value=job_id,
                       accepted=f"a finished {kind} run")
    path = job.dir / rel
    if not path.is_file():
        raise WebError(404, "result file missing", field="job_id", value=job_id)
    return path


@router.get("/jobs/{job_id}/report", summary="The design report (the HTML the CLI writes)",
            responses={200: {"content": {"text/html": {}}}})
def job_report(request: Request, job_id: JobId) -> Any:
    path = _result_file(get_state(request), job_id, "design", "report/report.html")
    return HTMLResponse(path.read_text(encoding="utf-8"))


@router.get("/jobs/{job_id}/report.json", summary="The design report's numbers (report.json)")
def job_report_json(request: Request, job_id: JobId) -> Any:
    path = _result_file(get_state(request), job_id, "design", "report/report.json")
    return JSON(json.loads(path.read_text(encoding="utf-8")))


@router.get("/jobs/{job_id}/timecourse", summary="Simulated time courses: median, 5-95 % band")
def job_timecourse(request: Request, job_id: JobId) -> Any:
    path = _result_file(get_state(request), job_id, "simulate", "timecourse.json")
    return JSON(json.loads(path.read_text(encoding="utf-8")))
