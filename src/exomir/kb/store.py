"""The :class:`KnowledgeBase`: typed reads and transactional writes over the schema."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import re
from collections.abc import Iterable
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

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
)
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


def default_db_url() -> str:
    """``EXOMIR_DB`` (path or URL) or ``<user data dir>/exomir/exomir.sqlite``."""
    env = os.environ.get("EXOMIR_DB")
    if env:
        return _as_url(env)
    path = Path(user_data_dir("exomir", appauthor=False)) / "exomir.sqlite"
    return _as_url(str(path))


def _as_url(target: str) -> str:
    if "://" in target:
        return target
    path = Path(target).expanduser()
    path.parent.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{path}"


def open_kb(url: str | Path | None = None, *, seed: bool = True) -> KnowledgeBase:
    """Open (create, migrate and seed on first use) the knowledge base."""
    return KnowledgeBase(_as_url(str(url)) if url is not None else default_db_url(), seed=seed)


@cache
def embedded() -> KnowledgeBase:
    """The shipped curated dataset only: an in-memory SQLite database seeded from the package
    data, read-only, one per process. Whatever the user imported into their own database
    never reaches it (``exomir demo`` reads this)."""
    return KnowledgeBase(EMBEDDED_URL, seed=True, read_only=True)


def _norm(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", text.lower().replace("κ", "k").replace("β", "b"))


def _curated_payload() -> tuple[dict[str, list[dict[str, Any]]], str]:
    pkg = resources.files("exomir.kb") / "curated"
    data: dict[str, list[dict[str, Any]]] = {}
    digest = hashlib.sha256()
    for name in CURATED:
        raw = (pkg / name).read_bytes()
        digest.update(raw)
        data[name] = json.loads(raw)
    return data, digest.hexdigest()


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
        kwargs: dict[str, Any] = {}
        if self.embedded:  # one shared in-memory database for every connection
            kwargs = {"poolclass": StaticPool, "connect_args": {"check_same_thread": False}}
        self.engine: Engine = create_engine(url, future=True, **kwargs)
        if url.startswith("sqlite"):
            event.listen(self.engine, "connect", _sqlite_pragmas)
        with self.engine.begin() as conn:
            migrations.upgrade(conn)
            if seed:
                self._seed(conn)
        self.read_only = read_only

    def _writable(self) -> None:
        if self.read_only:
            raise ExomirError("this knowledge base is read-only (the embedded shipped dataset); "
                              "import into your own database (--db / EXOMIR_DB) instead")

    # ------------------------------------------------------------------ seeding
    def _seed(self, conn: Connection) -> None:
        """Load the curated dataset once, and again whenever the package's copy changes."""
        data, digest = _curated_payload()
        row = conn.execute(select(schema.meta.c.value).where(
            schema.meta.c.key == "curated_sha256")).first()
        if row and row[0] == digest:
            return
        # a new curated dataset replaces the old one: rows it no longer has must go too
        # (user rows, origin "user"/"import:<n>", are untouched)
        old = [r[0] for r in conn.execute(select(schema.studies.c.id).where(
            schema.studies.c.origin == "curated"))]
        for t in (schema.study_mirnas, schema.study_genes, schema.study_pathways,
                  schema.study_exclusions):
            conn.execute(delete(t).where(t.c.study_id.in_(old)))
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
        with self.engine.begin() as conn:
            return self._write_studies(conn, items, origin=origin)

    def upsert_mirnas(self, items: Iterable[MatureMirna]) -> int:
        self._writable()
        items = list(items)
        _no_duplicates([m.name for m in items], "name")
        with self.engine.begin() as conn:
            return self._write_mirnas(conn, items)

    def upsert_interactions(self, items: Iterable[MirnaTargetInteraction], *,
                            origin: str = "user") -> int:
        self._writable()
        items = list(items)
        with self.engine.begin() as conn:
            return self._write_interactions(conn, items, origin=origin)

    def upsert_trials(self, items: Iterable[ClinicalTrial]) -> int:
        self._writable()
        items = list(items)
        _no_duplicates([t.registry_id for t in items], "registry_id")
        with self.engine.begin() as conn:
            return self._write_trials(conn, items)

    def upsert_gene_sets(self, items: Iterable[GeneSet], *, collection: str) -> int:
        self._writable()
        items = list(items)
        _no_duplicates([g.name for g in items], "name")
        with self.engine.begin() as conn:
            return self._write_gene_sets(conn, items, collection)

    def upsert_syntheses(self, items: Iterable[PublishedSynthesis], *,
                         origin: str = "user") -> int:
        self._writable()
        items = list(items)
        _no_duplicates([x.id for x in items], "id")
        with self.engine.begin() as conn:
            return self._write_syntheses(conn, items, origin)

    def import_records(self, records: dict[str, Any],
                       sources: Iterable[str] | None = None) -> dict[str, int]:
        """Write several kinds in ONE transaction (all or nothing).

        Keys: ``studies``, ``mirnas``, ``interactions``, ``trials``, ``syntheses`` (lists of
        core models) and ``gene_sets_by_collection`` (collection name -> list of GeneSet).
        The import is recorded (time, ``sources`` e.g. file names, counts) and its rows carry
        ``origin = "import:<n>"``, so :meth:`provenance` can say which imports contributed.
        """
        self._writable()
        counts: dict[str, int] = {}
        with self.engine.begin() as conn:
            res = conn.execute(schema.imports.insert().values(
                at=dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                sources=json.dumps(list(sources or [])), counts="{}"))
            import_id = res.inserted_primary_key[0] if res.inserted_primary_key else None
            origin = f"import:{import_id}"
            if records.get("studies"):
                counts["studies"] = self._write_studies(conn, list(records["studies"]), origin)
            if records.get("mirnas"):
                counts["mirnas"] = self._write_mirnas(conn, list(records["mirnas"]))
            if records.get("interactions"):
                counts["interactions"] = self._write_interactions(
                    conn, list(records["interactions"]), origin)
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

    def _write_studies(self, conn: Connection, items: list[Study], origin: str) -> int:
        for s in items:
            conn.execute(delete(schema.studies).where(schema.studies.c.id == s.id))
            for t in (schema.study_mirnas, schema.study_genes, schema.study_pathways,
                      schema.study_exclusions):
                conn.execute(delete(t).where(t.c.study_id == s.id))
            conn.execute(schema.studies.insert().values(
                id=s.id, indication=s.indication.value, first_author=s.first_author,
                year=s.year, doi=s.source.doi, pmid=s.source.pmid,
                source_cell=s.product.source_cell,
                species=s.subject.species.value if s.subject.species else None,
                disease_model=s.subject.disease_model,
                route=s.delivery.route.value if s.delivery.route else None,
                route_text=s.delivery.description, pathway_text=s.pathway_text,
                origin=origin, data=s.model_dump_json(exclude_none=True)))
            names = _study_mirnas(s)
            if names:
                conn.execute(schema.study_mirnas.insert(),
                             [{"study_id": s.id, "name": n, "role": r} for n, r in names])
            if s.target_genes:
                conn.execute(schema.study_genes.insert(),
                             [{"study_id": s.id, "gene": g.upper()} for g in
                              dict.fromkeys(s.target_genes)])
            if s.pathways:
                conn.execute(schema.study_pathways.insert(),
                             [{"study_id": s.id, "pathway": p} for p in
                              dict.fromkeys(s.pathways)])
            if s.exclusions:
                conn.execute(schema.study_exclusions.insert(),
                             [{"study_id": s.id, "reason": r} for r in
                              dict.fromkeys(e.reason.value for e in s.exclusions)])
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
        for m in items:
            conn.execute(delete(t).where(t.c.name == m.name))
            prefix = m.name.split("-", 1)[0] if re.match(r"^[a-z]{3}-", m.name) else None
            conn.execute(t.insert().values(name=m.name, accession=m.accession,
                                           sequence=m.sequence, prefix=prefix))
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
        for tr in items:
            conn.execute(delete(t).where(t.c.registry_id == tr.registry_id))
            conn.execute(t.insert().values(registry_id=tr.registry_id,
                                           indication=tr.indication.value,
                                           data=tr.model_dump_json(exclude_none=True)))
        return len(items)

    def _write_gene_sets(self, conn: Connection, items: list[GeneSet], collection: str) -> int:
        t = schema.gene_sets
        for g in items:
            conn.execute(delete(t).where(t.c.name == g.name))
            conn.execute(t.insert().values(name=g.name, collection=collection,
                                           data=g.model_dump_json(exclude_none=True)))
        return len(items)

    # ------------------------------------------------------------------ reads
    def get_study(self, study_id: str) -> Study:
        with self.engine.connect() as conn:
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
        with self.engine.connect() as conn:
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
        with self.engine.connect() as conn:
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
        with self.engine.connect() as conn:
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
        with self.engine.connect() as conn:
            return [MatureMirna(name=n, accession=a, sequence=s) for n, a, s in conn.execute(q)]

    def syntheses(self, indication: str | Indication | None = None
                  ) -> list[PublishedSynthesis]:
        """Published pooled estimates (systematic reviews), a separate evidence type."""
        t = schema.syntheses
        q = select(t.c.data).order_by(t.c.id)
        if indication is not None:
            q = q.where(t.c.indication == Indication.parse(indication, field="indication").value)
        with self.engine.connect() as conn:
            return [PublishedSynthesis.model_validate_json(r[0]) for r in conn.execute(q)]

    def provenance(self) -> dict[str, Any]:
        """Which database this is and what contributed to it: the curated dataset (its
        SHA-256) and every recorded import (time, files, counts), with the rows each origin
        still holds per table. For reports: 'which database and which imported sources'."""
        def meta(conn: Connection, key: str) -> str | None:
            row = conn.execute(select(schema.meta.c.value).where(
                schema.meta.c.key == key)).first()
            return row[0] if row else None

        with self.engine.connect() as conn:
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
        with self.engine.connect() as conn:
            return [ClinicalTrial.model_validate_json(r[0]) for r in conn.execute(q)]

    def gene_sets(self, collection: str | None = None) -> list[GeneSet]:
        t = schema.gene_sets
        q = select(t.c.data).order_by(t.c.name)
        if collection is not None:
            q = q.where(t.c.collection == collection)
        with self.engine.connect() as conn:
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
        with self.engine.connect() as conn:
            out["all"]["mature_mirnas"] = len(conn.execute(select(schema.mirnas.c.name)).all())
            out["all"]["gene_sets"] = len(conn.execute(select(schema.gene_sets.c.name)).all())
        return out

    def table_counts(self) -> dict[str, int]:
        """Row counts of every table (used to prove imports are all-or-nothing)."""
        with self.engine.connect() as conn:
            return {t.name: len(conn.execute(select(t)).all())
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


def _no_duplicates(keys: list[str], field: str) -> None:
    seen: set[str] = set()
    for n, k in enumerate(keys, start=1):
        if k in seen:
            raise InputError("duplicate id in one import", field=field, value=k, line=n,
                             accepted="each id once per file")
        seen.add(k)


def _redact(url: str) -> str:
    """A database URL without its password."""
    return re.sub(r"://([^:/@]+):[^@]*@", r"://\1:***@", url)


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA foreign_keys=ON")
    cur.close()


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
