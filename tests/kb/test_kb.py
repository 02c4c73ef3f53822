"""Knowledge base: seeding, queries, lossless round trips and all-or-nothing imports."""

from __future__ import annotations

import csv
import json
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from exomir.cli import app
from exomir.core import InputError
from exomir.kb import io as kbio
from exomir.kb import open_kb

runner = CliRunner()
NewDb = Callable[[str], str]


def test_seeded_on_first_use_and_reopened_without_duplicates(new_db: NewDb) -> None:
    db = new_db("a")
    kb = open_kb(db)
    first = kb.table_counts()
    assert first["studies"] >= 60 and first["trials"] == 8 and first["mirnas"] > 100
    assert open_kb(db).table_counts() == first


def test_curated_studies_keep_their_sources(shared_data: Path) -> None:
    kb = open_kb()
    with open(shared_data / "studies.csv", newline="", encoding="utf-8") as fh:
        rows = {r["id"]: r for r in csv.DictReader(fh)}
    overridden = {"DW002": "low"}  # retracted (scripts/curate_kb.py CONFIDENCE_OVERRIDES)
    for sid, row in rows.items():
        s = kb.get_study(sid)
        assert s.indication.value == row["indication"]
        if s.source.doi:
            assert s.source.doi.lower() in row["doi_or_pmid"].lower()
        # every URL read is kept, in order (11 rows have two)
        assert s.source.urls == [u.strip() for u in row["source_read"].split(" ; ")]
        want = overridden.get(sid, row["confidence"])
        assert s.confidence is not None and s.confidence.value == want
        if row["dose"].strip() == "NR":
            assert s.regimen.dose is None  # not reported stays unknown, never guessed


def test_done_when_queries() -> None:
    kb = open_kb()
    pain = kb.studies(indication="neuropathic_pain", mirna="miR-146a")
    assert {s.id for s in pain} >= {"NP005"}
    assert all("146" in " ".join(c.name for c in s.cargo) for s in pain)
    wound = kb.studies(indication="diabetic_wound", pathway="PI3K/Akt")
    assert {"DW002", "DW014", "DW022"} <= {s.id for s in wound}
    assert all(s.indication.value == "diabetic_wound" for s in wound)


def test_species_aware_mirna_queries() -> None:
    kb = open_kb()
    human = {s.id for s in kb.studies(mirna="hsa-miR-26a-5p")}
    mouse = {s.id for s in kb.studies(mirna="mmu-miR-26a-5p")}
    assert "NP001" in human and "NP001" not in mouse  # NP001 reports hsa-miR-26a-5p
    assert "NP020" in {s.id for s in kb.studies(mirna="miR-21")}  # mmu-miR-21a-5p
    assert {s.id for s in kb.studies(gene="pten")} >= {"DW002", "NP010"}
    assert all(s.delivery.route and s.delivery.route.value == "intrathecal"
               for s in kb.studies(route="intrathecal"))
    assert kb.studies(species="rat") and all(s.subject.species and
                                             s.subject.species.value == "rat"
                                             for s in kb.studies(species="rat"))


def test_cli_query_json_has_dois() -> None:
    res = runner.invoke(app, ["kb", "query", "--indication", "diabetic_wound", "--pathway",
                              "PI3K/Akt", "--format", "json"])
    assert res.exit_code == 0, res.output
    rows = json.loads(res.output)
    assert rows and all(r["doi"] or r["pmid"] or r["pmcid"] for r in rows)


def test_cli_stats_show_trials_version() -> None:
    res = runner.invoke(app, ["kb", "stats", "--format", "json"])
    data = json.loads(res.output)
    assert data["all"]["studies"] == (data["neuropathic_pain"]["studies"]
                                      + data["diabetic_wound"]["studies"])
    res = runner.invoke(app, ["kb", "show", "NP015"])
    assert res.exit_code == 0 and "10.2147/JPR.S286771" in res.output
    res = runner.invoke(app, ["kb", "trials", "--indication", "neuropathic_pain",
                              "--format", "json"])
    assert "NCT04202783" in res.output
    assert runner.invoke(app, ["--version"]).output.startswith("exomir ")


@pytest.mark.parametrize("fmt", ["json", "csv"])
@pytest.mark.parametrize("what", ["studies", "interactions", "trials", "mirnas", "syntheses"])
def test_export_import_round_trip_is_lossless(tmp_path: Path, fmt: str, what: str,
                                              new_db: NewDb) -> None:
    out = tmp_path / f"export.{fmt}"
    res = runner.invoke(app, ["kb", "export", "--format", fmt, "--what", what, "--out", str(out)])
    assert res.exit_code == 0, res.output
    src = open_kb()

    def get(kb: object) -> list:  # type: ignore[type-arg]
        if what == "interactions":  # every stored row, gated ones included
            return kb.interactions(gated=False)  # type: ignore[attr-defined, no-any-return]
        name = {"mirnas": "mature_mirnas"}.get(what, what)
        return getattr(kb, name)()  # type: ignore[no-any-return]

    before = get(src)
    assert before
    empty = open_kb(new_db("empty"), seed=False)
    assert get(empty) == []
    empty.import_records(kbio.read_records(out))
    after = get(empty)
    assert [a.model_dump() for a in after] == [b.model_dump() for b in before]
    if what == "studies":  # exclusions travel with their studies and gate again
        assert any(e.reason.value == "retracted" for e in empty.get_study("DW002").exclusions)
        assert "DW002" in empty.gated_study_ids("pooling")


