"""Purity classes, content per particle, dose conversions and HED (FDA 2005 worked factors)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from exomir.core.errors import InputError
from exomir.quality.dose import convert, hed, parse_dose_unit
from exomir.quality.purity import (
    classify_purity,
    copies_per_particle,
    mass_per_particle_fg,
    particles_per_ug,
)


@pytest.mark.parametrize(("ratio", "cls"), [
    (5e10, "high purity"), (3.1e10, "high purity"), (1e10, "low purity"), (2e9, "low purity"),
    (1e9, "unpure"), (1.7e9, "between classes"), (2.5e10, "between classes"),
])
def test_webber_clayton_classes(ratio: float, cls: str) -> None:
    assert classify_purity(ratio).purity_class == cls


def test_ratio_and_content() -> None:
    assert particles_per_ug(2e11, 10) == pytest.approx(2e10)
    # 2 uL of a 20 uL eluate gave 5000 copies; extraction from 1e9 particles, 50 % recovery
    assert copies_per_particle(5000, 1e9, fraction_in_reaction=0.1, extraction_recovery=0.5
                               ) == pytest.approx(5000 / 0.1 / 0.5 / 1e9)
    assert mass_per_particle_fg(1.0, 1e10) == pytest.approx(0.1)  # 1 ug / 1e10 = 0.1 fg
    with pytest.raises(InputError):
        particles_per_ug(1e10, 0)
    with pytest.raises(InputError):
        copies_per_particle(10, 1e9, fraction_in_reaction=2)


def test_convert_particles_protein_copies_by_hand() -> None:
    c = convert(1e10, "particles", "ug", particles_per_ug=2e9)
    assert c.value == pytest.approx(5.0)
    assert any("particles/µg" in a or "particle" in a for a in c.assumptions)
    # 100 ug protein at 2e9 p/ug on a 0.5 cm^2 wound -> 4e11 particles/cm^2
    c = convert(100, "ug", "particles/cm^2", particles_per_ug=2e9, wound_area_cm2=0.5)
    assert c.value == pytest.approx(100 * 2e9 / 0.5)
    assert len(c.assumptions) == 2
    # 5e10 particles/kg in a 25 g mouse at 0.01 copies/particle -> 1.25e7 copies
    c = convert(5e10, "particles/kg", "copies", copies_per_particle=0.01, body_weight_kg=0.025)
    assert c.value == pytest.approx(5e10 * 0.025 * 0.01)
    # ug/kg -> copies/kg keeps the normalisation; needs both factors
    c = convert(1, "ug/kg", "copies/kg", particles_per_ug=1e9, copies_per_particle=2)
    assert c.value == pytest.approx(2e9)
    assert convert(5, "mg/kg", "ug/g").value == pytest.approx(5.0)
    assert convert(1, "mg", "ug").value == pytest.approx(1000.0)


@given(st.floats(1e3, 1e15), st.floats(1e6, 1e12), st.floats(1e-4, 1e3))
def test_round_trip(value: float, ppu: float, cpp: float) -> None:
    ug = convert(value, "particles", "ug", particles_per_ug=ppu).value
    back = convert(ug, "ug", "copies", particles_per_ug=ppu, copies_per_particle=cpp).value
    assert back == pytest.approx(value * cpp, rel=1e-9)


@pytest.mark.parametrize(("unit", "to", "kw", "field"), [
    ("particles", "ug", {}, "particles_per_ug"),
    ("particles", "copies", {}, "copies_per_particle"),
    ("particles/kg", "particles", {}, "body_weight_kg"),
    ("particles", "particles/cm^2", {}, "wound_area_cm2"),
    ("particles", "mL", {}, "to"),
    ("particles/s", "particles", {}, "unit"),
    ("furlongs", "ug", {}, "unit"),
])
def test_unit_mismatch_is_an_error(unit: str, to: str, kw: dict[str, float], field: str) -> None:
    with pytest.raises(InputError) as ei:
        convert(1.0, unit, to, **kw)
    assert ei.value.field == field


def test_parse_dose_unit() -> None:
    assert parse_dose_unit("particles/kg").norm == "per_kg"
    assert parse_dose_unit("ug/cm2").norm == "per_area"
    assert parse_dose_unit("copies").kind == "copies"


def test_hed_matches_fda_table_divisors() -> None:
    # FDA 2005 guidance Table 1: divide animal mg/kg by 12.3 (mouse) or 6.2 (rat) for HED;
    # the table rounds the divisors (37/3 = 12.33, 37/6 = 6.17), hence 1 % tolerance
    assert hed(10, "mg/kg", "mouse").value == pytest.approx(10 / 12.3, rel=1e-2)
    assert hed(50, "mg/kg", "rat").value == pytest.approx(50 / 6.2, rel=1e-2)
    # exact Km arithmetic: 10 mg/kg mouse -> 10 * 3 / 37
    assert hed(10, "mg/kg", "mouse").value == pytest.approx(30 / 37)


def test_hed_total_and_assumptions() -> None:
    r = hed(1e10, "particles/kg", "mouse", human_weight_kg=60)
    assert r.value == pytest.approx(1e10 * 3 / 37)
    assert any("extrapolation" in a for a in r.assumptions)
    assert any("60 kg" in s for s in r.steps)
    with pytest.raises(InputError):
        hed(10, "mg", "mouse")  # not per kg
    with pytest.raises(InputError):
        hed(10, "mg/kg", "dog")
