"""Parameter tables of the body simulator: package data with sources, species scaling.

Rates are tabulated for the mouse (calibration species) and scaled to other species by
allometry: rate constants (1/day) by ``(BW/BW_mouse)**-0.25``, capacities (particles/day) by
``**0.75`` and amounts (particles) by ``**1`` (West/Brown allometric convention; the
exponent 0.75 for rates of whole-body processes).
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import Any

import yaml

from exomir.core import InputError, Parameter, ParameterTable, Species

ALLOMETRIC_EXPONENT = 0.75
_AMOUNT_PARAMS = {"km_mps", "km_cell_uptake"}
_NOT_SCALED = {"n_target_cells", "vmax_cell_uptake", "km_cell_uptake", "k_risc_load",
               "k_mirna_cyt_deg", "k_risc_deg", "k_risc_half", "k_mrna_deg", "k_protein_deg",
               "k_endosome", "k_depot_loss_default", "k_effect",
               # outcome models are calibrated in the species of their data; not scaled
               "k_heal", "k_sensitization", "injury_t50", "injury_hill"}


def _load_yaml(*parts: str) -> Any:
    ref = resources.files("exomir.body").joinpath("data", *parts)
    return yaml.safe_load(ref.read_text(encoding="utf-8"))


@cache
def species_table() -> dict[str, dict[str, Any]]:
    """Body weight, plasma volume and organ masses per species (see data/species.yaml)."""
    data: dict[str, dict[str, Any]] = _load_yaml("species.yaml")
    return data


@cache
def profile(indication: str) -> dict[str, Any]:
    """The indication profile (pathways, outcome model, its parameters) as a dict."""
    try:
        data: dict[str, Any] = _load_yaml("profiles", f"{indication}.yaml")
    except FileNotFoundError:
        raise InputError("no indication profile", field="indication", value=indication,
                         accepted=["diabetic_wound", "neuropathic_pain"]) from None
    return data


def base_table() -> ParameterTable:
    """The mouse reference parameters shared by every indication."""
    return ParameterTable(Parameter(**row) for row in _load_yaml("parameters.yaml"))


def parameter_table(indication: str, species: Species | str = Species.MOUSE) -> ParameterTable:
    """All parameters for an indication and species, rates scaled allometrically."""
    sp = Species.parse(species, field="subject.species") if isinstance(species, str) else species
    rows = list(base_table()) + [Parameter(**r) for r in profile(indication)["parameters"]]
    table = ParameterTable(rows)
    if sp is Species.MOUSE:
        return table
    bw = species_table()[sp.value]["body_weight_kg"]
    bw0 = species_table()["mouse"]["body_weight_kg"]
    ratio = bw / bw0
    out = []
    for p in table:
        if p.name in _NOT_SCALED or p.unit in ("dimensionless", "g", "cell", "copy/cell",
                                               "particle/cell"):
            out.append(p)
            continue
        if p.name in _AMOUNT_PARAMS:
            factor = ratio
        elif p.unit == "1/day":
            factor = ratio ** (ALLOMETRIC_EXPONENT - 1.0)
        elif p.unit == "day":
            factor = ratio ** (1.0 - ALLOMETRIC_EXPONENT)
        else:
            out.append(p)
            continue
        note = (p.note + "; " if p.note else "") + (
            f"scaled from mouse by (BW ratio {ratio:.4g})^{factor and round(_exp(p), 2)}")
        out.append(p.model_copy(update={
            "value": p.value * factor,
            "low": None if p.low is None else p.low * factor,
            "high": None if p.high is None else p.high * factor,
            "note": note}))
    return ParameterTable(out)


def _exp(p: Parameter) -> float:
    if p.name in _AMOUNT_PARAMS:
        return 1.0
    return ALLOMETRIC_EXPONENT - 1.0 if p.unit == "1/day" else 1.0 - ALLOMETRIC_EXPONENT
