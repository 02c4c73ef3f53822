"""Spec builders shared by the body tests."""

from __future__ import annotations

import warnings
from typing import Any

from exomir.body import BodySpec, parse_spec


def make_spec(indication: str = "diabetic_wound", route: str = "intravenous",
              dose: float = 1e9, times: list[float] | None = None, species: str = "mouse",
              days: float = 28.0, body: dict[str, Any] | None = None,
              ligand: str | None = None, disease: str | None = None,
              cargo: list[dict[str, Any]] | None = None, description: str | None = None,
              dose_unit: str = "particles", product: dict[str, Any] | None = None) -> BodySpec:
    data: dict[str, Any] = {
        "indication": indication,
        "delivery": {"route": route, "targeting_ligand": ligand, "description": description},
        "regimen": {"dose": {"value": dose, "unit": dose_unit},
                    "times_days": times or [0.0]},
        "subject": {"species": species, "disease_model": disease},
        "days": days,
        "body": body or {},
    }
    if cargo is not None:
        data["cargo"] = cargo
    if product is not None:
        data["product"] = product
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # doses above the largest published one
        return parse_spec(data)


def arm(kind: str, **kw: Any) -> BodySpec:
    """V3/V4 arms: 'untreated' (dose 0, nothing on), 'vehicle' (dose 0, vehicle only),
    'treated' (everything on)."""
    body = dict(kw.pop("body", {}) or {})
    if kind == "untreated":
        body["mechanisms"] = {"mirna": False, "vesicle": False, "vehicle": False}
        kw["dose"] = 0.0
    elif kind == "vehicle":
        body["mechanisms"] = {"mirna": False, "vesicle": False, "vehicle": True}
        kw["dose"] = 0.0
    return make_spec(body=body, **kw)
