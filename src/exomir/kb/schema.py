"""Tables of the knowledge base (SQLAlchemy Core; SQLite by default, PostgreSQL works too).

Each study is stored whole (validated JSON of :class:`exomir.core.Study`) plus the columns and
child tables that queries filter on. Natural keys make re-imports idempotent:
study id, miRNA name, trial registry id, gene-set name, and (miRNA, gene, source) for
interactions.
"""

from __future__ import annotations

from sqlalchemy import (
    Column,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

metadata = MetaData()

meta = Table(
    "meta", metadata,
    Column("key", String(64), primary_key=True),
    Column("value", Text, nullable=False),
)

studies = Table(
    "studies", metadata,
    Column("id", String(64), primary_key=True),
    Column("indication", String(32), nullable=False, index=True),
    Column("first_author", String(200)),
    Column("year", Integer),
    Column("doi", String(200)),
    Column("pmid", String(32)),
    Column("source_cell", Text),
    Column("species", String(16), index=True),
    Column("disease_model", Text),
    Column("route", String(40), index=True),
    Column("route_text", Text),
    Column("pathway_text", Text),
    Column("origin", String(16), nullable=False),  # curated | user
    Column("data", Text, nullable=False),  # Study as JSON
)

study_mirnas = Table(
    "study_mirnas", metadata,
    Column("study_id", String(64), ForeignKey("studies.id", ondelete="CASCADE"), index=True,
           nullable=False),
    Column("name", String(64), nullable=False),
    Column("role", String(16), nullable=False),  # cargo | sponged
)

study_genes = Table(
    "study_genes", metadata,
    Column("study_id", String(64), ForeignKey("studies.id", ondelete="CASCADE"), index=True,
           nullable=False),
    Column("gene", String(64), nullable=False, index=True),
)

study_pathways = Table(
    "study_pathways", metadata,
    Column("study_id", String(64), ForeignKey("studies.id", ondelete="CASCADE"), index=True,
           nullable=False),
    Column("pathway", String(64), nullable=False, index=True),
)

mirnas = Table(
    "mirnas", metadata,
    Column("name", String(64), primary_key=True),
    Column("accession", String(32)),
    Column("sequence", String(64), nullable=False),
    Column("prefix", String(8), index=True),
)

interactions = Table(
    "interactions", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("mirna", String(64), nullable=False, index=True),
    Column("gene", String(64), nullable=False, index=True),
    Column("evidence", String(16), nullable=False),
    Column("method", Text),
    Column("source_key", String(240), nullable=False),
    Column("study_id", String(64)),
    Column("origin", String(32), nullable=False),
    Column("data", Text, nullable=False),
    UniqueConstraint("mirna", "gene", "source_key", name="uq_interaction"),
)

trials = Table(
    "trials", metadata,
    Column("registry_id", String(64), primary_key=True),
    Column("indication", String(32), nullable=False, index=True),
    Column("data", Text, nullable=False),
)

gene_sets = Table(
    "gene_sets", metadata,
    Column("name", String(300), primary_key=True),
    Column("collection", String(200), nullable=False, index=True),
    Column("data", Text, nullable=False),
)

# --- schema version 2: evidence gates, published syntheses, import provenance -------------

study_exclusions = Table(
    "study_exclusions", metadata,
    Column("study_id", String(64), ForeignKey("studies.id", ondelete="CASCADE"), index=True,
           nullable=False),
    Column("reason", String(40), nullable=False, index=True),
)

syntheses = Table(
    "syntheses", metadata,
    Column("id", String(64), primary_key=True),
    Column("indication", String(32), nullable=False, index=True),
    Column("origin", String(32), nullable=False),
    Column("data", Text, nullable=False),  # PublishedSynthesis as JSON
)

imports = Table(
    "imports", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", String(32), nullable=False),  # UTC ISO time
    Column("sources", Text, nullable=False),  # JSON list of file names / labels
    Column("counts", Text, nullable=False),  # JSON {kind: rows}
)