def test_reimport_does_not_duplicate(tmp_path: Path) -> None:
    out = tmp_path / "s.json"
    runner.invoke(app, ["kb", "export", "--out", str(out)])
    kb = open_kb()
    counts = kb.table_counts()
    for _ in range(2):
        res = runner.invoke(app, ["kb", "import", str(out)])
        assert res.exit_code == 0, res.output
    after = kb.table_counts()
    assert after.pop("imports") == counts.pop("imports") + 2  # the import log grows
    assert after == counts


def _bad_study_file(tmp_path: Path, bad_line: int) -> Path:
    records = [{"id": f"U{i:03d}", "indication": "diabetic_wound"} for i in range(1, 6)]
    records[bad_line - 1]["indication"] = "migraine"
    p = tmp_path / "user.json"
    p.write_text(json.dumps(records))
    return p


def test_failed_import_names_line_field_value_and_writes_nothing(tmp_path: Path) -> None:
    kb = open_kb()
    before = kb.table_counts()
    res = runner.invoke(app, ["kb", "import", str(_bad_study_file(tmp_path, 4))])
    assert res.exit_code == 2
    msg = str(res.exception) if res.exception and not isinstance(res.exception, SystemExit) \
        else res.output
    assert kb.table_counts() == before
    with pytest.raises(InputError) as err:
        kbio.read_records(_bad_study_file(tmp_path, 4))
    text = str(err.value)
    assert "user.json:4" in text and "indication" in text and "migraine" in text
    assert "neuropathic_pain" in text  # what is accepted
    assert msg


def test_crash_mid_write_rolls_back(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from exomir.core import Study
    from exomir.kb.store import KnowledgeBase

    kb = open_kb()
    before = kb.table_counts()
    good = [Study(id=f"U{i}", indication="diabetic_wound") for i in range(5)]  # type: ignore[arg-type]
    original = KnowledgeBase._write_interactions

    def boom(self: KnowledgeBase, *a: object, **k: object) -> int:
        raise RuntimeError("disk full")

    monkeypatch.setattr(KnowledgeBase, "_write_interactions", boom)
    with pytest.raises(RuntimeError):
        kb.import_records({"studies": good, "interactions": kb.interactions()[:1]})
    monkeypatch.setattr(KnowledgeBase, "_write_interactions", original)
    assert kb.table_counts() == before


@pytest.mark.sqlite_only
def test_duplicate_ids_rejected(tmp_path: Path) -> None:
    p = tmp_path / "dup.csv"
    p.write_text("id,indication\nX1,diabetic_wound\nX1,neuropathic_pain\n")
    with pytest.raises(InputError, match=r"dup.csv:3.*duplicate id"):
        kbio.read_records(p)


@pytest.mark.sqlite_only
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=400), cut=st.integers(0, 2000), suffix=st.sampled_from([".json", ".csv"]))
def test_random_and_truncated_input_never_escapes_or_writes(tmp_path: Path, data: bytes, cut: int,
                                                            suffix: str) -> None:
    kb = open_kb()
    before = kb.table_counts()
    good = kbio.dump_json("studies", kb.studies()[:3]).encode()
    for payload in (data, good[:cut]):
        p = tmp_path / f"fuzz{suffix}"
        p.write_bytes(payload if suffix == ".json" else payload.replace(b"{", b"x"))
        try:
            records = kbio.read_records(p)
        except InputError as exc:
            assert str(p) in str(exc)
            continue
        kb.import_records(records)
    if kb.table_counts() != before:
        # only a complete, valid file may write, and it re-writes the same studies
        assert kb.table_counts()["studies"] == before["studies"]


def test_import_real_reference_files(shared_data: Path, new_db: NewDb) -> None:
    db = new_db("ref")
    files = [shared_data / "mirbase" / "mature.fa",
             shared_data / "mirtarbase" / "mirtarbase_v10_strong_pairs.tsv",
             shared_data / "genesets" / "msigdb_hallmark_v7.0.symbols.gmt"]
    res = runner.invoke(app, ["--db", str(db), "kb", "import", *map(str, files)])
    assert res.exit_code == 0, res.output
    kb = open_kb(db)
    human = kb.mature_mirnas("human")
    assert len(human) == 2656
    assert {m.name: m.sequence for m in human}["hsa-miR-146a-5p"] == "UGAGAACUGAAUUCCAUGGGUU"
    assert any(i.gene == "TRAF6" for i in kb.interactions(mirna="hsa-miR-146a-5p"))
    assert len(kb.gene_sets()) == 50
    counts = kb.table_counts()
    res = runner.invoke(app, ["--db", str(db), "kb", "import", *map(str, files)])
    after = kb.table_counts()
    assert after.pop("imports") == counts.pop("imports") + 1  # logged, rows not duplicated
    assert after == counts  # idempotent
    imports = kb.provenance()["imports"]
    assert [i["sources"] for i in imports] == [[f.name for f in files]] * 2


def test_bad_reference_file_writes_nothing(tmp_path: Path) -> None:
    kb = open_kb()
    before = kb.table_counts()
    good = tmp_path / "ok.gmt"
    good.write_text("SET_A\tdesc\tPTEN\tAKT1\n")
    bad = tmp_path / "bad.fa"
    bad.write_text(">hsa-miR-x MIMAT1\nACGU\n>hsa-miR-y MIMAT2\nAC#GU\n")
    res = runner.invoke(app, ["kb", "import", str(good), str(bad)])
    assert res.exit_code == 2
    assert kb.table_counts() == before
