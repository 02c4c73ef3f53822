"""Issue 15 (evidence half): curated exclusions, the gate table, curation that follows its
notes, the embedded knowledge base, migration v2 and import provenance."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select
from typer.testing import CliRunner

from exomir.cli import app
from exomir.core import (
    Exclusion,
    ExclusionReason,
    ExomirError,
    Indication,
    MirnaTargetInteraction,
    Study,
)
from exomir.core.enums import EvidenceLevel, EvidenceUse
from exomir.core.gates import EFFECTS, flags, verdict
from exomir.kb import embedded, migrations, open_kb, schema

REPO = Path(__file__).resolve().parents[2]
runner = CliRunner()


def _script(name: str):  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location(name, REPO / "scripts" / f"{name}.py")
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    spec.loader.exec_module(mod)
    return mod


def test_retracted_study_is_flagged_and_never_interaction_evidence() -> None:
    kb = embedded()
    dw002 = kb.get_study("DW002")
    assert [e.reason for e in dw002.exclusions] == [ExclusionReason.RETRACTED]
    assert dw002.exclusions[0].source and dw002.exclusions[0].source.url
    assert dw002.confidence is not None and dw002.confidence.value == "low"  # was "high"
    assert flags(dw002)[0] == "RETRACTED"
    for use in EvidenceUse:
        assert verdict(dw002, use) == "exclude"
    assert not [i for i in kb.interactions() if i.study_id == "DW002"]
    assert [i.gene for i in kb.interactions(gated=False) if i.study_id == "DW002"] == ["PTEN"]


def test_listings_flag_gated_studies() -> None:
    res = runner.invoke(app, ["kb", "query", "--gene", "PTEN", "--format", "json"])
    assert res.exit_code == 0, res.output
    rows = {r["id"]: r for r in json.loads(res.output)}
    assert rows["DW002"]["flags"].startswith("RETRACTED")
    assert rows["NP010"]["flags"] == ""
    table = runner.invoke(app, ["kb", "query", "--gene", "PTEN"])
    assert "RETRACTED" in table.output
    show = runner.invoke(app, ["kb", "show", "DW002"])
    assert "EXCLUDED" in show.output and "Retracted" in show.output


def test_curation_follows_its_notes(shared_data: Path) -> None:
    kb = embedded()
    x = {s.id: {e.reason for e in s.exclusions} for s in kb.studies()}
    assert ExclusionReason.NOT_INDICATION_ENDPOINT in x["NP020"] & x["NP021"]
    assert ExclusionReason.BIOMARKER_ONLY in x["NP022"] & x["NP013"]
    assert ExclusionReason.NOT_MIRNA_DRIVEN in x["NP023"]
    assert ExclusionReason.POPULATION_MISMATCH in x["NP023"] & x["NP025"] & x["DW037"]
    refs = sorted(sid for sid, r in x.items() if ExclusionReason.REFERENCE_ONLY in r)
    assert len(refs) == 18 and {"NP014", "NP020", "DW018", "DW035"} <= set(refs)
    # pathogenic / pro-nociceptive miRNAs: direction inhibit, as data
    for sid in ("NP003", "NP007", "NP008", "NP009", "DW005", "DW006"):
        s = kb.get_study(sid)
        assert s.cargo and all(c.direction is not None and c.direction.value == "inhibit"
                               for c in s.cargo), sid
    assert kb.get_study("NP001").cargo[0].direction.value == "deliver"  # type: ignore[union-attr]
    assert all(c.direction.value == "inhibit" for c in kb.get_study("DW014").cargo)  # type: ignore[union-attr]
    # whole-word pathway tagger: NP004's "M1->M2 macrophage shift" is not HIF
    assert "HIF-1a/VEGF" not in kb.get_study("NP004").pathways
    assert "HIF-1a/VEGF" in kb.get_study("DW010").pathways  # "HIF-1 activation"
    # DW037 carries only what its validation table says
    dw37 = kb.get_study("DW037")
    assert dw37.confidence is None and dw37.pathways == [] and dw37.delivery.route is None
    assert "not diabetic" in (dw37.subject.disease_model or "")
    # DW028 / DW029 interactions as the rows support them
    pairs = {(i.study_id, i.gene): i.evidence for i in kb.interactions(gated=False)}
    assert ("DW028", "GPX4") not in pairs and ("DW029", "FOXO1") not in pairs
    assert pairs[("DW029", "SIRT1")] == EvidenceLevel.WEAK
    assert pairs[("DW028", "SLC7A11")] == EvidenceLevel.WEAK
    # the audit of all 61 source rows (12 checks each) finds nothing left
    res = _script("audit_kb").audit(shared_data, kb)
    assert res["fields"] == 732 and res["mismatches"] == []


def test_pathway_tagger_matches_whole_words_only() -> None:
    cur = _script("curate_kb")
    assert cur.pathway_tags("M1->M2 macrophage shift") == ["macrophage polarization"]
    assert cur.pathway_tags("HIF-1a/VEGF axis") == ["HIF-1a/VEGF"]
    assert cur.pathway_tags("neurovascular remodelling") == []
    assert cur.pathway_tags("p-p38 MAPK; AKT/eNOS") == ["PI3K/Akt", "MAPK"]
    assert cur.pathway_tags("Wnt5a-mediated neuroinflammation (microglia)") == [
        "Wnt/beta-catenin", "neuroinflammation"]


def test_every_reason_has_a_documented_effect() -> None:
    assert set(EFFECTS) == set(ExclusionReason)
    assert EFFECTS[ExclusionReason.POPULATION_MISMATCH][EvidenceUse.POOLING] == "subgroup"
    doc = (REPO / "docs" / "evidence.md").read_text()
    for r in ExclusionReason:
        assert f"`{r.value}`" in doc, r


def test_embedded_is_the_shipped_dataset_whatever_the_user_imported(tmp_path: Path) -> None:
    emb = embedded()
    before = emb.table_counts()
    user = open_kb()
    user.import_records({"interactions": [MirnaTargetInteraction(
        mirna="hsa-miR-146a-3p", gene="IRAK1", evidence=EvidenceLevel.STRONG)],
        "studies": [Study(id="U1", indication=Indication.DIABETIC_WOUND)]},
        sources=["user_file.json"])
    assert emb.table_counts() == before
    assert not any(i.mirna == "hsa-miR-146a-3p" for i in emb.interactions())
    with pytest.raises(ExomirError, match="read-only"):
        emb.upsert_studies([Study(id="U2", indication=Indication.DIABETIC_WOUND)])
    prov = emb.provenance()
    assert prov["embedded"] and prov["imports"] == [] and set(prov["rows_by_origin"]) == {
        "curated"}
    up = user.provenance()
    assert up["imports"][-1]["sources"] == ["user_file.json"]
    assert up["imports"][-1]["rows_now"] == {"interactions": 1, "studies": 1}
    assert up["curated_sha256"] == prov["curated_sha256"]


def test_migration_v2_upgrades_a_v1_database(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'v1.sqlite'}"
    eng = create_engine(url)
    study = Study(id="OLD1", indication=Indication.DIABETIC_WOUND, exclusions=[Exclusion(
        reason=ExclusionReason.DUPLICATE_PUBLICATION, detail="same animals as OLD0")])
    with eng.begin() as conn:  # a database as schema version 1 left it
        migrations._v1_initial(conn)
        migrations._set(conn, "schema_version", "1")
        conn.execute(schema.studies.insert().values(
            id="OLD1", indication="diabetic_wound", origin="user",
            data=study.model_dump_json(exclude_none=True)))
    assert not eng.dialect.has_table(eng.connect(), "study_exclusions")
    kb = open_kb(tmp_path / "v1.sqlite")
    with kb.engine.connect() as conn:
        assert migrations.current_version(conn) == migrations.LATEST == 2
        got = conn.execute(select(schema.study_exclusions.c.reason).where(
            schema.study_exclusions.c.study_id == "OLD1")).scalars().all()
    assert got == ["duplicate_publication"]
    assert "OLD1" in kb.gated_study_ids("pooling") and kb.syntheses("diabetic_wound")


def test_published_syntheses_have_dois_and_no_invented_pain_entry() -> None:
    wound = embedded().syntheses("diabetic_wound")
    assert wound and all(x.source.doi and x.estimate > 0 for x in wound)
    yue = next(x for x in wound if x.id == "SR-Yue2024-MSC-sEV-T2D")
    assert (yue.estimate, yue.ci_lb, yue.ci_ub, yue.k, yue.i2) == (3.16, 2.65, 3.66, 21, 39.0)
    assert embedded().syntheses("neuropathic_pain") == []
    res = runner.invoke(app, ["kb", "syntheses", "--format", "json"])
    assert res.exit_code == 0 and "10.3389/fendo.2024.1375632" in res.output
