"""Domain core: names, units, parameters and specs reject what they must."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from exomir.core import (
    Cargo,
    CargoKind,
    Dose,
    InputError,
    Parameter,
    ParameterTable,
    Route,
    TherapySpec,
    parse_mirna_name,
    parse_quantity,
)
from exomir.core.enums import route_from_text
from exomir.core.mirna import find_mirna_names, mirna_matches


@given(prefix=st.sampled_from(["", "hsa-", "mmu-", "rno-"]), number=st.integers(1, 9999),
       letter=st.sampled_from(["", "a", "b"]), arm=st.sampled_from(["", "-5p", "-3p"]))
def test_mirna_names_round_trip(prefix: str, number: int, letter: str, arm: str) -> None:
    text = f"{prefix}miR-{number}{letter}{arm}"
    assert str(parse_mirna_name(text)) == text
    assert [str(n) for n in find_mirna_names(f"cargo: {text}; other")] == [text]


@pytest.mark.parametrize(("query", "candidate", "expected"), [
    ("miR-146a", "hsa-miR-146a-5p", True),
    ("miR-146a", "mmu-miR-146a-5p", True),
    ("hsa-miR-146a-5p", "mmu-miR-146a-5p", False),   # other species
    ("hsa-miR-146a-5p", "miR-146a", True),            # unprefixed study name: any species
    ("hsa-miR-146a-5p", "hsa-miR-146a-3p", False),    # other arm
    ("miR-146a", "miR-146b-5p", False),               # other paralog
    ("miR-21", "mmu-miR-21a-5p", True),               # family level without a letter
    ("miR-21", "miR-210-3p", False),                  # other number
    ("let-7b", "hsa-let-7b-5p", True),
    ("let-7b", "hsa-miR-7-5p", False),
])
def test_mirna_matching_rules(query: str, candidate: str, expected: bool) -> None:
    assert mirna_matches(parse_mirna_name(query), parse_mirna_name(candidate)) is expected


def test_bad_mirna_name_names_field_and_forms() -> None:
    with pytest.raises(InputError, match="field 'mirna'.*accepted: names like"):
        parse_mirna_name("PTEN")


def test_particles_are_not_moles_and_dimensions_are_checked() -> None:
    q = parse_quantity(1e9, "particles", dimension="[particle]")
    assert q.magnitude == 1e9
    with pytest.raises(InputError, match="expected \\[particle\\]"):
        parse_quantity(5, "ug", field="dose", dimension="[particle]")
    with pytest.raises(InputError, match="must not be negative"):
        parse_quantity(-1, "particles", field="dose")
    with pytest.raises(InputError, match="not a number"):
        parse_quantity("ten", "particles", field="dose")
    with pytest.raises(InputError, match="unknown unit"):
        parse_quantity(1, "parsecs of vesicles", field="dose")


def test_parameter_needs_source_or_assumption_with_range() -> None:
    with pytest.raises(ValueError, match="needs a source"):
        Parameter(name="k", value=1.0, unit="1/h")
    with pytest.raises(ValueError, match="plausible range"):
        Parameter(name="k", value=1.0, unit="1/h", assumption=True)
    p = Parameter(name="k", value=1.0, unit="1/h", assumption=True, low=0.1, high=10)
    table = ParameterTable([p, Parameter(name="v", value=2, unit="mL", source="doi:10.1/x")])
    assert table.replace(k=3.0).value("k") == 3.0
    assert [q.name for q in table.assumptions()] == ["k"]
    assert "**assumption**" in table.to_markdown()


def test_spec_rejects_schedule_outside_window_and_bad_cargo() -> None:
    base = {"indication": "diabetic_wound", "delivery": {"route": "hydrogel"},
            "subject": {"species": "mouse"},
            "regimen": {"dose": {"value": 1e10, "unit": "particles"}, "times_days": [0, 40]},
            "days": 28}
    with pytest.raises(ValueError, match="outside the simulation window"):
        TherapySpec.model_validate(base)
    with pytest.raises(ValueError, match="copies_per_vesicle"):
        Cargo(kind=CargoKind.MIRNA, name="miR-146a", copies_per_vesicle=-1)
    with pytest.raises(ValueError, match="sponged_mirna"):
        Cargo(kind=CargoKind.SPONGE, name="circX")
    with pytest.raises(ValueError):
        Dose(value=1, unit="bananas")


def test_route_text_mapping() -> None:
    assert route_from_text("chitosan wound dressing (sustained release)") is Route.HYDROGEL
    assert route_from_text("tail vein (i.v.)") is Route.INTRAVENOUS
    assert route_from_text("GelMA/PEGDA microneedle patch") is Route.MICRONEEDLE
    assert route_from_text("unclear") is None
    with pytest.raises(InputError, match="accepted: intravenous"):
        Route.parse("oral")


def test_read_mapping_errors_name_file_and_line(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from exomir.core.files import read_mapping

    good = tmp_path / "ok.yaml"
    good.write_text("a: 1\nb: [x, y]\n")
    assert read_mapping(good) == {"a": 1, "b": ["x", "y"]}
    bad = tmp_path / "bad.yaml"
    bad.write_text("a: 1\nb: [x, y\n")
    with pytest.raises(InputError, match=r"bad\.yaml:\d+: not valid YAML"):
        read_mapping(bad)
    lst = tmp_path / "list.json"
    lst.write_text("[1, 2]")
    with pytest.raises(InputError, match="expected a mapping"):
        read_mapping(lst)
    with pytest.raises(InputError, match="file not found"):
        read_mapping(tmp_path / "missing.yaml")
