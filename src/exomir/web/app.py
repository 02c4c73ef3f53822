"""``create_app(settings) -> FastAPI``: the JSON API under ``/api/v1``, the HTML pages, the
static files (ours, plotly's and Swagger UI's, all from installed packages) and the job queue.

Routers are listed in ``WEB_ROUTERS`` beside ``exomir.cli.CAPABILITY_CLIS``; a module whose
package does not import is skipped, so the app serves what works.
"""

from __future__ import annotations

import importlib
import logging
import mimetypes
from contextlib import asynccontextmanager
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, Response

from exomir import __version__
from exomir.kb import KnowledgeBase, open_kb
from exomir.web import errors
from exomir.web.index import StudyIndex
from exomir.web.jobs import JobQueue
from exomir.web.render import make_env
from exomir.web.security import RateLimiter, SecurityMiddleware
from exomir.web.settings import Settings

log = logging.getLogger("exomir.web")

# API routers, then page routers (each module exposes ``router``).
WEB_ROUTERS = [
    "exomir.web.api.kb",
    "exomir.web.api.evidence",
    "exomir.web.api.cargo",
    "exomir.web.api.release",
    "exomir.web.api.jobs",
    "exomir.web.api.quality",
    "exomir.web.pages.main",
]


@dataclass
class AppState:
    settings: Settings
    kb: KnowledgeBase
    index: StudyIndex
    jobs: JobQueue
    limiter: RateLimiter
    templates: Any
    static: dict[str, tuple[bytes, str]]


def _static_files() -> dict[str, tuple[bytes, str]]:
    """Name -> (bytes, media type), read once: requests never name a file on disk."""
    files: dict[str, Path] = {}
    own = resources.files("exomir.web") / "static"
    for entry in own.iterdir():
        if entry.is_file():
            files[entry.name] = Path(str(entry))
    try:
        import plotly

        files["vendor/plotly.min.js"] = Path(plotly.__file__).parent / "package_data" / \
            "plotly.min.js"
    except ImportError:  # pragma: no cover - plotly is a dependency of the web extra
        pass
    try:
        import fastapi_offline

        sw = Path(fastapi_offline.__file__).parent / "static"
        files["vendor/swagger-ui-bundle.js"] = sw / "swagger-ui-bundle.js"
        files["vendor/swagger-ui.css"] = sw / "swagger-ui.css"
    except ImportError:  # pragma: no cover
        pass
    out: dict[str, tuple[bytes, str]] = {}
    for name, path in files.items():
        if path.is_file():
            media = mimetypes.guess_type(name)[0] or "application/octet-stream"
            if name.endswith(".js"):
                media = "text/javascript; charset=utf-8"
            out[name] = (path.read_bytes(), media)
    return out


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the app on ``settings`` (default: ``Settings()``: 127.0.0.1, the CLI's KB)."""
    settings = settings or Settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    settings.tmp_dir.mkdir(parents=True, exist_ok=True)
    kb = open_kb(settings.db) if settings.db else open_kb()
    from exomir.web.runners import make_design_runner, run_simulate

    jobs = JobQueue(settings.jobs_dir,
                    {"simulate": run_simulate,
                     "design": make_design_runner(kb.url, settings.design_in_process)},
                    workers=settings.job_workers, capacity=settings.job_queue)
    state = AppState(settings=settings, kb=kb, index=StudyIndex(kb), jobs=jobs,
                     limiter=RateLimiter(settings.job_rate_per_minute, settings.job_rate_burst),
                     templates=make_env(str(settings.data_dir / "templates")),
                     static=_static_files())

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> Any:
        yield
        state.jobs.shutdown()

    app = FastAPI(
        title="exomir", version=__version__, lifespan=lifespan,
        description="JSON API over exomir's capabilities: evidence, meta-analysis, cargo, "
        "release, design and simulation jobs, quality and dose. Errors are JSON naming the "
        "field, the value and what is accepted.",
        docs_url=None, redoc_url=None, openapi_url="/api/v1/openapi.json")
    app.state.exomir = state
    errors.install(app)
    app.add_middleware(SecurityMiddleware, max_body=settings.max_upload_bytes)

    for mod_name in WEB_ROUTERS:
        try:
            module = importlib.import_module(mod_name)
        except ImportError as exc:
            log.warning("skipping %s: %s", mod_name, exc)
            continue
        app.include_router(module.router)

    @app.get("/static/{name:path}", include_in_schema=False)
    def static(name: str) -> Response:
        hit = state.static.get(name)
        if hit is None:
            raise errors.WebError(404, "no such static file", field="name", value=name)
        return Response(hit[0], media_type=hit[1],
                        headers={"Cache-Control": "public, max-age=3600"})

    @app.get("/api/docs", include_in_schema=False)
    def docs(request: Request) -> HTMLResponse:
        return HTMLResponse(
            "<!doctype html><html><head><meta charset='utf-8'><title>exomir API</title>"
            "<link rel='stylesheet' href='/static/vendor/swagger-ui.css'></head><body>"
            "<div id='swagger-ui'></div><script src='/static/vendor/swagger-ui-bundle.js'>"
            "</script><script src='/static/swagger-init.js'></script></body></html>")

    return app


def get_state(request: Request) -> AppState:
    st: AppState = request.app.state.exomir
    return st
