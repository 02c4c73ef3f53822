"""Purity and content per particle.

- Particles per microgram protein (Webber & Clayton 2013, doi:10.3402/jev.v2i0.19861):
  ratio = particles/mL / (protein ug/mL); classes from :data:`PURITY_THRESHOLDS`.
- miRNA copies per particle from qPCR: copies in the sample = copies per reaction /
  (fraction of the RNA eluate that went into the reaction) / extraction recovery; copies per
  particle = copies in the sample / particles put into the extraction.
- Protein and RNA per particle: mass / particles (reported in fg per particle).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from exomir.core.errors import InputError
from exomir.quality.params import PURITY_THRESHOLDS, WEBBER_2013

PurityClass = Literal["high purity", "low purity", "unpure", "between classes"]


def _pos(value: float, field: str) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise InputError("not a number", field=field, value=value, accepted="a number > 0"
                         ) from None
    if not v > 0 or v == float("inf"):
        raise InputError("must be a positive finite number", field=field, value=value,
                         accepted="a number > 0")
    return v


@dataclass(frozen=True)
class PurityResult:
    particles_per_ug: float
    purity_class: PurityClass
    rule: str
    source: str = WEBBER_2013


def particles_per_ug(particles_per_ml: float, protein_ug_per_ml: float) -> float:
    """Particle-to-protein ratio (particles per microgram)."""
    return _pos(particles_per_ml, "particles_per_ml") / _pos(protein_ug_per_ml,
                                                            "protein_ug_per_ml")


def classify_purity(ratio_particles_per_ug: float) -> PurityResult:
    """Webber & Clayton 2013 class of a particles-per-microgram ratio."""
    r = _pos(ratio_particles_per_ug, "particles_per_ug_protein")
    t = PURITY_THRESHOLDS
    hi, lo_min, lo_max, un = (t.value("high_purity_min"), t.value("low_purity_min"),
                              t.value("low_purity_max"), t.value("unpure_max"))
    if r > hi:
        return PurityResult(r, "high purity", f"> {hi:.1e} particles/ug")
    if lo_min <= r <= lo_max:
        return PurityResult(r, "low purity", f"{lo_min:.1e}-{lo_max:.1e} particles/ug")
    if r < un:
        return PurityResult(r, "unpure", f"< {un:.1e} particles/ug")
    return PurityResult(r, "between classes",
                        f"outside the published bands ({un:.1e}-{lo_min:.1e} or "
                        f"{lo_max:.1e}-{hi:.1e} particles/ug)")


def copies_per_particle(copies_per_reaction: float, particles_extracted: float, *,
                        fraction_in_reaction: float = 1.0, extraction_recovery: float = 1.0
                        ) -> float:
    """miRNA copies per particle from an absolute qPCR result.

    ``fraction_in_reaction``: fraction of the RNA eluate (as cDNA) that went into the qPCR
    reaction (e.g. 2 uL of 20 uL = 0.1). ``extraction_recovery``: fraction of RNA recovered by the
    extraction (1.0 = assume complete; a spike-in such as cel-miR-39 measures it).
    """
    f = _pos(fraction_in_reaction, "fraction_in_reaction")
    rec = _pos(extraction_recovery, "extraction_recovery")
    if f > 1 or rec > 1:
        raise InputError("fractions must be <= 1", field="fraction_in_reaction/"
                         "extraction_recovery", value=(f, rec), accepted="0 < x <= 1")
    copies = _pos(copies_per_reaction, "copies_per_reaction") / f / rec
    return copies / _pos(particles_extracted, "particles_extracted")


def mass_per_particle_fg(mass_ug: float, particles: float) -> float:
    """Protein or RNA mass per particle in femtograms (1 ug = 1e9 fg)."""
    return _pos(mass_ug, "mass_ug") * 1e9 / _pos(particles, "particles")
