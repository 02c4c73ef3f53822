"""Versioned schema migrations.

exomir keeps its own small migration list instead of Alembic: the database is an embedded,
single-user file created by the package itself, so there is no migration environment to ship
and no autogeneration to review. The contract is Alembic's: an ordered list of numbered steps,
the applied version recorded in the ``meta`` table, each step run inside one transaction, and
a database newer than the code refused with a clear message.
"""

from __future__ import annotations

import json
from collections.abc import Callable

from sqlalchemy import Connection, select

from exomir.core.errors import ExomirError
from exomir.kb import schema

Migration = Callable[[Connection], None]


_V1 = ("meta", "studies", "study_mirnas", "study_genes", "study_pathways", "mirnas",
       "interactions", "trials", "gene_sets")
_V2 = ("study_exclusions", "syntheses", "imports")


def _v1_initial(conn: Connection) -> None:
    schema.metadata.create_all(conn, tables=[schema.metadata.tables[t] for t in _V1])


def _v2_gates(conn: Connection) -> None:
    """Evidence gates (study_exclusions, filled from the stored studies), published
    syntheses and import provenance."""
    schema.metadata.create_all(conn, tables=[schema.metadata.tables[t] for t in _V2])
    t = schema.study_exclusions
    for sid, data in conn.execute(select(schema.studies.c.id, schema.studies.c.data)):
        for e in json.loads(data).get("exclusions", []):
            conn.execute(t.insert().values(study_id=sid, reason=e["reason"]))


MIGRATIONS: list[tuple[int, str, Migration]] = [
    (1, "initial schema: studies, miRNAs, interactions, trials, gene sets", _v1_initial),
    (2, "evidence gates (study exclusions), published syntheses, import provenance",
     _v2_gates),
]
LATEST = MIGRATIONS[-1][0]


def current_version(conn: Connection) -> int:
    if not conn.dialect.has_table(conn, "meta"):
        return 0
    row = conn.execute(select(schema.meta.c.value).where(
        schema.meta.c.key == "schema_version")).first()
    return int(row[0]) if row else 0


def upgrade(conn: Connection) -> int:
    """Apply every pending migration on ``conn`` (inside the caller's transaction)."""
    version = current_version(conn)
    if version > LATEST:
        raise ExomirError(
            f"knowledge base schema version {version} is newer than this exomir ({LATEST}); "
            "upgrade exomir or point --db at another file")
    for number, _description, step in MIGRATIONS:
        if number > version:
            step(conn)
            _set(conn, "schema_version", str(number))
            version = number
    return version


def _set(conn: Connection, key: str, value: str) -> None:
    t = schema.meta
    if conn.execute(select(t.c.key).where(t.c.key == key)).first():
        conn.execute(t.update().where(t.c.key == key).values(value=value))
    else:
        conn.execute(t.insert().values(key=key, value=value))
