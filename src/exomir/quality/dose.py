"""Dose arithmetic with explicit assumptions: particles <-> ug protein <-> miRNA copies, total <->
per kg body weight <-> per cm^2 wound area, and human-equivalent dose (HED) by body-surface-area
scaling.

Units go through pint (``exomir.core.units``) where ``particle`` and ``copy`` are base
dimensions: changing what is counted needs an explicit factor (particles per ug protein, copies
per particle), changing the normalisation needs body weight or wound area, and every step is
returned with the assumption it rests on. A unit of the wrong kind is an :class:`InputError`.

HED (FDA 2005 guidance): HED [mg/kg] = animal dose [mg/kg] x (Km_animal / Km_human), with
Km = 3 (mouse), 6 (rat), 37 (human).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from exomir.core.errors import InputError
from exomir.core.units import Q_, parse_quantity, parse_unit
from exomir.quality.params import FDA_2005, KM_FACTORS

if TYPE_CHECKING:
    import pint

Kind = Literal["particles", "protein", "copies"]
Norm = Literal["total", "per_kg", "per_area"]

_KIND_DIM: dict[Kind, str] = {"particles": "[particle]", "protein": "[mass]",
                              "copies": "[mirna_copy]"}
_CANON: dict[Kind, str] = {"particles": "particle", "protein": "microgram", "copies": "copy"}
ACCEPTED_UNITS = ("particles, ug, mg, copies, each optionally per kg (body weight) or per cm^2 "
                  "(wound area): e.g. particles/kg, ug/kg, mg/kg, copies/cm^2, particles/cm2")


@dataclass(frozen=True)
class DoseUnit:
    text: str
    kind: Kind
    norm: Norm
    numerator: pint.Unit
    denominator: pint.Unit | None


@dataclass
class Conversion:
    value: float
    unit: str
    steps: list[str] = field(default_factory=list)
    assumptions: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, object]:
        return {"value": self.value, "unit": self.unit, "steps": self.steps,
                "assumptions": self.assumptions}


def parse_dose_unit(text: str, *, field: str = "unit") -> DoseUnit:
    """Split ``'ug/kg'`` into what is counted (particles/protein/copies) and its normalisation."""
    raw = text.strip().replace("cm2", "cm^2").replace("cm²", "cm^2")
    num_text, _, den_text = raw.partition("/")
    num = parse_unit(num_text, field=field)
    kind: Kind | None = None
    for k, dim in _KIND_DIM.items():
        if Q_(1, num).check(dim):
            kind = k
    if kind is None:
        raise InputError("dose unit must count particles, protein mass or miRNA copies",
                         field=field, value=text, accepted=ACCEPTED_UNITS)
    if not den_text:
        return DoseUnit(text, kind, "total", num, None)
    den = parse_unit(den_text, field=field)
    dq = Q_(1, den)
    if dq.check("[mass]"):
        norm: Norm = "per_kg"
    elif dq.check("[length]**2"):
        norm = "per_area"
    else:
        raise InputError("dose can be normalised per body weight (kg) or per area (cm^2) only",
                         field=field, value=text, accepted=ACCEPTED_UNITS)
    return DoseUnit(text, kind, norm, num, den)


def _fmt(q: pint.Quantity) -> str:
    return f"{q.magnitude:.4g} {q.units:~P}"


def convert(value: float, unit: str, to: str, *, particles_per_ug: float | None = None,
            copies_per_particle: float | None = None, body_weight_kg: float | None = None,
            wound_area_cm2: float | None = None) -> Conversion:
    """Convert a dose between units, showing every step and the factor each one assumes."""
    src = parse_dose_unit(unit, field="unit")
    dst = parse_dose_unit(to, field="to")
    parse_quantity(value, "dimensionless", field="value")
    res = Conversion(value=float("nan"), unit=to)
    amount = Q_(float(value), src.numerator)
    den_src = None if src.denominator is None else Q_(1.0, src.denominator)

    # 1. normalisation -> total, if the target normalises differently
    if src.norm != dst.norm and src.norm != "total":
        scale = _scale(src.norm, body_weight_kg, wound_area_cm2, res)
        assert den_src is not None
        amount = amount * (scale / den_src).to("dimensionless").magnitude
        res.steps.append(f"x {_fmt(scale)} -> {_fmt(amount)} in total")
        den_src = None
    # 2. what is counted
    amount = _change_kind(amount, src.kind, dst.kind, particles_per_ug, copies_per_particle, res)
    # 3. total -> target normalisation
    if dst.norm != "total" and den_src is None:
        scale = _scale(dst.norm, body_weight_kg, wound_area_cm2, res)
        den_dst = Q_(1.0, dst.denominator)
        amount = amount / (scale / den_dst).to("dimensionless").magnitude
        res.steps.append(f"/ {_fmt(scale)} -> {_fmt(amount)} per {dst.denominator:~P}")
    elif dst.norm != "total" and den_src is not None:
        # same normalisation kind: rescale the denominator unit (e.g. per g -> per kg)
        factor = (Q_(1.0, dst.denominator) / den_src).to("dimensionless").magnitude
        amount = amount * factor
        if factor != 1.0:
            res.steps.append(f"per {src.denominator:~P} -> per {dst.denominator:~P}: x {factor:g}")
    out = amount.to(dst.numerator)
    res.value = float(out.magnitude)
    res.steps.append(f"= {res.value:.4g} {to}")
    return res


def _scale(norm: Norm, body_weight_kg: float | None, wound_area_cm2: float | None,
           res: Conversion) -> pint.Quantity:
    if norm == "per_kg":
        if body_weight_kg is None:
            raise InputError("a per-kg conversion needs the body weight", field="body_weight_kg",
                             accepted="--body-weight-kg, e.g. 0.025 (mouse) or 60 (human)")
        q = parse_quantity(body_weight_kg, "kg", field="body_weight_kg", positive=True,
                           max_magnitude=10_000)
        res.assumptions.append(f"body weight {_fmt(q)} (user-supplied)")
        return q
    if wound_area_cm2 is None:
        raise InputError("a per-area conversion needs the wound area", field="wound_area_cm2",
                         accepted="--wound-area-cm2, e.g. 0.5 (mouse 8 mm punch) or 10")
    q = parse_quantity(wound_area_cm2, "cm**2", field="wound_area_cm2", positive=True,
                       max_magnitude=20_000)
    res.assumptions.append(f"wound area {_fmt(q)} (user-supplied)")
    return q


def _change_kind(amount: pint.Quantity, src: Kind, dst: Kind, ppu: float | None,
                 cpp: float | None, res: Conversion) -> pint.Quantity:
    if src == dst:
        return amount

    def need_ppu() -> pint.Quantity:
        if ppu is None:
            raise InputError("converting between particles and protein needs the particle-to-"
                             "protein ratio of this preparation", field="particles_per_ug",
                             accepted="--particles-per-ug, measured by NTA and BCA")
        q = parse_quantity(ppu, "particle/microgram", field="particles_per_ug",
                           positive=True)
        res.assumptions.append(f"{_fmt(q)} (this preparation's particle-to-protein ratio; "
                               "applies only to the batch it was measured on)")
        return q

    def need_cpp() -> pint.Quantity:
        if cpp is None:
            raise InputError("converting between particles and miRNA copies needs copies per "
                             "particle", field="copies_per_particle",
                             accepted="--copies-per-particle, from qPCR and NTA of the same "
                                      "batch (native exosomes carry ~0.008 copies of an abundant "
                                      "miRNA, Chevillet 2014 doi:10.1073/pnas.1408301111)")
        q = parse_quantity(cpp, "copy/particle", field="copies_per_particle",
                           positive=True)
        res.assumptions.append(f"{_fmt(q)} (loading of this batch, measured by qPCR/NTA)")
        return q

    # to particles
    if src == "protein":
        q = need_ppu()
        amount = (amount * q).to("particle")
        res.steps.append(f"protein x {_fmt(q)} -> {_fmt(amount)}")
    elif src == "copies":
        q = need_cpp()
        amount = (amount / q).to("particle")
        res.steps.append(f"copies / {_fmt(q)} -> {_fmt(amount)}")
    if dst == "particles":
        return amount
    if dst == "protein":
        q = need_ppu()
        out = (amount / q).to("microgram")
        res.steps.append(f"particles / {_fmt(q)} -> {_fmt(out)}")
        return out
    q = need_cpp()
    out = (amount * q).to("copy")
    res.steps.append(f"particles x {_fmt(q)} -> {_fmt(out)}")
    return out


# --- human-equivalent dose ---------------------------------------------------------------------

ANIMALS = ("mouse", "rat")


#: Heaviest human body weight accepted (kg; the heaviest recorded is about 635 kg).
HUMAN_WEIGHT_MAX_KG = 700.0


def hed(dose: float, unit: str, species: str, *, human_weight_kg: float | None = None
        ) -> Conversion:
    """Human-equivalent dose by body-surface-area scaling (FDA 2005 guidance, Table 1).

    HED = dose x Km_animal / Km_human. The guidance scales mg/kg of small-molecule drugs; applied
    to particles/kg or copies/kg it assumes an EV dose scales with body surface area, which is
    an extrapolation, shown in ``assumptions``.
    """
    sp = species.strip().lower()
    if sp not in ANIMALS:
        raise InputError("unknown species for HED", field="from", value=species,
                         accepted=", ".join(ANIMALS))
    du = parse_dose_unit(unit, field="unit")
    if du.norm != "per_kg":
        raise InputError("HED scales a dose per body weight", field="unit", value=unit,
                         accepted="a per-kg unit such as mg/kg, ug/kg, particles/kg")
    dq = parse_quantity(dose, "dimensionless", field="dose")
    km_a, km_h = KM_FACTORS[f"km_{sp}"], KM_FACTORS["km_human"]
    ratio = km_a.value / km_h.value
    res = Conversion(value=float(dq.magnitude) * ratio, unit=unit)
    res.steps.append(f"HED = {dose:g} {unit} x Km_{sp} {km_a.value:g} / Km_human {km_h.value:g}"
                     f" = {dose:g} x {ratio:.4f} = {res.value:.4g} {unit}")
    res.assumptions.append(f"Km factors from {FDA_2005} (body-surface-area scaling)")
    if du.kind != "protein":
        res.assumptions.append("BSA scaling is defined for mg/kg of drugs; applying it to "
                               f"{du.kind}/kg assumes EV doses scale with body surface area "
                               "(extrapolation)")
    else:
        res.assumptions.append("protein mass here stands for EV protein; BSA scaling of a "
                               "biologic's dose is an extrapolation of the small-molecule rule")
    if human_weight_kg is not None:
        w = parse_quantity(human_weight_kg, "kg", field="human_weight_kg", positive=True,
                           max_magnitude=HUMAN_WEIGHT_MAX_KG)
        total = Q_(res.value, du.numerator) * (w / Q_(1.0, du.denominator)).to(
            "dimensionless").magnitude
        res.steps.append(f"x {_fmt(w)} body weight = {_fmt(total)} per human dose")
        res.assumptions.append(f"human body weight {_fmt(w)} (FDA reference is 60 kg)")
    return res
