"""Run every knowledge-base test on SQLite and on PostgreSQL.

PostgreSQL: ``EXOMIR_TEST_POSTGRES`` is the URL of a database where the test user may create
schemas (``.ci/postgres.sh`` starts a server on a private Unix socket and prints it). Each
``new_db`` is a new, empty schema of that database, reached through a URL whose
``options=-csearch_path=...`` selects it (as a user would select a schema); ``EXOMIR_DB``
points at one; they are dropped afterwards. Without the variable the PostgreSQL half is skipped locally and fails in
CI (``EXOMIR_REQUIRE_REFERENCES=1``). ``@pytest.mark.sqlite_only`` marks tests of the file
readers that do not depend on the database engine.
"""

from __future__ import annotations

import itertools
import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.conftest import require_reference

PG_ENV = "EXOMIR_TEST_POSTGRES"
_counter = itertools.count()


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "sqlite_only: test does not depend on the database "
                            "engine; run it on SQLite only")


def _admin_engine(url: str):  # type: ignore[no-untyped-def]
    from sqlalchemy import create_engine

    from exomir.kb.store import _as_url

    return create_engine(_as_url(url), isolation_level="AUTOCOMMIT")


@pytest.fixture(scope="session")
def pg_admin() -> Iterator[object]:
    url = os.environ.get(PG_ENV)
    require_reference(bool(url), f"PostgreSQL server ({PG_ENV}; start one with .ci/postgres.sh)")
    assert url is not None
    engine = _admin_engine(url)
    yield engine
    engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest) -> str:
    if request.param == "postgresql" and request.node.get_closest_marker("sqlite_only"):
        pytest.skip("engine-independent test (runs on SQLite)")
    return str(request.param)


@pytest.fixture
def new_db(backend: str, tmp_path: Path, request: pytest.FixtureRequest
           ) -> Iterator[Callable[[str], str]]:
    """``new_db(name)``: the path or URL of a new, empty knowledge-base database."""
    created: list[str] = []
    if backend == "sqlite":
        yield lambda name: str(tmp_path / f"{name}.sqlite")
        return
    from sqlalchemy import text
    from sqlalchemy.engine import make_url

    admin = request.getfixturevalue("pg_admin")
    base = make_url(_admin_url())

    def make(name: str) -> str:
        schema = f"t_{uuid.uuid4().hex[:12]}_{next(_counter)}"
        with admin.connect() as conn:  # type: ignore[attr-defined]
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        created.append(schema)
        query = dict(base.query)
        query["options"] = f"-csearch_path={schema}"
        return base.set(query=query).render_as_string(hide_password=False)

    yield make
    from exomir.kb import store

    store.dispose_engines()
    with admin.connect() as conn:  # type: ignore[attr-defined]
        for schema in created:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))


def _admin_url() -> str:
    from exomir.kb.store import _as_url

    return _as_url(os.environ[PG_ENV])


@pytest.fixture(autouse=True)
def _kb_backend(new_db: Callable[[str], str], monkeypatch: pytest.MonkeyPatch) -> str:
    """Point EXOMIR_DB at a new database of the test's backend."""
    url = new_db("exomir")
    monkeypatch.setenv("EXOMIR_DB", url)
    return url
