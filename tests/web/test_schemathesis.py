"""schemathesis over the OpenAPI document: no server error and no response outside the
documented schema, status codes and content types, for every operation (the write
operations with and without the token). Examples per operation are bounded to stay cheap."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings

from tests.web.conftest import TOKEN

schemathesis = pytest.importorskip("schemathesis")

WRITES = {("POST", "/api/v1/kb/import"), ("DELETE", "/api/v1/jobs/{job_id}")}
MAX_EXAMPLES = 6


def _checks() -> list[Any]:
    from schemathesis.checks import (
        content_type_conformance,
        not_a_server_error,
        response_schema_conformance,
        status_code_conformance,
    )

    return [not_a_server_error, response_schema_conformance, status_code_conformance,
            content_type_conformance]


def _operations(app: Any) -> list[Any]:
    schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", app)
    return [r.ok() for r in schema.get_all_operations()]


def _run(op: Any, headers: dict[str, str] | None, n: int) -> None:
    checks = _checks()

    @given(case=op.as_strategy())
    @settings(max_examples=n, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    def run(case: Any) -> None:
        case.call_and_validate(headers=headers, checks=checks)

    run()


def test_every_operation_without_token(app: Any) -> None:
    ops = _operations(app)
    assert len(ops) >= 25
    seen = []
    try:
        for op in ops:
            if op.path.endswith("/events"):  # a stream; covered by the browser test
                continue
            _run(op, None, MAX_EXAMPLES)
            seen.append(f"{op.method.upper()} {op.path}")
    finally:
        _cancel_all(app)
    assert {f"{m} {p}" for m, p in WRITES} <= set(seen)


def test_write_operations_with_token(app: Any) -> None:
    ops = [op for op in _operations(app) if (op.method.upper(), op.path) in WRITES]
    assert len(ops) == len(WRITES)
    try:
        for op in ops:
            _run(op, {"Authorization": f"Bearer {TOKEN}"}, MAX_EXAMPLES)
    finally:
        _cancel_all(app)


def _cancel_all(app: Any) -> None:
    """Cancel whatever the generated submissions queued (keeps the suite cheap)."""
    q = app.state.exomir.jobs
    for j in q.list():
        q.cancel(j.id)
