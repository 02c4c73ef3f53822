"""Concurrent use (issue 17): readers never fail during an import, a second writer waits or fails
with one line, concurrent imports never duplicate, origins survive a round trip, URLs stay URLs.
Run on SQLite (WAL + busy timeout + BEGIN IMMEDIATE) and PostgreSQL (advisory write lock)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from exomir.cli import app
from exomir.core import InputError, Study
from exomir.kb import io as kbio
from exomir.kb import open_kb, schema
from exomir.kb.store import KnowledgeBaseError, _as_url

runner = CliRunner()
NewDb = Callable[[str], str]


def _hold_write_lock(url: str, started: threading.Event, release: threading.Event) -> None:
    kb = open_kb(url)
    with kb._writing() as conn:
        kb._write_studies(conn, [Study(id="LOCKED1", indication="diabetic_wound")],  # type: ignore[arg-type]
                          origin="user")
        started.set()
        release.wait(20)


def test_readers_work_while_a_writer_holds_the_lock(_kb_backend: str, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    kb = open_kb()
    before = kb.stats()["all"]["studies"]
    started, release = threading.Event(), threading.Event()
    writer = threading.Thread(target=_hold_write_lock, args=(_kb_backend, started, release))
    writer.start()
    try:
        assert started.wait(20)
        # a reader (new process state: a new KnowledgeBase) sees the committed data, at once
        t0 = time.monotonic()
        res = runner.invoke(app, ["kb", "stats", "--format", "json"])
        assert res.exit_code == 0, res.output
        assert json.loads(res.output)["all"]["studies"] == before
        assert open_kb().studies(indication="diabetic_wound")
        assert time.monotonic() - t0 < 10
        # a second writer gives up after the timeout with one line and exit 1
        monkeypatch.setenv("EXOMIR_DB_TIMEOUT", "0.3")
        with pytest.raises(KnowledgeBaseError, match="busy"):
            open_kb().upsert_studies([Study(id="SECOND", indication="diabetic_wound")])  # type: ignore[arg-type]
        rec = tmp_path / "one.json"
        rec.write_text(json.dumps([{"id": "THIRD", "indication": "diabetic_wound"}]))
        res = runner.invoke(app, ["kb", "import", str(rec)])
        assert res.exit_code == 1
        lines = [ln for ln in res.output.splitlines() if ln.strip()]
        assert lines[0].startswith("error: the knowledge base is busy")
        assert len(lines) == 2 and lines[1].startswith("hint:")
    finally:
        release.set()
        writer.join()
    monkeypatch.delenv("EXOMIR_DB_TIMEOUT")
    assert {"LOCKED1"} <= {s.id for s in open_kb().studies()}


def test_second_writer_waits_for_the_first(_kb_backend: str) -> None:
    started, release = threading.Event(), threading.Event()
    writer = threading.Thread(target=_hold_write_lock, args=(_kb_backend, started, release))
    writer.start()
    assert started.wait(20)
    done: list[float] = []

    def second() -> None:
        open_kb().upsert_studies([Study(id="SECOND", indication="diabetic_wound")])  # type: ignore[arg-type]
        done.append(time.monotonic())

    t = threading.Thread(target=second)
    t.start()
    time.sleep(0.5)
    released_at = time.monotonic()
    release.set()
    writer.join()
    t.join(30)
    assert done and done[0] >= released_at  # it waited, then wrote
    assert {"LOCKED1", "SECOND"} <= {s.id for s in open_kb().studies()}


def test_concurrent_imports_of_one_file_never_duplicate(tmp_path: Path) -> None:
    kb = open_kb()
    out = tmp_path / "s.json"
    studies = [Study(id=f"C{i:03d}", indication="neuropathic_pain") for i in range(60)]  # type: ignore[arg-type]
    out.write_text(kbio.dump_json("studies", studies))
    before = kb.table_counts()
    errors: list[BaseException] = []

    def imp() -> None:
        try:
            open_kb().import_records(kbio.read_records(out))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=imp) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors
    after = kb.table_counts()
    assert after["studies"] == before["studies"] + 60


def test_origin_survives_json_and_csv_round_trip(tmp_path: Path, new_db: NewDb) -> None:
    kb = open_kb()
    kb.upsert_studies([Study(id="USER1", indication="diabetic_wound")])  # type: ignore[arg-type]
    for fmt in ("json", "csv"):
        out = tmp_path / f"all.{fmt}"
        res = runner.invoke(app, ["kb", "export", "--format", fmt, "--out", str(out)])
        assert res.exit_code == 0, res.output
        target = open_kb(new_db(f"rt{fmt}"), seed=False)
        target.import_records(kbio.read_records(out))
        origins = target.origins("studies")
        assert origins["USER1"].startswith("import:")  # user data, from this import
        curated = [k for k, v in kb.origins("studies").items() if v == "curated"]
        assert curated and all(origins[k] == "curated" for k in curated)
    # a record that claims to be curated but differs from the packaged one is stored as user
    data = json.loads((tmp_path / "all.json").read_text())
    data["studies"][0]["title"] = "edited by a user"
    forged = tmp_path / "forged.json"
    forged.write_text(json.dumps(data))
    target = open_kb(new_db("forged"), seed=False)
    target.import_records(kbio.read_records(forged))
    assert target.origins("studies")[data["studies"][0]["id"]].startswith("import:")
    # interactions keep their origin too
    out = tmp_path / "inter.json"
    assert runner.invoke(app, ["kb", "export", "--what", "interactions", "--out",
                               str(out)]).exit_code == 0
    target = open_kb(new_db("inter"), seed=False)
    target.import_records(kbio.read_records(out))
    assert set(target.origins("interactions").values()) == {"curated"}


def test_unknown_origin_is_refused(tmp_path: Path) -> None:
    p = tmp_path / "o.json"
    p.write_text(json.dumps({"studies": [{"id": "X1", "indication": "diabetic_wound",
                                          "origin": "martian"}]}))
    with pytest.raises(InputError, match=r"o.json:1.*origin.*martian"):
        kbio.read_records(p)


def test_migrations_upgrade_an_empty_database_and_refuse_a_newer_one(new_db: NewDb) -> None:
    from exomir.kb import migrations

    url = new_db("mig")
    kb = open_kb(url, seed=False)
    with kb._reading() as conn:
        assert migrations.current_version(conn) == migrations.LATEST
    with kb._writing() as conn:
        migrations._set(conn, "schema_version", str(migrations.LATEST + 1))
    res = runner.invoke(app, ["--db", url, "kb", "stats"])
    assert res.exit_code == 1 and "newer than this exomir" in res.output
    assert len([ln for ln in res.output.splitlines() if ln.strip()]) == 1


@pytest.mark.sqlite_only
def test_urls_stay_urls_and_paths_become_sqlite(tmp_path: Path) -> None:
    assert _as_url("postgresql://u@h:5432/db") == "postgresql+psycopg://u@h:5432/db"
    assert _as_url("postgres://u@h/db") == "postgresql+psycopg://u@h/db"
    assert _as_url("postgresql+psycopg2://u@h/db") == "postgresql+psycopg2://u@h/db"
    assert _as_url("sqlite:///x.sqlite") == "sqlite:///x.sqlite"
    assert _as_url(str(tmp_path / "k.sqlite")) == f"sqlite:///{tmp_path / 'k.sqlite'}"
    with pytest.raises(InputError, match="'//'"):
        _as_url("postgresql:/user@host:5432/db")  # what Path() made of a URL
    with pytest.raises(InputError, match="directory"):
        _as_url(str(tmp_path))


@pytest.mark.sqlite_only
def test_db_option_keeps_a_postgres_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """--db postgresql://... and EXOMIR_DB reach the driver as URLs; no SQLite file appears."""
    monkeypatch.chdir(tmp_path)
    url = "postgresql://nobody@127.0.0.1:1/none"
    monkeypatch.setenv("EXOMIR_DB_TIMEOUT", "1")
    for args, env in ((["--db", url, "kb", "path"], None), (["kb", "path"], {"EXOMIR_DB": url})):
        res = runner.invoke(app, args, env=env)
        assert res.exit_code == 1, res.output
        assert "cannot use the knowledge base at postgresql+psycopg://nobody@127.0.0.1:1/none" \
            in res.output
    assert not list(tmp_path.rglob("*"))  # no file named postgresql:/... created


