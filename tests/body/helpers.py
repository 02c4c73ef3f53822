"""Spec builders shared by the body tests."""

from __future__ import annotations

from typing import Any

from exomir.body import BodySpec, parse_spec


def make_spec(indication: str = "diabetic_wound", route: str = "intravenous",
              dose: float = 1e9, times: list[float] | None = None, species: str = "mouse",
              days: float = 28.0, body: dict[str, Any] | None = None,
              ligand: str | None = None, disease: str | None = None) -> BodySpec:
    return parse_spec({
        "indication": indication,
        "delivery": {"route": route, "targeting_ligand": ligand},
        "regimen": {"dose": {"value": dose, "unit": "particles"},
                    "times_days": times or [0.0]},
        "subject": {"species": species, "disease_model": disease},
        "days": days,
        "body": body or {},
    })
