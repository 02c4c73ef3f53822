"""MISEV check: complete vs incomplete records, applicability, nomenclature, KB studies."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from exomir.core.errors import InputError
from exomir.core.models import Characterization, ExosomeProduct, Study
from exomir.quality.misev import (
    CharacterizationRecord,
    classify_marker,
    evaluate,
    load_checklist,
    load_record,
    record_from_study,
    score_studies,
)

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "quality"

COMPLETE = {
    "id": "full",
    "ev_term": "small extracellular vesicles",
    "subtype_claimed": True,
    "function_claimed": True,
    "starting_material": {"volume_ml": 200},
    "isolation": {"method": "SEC", "parameters": {"column": "qEV"}},
    "quantification": {"particles_per_ml": 1e11, "protein_ug_per_ml": 10},
    "markers": {"transmembrane": ["CD63"], "cytosolic": ["TSG101"], "negative": ["calnexin"],
                "other_compartments": ["TOMM20"], "soluble_proteins": ["VEGF"]},
    "single_ev_imaging": ["TEM"],
    "single_ev_counting": ["NTA"],
    "topology": ["RNase protection"],
}


def test_complete_record_scores_100() -> None:
    rep = evaluate(CharacterizationRecord.model_validate(COMPLETE))
    assert rep.completeness_pct == 100.0
    assert rep.missing == []
    met, total = rep.mandatory_met
    assert met == total == 9
    assert rep.if_applicable_met == (2, 2)  # subtype and function claimed in COMPLETE


def test_empty_record_scores_zero_and_explains() -> None:
    rep = evaluate(CharacterizationRecord())
    assert rep.completeness_pct == 0.0
    # function_claimed defaults to True -> soluble-protein item applies; subtype does not
    keys = {r.key for r in rep.missing}
    assert "soluble_proteins" in keys and "other_compartments" not in keys
    assert all(r.why for r in rep.missing)
    assert len(rep.applicable) == 12


def test_one_quantification_without_ratio_fails_two_items() -> None:
    d = dict(COMPLETE, quantification={"particles_per_ml": 1e11})
    rep = evaluate(CharacterizationRecord.model_validate(d))
    missing = {r.key for r in rep.missing}
    assert missing == {"two_quantifications", "quantification_ratio"}
    # 13 applicable items, 11 met
    assert rep.completeness_pct == pytest.approx(100 * 11 / 13)


def test_isolation_method_without_parameters_is_not_enough() -> None:
    d = dict(COMPLETE, isolation={"method": "ultracentrifugation"})
    rep = evaluate(CharacterizationRecord.model_validate(d))
    assert [r.key for r in rep.missing] == ["isolation_method"]


@pytest.mark.parametrize(("term", "shown", "ok"), [
    ("exosomes", False, False), ("exosomes", True, True), ("sEV", False, True),
    ("extracellular vesicles", False, True), ("nanoparticles", False, False), (None, False, False),
])
def test_nomenclature(term: str | None, shown: bool, ok: bool) -> None:
    d = dict(COMPLETE, ev_term=term, biogenesis_shown=shown)
    rep = evaluate(CharacterizationRecord.model_validate(d))
    item = next(r for r in rep.items if r.key == "nomenclature")
    assert item.met is ok


def test_checklist_covers_every_shared_category(shared_data: Path) -> None:
    with (shared_data / "misev_checklist.csv").open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    cats = {r["category"] for r in rows}
    ours = {i.category for i in load_checklist().items}
    assert cats <= ours
    # mandatory items in the shared list stay mandatory here
    level = {i.category: i.level for i in load_checklist().items}
    for r in rows:
        if r["level"] == "mandatory":
            assert level[r["category"]] == "mandatory", r["category"]


def test_example_record_and_bad_record(tmp_path: Path) -> None:
    rec = load_record(EXAMPLES / "record_synthetic.yaml")
    rep = evaluate(rec)
    assert [r.key for r in rep.missing] == ["soluble_proteins", "topology"]
    bad = tmp_path / "bad.yaml"
    bad.write_text("id: x\nquantification: {particles_per_ml: -5}\n", encoding="utf-8")
    with pytest.raises(InputError) as ei:
        load_record(bad)
    assert ei.value.field == "quantification.particles_per_ml"
    bad.write_text("id: x\nunknown_field: 1\n", encoding="utf-8")
    with pytest.raises(InputError):
        load_record(bad)
    bad.write_text("id: [x\n", encoding="utf-8")
    with pytest.raises(InputError) as ei:
        load_record(bad)
    assert ei.value.line is not None


def test_marker_classes() -> None:
    assert classify_marker("CD63") == "transmembrane"
    assert classify_marker("ITGB1") == "transmembrane"
    assert classify_marker("TSG101") == "cytosolic"
    assert classify_marker("Alix (PDCD6IP)") == "cytosolic"
    assert classify_marker("calnexin") == "other"


def _study(**char: object) -> Study:
    return Study(id="S1", indication="diabetic_wound", title="MSC exosomes heal wounds",
                 product=ExosomeProduct(isolation_method="ultracentrifugation",
                                        characterization=Characterization(**char)))


def test_kb_study_unknown_is_not_reported() -> None:
    bare = score_studies([Study(id="S0", indication="neuropathic_pain")])[0]
    assert bare.completeness_pct == 0.0
    rich = _study(particle_concentration_per_ml=1e10, modal_size_nm=110,
                  particles_per_ug_protein=5e9, markers_positive=["CD63", "TSG101"],
                  markers_negative=["calnexin"])
    rec = record_from_study(rich)
    assert rec.markers.transmembrane == ["CD63"] and rec.markers.cytosolic == ["TSG101"]
    rep = evaluate(rec)
    met = {r.key for r in rep.applicable if r.met}
    assert met == {"two_quantifications", "quantification_ratio", "marker_transmembrane",
                   "marker_cytosolic", "marker_negative", "single_ev_counting"}
    # 'exosome' in the title without biogenesis evidence -> nomenclature not met
    assert "nomenclature" in {r.key for r in rep.missing}
    assert rep.completeness_pct > bare.completeness_pct


def test_kb_study_free_text_hints() -> None:
    s = Study(id="S2", indication="neuropathic_pain",
              product=ExosomeProduct(isolation_method="ultracentrifugation (NTA, EM, "
                                                      "alix/tsg101/CD9 WB)"))
    rec = record_from_study(s)
    assert rec.single_ev_imaging == ["EM"] and rec.single_ev_counting == ["NTA"]
    assert rec.markers.transmembrane == ["CD9"]
    assert set(rec.markers.cytosolic) == {"alix", "tsg101"}
    # 'temperature' or 'member' must not read as TEM/EM
    plain = record_from_study(Study(id="S3", indication="neuropathic_pain",
                                    product=ExosomeProduct(isolation_method="membrane "
                                                           "temperature kit")))
    assert plain.single_ev_imaging == [] and plain.single_ev_counting == []


def test_score_kb_studies_if_kb_available() -> None:
    kb = pytest.importorskip("exomir.kb")
    studies = kb.open_kb().studies()
    reps = score_studies(studies)
    assert len(reps) == len(studies) > 0
    assert all(0.0 <= r.completeness_pct <= 100.0 for r in reps)
