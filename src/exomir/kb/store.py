"""The :class:`KnowledgeBase`: typed reads and transactional writes over the schema."""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import hashlib
import json
import os
import re
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar

from platformdirs import user_data_dir
from pydantic import ValidationError
from sqlalchemy import (
    Connection,
    Engine,
    bindparam,
    create_engine,
    delete,
    event,
    func,
    select,
    text,
)
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import make_url
from sqlalchemy.pool import StaticPool

from exomir.core import (
    ClinicalTrial,
    ExomirError,
    GeneSet,
    Indication,
    InputError,
    MatureMirna,
    MirnaTargetInteraction,
    PublishedSynthesis,
    Route,
    Species,
    Study,
)
from exomir.core.enums import CargoKind, EvidenceUse, ExclusionReason
from exomir.core.gates import effect
from exomir.core.mirna import find_mirna_names, mirna_matches, parse_mirna_name
from exomir.kb import migrations, schema

CURATED = ("studies.json", "mirnas.json", "interactions.json", "trials.json", "syntheses.json")
EMBEDDED_URL = "sqlite://"  # in-memory


#: Seconds a writer waits for another writer (or a reader waits for a schema change) before
#: giving up with a one-line error; ``EXOMIR_DB_TIMEOUT`` overrides it.
DEFAULT_TIMEOUT_S = 60.0
#: PostgreSQL advisory-lock key that serialises exomir's write transactions.
_PG_WRITE_LOCK = 0x65786F6D6972  # "exomir"


class KnowledgeBaseError(ExomirError):
    """The knowledge base cannot be used right now (busy, unreachable): one line, exit 1."""

    exit_code = 1

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.hint = hint


def default_db_url() -> str:
    """``EXOMIR_DB`` (path or URL) or ``<user data dir>/exomir/exomir.sqlite``."""
    env = os.environ.get("EXOMIR_DB")
    if env:
        return _as_url(env)
    path = Path(user_data_dir("exomir", appauthor=False)) / "exomir.sqlite"
    return _as_url(str(path))