def test_kb_path_hides_the_password(_kb_backend: str) -> None:
    from exomir.kb.store import safe_url

    assert safe_url("postgresql+psycopg://u:secret@h/db") == "postgresql+psycopg://u:***@h/db"
    res = runner.invoke(app, ["kb", "path"])
    assert res.exit_code == 0 and "secret" not in res.output


def test_not_a_database_file_is_one_line(tmp_path: Path, backend: str) -> None:
    if backend != "sqlite":
        pytest.skip("SQLite file check")
    bad = tmp_path / "notes.sqlite"
    bad.write_text("these are my notes, not a database\n" * 20)
    res = runner.invoke(app, ["--db", str(bad), "kb", "stats"])
    assert res.exit_code == 2, res.output
    assert "not an exomir knowledge base" in res.output


def test_interaction_rows_unique_after_concurrent_reimport(tmp_path: Path) -> None:
    kb = open_kb()
    out = tmp_path / "inter.json"
    assert runner.invoke(app, ["kb", "export", "--what", "interactions", "--out",
                               str(out)]).exit_code == 0
    before = kb.table_counts()["interactions"]
    threads = [threading.Thread(target=lambda: open_kb().import_records(
        kbio.read_records(out))) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    with kb._reading() as conn:
        n = len(conn.execute(select(schema.interactions.c.id)).all())
    assert n == before
