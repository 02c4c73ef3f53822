"""Security at the edge: response headers, same-origin checks on writes (CSRF), upload size
limits, the write token and the per-client submission rate limit."""

from __future__ import annotations

import hmac
import json
import threading
import time
from typing import Any
from urllib.parse import urlsplit

from fastapi import Request

from exomir.web.errors import WebError

CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
       "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; "
       "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'self'")
HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"SAMEORIGIN"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"cross-origin-resource-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=(), interest-cohort=()"),
    (b"content-security-policy", CSP.encode()),
]
UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}


def _json_error(status: int, message: str, field: str | None = None,
                accepted: str | None = None) -> bytes:
    detail = {"message": message, "field": field, "value": None, "accepted": accepted,
              "source": None, "line": None}
    return json.dumps({"error": {"status": status, **detail}, "errors": [detail]}).encode()


class SecurityMiddleware:
    """Pure ASGI (no per-request task overhead): adds headers, refuses cross-site writes
    (Origin/Referer must be this host; ``Sec-Fetch-Site: cross-site`` is refused) and bodies
    over ``max_body`` bytes (413)."""

    def __init__(self, app: Any, max_body: int) -> None:
        self.app = app
        self.max_body = max_body

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        if scope["method"] in UNSAFE:
            problem = _cross_site(headers)
            if problem:
                await _reply(send, 403, _json_error(403, problem, field="Origin",
                                                    accepted="requests from this server's "
                                                    "own pages"))
                return
            length = headers.get("content-length")
            if length is not None and length.isdigit() and int(length) > self.max_body:
                await _reply(send, 413, _json_error(
                    413, f"request body of {int(length)} bytes is over the limit",
                    field="file", accepted=f"at most {self.max_body} bytes"))
                return
            receive = _limited(receive, self.max_body)

        async def send_with_headers(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                have = {k.lower() for k, _ in message.get("headers", [])}
                message.setdefault("headers", [])
                message["headers"] = list(message["headers"]) + [
                    (k, v) for k, v in HEADERS if k not in have]
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        except _TooLarge:
            await _reply(send, 413, _json_error(413, "request body is over the limit",
                                                field="file",
                                                accepted=f"at most {self.max_body} bytes"))


class _TooLarge(Exception):
    pass


def _limited(receive: Any, limit: int) -> Any:
    seen = 0

    async def inner() -> dict[str, Any]:
        nonlocal seen
        message: dict[str, Any] = await receive()
        if message["type"] == "http.request":
            seen += len(message.get("body", b""))
            if seen > limit:
                raise _TooLarge()
        return message

    return inner


def _cross_site(headers: dict[str, str]) -> str | None:
    host = headers.get("host", "")
    if headers.get("sec-fetch-site") == "cross-site":
        return "cross-site request refused"
    for name in ("origin", "referer"):
        value = headers.get(name)
        if value and value != "null":
            if urlsplit(value).netloc != host:
                return f"cross-origin request refused ({name} is not this server)"
            return None
        if value == "null":
            return "request from an opaque origin refused"
    return None


async def _reply(send: Any, status: int, body: bytes) -> None:
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode()), *HEADERS]})
    await send({"type": "http.response.body", "body": body})


def require_token(request: Request) -> None:
    """Writes need the server's token (``Authorization: Bearer ...`` or ``X-Exomir-Token``),
    compared in constant time; without a configured token they are off (403)."""
    expected = request.app.state.exomir.settings.token
    if not expected:
        raise WebError(403, "writes are off: start the server with EXOMIR_TOKEN set",
                       field="EXOMIR_TOKEN", accepted="a server started with a token")
    auth = request.headers.get("authorization", "")
    given = auth[7:] if auth.lower().startswith("bearer ") else \
        request.headers.get("x-exomir-token", "")
    if not hmac.compare_digest(given.encode(), expected.encode()):
        raise WebError(401, "missing or wrong token", field="Authorization",
                       accepted="Authorization: Bearer <EXOMIR_TOKEN>",
                       headers={"WWW-Authenticate": "Bearer"})


class RateLimiter:
    """Token bucket per client address: ``rate`` per minute, bursts of ``burst``."""

    def __init__(self, rate_per_minute: float, burst: int) -> None:
        self.rate = rate_per_minute / 60.0
        self.burst = float(max(1, burst))
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def check(self, client: str) -> None:
        now = time.monotonic()
        with self._lock:
            tokens, last = self._buckets.get(client, (self.burst, now))
            tokens = min(self.burst, tokens + (now - last) * self.rate)
            if tokens < 1.0:
                wait = (1.0 - tokens) / self.rate if self.rate > 0 else 60.0
                self._buckets[client] = (tokens, now)
                raise WebError(429, "too many job submissions from this client",
                               field="rate", value=f"{self.rate * 60:g}/min",
                               accepted=f"retry in {wait:.0f} s",
                               headers={"Retry-After": str(max(1, round(wait)))})
            self._buckets[client] = (tokens - 1.0, now)
            if len(self._buckets) > 10000:
                self._buckets.clear()