_SCHEME_RE = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*):(/*)(.*)$")
_POSTGRES_SCHEMES = ("postgresql", "postgres")


def _as_url(target: str) -> str:
    """A SQLAlchemy URL for a path or URL given by the user (``--db``, ``EXOMIR_DB``).

    URLs stay URLs: ``postgresql://user@host:5432/db`` (and ``postgres://``) get exomir's
    PostgreSQL driver, psycopg 3 (``postgresql+psycopg://``); an explicit driver suffix such
    as ``+psycopg2`` is kept. A path becomes ``sqlite:///<absolute path>``. A URL whose
    ``//`` was lost (``postgresql:/user@host/db``, what a ``Path`` makes of a URL) is refused
    instead of becoming a file of that name.
    """
    raw = target.strip()
    m = _SCHEME_RE.match(raw)
    if m and len(m.group(1)) > 1:  # "C:/..." on Windows is a path, not a scheme
        scheme, slashes = m.group(1), m.group(2)
        if len(slashes) < 2:
            raise InputError("database URL needs '//' after the scheme", field="--db",
                             value=raw, accepted="sqlite:///path/to/file.sqlite, "
                             "postgresql://user@host:5432/dbname, or a file path")
        base, _, driver = scheme.partition("+")
        if base.lower() in _POSTGRES_SCHEMES:
            raw = f"postgresql+{driver or 'psycopg'}:{slashes}{m.group(3)}"
        try:
            make_url(raw)
        except sa_exc.ArgumentError:
            raise InputError("not a database URL SQLAlchemy can read", field="--db",
                             value=raw, accepted="sqlite:///path, postgresql://user@host/db"
                             ) from None
        return raw
    path = Path(raw).expanduser()
    try:
        if path.is_dir():
            raise InputError("is a directory, not a database file", field="--db", value=raw,
                             accepted="a file path (created on first use) or a database URL")
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"cannot create the database folder ({exc.strerror})", field="--db",
                         value=raw) from None
    return f"sqlite:///{path.resolve()}"


def safe_url(url: str) -> str:
    """The URL with any password hidden, for messages and ``kb path``/``kb stats``."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except sa_exc.ArgumentError:
        return url


def open_kb(url: str | Path | None = None, *, seed: bool = True) -> KnowledgeBase:
    """Open (create, migrate and seed on first use) the knowledge base."""
    return KnowledgeBase(_as_url(str(url)) if url is not None else default_db_url(), seed=seed)


def _timeout() -> float:
    raw = os.environ.get("EXOMIR_DB_TIMEOUT")
    if not raw:
        return DEFAULT_TIMEOUT_S
    try:
        value = float(raw)
    except ValueError:
        raise InputError("not a number", field="EXOMIR_DB_TIMEOUT", value=raw,
                         accepted="seconds, e.g. 60") from None
    if not (0 <= value <= 86400):
        raise InputError("out of range", field="EXOMIR_DB_TIMEOUT", value=raw,
                         accepted="0 to 86400 seconds")
    return value


_ENGINES: dict[tuple[str, float], Engine] = {}


def _engine_for(url: str) -> Engine:
    """One engine (and connection pool) per database URL per process; the in-memory embedded
    database keeps its own engine (its data live and die with it)."""
    if url == EMBEDDED_URL:
        return _create_engine(url)
    key = (url, _timeout())
    engine = _ENGINES.get(key)
    if engine is None:
        engine = _ENGINES[key] = _create_engine(url)
    return engine


def dispose_engines() -> None:
    """Close every pooled connection (tests dropping databases, forked workers)."""
    for engine in _ENGINES.values():
        engine.dispose()
    _ENGINES.clear()


def _create_engine(url: str) -> Engine:
    timeout = _timeout()
    if url == EMBEDDED_URL:  # one shared in-memory database (read-only after seeding)
        engine = create_engine(url, poolclass=StaticPool,
                               connect_args={"check_same_thread": False})
        event.listen(engine, "connect", _sqlite_foreign_keys)
        return engine
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": timeout})
        event.listen(engine, "connect", _sqlite_connect)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    try:
        engine = create_engine(url, pool_pre_ping=True)
    except ModuleNotFoundError as exc:
        raise InputError(f"the database driver is not installed ({exc.name})", field="--db",
                         value=safe_url(url), accepted="sqlite paths; PostgreSQL after "
                         "installing the driver",
                         hint='pip install -e ".[postgres]" (psycopg 3)') from None
    except (sa_exc.ArgumentError, sa_exc.NoSuchModuleError) as exc:
        raise InputError(f"unsupported database URL ({exc})", field="--db",
                         value=safe_url(url)) from None
    if engine.dialect.name == "postgresql":
        ms = int(timeout * 1000)
        event.listen(engine, "connect", lambda c, _r: _pg_connect(c, ms))
    return engine


def _sqlite_foreign_keys(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA foreign_keys=ON")
    cur.close()


def _sqlite_connect(dbapi_conn: Any, _record: Any) -> None:
    """Foreign keys on; WAL so readers never wait for a writer; our own BEGIN (see below)."""
    dbapi_conn.isolation_level = None  # pysqlite must not emit its own BEGIN
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA foreign_keys=ON")
    with contextlib.suppress(Exception):  # read-only media or :memory: keep their mode
        cur.execute("PRAGMA journal_mode=WAL")  # persistent; a no-op once set
    cur.close()


def _sqlite_begin(conn: Connection) -> None:
    """Writers take the write lock at BEGIN (IMMEDIATE), so they wait for each other (busy
    timeout) instead of failing when a snapshot turns stale; readers BEGIN deferred."""
    if conn.get_execution_options().get("exomir_write"):
        conn.exec_driver_sql("BEGIN IMMEDIATE")
    else:
        conn.exec_driver_sql("BEGIN")


def _pg_connect(dbapi_conn: Any, lock_timeout_ms: int) -> None:
    cur = dbapi_conn.cursor()
    cur.execute(f"SET lock_timeout = {lock_timeout_ms}")
    cur.close()
    dbapi_conn.commit()


@contextmanager
def _db_errors(url: str) -> Iterator[None]:
    """Database failures as one line: busy (locked), unreachable, or not an exomir database.

    Integrity and programming errors are bugs and propagate unchanged.
    """
    try:
        yield
    except (sa_exc.IntegrityError, sa_exc.ProgrammingError):
        raise
    except sa_exc.DBAPIError as exc:
        detail = " ".join(str(exc.orig if exc.orig is not None else exc).split())
        low = detail.lower()
        if any(w in low for w in ("locked", "busy", "lock timeout", "lock_timeout")):
            raise KnowledgeBaseError(
                f"the knowledge base is busy: another exomir process is writing to it "
                f"({safe_url(url)})",
                hint="wait for the other import to finish and run the command again (or "
                "raise EXOMIR_DB_TIMEOUT, in seconds)") from None
        if any(w in low for w in ("not a database", "file is encrypted", "malformed")):
            raise InputError("not an exomir knowledge base (not an SQLite database file)",
                             field="--db", value=safe_url(url),
                             accepted="an exomir SQLite file, a new path, or a database URL"
                             ) from None
        if "readonly" in low or "read-only" in low:
            raise KnowledgeBaseError(f"the knowledge base is read-only ({safe_url(url)})",
                                     hint="point --db at a file you can write") from None
        if not isinstance(exc, sa_exc.OperationalError):
            raise
        raise KnowledgeBaseError(f"cannot use the knowledge base at {safe_url(url)}: "
                                 f"{detail[:200]}",
                                 hint="check --db / EXOMIR_DB and that the server is running"
                                 ) from None


@cache
def embedded() -> KnowledgeBase:
    """The shipped curated dataset only: an in-memory SQLite database seeded from the package
    data, read-only, one per process. Whatever the user imported into their own database
    never reaches it (``exomir demo`` reads this)."""
    return KnowledgeBase(EMBEDDED_URL, seed=True, read_only=True)


def _norm(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", text.lower().replace("κ", "k").replace("β", "b"))


@functools.cache
def _curated_payload() -> tuple[dict[str, list[dict[str, Any]]], str]:
    pkg = resources.files("exomir.kb") / "curated"
    data: dict[str, list[dict[str, Any]]] = {}
    digest = hashlib.sha256()
    for name in CURATED:
        raw = (pkg / name).read_bytes()
        digest.update(raw)
        data[name] = json.loads(raw)
    return data, digest.hexdigest()


@functools.cache
def _curated_studies() -> dict[str, str]:
    """Packaged curated studies as their stored JSON, by id (to verify an origin label)."""
    data, _ = _curated_payload()
    return {d["id"]: Study.model_validate(d).model_dump_json(exclude_none=True)
            for d in data["studies.json"]}


@functools.cache
def _curated_interactions() -> frozenset[str]:
    data, _ = _curated_payload()
    return frozenset(MirnaTargetInteraction.model_validate(d).model_dump_json(exclude_none=True)
                     for d in data["interactions.json"])


def _interaction_key(i: MirnaTargetInteraction) -> str:
    s = i.source
    return (f"doi:{s.doi}" if s.doi else f"pmid:{s.pmid}" if s.pmid else
            f"study:{i.study_id}" if i.study_id else f"url:{s.url}" if s.url else
            f"method:{i.method or ''}")[:240]


class KnowledgeBase:
    """Read and write the knowledge base. Every write is one transaction."""

    def __init__(self, url: str, *, seed: bool = True, read_only: bool = False) -> None:
        self.url = url
        self.embedded = url == EMBEDDED_URL
        self.read_only = False
        self.engine: Engine = _engine_for(url)
        self._write_engine = self.engine.execution_options(exomir_write=True)
        with _db_errors(url):
            with self._reading() as conn:
                current = migrations.current_version(conn)
                seeded = not seed or self._seed_digest(conn) == _curated_payload()[1]
            if current != migrations.LATEST or not seeded:
                with self._writing() as conn:  # re-checked under the write lock
                    migrations.upgrade(conn)
                    if seed:
                        self._seed(conn)
        self.read_only = read_only

    @property
    def display_url(self) -> str:
        """The database URL with any password hidden."""
        return safe_url(self.url)

    @contextmanager
    def _reading(self) -> Iterator[Connection]:
        """A read-only connection (never blocked by a writer on SQLite WAL or PostgreSQL)."""
        with _db_errors(self.url), self.engine.connect() as conn:
            yield conn

    @contextmanager
    def _writing(self) -> Iterator[Connection]:
        """One write transaction; writers are serialised (SQLite BEGIN IMMEDIATE with a busy
        timeout, a PostgreSQL advisory lock), so a second writer waits, then fails with one
        line after EXOMIR_DB_TIMEOUT seconds."""
        with _db_errors(self.url), self._write_engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_WRITE_LOCK})
            yield conn

    def _writable(self) -> None:
        if self.read_only:
            raise ExomirError("this knowledge base is read-only (the embedded shipped dataset); "
                              "import into your own database (--db / EXOMIR_DB) instead")

    # ------------------------------------------------------------------ seeding
    @staticmethod
    def _seed_digest(conn: Connection) -> str | None:
        if not conn.dialect.has_table(conn, "meta"):
            return None
        row = conn.execute(select(schema.meta.c.value).where(
            schema.meta.c.key == "curated_sha256")).first()
        return row[0] if row else None

    def _seed(self, conn: Connection) -> None:
        """Load the curated dataset once, and again whenever the package's copy changes."""
        data, digest = _curated_payload()
        if self._seed_digest(conn) == digest:
            return
        # a new curated dataset replaces the old one: rows it no longer has must go too
        # (user rows, origin "user"/"import:<n>", are untouched)
        old = [r[0] for r in conn.execute(select(schema.studies.c.id).where(
            schema.studies.c.origin == "curated"))]
        for t in (schema.study_mirnas, schema.study_genes, schema.study_pathways,
                  schema.study_exclusions):
            for part in _chunks(old):
                conn.execute(delete(t).where(t.c.study_id.in_(part)))
        for t in (schema.studies, schema.interactions, schema.syntheses):
            conn.execute(delete(t).where(t.c.origin == "curated"))
        self._write_studies(conn, [Study.model_validate(d) for d in data["studies.json"]],
                            origin="curated")
        self._write_mirnas(conn, [MatureMirna.model_validate(d) for d in data["mirnas.json"]])
        self._write_interactions(conn, [MirnaTargetInteraction.model_validate(d)
                                        for d in data["interactions.json"]], origin="curated")
        self._write_trials(conn, [ClinicalTrial.model_validate(d) for d in data["trials.json"]])
        self._write_syntheses(conn, [PublishedSynthesis.model_validate(d)
                                     for d in data["syntheses.json"]], origin="curated")
        migrations._set(conn, "curated_sha256", digest)

    # ------------------------------------------------------------------ writes
    def upsert_studies(self, items: Iterable[Study], *, origin: str = "user") -> int:
        self._writable()
        items = list(items)
        _no_duplicates([s.id for s in items], "id")
        with self._writing() as conn:
            return self._write_studies(conn, items, origin=origin)

    def upsert_mirnas(self, items: Iterable[MatureMirna]) -> int:
        self._writable()
        items = list(items)
        _no_duplicates([m.name for m in items], "name")
        with self._writing() as conn:
            return self._write_mirnas(conn, items)

    def upsert_interactions(self, items: Iterable[MirnaTargetInteraction], *,
                            origin: str = "user") -> int:
        self._writable()
        items = list(items)
        with self._writing() as conn:
            return self._write_interactions(conn, items, origin=origin)

    def upsert_trials(self, items: Iterable[ClinicalTrial]) -> int:
        self._writable()
        items = list(items)
        _no_duplicates([t.registry_id for t in items], "registry_id")
        with self._writing() as conn:
            return self._write_trials(conn, items)

    def upsert_gene_sets(self, items: Iterable[GeneSet], *, collection: str) -> int:
        self._writable()
        items = list(items)
        _no_duplicates([g.name for g in items], "name")
        with self._writing() as conn:
            return self._write_gene_sets(conn, items, collection)

    def upsert_syntheses(self, items: Iterable[PublishedSynthesis], *,
                         origin: str = "user") -> int:
        self._writable()
        items = list(items)
        _no_duplicates([x.id for x in items], "id")
        with self._writing() as conn:
            return self._write_syntheses(conn, items, origin)

    def import_records(self, records: dict[str, Any],
                       sources: Iterable[str] | None = None) -> dict[str, int]:
        """Write several kinds in ONE transaction (all or nothing).

        Keys: ``studies``, ``mirnas``, ``interactions``, ``trials``, ``syntheses`` (lists of
        core models) and ``gene_sets_by_collection`` (collection name -> list of GeneSet).
        The import is recorded (time, ``sources`` e.g. file names, counts) and its rows carry
        ``origin = "import:<n>"``, so :meth:`provenance` can say which imports contributed.
        ``origins`` (from :func:`exomir.kb.io.read_records`) maps ``studies``/``interactions``
        to the origin each record had when it was exported: a record labelled ``curated``
        keeps that label only when it is identical to the packaged curated record.
        """
        self._writable()
        counts: dict[str, int] = {}
        labels = records.get("origins") or {}
        with self._writing() as conn:
            res = conn.execute(schema.imports.insert().values(
                at=dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                sources=json.dumps(list(sources or [])), counts="{}"))
            import_id = res.inserted_primary_key[0] if res.inserted_primary_key else None
            origin = f"import:{import_id}"
            if records.get("studies"):
                counts["studies"] = self._write_studies_with_origin(
                    conn, list(records["studies"]), labels.get("studies") or [], origin)
            if records.get("mirnas"):
                counts["mirnas"] = self._write_mirnas(conn, list(records["mirnas"]))
            if records.get("interactions"):
                counts["interactions"] = self._write_interactions_with_origin(
                    conn, list(records["interactions"]), labels.get("interactions") or [],
                    origin)
            if records.get("trials"):
                counts["trials"] = self._write_trials(conn, list(records["trials"]))
            if records.get("syntheses"):
                counts["syntheses"] = self._write_syntheses(conn, list(records["syntheses"]),
                                                            origin)
            for collection, sets in (records.get("gene_sets_by_collection") or {}).items():
                counts["gene_sets"] = counts.get("gene_sets", 0) + self._write_gene_sets(
                    conn, list(sets), collection)
            conn.execute(schema.imports.update().where(schema.imports.c.id == import_id)
                         .values(counts=json.dumps(counts)))
        return counts

    def _write_studies_with_origin(self, conn: Connection, items: list[Study],
                                   labels: list[str | None], origin: str) -> int:
        curated = _curated_studies()
        groups: dict[str, list[Study]] = {"curated": [], origin: []}
        for i, s in enumerate(items):
            claimed = labels[i] if i < len(labels) else None
            ok = claimed == "curated" and curated.get(s.id) == s.model_dump_json(exclude_none=True)
            groups["curated" if ok else origin].append(s)
        return sum(self._write_studies(conn, g, origin=o) for o, g in groups.items() if g)

    def _write_interactions_with_origin(self, conn: Connection,
                                        items: list[MirnaTargetInteraction],
                                        labels: list[str | None], origin: str) -> int:
        curated = _curated_interactions()
        groups: dict[str, list[MirnaTargetInteraction]] = {"curated": [], origin: []}
        for i, it in enumerate(items):
            claimed = labels[i] if i < len(labels) else None
            ok = claimed == "curated" and it.model_dump_json(exclude_none=True) in curated
            groups["curated" if ok else origin].append(it)
        return sum(self._write_interactions(conn, g, origin=o) for o, g in groups.items() if g)

    def origins(self, kind: str) -> dict[str, str]:
        """``{key: "curated" | "user"}`` for ``studies`` (key: id) or ``interactions`` (key:
        the stored JSON of the interaction)."""
        t = schema.studies if kind == "studies" else schema.interactions
        key = t.c.id if kind == "studies" else t.c.data
        with self._reading() as conn:
            return {k: o for k, o in conn.execute(select(key, t.c.origin))}

    # Writes are batched (one DELETE ... IN and one multi-row INSERT per chunk): within one
    # call a repeated key keeps its last record, as row-by-row delete+insert did.
    def _write_studies(self, conn: Connection, items: list[Study], origin: str) -> int:
        last = _last_by_key(items, lambda s: s.id)
        ids = list(last)
        for t, col in ((schema.study_mirnas, schema.study_mirnas.c.study_id),
                       (schema.study_genes, schema.study_genes.c.study_id),
                       (schema.study_pathways, schema.study_pathways.c.study_id),
                       (schema.study_exclusions, schema.study_exclusions.c.study_id),
                       (schema.studies, schema.studies.c.id)):
            for chunk in _chunks(ids):
                conn.execute(delete(t).where(col.in_(chunk)))
        rows: list[dict[str, Any]] = []
        exc_rows: list[dict[str, Any]] = []
        mir_rows: list[dict[str, Any]] = []
        gene_rows: list[dict[str, Any]] = []
        path_rows: list[dict[str, Any]] = []
        for s in last.values():
            rows.append(dict(
                id=s.id, indication=s.indication.value, first_author=s.first_author,
                year=s.year, doi=s.source.doi, pmid=s.source.pmid,
                source_cell=s.product.source_cell,
                species=s.subject.species.value if s.subject.species else None,
                disease_model=s.subject.disease_model,
                route=s.delivery.route.value if s.delivery.route else None,
                route_text=s.delivery.description, pathway_text=s.pathway_text,
                origin=origin, data=s.model_dump_json(exclude_none=True)))
            mir_rows += [{"study_id": s.id, "name": n, "role": r} for n, r in _study_mirnas(s)]
            gene_rows += [{"study_id": s.id, "gene": g.upper()}
                          for g in dict.fromkeys(s.target_genes)]
            path_rows += [{"study_id": s.id, "pathway": p} for p in dict.fromkeys(s.pathways)]
            exc_rows += [{"study_id": s.id, "reason": r}
                         for r in dict.fromkeys(e.reason.value for e in s.exclusions)]
        for t, batch in ((schema.studies, rows), (schema.study_mirnas, mir_rows),
                         (schema.study_genes, gene_rows), (schema.study_pathways, path_rows),
                         (schema.study_exclusions, exc_rows)):
            for part in _chunks(batch):
                conn.execute(t.insert(), part)
        return len(items)

    def _write_syntheses(self, conn: Connection, items: list[PublishedSynthesis],
                         origin: str) -> int:
        t = schema.syntheses
        for x in items:
            conn.execute(delete(t).where(t.c.id == x.id))
            conn.execute(t.insert().values(id=x.id, indication=x.indication.value, origin=origin,
                                           data=x.model_dump_json(exclude_none=True)))
        return len(items)

    def _write_mirnas(self, conn: Connection, items: list[MatureMirna]) -> int:
        t = schema.mirnas
        last = _last_by_key(items, lambda m: m.name)
        for chunk in _chunks(list(last)):
            conn.execute(delete(t).where(t.c.name.in_(chunk)))
        rows = [dict(name=m.name, accession=m.accession, sequence=m.sequence,
                     prefix=m.name.split("-", 1)[0] if re.match(r"^[a-z]{3}-", m.name) else None)
                for m in last.values()]
        for part in _chunks(rows):
            conn.execute(t.insert(), part)
        return len(items)

    def _write_interactions(self, conn: Connection, items: list[MirnaTargetInteraction],
                            origin: str) -> int:
        """Upsert by the natural key (miRNA, gene, source); in one import the last row of a
        key wins. Batched (executemany): a 9,000-row miRTarBase import is one round trip."""
        t = schema.interactions
        rows: dict[tuple[str, str, str], dict[str, Any]] = {}
        for i in items:
            key = _interaction_key(i)
            gene = i.gene.upper()
            rows[(i.mirna, gene, key)] = {
                "mirna": i.mirna, "gene": gene, "evidence": i.evidence.value,
                "method": i.method, "source_key": key, "study_id": i.study_id,
                "origin": origin, "data": i.model_dump_json(exclude_none=True)}
        if rows:
            conn.execute(delete(t).where((t.c.mirna == bindparam("k_mirna"))
                                         & (t.c.gene == bindparam("k_gene"))
                                         & (t.c.source_key == bindparam("k_source"))),
                         [{"k_mirna": m, "k_gene": g, "k_source": k} for m, g, k in rows])
            conn.execute(t.insert(), list(rows.values()))
        return len(items)

    def _write_trials(self, conn: Connection, items: list[ClinicalTrial]) -> int:
        t = schema.trials
        last = _last_by_key(items, lambda tr: tr.registry_id)
        for chunk in _chunks(list(last)):
            conn.execute(delete(t).where(t.c.registry_id.in_(chunk)))
        rows = [dict(registry_id=tr.registry_id, indication=tr.indication.value,
                     data=tr.model_dump_json(exclude_none=True)) for tr in last.values()]
        for part in _chunks(rows):
            conn.execute(t.insert(), part)
        return len(items)

    def _write_gene_sets(self, conn: Connection, items: list[GeneSet], collection: str) -> int:
        t = schema.gene_sets
        last = _last_by_key(items, lambda g: g.name)
        for chunk in _chunks(list(last)):
            conn.execute(delete(t).where(t.c.name.in_(chunk)))
        rows = [dict(name=g.name, collection=collection,
                     data=g.model_dump_json(exclude_none=True)) for g in last.values()]
        for part in _chunks(rows):
            conn.execute(t.insert(), part)
        return len(items)

    # ------------------------------------------------------------------ reads
    def get_study(self, study_id: str) -> Study:
        with self._reading() as conn:
            row = conn.execute(select(schema.studies.c.data).where(
                schema.studies.c.id == study_id)).first()
        if row is None:
            raise InputError("no such study in the knowledge base", field="id", value=study_id,
                             accepted="an id listed by 'exomir kb query'")
        return Study.model_validate_json(row[0])

    def studies(
        self,
        indication: str | Indication | None = None,
        mirna: str | None = None,
        gene: str | None = None,
        pathway: str | None = None,
        source: str | None = None,
        route: str | Route | None = None,
        species: str | Species | None = None,
        model: str | None = None,
    ) -> list[Study]:
        """Studies matching every filter given (see docs/knowledge_base.md for the rules)."""
        t = schema.studies
        q = select(t.c.id, t.c.data).order_by(t.c.id)
        if indication is not None:
            q = q.where(t.c.indication == Indication.parse(indication, field="indication").value)
        if species is not None:
            q = q.where(t.c.species == Species.parse(species, field="species").value)
        with self._reading() as conn:
            rows = conn.execute(q).all()
            ids = [r[0] for r in rows]
            if mirna is not None:
                ids = self._filter_mirna(conn, ids, mirna)
            if gene is not None:
                g = schema.study_genes
                hit = {r[0] for r in conn.execute(select(g.c.study_id).where(
                    g.c.gene == gene.strip().upper()))}
                ids = [i for i in ids if i in hit]
            if pathway is not None:
                ids = self._filter_pathway(conn, ids, pathway)
        keep = set(ids)
        out = [Study.model_validate_json(d) for i, d in rows if i in keep]
        if source is not None:
            needle = source.lower()
            out = [s for s in out if needle in (s.product.source_cell or "").lower()]
        if route is not None:
            out = [s for s in out if _route_matches(s, route)]
        if model is not None:
            needle = model.lower()
            out = [s for s in out if needle in (s.subject.disease_model or "").lower()]
        return out

    def _filter_mirna(self, conn: Connection, ids: list[str], query: str) -> list[str]:
        q = parse_mirna_name(query, field="mirna")
        m = schema.study_mirnas
        hit: set[str] = set()
        for study_id, name in conn.execute(select(m.c.study_id, m.c.name)):
            for cand in find_mirna_names(name):
                if mirna_matches(q, cand):
                    hit.add(study_id)
        return [i for i in ids if i in hit]

    def _filter_pathway(self, conn: Connection, ids: list[str], query: str) -> list[str]:
        want = _norm(query)
        p = schema.study_pathways
        hit = {sid for sid, name in conn.execute(select(p.c.study_id, p.c.pathway))
               if _norm(name) == want or want in _norm(name)}
        t = schema.studies
        hit |= {sid for sid, text in conn.execute(select(t.c.id, t.c.pathway_text))
                if text and want in _norm(text)}
        return [i for i in ids if i in hit]

    def gated_study_ids(self, use: str | EvidenceUse) -> dict[str, list[str]]:
        """Study id -> exclusion reasons that bar ``use`` (verdict exclude or subgroup)."""
        u = use if isinstance(use, EvidenceUse) else EvidenceUse.parse(use, field="use")
        t = schema.study_exclusions
        out: dict[str, list[str]] = {}
        with self._reading() as conn:
            for sid, reason in conn.execute(select(t.c.study_id, t.c.reason)):
                if effect(ExclusionReason(reason), u) != "use":
                    out.setdefault(sid, []).append(reason)
        return out

    def interactions(self, mirna: str | None = None, gene: str | None = None, *,
                     gated: bool = True) -> list[MirnaTargetInteraction]:
        """miRNA-target interactions; ``gated`` (default) leaves out those from studies whose
        exclusions bar interaction evidence (a retracted study), see :mod:`exomir.core.gates`.
        ``gated=False`` returns every stored row (exports)."""
        t = schema.interactions
        q = select(t.c.data, t.c.study_id).order_by(t.c.mirna, t.c.gene, t.c.id)
        if gene is not None:
            q = q.where(t.c.gene == gene.strip().upper())
        barred = self.gated_study_ids(EvidenceUse.INTERACTIONS) if gated else {}
        with self._reading() as conn:
            out = [MirnaTargetInteraction.model_validate_json(r[0]) for r in conn.execute(q)
                   if r[1] not in barred]
        if mirna is not None:
            mq = parse_mirna_name(mirna, field="mirna")
            out = [i for i in out if any(mirna_matches(mq, c) for c in find_mirna_names(i.mirna))]
        return out

    def mature_mirnas(self, species: str | Species | None = None) -> list[MatureMirna]:
        t = schema.mirnas
        q = select(t.c.name, t.c.accession, t.c.sequence).order_by(t.c.name)
        if species is not None:
            q = q.where(t.c.prefix == Species.parse(species, field="species").mirbase_prefix)
        with self._reading() as conn:
            return [MatureMirna(name=n, accession=a, sequence=s) for n, a, s in conn.execute(q)]

    def syntheses(self, indication: str | Indication | None = None
                  ) -> list[PublishedSynthesis]:
        """Published pooled estimates (systematic reviews), a separate evidence type."""
        t = schema.syntheses
        q = select(t.c.data).order_by(t.c.id)
        if indication is not None:
            q = q.where(t.c.indication == Indication.parse(indication, field="indication").value)
        with self._reading() as conn:
            return [PublishedSynthesis.model_validate_json(r[0]) for r in conn.execute(q)]

    def provenance(self) -> dict[str, Any]:
        """Which database this is and what contributed to it: the curated dataset (its
        SHA-256) and every recorded import (time, files, counts), with the rows each origin
        still holds per table. For reports: 'which database and which imported sources'."""
        def meta(conn: Connection, key: str) -> str | None:
            row = conn.execute(select(schema.meta.c.value).where(
                schema.meta.c.key == key)).first()
            return row[0] if row else None

        with self._reading() as conn:
            rows: dict[str, dict[str, int]] = {}
            for table in (schema.studies, schema.interactions, schema.syntheses):
                for origin, n in conn.execute(select(table.c.origin, func.count()).group_by(
                        table.c.origin)):
                    rows.setdefault(origin, {})[table.name] = int(n)
            imports = [{"id": i, "origin": f"import:{i}", "at": at,
                        "sources": json.loads(src), "counts": json.loads(cnt),
                        "rows_now": rows.get(f"import:{i}", {})}
                       for i, at, src, cnt in conn.execute(select(
                           schema.imports.c.id, schema.imports.c.at, schema.imports.c.sources,
                           schema.imports.c.counts).order_by(schema.imports.c.id))]
            collections = {c: int(n) for c, n in conn.execute(select(
                schema.gene_sets.c.collection, func.count()).group_by(
                schema.gene_sets.c.collection))}
            mirnas = conn.execute(select(func.count()).select_from(schema.mirnas)).scalar()
            return {
                "database": "embedded (shipped curated dataset, in memory, read-only)"
                if self.embedded else _redact(self.url),
                "embedded": self.embedded,
                "read_only": self.read_only,
                "schema_version": meta(conn, "schema_version"),
                "curated_sha256": meta(conn, "curated_sha256"),
                "rows_by_origin": rows,
                "imports": imports,
                "other_user_rows": {o: r for o, r in rows.items()
                                    if o not in ("curated",) and not o.startswith("import:")},
                "gene_set_collections": collections,
                "mature_mirnas": int(mirnas or 0),
            }

    def trials(self, indication: str | Indication | None = None) -> list[ClinicalTrial]:
        t = schema.trials
        q = select(t.c.data).order_by(t.c.registry_id)
        if indication is not None:
            q = q.where(t.c.indication == Indication.parse(indication, field="indication").value)
        with self._reading() as conn:
            return [ClinicalTrial.model_validate_json(r[0]) for r in conn.execute(q)]

    def gene_sets(self, collection: str | None = None) -> list[GeneSet]:
        t = schema.gene_sets
        q = select(t.c.data).order_by(t.c.name)
        if collection is not None:
            q = q.where(t.c.collection == collection)
        with self._reading() as conn:
            return [GeneSet.model_validate_json(r[0]) for r in conn.execute(q)]

    def stats(self) -> dict[str, dict[str, int]]:
        """Counts per indication (and ``all``) of studies, products, cargo miRNAs, targets,
        interactions (curated, for the indication's studies' miRNAs or from its studies)
        and arm-level outcomes."""
        studies = self.studies()
        inter = self.interactions(gated=False)
        trials = self.trials()
        out: dict[str, dict[str, int]] = {}
        groups: dict[str, list[Study]] = {"all": studies}
        for ind in Indication:
            groups[ind.value] = [s for s in studies if s.indication == ind]
        for key, group in groups.items():
            ids = {s.id for s in group}
            mirs = {n for s in group for n, _ in _study_mirnas(s)}
            products = {(s.product.source_cell or "", s.product.isolation_method or "")
                        for s in group if s.product.source_cell}
            out[key] = {
                "studies": len(group),
                "products": len(products),
                "cargo_mirnas": len(mirs),
                "targets": len({g.upper() for s in group for g in s.target_genes}),
                "interactions": len(inter) if key == "all" else
                sum(1 for i in inter if i.study_id in ids),
                "arm_outcomes": sum(len(a.outcomes) for s in group for a in s.arms),
                "studies_with_exclusions": sum(1 for s in group if s.exclusions),
                "retracted": sum(1 for s in group if any(
                    e.reason == ExclusionReason.RETRACTED for e in s.exclusions)),
                "studies_with_arm_data": sum(1 for s in group if s.arms),
                "trials": len(trials) if key == "all" else
                sum(1 for t in trials if t.indication.value == key),
            }
        with self._reading() as conn:
            out["all"]["mature_mirnas"] = len(conn.execute(select(schema.mirnas.c.name)).all())
            out["all"]["gene_sets"] = len(conn.execute(select(schema.gene_sets.c.name)).all())
        return out

    def table_counts(self) -> dict[str, int]:
        """Row counts of every table (used to prove imports are all-or-nothing)."""
        with self._reading() as conn:
            return {t.name: int(conn.execute(select(func.count()).select_from(t)).scalar_one())
                    for t in schema.metadata.sorted_tables}


def _study_mirnas(s: Study) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for c in s.cargo:
        if c.kind in (CargoKind.MIRNA, CargoKind.MIRNA_INHIBITOR):
            out.append((c.name, "cargo"))
        if c.sponged_mirna:
            out.append((c.sponged_mirna, "sponged"))
    return out


def _route_matches(s: Study, route: str | Route) -> bool:
    try:
        r = route if isinstance(route, Route) else Route.parse(route, field="route")
    except InputError:
        return str(route).lower() in (s.delivery.description or "").lower()
    return s.delivery.route == r


_T = TypeVar("_T")
_K = TypeVar("_K")


def _last_by_key(items: Iterable[_T], key: Callable[[_T], _K]) -> dict[_K, _T]:
    """Items by key, the last one winning, in the order keys first appeared."""
    out: dict[_K, _T] = {}
    for it in items:
        out[key(it)] = it
    return out


def _chunks(items: list[_T], size: int = 400) -> Iterator[list[_T]]:
    """Slices small enough for any database's bound-parameter limit."""
    for i in range(0, len(items), size):
        yield items[i:i + size]


def _no_duplicates(keys: list[str], field: str) -> None:
    seen: set[str] = set()
    for n, k in enumerate(keys, start=1):
        if k in seen:
            raise InputError("duplicate id in one import", field=field, value=k, line=n,
                             accepted="each id once per file")
        seen.add(k)


def _redact(url: str) -> str:
    """A database URL without its password."""
    return safe_url(url)


def validate_records(model: type[Any], rows: Iterable[tuple[int, dict[str, Any]]],
                     source: str) -> list[Any]:
    """Validate raw dict rows into ``model``; the first bad row raises a one-line InputError."""
    out = []
    for line, row in rows:
        try:
            out.append(model.model_validate(row))
        except ValidationError as exc:
            err = exc.errors()[0]
            field = ".".join(str(p) for p in err["loc"]) or None
            accepted = None
            ctx = err.get("ctx") or {}
            if "expected" in ctx and "should be" not in err["msg"]:
                accepted = str(ctx["expected"])
            raise InputError(err["msg"], source=source, line=line, field=field,
                             value=err.get("input") if not isinstance(err.get("input"), dict)
                             else None, accepted=accepted) from None
        except InputError as exc:
            raise exc.located(source, line) from None
    return out
