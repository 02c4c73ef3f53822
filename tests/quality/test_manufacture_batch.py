"""Manufacturing arithmetic by independent hand calculation; batch release pass/fail."""

from __future__ import annotations

from pathlib import Path

import pytest

from exomir.core.errors import InputError
from exomir.core.models import Dose, Regimen
from exomir.quality.batch import BatchRecord, ReleaseSpec, check_release, load_batch, load_spec
from exomir.quality.manufacture import plan, plan_from_regimen, scenarios, sensitivity
from exomir.quality.params import MANUFACTURING

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "quality"


def test_plan_matches_hand_calculation() -> None:
    params = MANUFACTURING.replace(
        secretion_particles_per_cell_per_day=2000, yield_sec=0.5, overage_fraction=0.25,
        harvests_per_culture=2, conditioning_days=2, cells_per_cm2=25000,
        medium_ml_per_cm2=0.2, max_surface_per_batch_cm2=10000, expansion_days=7,
        isolation_days=1, cells_per_ml_bioreactor=1e6)
    p = plan(20, 4, 1e10, "sec", params)
    # by hand: 20*4*1e10 = 8e11; *1.25 = 1e12 delivered; /0.5 = 2e12 secreted
    assert p.particles_final == pytest.approx(1e12)
    assert p.particles_secreted == pytest.approx(2e12)
    # 2e12 / 2000 per cell-day = 1e9 cell-days; / (2 harvests * 2 d) = 2.5e8 cells
    assert p.cells == pytest.approx(2.5e8)
    # 2.5e8 / 25000 = 1e4 cm^2 -> 58 T175 (10000/175 = 57.1); medium 1e4*0.2*2 = 4000 mL
    assert p.surface_cm2 == pytest.approx(1e4)
    assert p.t175_flasks == 58
    assert p.medium_l == pytest.approx(4.0)
    assert p.bioreactor_l == pytest.approx(0.25)
    # 1e4 cm^2 fits in 1 batch of 1e4; days = 7 + 4 + 1 = 12
    assert p.batches == 1 and p.days == pytest.approx(12)
    p2 = plan(40, 4, 1e10, "sec", params)
    assert p2.batches == 2 and p2.days == pytest.approx(24)


def test_method_yield_ordering_and_errors() -> None:
    uc = plan(20, 4, 1e10, "uc")
    tff = plan(20, 4, 1e10, "tff")
    assert uc.method == "ultracentrifugation"
    assert uc.surface_cm2 / tff.surface_cm2 == pytest.approx(
        MANUFACTURING.value("yield_tff") / MANUFACTURING.value("yield_ultracentrifugation"))
    with pytest.raises(InputError):
        plan(20, 4, 1e10, "magic")
    with pytest.raises(InputError):
        plan(0, 4, 1e10)


def test_sensitivity_and_scenarios() -> None:
    sens = sensitivity(20, 4, 1e10, "tff")
    assert sens[0].parameter == "secretion_particles_per_cell_per_day"
    q = MANUFACTURING["secretion_particles_per_cell_per_day"]
    assert q.low is not None and q.high is not None
    assert sens[0].surface_fold == pytest.approx(q.high / q.low)
    names = {s.parameter for s in sens}
    assert "yield_sec" not in names and "yield_tff" in names
    sc = scenarios(20, 4, 1e10, "tff")
    assert sc["low"].surface_cm2 < sc["central"].surface_cm2 < sc["high"].surface_cm2


def test_plan_from_regimen_converts_protein_dose() -> None:
    reg = Regimen(dose=Dose(value=100, unit="ug"), times_days=[0, 7, 14])
    p = plan_from_regimen(reg, 10, "sec", particles_per_ug=1e9)
    direct = plan(10, 3, 1e11, "sec")
    assert p.cells == pytest.approx(direct.cells)
    with pytest.raises(InputError):
        plan_from_regimen(reg, 10, "sec")  # no particles_per_ug


def _spec() -> ReleaseSpec:
    return ReleaseSpec.model_validate({
        "ranges": {"concentration_particles_per_ml": {"min": 1e11},
                   "endotoxin_eu_per_ml": {"max": 0.5}},
        "markers_present": ["CD63"], "markers_absent": ["calnexin"],
        "pass_fail": ["sterility"]})


def _batch(**kw: object) -> BatchRecord:
    d: dict[str, object] = {"batch_id": "B", "values": {"concentration_particles_per_ml": 2e11,
                                                        "endotoxin_eu_per_ml": 0.1},
                            "markers_present": ["cd-63"], "markers_absent": ["Calnexin"],
                            "results": {"sterility": "pass"}}
    d.update(kw)
    return BatchRecord.model_validate(d)


def test_release_pass_and_each_failure() -> None:
    assert check_release(_spec(), _batch()).passed
    low = check_release(_spec(), _batch(values={"concentration_particles_per_ml": 5e10,
                                                "endotoxin_eu_per_ml": 0.1}))
    assert not low.passed
    assert [c.reason for c in low.checks if not c.passed] == ["below minimum"]
    missing = check_release(_spec(), _batch(values={"concentration_particles_per_ml": 2e11}))
    assert [c.item for c in missing.checks if not c.passed] == ["endotoxin_eu_per_ml"]
    contaminated = check_release(_spec(), _batch(markers_present=["CD63", "calnexin"],
                                                 markers_absent=[]))
    bad = [c for c in contaminated.checks if not c.passed]
    assert bad[0].reason == "contaminant marker detected"
    sterile_fail = check_release(_spec(), _batch(results={"sterility": "fail"}))
    assert not sterile_fail.passed


def test_example_files_and_bad_spec(tmp_path: Path) -> None:
    rep = check_release(load_spec(EXAMPLES / "release_spec_synthetic.yaml"),
                        load_batch(EXAMPLES / "batch_A_record_synthetic.yaml"),
                        base_dir=EXAMPLES)
    assert rep.passed
    mode = next(c for c in rep.checks if c.item == "modal_size_nm")
    assert 90 < float(mode.observed) < 115  # synthetic lognormal, median 110 nm
    bad = tmp_path / "spec.yaml"
    bad.write_text("ranges:\n  modal_size_nm: {min: 200, max: 100}\n", encoding="utf-8")
    with pytest.raises(InputError) as ei:
        load_spec(bad)
    assert ei.value.source == str(bad)
    bad.write_text("batch_id: x\nresults: {sterility: maybe}\n", encoding="utf-8")
    with pytest.raises(InputError):
        load_batch(bad)
