"""Resolve the species filters the readers accept (Species, 'human', 'hsa', 9606)."""

from __future__ import annotations

import re

from exomir.core.enums import Species
from exomir.core.errors import InputError

#: What a ``species=`` argument may be.
SpeciesLike = Species | str | int

#: Latin names used by miRTarBase's species columns and miRBase headers.
LATIN = {Species.HUMAN: "Homo sapiens", Species.MOUSE: "Mus musculus",
         Species.RAT: "Rattus norvegicus"}

_PREFIX_RE = re.compile(r"^[a-z]{3,4}$")


def _accepted() -> list[str]:
    out: list[str] = []
    for s in Species:
        out += [s.value, s.mirbase_prefix, str(s.taxon)]
    return out


def resolve_species(value: SpeciesLike) -> Species:
    """Return the :class:`Species` for a name, miRBase prefix or NCBI taxon id."""
    if isinstance(value, Species):
        return value
    try:
        return Species(Species.parse(str(value), field="species"))
    except InputError:
        raise InputError("unknown species", field="species", value=value,
                         accepted=_accepted()) from None


def mirbase_prefix(value: SpeciesLike) -> str:
    """miRBase name prefix for a species filter; any 3-4 letter prefix (e.g. 'cel') is allowed."""
    if isinstance(value, str) and _PREFIX_RE.match(value.strip()):
        known = Species.from_prefix(value.strip())
        return known.mirbase_prefix if known else value.strip()
    return resolve_species(value).mirbase_prefix


def taxon_id(value: SpeciesLike) -> int:
    """NCBI taxonomy id for a species filter; any positive integer id is allowed."""
    if isinstance(value, int) and not isinstance(value, bool):
        if value <= 0:
            raise InputError("taxon id must be positive", field="species", value=value)
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return taxon_id(int(value.strip()))
    return resolve_species(value).taxon
