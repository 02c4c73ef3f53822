"""Errors as JSON (API) or a page (HTML): field, value and what is accepted; never a
traceback. ``InputError`` -> 400, request validation -> 422, missing -> 404."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from exomir.core.errors import ExomirError, InputError
from exomir.web.render import JSON, html

log = logging.getLogger("exomir.web")


class ErrorDetail(BaseModel):
    message: str
    field: str | None = None
    value: str | None = None
    accepted: str | None = None
    source: str | None = None
    line: int | None = None


class ErrorBody(ErrorDetail):
    status: int


class ErrorResponse(BaseModel):
    """Every error the app returns: the first problem, and all of them."""

    error: ErrorBody
    errors: list[ErrorDetail] = []


def _desc(text: str) -> dict[str, Any]:
    return {"model": ErrorResponse, "description": text}


ERRORS: dict[int | str, dict[str, Any]] = {
    400: _desc("bad input: the field, the value and what is accepted"),
    404: _desc("no such record"),
    413: _desc("upload too large"),
    422: _desc("request does not match the schema: the field, the value and what is accepted"),
}
WRITE_ERRORS: dict[int | str, dict[str, Any]] = {
    401: _desc("token missing or wrong"), 403: _desc("writes are off (no EXOMIR_TOKEN)")}
JOB_ERRORS: dict[int | str, dict[str, Any]] = {
    429: _desc("too many submissions from this client; retry later"),
    503: _desc("the job queue is full; retry later")}


class WebError(Exception):
    def __init__(self, status: int, message: str, *, field: str | None = None,
                 value: object = None, accepted: str | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.detail = ErrorDetail(message=message, field=field,
                                  value=None if value is None else str(value)[:200],
                                  accepted=accepted)
        self.headers = headers


def _wants_html(request: Request) -> bool:
    p = request.url.path
    if p.startswith("/api/") or p.endswith((".json", ".csv")):
        return False
    return "text/html" in request.headers.get("accept", "")


def error_response(request: Request, status: int, details: list[ErrorDetail],
                   headers: dict[str, str] | None = None) -> Response:
    first = details[0] if details else ErrorDetail(message="error")
    body = ErrorResponse(error=ErrorBody(status=status, **first.model_dump()), errors=details)
    if _wants_html(request) and hasattr(request.app.state, "exomir"):
        return html(request, "error.html", {"status": status, "errors": details,
                                            "title": f"Error {status}"}, status_code=status)
    return JSON(body.model_dump(), status_code=status, headers=headers)


def input_detail(exc: InputError) -> ErrorDetail:
    return ErrorDetail(message=exc.message, field=exc.field,
                       value=None if exc.value is None else str(exc.value)[:200],
                       accepted=exc.accepted, source=exc.source, line=exc.line)


def _loc(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc]
    if parts and parts[0] in ("body", "query", "path", "header", "cookie"):
        parts = parts[1:]
    return ".".join(parts) or "request"


def validation_details(errors: list[Any]) -> list[ErrorDetail]:
    out = []
    for e in errors:
        ctx = e.get("ctx") or {}
        accepted = None
        if "expected" in ctx:
            accepted = str(ctx["expected"])
        elif e.get("type", "").startswith(("int", "float")):
            accepted = "a number"
        elif e.get("type") == "missing":
            accepted = "a value (required)"
        for key in ("ge", "gt", "le", "lt"):
            if key in ctx:
                sym = {"ge": ">=", "gt": ">", "le": "<=", "lt": "<"}[key]
                accepted = f"{sym} {ctx[key]}"
        value = e.get("input")
        shown = None if isinstance(value, dict | list) or value is None else str(value)[:200]
        msg = str(e.get("msg", "invalid")).removeprefix("Value error, ")
        out.append(ErrorDetail(message=msg, field=_loc(tuple(e.get("loc", ()))), value=shown,
                               accepted=accepted))
    return out


def install(app: Any) -> None:
    @app.exception_handler(WebError)
    async def _web(request: Request, exc: WebError) -> Response:
        return error_response(request, exc.status, [exc.detail], exc.headers)

    @app.exception_handler(InputError)
    async def _input(request: Request, exc: InputError) -> Response:
        return error_response(request, 400, [input_detail(exc)])

    @app.exception_handler(ExomirError)
    async def _exomir(request: Request, exc: ExomirError) -> Response:
        return error_response(request, 400, [ErrorDetail(message=str(exc))])

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> Response:
        return error_response(request, 422, validation_details(list(exc.errors())))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        msg = exc.detail if isinstance(exc.detail, str) else "error"
        if exc.status_code == 404 and msg == "Not Found":
            msg = f"no such page: {request.url.path[:200]}"
        return error_response(request, exc.status_code, [ErrorDetail(message=msg)],
                              getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def _bug(request: Request, exc: Exception) -> Response:
        log.exception("internal error on %s", request.url.path)
        return error_response(request, 500, [ErrorDetail(
            message=f"internal error ({type(exc).__name__}); the server log has the details")])
