"""Parameter tables of the body simulator: package data with sources, species scaling.

Values are tabulated for the mouse (calibration species of the PK block). Each row says how it
goes to another species (``scale`` in the YAML, docs/body.md "Species"):

* ``rate`` (1/day): ``(BW/BW_mouse)**(0.75 - 1)`` (whole-body processes, West/Brown allometry);
* ``amount`` (particles in a whole-body pool, e.g. km_mps, km_abc): ``(BW/BW_mouse)**1``;
* ``none``: not scaled (cell-level constants, per-cell amounts such as km_cell_uptake_per_cell,
  dimensionless factors, outcome parameters calibrated in the species of their data);
* ``per_species``: the row gives the value (and its provenance) for a species outright, e.g.
  CSF turnover, wound area, contraction fraction, target-cell numbers.

Target-tissue amounts scale with the tissue, not with body weight: the cellular uptake
half-saturation is ``km_cell_uptake_per_cell x n_target_cells`` and n_target_cells is given
per species.
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import Any

import yaml

from exomir.core import InputError, Parameter, ParameterTable, Species

ALLOMETRIC_EXPONENT = 0.75
SCALES = ("rate", "amount", "none")
_PROVENANCE_KEYS = ("source", "assumption", "calibrated", "note", "low", "high")


def _load_yaml(*parts: str) -> Any:
    ref = resources.files("exomir.body").joinpath("data", *parts)
    return yaml.safe_load(ref.read_text(encoding="utf-8"))


@cache
def species_table() -> dict[str, dict[str, Any]]:
    """Body weight, plasma/blood/CSF volume and organ masses per species (data/species.yaml)."""
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


@cache
def _rows(indication: str) -> tuple[dict[str, Any], ...]:
    rows = list(_load_yaml("parameters.yaml")) + list(profile(indication)["parameters"])
    return tuple(rows)


def scaling_rules(indication: str) -> dict[str, str]:
    """How each parameter goes from mouse to another species: rate, amount or none (a row
    with ``per_species`` values is reported as ``per_species`` too)."""
    out = {}
    for r in _rows(indication):
        s = str(r.get("scale", "none"))
        if s not in SCALES:  # pragma: no cover - package data is checked by the tests
            raise ValueError(f"{r['name']}: unknown scale {s!r}")
        out[r["name"]] = s + ("+per_species" if r.get("per_species") else "")
    return out


_NUMERIC = ("value", "low", "high", "cv", "cv_low", "cv_high")


def _num(key: str, v: Any) -> Any:
    """YAML 1.1 reads ``1.0e8`` (no exponent sign) as text; numeric fields become floats."""
    return float(v) if key in _NUMERIC and v is not None else v


def _make(row: dict[str, Any], sp: str, ratio: float) -> Parameter:
    r = {k: _num(k, v) for k, v in row.items() if k not in ("scale", "per_species")}
    scale = row.get("scale", "none")
    per = (row.get("per_species") or {}).get(sp)
    if per is not None:
        r.update({k: _num(k, v) for k, v in per.items()})
        if "calibrated" in per and "assumption" not in per:
            r["assumption"] = False
        if per.get("assumption") and "source" not in per and "calibrated" not in per:
            r.pop("source", None)
            r.pop("calibrated", None)
        if "calibrated" not in per and per.get("assumption"):
            r.pop("calibrated", None)
        r["note"] = (per.get("note") or "") + f" [{sp} value]"
        return Parameter(**r)
    if sp == "mouse" or scale == "none":
        return Parameter(**r)
    exp = 1.0 if scale == "amount" else ALLOMETRIC_EXPONENT - 1.0
    factor = ratio**exp
    for k in ("value", "low", "high"):
        if r.get(k) is not None:
            r[k] = r[k] * factor
    r["note"] = ((r.get("note") or "") + "; " if r.get("note") else "") + (
        f"scaled from mouse by (BW ratio {ratio:.4g})^{exp:g}")
    return Parameter(**r)


def parameter_table(indication: str, species: Species | str = Species.MOUSE) -> ParameterTable:
    """All parameters for an indication and species, scaled as each row states."""
    sp = Species.parse(species, field="subject.species") if isinstance(species, str) else species
    profile(indication)  # clear error for an unknown indication
    st = species_table()
    ratio = st[sp.value]["body_weight_kg"] / st["mouse"]["body_weight_kg"]
    return ParameterTable(_make(r, sp.value, ratio) for r in _rows(indication))


def base_table() -> ParameterTable:
    """The mouse reference parameters shared by every indication (no profile rows)."""
    return ParameterTable(_make(r, "mouse", 1.0) for r in _load_yaml("parameters.yaml"))


def docs_markdown() -> str:
    """The parameter tables of docs/body.md (generated; a test keeps the docs current)."""
    parts = ["#### Shared and diabetic-wound parameters (mouse reference values)", "",
             parameter_table("diabetic_wound", "mouse").to_markdown(), "",
             "#### Neuropathic-pain profile parameters (rat; shared rows scaled as stated)", ""]
    prof = ParameterTable(_make(r, "rat", species_table()["rat"]["body_weight_kg"]
                                / species_table()["mouse"]["body_weight_kg"])
                          for r in profile("neuropathic_pain")["parameters"])
    parts += [prof.to_markdown(), "", "#### Per-species values and scaling rules", "",
              "| name | rule | mouse | rat | human | unit |", "|---|---|---|---|---|---|"]
    for ind in ("diabetic_wound", "neuropathic_pain"):
        rules = scaling_rules(ind)
        tabs = {sp: parameter_table(ind, sp) for sp in ("mouse", "rat", "human")}
        for name, rule in rules.items():
            if rule == "none" or (ind == "neuropathic_pain" and name in tabs["mouse"]
                                  and name in parameter_table("diabetic_wound")):
                continue
            v = [f"{tabs[sp].value(name):.4g}" for sp in ("mouse", "rat", "human")]
            parts.append(f"| {name} | {rule} | {' | '.join(v)} | {tabs['mouse'][name].unit} |")
    return "\n".join(parts)
