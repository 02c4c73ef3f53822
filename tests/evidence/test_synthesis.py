"""Gated pooling (issue 15): retracted never pooled, population mismatch only in a labelled
subgroup, k = 1 a single study, k < 3 a warning, published syntheses alongside."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from exomir.cli import app
from exomir.core import Arm, ArmOutcome, Exclusion, ExclusionReason, Indication, Study
from exomir.evidence.effects import escalc
from exomir.evidence.meta import rma
from exomir.evidence.synthesis import synthesize, synthesize_kb
from exomir.kb import embedded

runner = CliRunner()


def _study(sid: str, t: float, c: float, *reasons: ExclusionReason) -> Study:
    arms = [Arm(label="exo", role="treatment", outcomes=[ArmOutcome(
                measure="wound_closure", timepoint_days=14, n=6, mean=t, sd=5)]),
            Arm(label="pbs", role="control", outcomes=[ArmOutcome(
                measure="wound_closure", timepoint_days=14, n=6, mean=c, sd=6)])]
    return Study(id=sid, indication=Indication.DIABETIC_WOUND, first_author=sid, year=2020,
                 arms=arms, exclusions=[Exclusion(reason=r, detail="test") for r in reasons])


def test_shipped_wound_evidence_is_not_a_meta_analysis_of_dw037() -> None:
    syn = synthesize_kb(embedded(), "diabetic_wound")
    assert syn.main.kind == "none" and syn.main.result is None
    assert "DW037" not in syn.main.studies
    (sub,) = [g for g in syn.subgroups if g.k]
    assert sub.label == "subgroup: population mismatch (not the diabetic wound population)"
    assert sub.studies == ["DW037"]
    assert sub.kind == "single study" and sub.result is None  # not a random-effects model
    (comp,) = sub.comparisons
    assert comp["yi"] == pytest.approx(17.68, abs=0.01)
    assert comp["ci_lb"] < comp["yi"] < comp["ci_ub"]
    assert any("single study, not a meta-analysis" in w for w in syn.warnings)
    out = {x["study"]: x for x in syn.kept_out}
    assert out["DW002"]["gate"] == "exclude" and out["DW002"]["reason"] == "retracted"
    assert out["DW037"]["gate"] == "subgroup"
    assert {p.source.doi for p in syn.published} >= {"10.3389/fendo.2024.1375632"}
    assert "single study" in syn.headline() and "DW002" in syn.headline()


def test_gates_decide_before_any_number() -> None:
    studies = [_study("A", 80, 60), _study("B", 85, 62), _study("C", 83, 61),
               _study("R", 99, 40, ExclusionReason.RETRACTED),
               _study("D", 90, 60, ExclusionReason.DUPLICATE_PUBLICATION),
               _study("N", 95, 50, ExclusionReason.POPULATION_MISMATCH)]
    syn = synthesize(studies, "diabetic_wound")
    assert syn.main.kind == "meta-analysis" and syn.main.studies == ["A", "B", "C"]
    es = escalc("SMD", syn.main.table.data)
    assert syn.main.result is not None
    assert syn.main.result.estimate == pytest.approx(rma(es["yi"], es["vi"]).estimate)
    assert not syn.main.warnings  # k = 3: no small-k warning
    assert {x["study"]: x["gate"] for x in syn.kept_out} == {
        "R": "exclude", "D": "exclude", "N": "subgroup"}
    assert [g.studies for g in syn.subgroups] == [["N"]]
    two = synthesize(studies[:2], "diabetic_wound")
    assert two.main.kind == "meta-analysis" and any("k = 2 < 3" in w for w in two.main.warnings)
    one = synthesize(studies[:1], "diabetic_wound")
    assert one.main.kind == "single study" and one.main.result is None


def test_pain_has_no_invented_published_synthesis() -> None:
    syn = synthesize_kb(embedded(), "neuropathic_pain")
    assert syn.published == [] and syn.published_note and "could be sourced" in \
        syn.published_note
    assert {"NP020", "NP021", "NP022"} <= {x["study"] for x in syn.kept_out}


def test_cli_meta_kb_route_reports_gates_and_single_study() -> None:
    res = runner.invoke(app, ["evidence", "meta", "--indication", "diabetic_wound",
                              "--outcome", "wound_closure", "--format", "json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    assert out["main"]["kind"] == "none" and out["subgroups"][0]["kind"] == "single study"
    assert any(x["study"] == "DW002" and "RETRACTED" in x["reason"]
               for x in out["source"]["left_out"])
    table = runner.invoke(app, ["evidence", "meta", "--indication", "diabetic_wound",
                                "--outcome", "wound_closure"])
    assert table.exit_code == 0 and "not a meta-analysis" in table.output
    assert "Published syntheses" in table.output
    refused = runner.invoke(app, ["evidence", "meta", "--indication", "diabetic_wound",
                                  "--outcome", "wound_closure", "--bias"])
    assert refused.exit_code == 2


def test_extraction_sheet_carries_exclusions(tmp_path: Path) -> None:
    import pandas as pd

    from exomir.evidence.arms import read_extraction_sheet

    sheet = tmp_path / "s.csv"
    pd.DataFrame({"study": ["S1", "S2"], "indication": ["diabetic_wound"] * 2,
                  "outcome": ["wound_closure"] * 2, "m1i": [80, 82], "sd1i": [5, 5],
                  "n1i": [6, 6], "m2i": [60, 61], "sd2i": [6, 6], "n2i": [6, 6],
                  "timepoint_days": [14, 14], "exclusion": ["retracted", ""],
                  "exclusion_source": ["10.1000/notice", ""]}).to_csv(sheet, index=False)
    s1, s2 = read_extraction_sheet(sheet)
    assert [e.reason for e in s1.exclusions] == [ExclusionReason.RETRACTED]
    assert s1.exclusions[0].source and s1.exclusions[0].source.doi == "10.1000/notice"
    assert not s2.exclusions
    syn = synthesize([s1, s2], "diabetic_wound")
    assert syn.main.studies == ["S2"] and syn.main.kind == "single study"
