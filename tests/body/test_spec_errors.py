"""Bad therapy specs give InputErrors that name the field."""

from __future__ import annotations

from pathlib import Path

import pytest

from exomir.body import load_spec, parse_spec, simulate
from exomir.core import InputError

from .helpers import make_spec

BASE = {"indication": "diabetic_wound", "delivery": {"route": "hydrogel"},
        "regimen": {"dose": {"value": 1e10, "unit": "particles"}, "times_days": [0, 7]},
        "subject": {"species": "mouse"}, "days": 28}


def _with(**changes: object) -> dict:  # type: ignore[type-arg]
    d = {k: (dict(v) if isinstance(v, dict) else v) for k, v in BASE.items()}
    d.update(changes)
    return d


@pytest.mark.parametrize(("data", "field"), [
    (_with(regimen={"dose": {"value": -1, "unit": "particles"}}), "regimen.dose.value"),
    (_with(delivery={"route": "teleport"}), "delivery.route"),
    (_with(regimen={"dose": {"value": 1e10, "unit": "particles"}, "times_days": [0, 40]}),
     "regimen.times_days"),
    (_with(body={"copies_per_vesicle": -0.5}), "body.copies_per_vesicle"),
    (_with(cargo=[{"kind": "mirna", "name": "miR-21", "copies_per_vesicle": -1}]),
     "cargo.0.copies_per_vesicle"),
    (_with(regimen={"dose": {"value": 5, "unit": "mL"}}), "regimen.dose.unit"),
    (_with(body={"targets": [{"gene": "PTEN"}]}), "body.targets.0"),
    (_with(body={"parameters": {"no_such": 1.0}}), "body.parameters"),
])
def test_bad_input_names_field(data: dict, field: str) -> None:  # type: ignore[type-arg]
    with pytest.raises(InputError) as info:
        spec = parse_spec(data)
        simulate(spec, 1, days=1)
    assert info.value.field is not None and info.value.field.startswith(field), info.value


def test_days_option_shorter_than_schedule() -> None:
    spec = make_spec(route="intravenous", times=[0, 20])
    with pytest.raises(InputError, match="outside"):
        simulate(spec, 1, days=10)


def test_yaml_syntax_error_has_line(tmp_path: Path) -> None:
    p = tmp_path / "bad.yaml"
    p.write_text("indication: diabetic_wound\ndelivery: [unclosed\n", encoding="utf-8")
    with pytest.raises(InputError) as info:
        load_spec(p)
    assert info.value.line is not None


def test_examples_load() -> None:
    root = Path(__file__).resolve().parents[2] / "examples"
    for f in ("diabetic_wound_hydrogel.yaml", "neuropathic_pain_intrathecal.yaml"):
        spec = load_spec(root / f)
        assert spec.dose_particles > 0
