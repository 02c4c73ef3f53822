"""A design spec's ``calibration`` field: every arm (untreated, vehicle only, candidates) runs on
the same calibrated values; a bad file or a candidate-level calibration is refused up front."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import yaml

from exomir.body import simulate
from exomir.core import InputError
from exomir.core.calibrated import CalibratedParameters, CalibratedValue, ProblemRef
from exomir.design.arms import candidate_body_spec, untreated_spec, vehicle_only_spec
from exomir.design.cargo_part import CargoPlan
from exomir.design.spec import example_text, load_design, parse_design

K = 0.4321  # a k_contraction the body table does not hold (its value is 0.8318)


def _design(tmp: Path, **extra: object) -> Path:
    CalibratedParameters(
        problem=ProblemRef(id="mine", indication="diabetic_wound", species="mouse"),
        parameters=[CalibratedValue(name="k_contraction", value=K, unit="1/day", lower=0.05,
                                    upper=5, identifiability="identifiable")],
    ).save(tmp / "cal" / "calibrated.json")
    data = dict(yaml.safe_load(example_text("diabetic_wound")))
    data.update({"calibration": "cal/calibrated.json", "subjects": 2, **extra})
    p = tmp / "design.yaml"
    p.write_text(yaml.safe_dump(data), encoding="utf-8")
    return p


def test_every_arm_runs_on_the_design_calibration(tmp_path: Path) -> None:
    spec = load_design(_design(tmp_path))
    assert spec.calibration == str((tmp_path / "cal" / "calibrated.json").resolve())
    plan = CargoPlan(interactions=pd.DataFrame(columns=["mirna", "gene", "context_score"]),
                     profile={}, best=["hsa-miR-146a-5p"])
    cand, _ = candidate_body_spec(spec, spec.candidates[0], plan)
    arms = {"untreated": untreated_spec(spec), "candidate": cand,
            "vehicle only": vehicle_only_spec(spec, spec.candidates[0], plan)}
    for name, arm in arms.items():
        assert arm.body.calibration == spec.calibration, name
    r = simulate(arms["untreated"], 2, days=1.0, seed=0, variability=False)
    assert list(r.params["k_contraction"]) == [K, K]
    default = untreated_spec(parse_design(dict(yaml.safe_load(example_text("diabetic_wound")))))
    assert default.body.calibration is None
    assert simulate(default, 1, days=1.0, seed=0, variability=False).params["k_contraction"][0] != K


def test_bad_calibration_and_candidate_level_calibration_are_refused(tmp_path: Path) -> None:
    p = _design(tmp_path)
    (tmp_path / "cal" / "calibrated.json").write_text('{"format": "nope"}', encoding="utf-8")
    with pytest.raises(InputError, match="calibrated.json"):
        load_design(p)
    data = dict(yaml.safe_load(example_text("diabetic_wound")))
    data["candidates"][0]["body"] = {"calibration": "x.json"}
    with pytest.raises(InputError, match="every arm") as exc:
        parse_design(data, source="d.yaml")
    assert exc.value.field == "candidates.0.body.calibration"
