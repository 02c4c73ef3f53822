"""Controlled vocabularies of the domain core, with forgiving parsers for curated text."""

from __future__ import annotations

import re
from collections.abc import Callable
from enum import StrEnum
from typing import Self

from exomir.core.errors import InputError


class _Vocab(StrEnum):
    """A string enum whose ``parse`` gives a clear error listing the accepted values."""

    @classmethod
    def accepted(cls) -> list[str]:
        return [m.value for m in cls]

    @classmethod
    def parse(cls, value: object, *, field: str | None = None) -> Self:
        text = str(value).strip().lower().replace("-", "_").replace(" ", "_")
        for m in cls:
            if text == m.value:
                return m
        get_aliases: Callable[[], dict[str, str]] = getattr(cls, "_aliases", dict)
        aliases = get_aliases()
        if text in aliases:
            return cls(aliases[text])
        raise InputError(
            f"unknown {cls.__name__}",
            field=field or cls.__name__.lower(),
            value=value,
            accepted=cls.accepted(),
        )


class Indication(_Vocab):
    NEUROPATHIC_PAIN = "neuropathic_pain"
    DIABETIC_WOUND = "diabetic_wound"

    @staticmethod
    def _aliases() -> dict[str, str]:
        return {"pain": "neuropathic_pain", "np": "neuropathic_pain", "wound": "diabetic_wound",
                "dw": "diabetic_wound", "diabetic_foot_ulcer": "diabetic_wound", "dfu": "diabetic_wound"}


class Species(_Vocab):
    """Host species. ``taxon`` gives the NCBI taxonomy id; ``mirbase_prefix`` the miRBase prefix."""

    HUMAN = "human"
    MOUSE = "mouse"
    RAT = "rat"

    @staticmethod
    def _aliases() -> dict[str, str]:
        return {"homo_sapiens": "human", "hsa": "human", "9606": "human",
                "mus_musculus": "mouse", "mmu": "mouse", "10090": "mouse",
                "rattus_norvegicus": "rat", "rno": "rat", "10116": "rat"}

    @property
    def taxon(self) -> int:
        return {"human": 9606, "mouse": 10090, "rat": 10116}[self.value]

    @property
    def mirbase_prefix(self) -> str:
        return {"human": "hsa", "mouse": "mmu", "rat": "rno"}[self.value]

    @classmethod
    def from_prefix(cls, prefix: str) -> Species | None:
        for s in cls:
            if s.mirbase_prefix == prefix.lower():
                return s
        return None


class Route(_Vocab):
    """Route of administration or delivery vehicle."""

    INTRAVENOUS = "intravenous"
    INTRAPERITONEAL = "intraperitoneal"
    SUBCUTANEOUS = "subcutaneous"
    INTRAPLANTAR = "intraplantar"
    INTRATHECAL = "intrathecal"
    INTRANASAL = "intranasal"
    TOPICAL = "topical"
    HYDROGEL = "hydrogel"
    MICRONEEDLE = "microneedle"
    SCAFFOLD = "scaffold"
    DECM = "decm"
    MEMBRANE_COATED_NANOPARTICLE = "membrane_coated_nanoparticle"

    @staticmethod
    def _aliases() -> dict[str, str]:
        return {"iv": "intravenous", "i.v.": "intravenous", "ip": "intraperitoneal",
                "sc": "subcutaneous", "s.c.": "subcutaneous", "it": "intrathecal",
                "i.t.": "intrathecal", "in": "intranasal", "gel": "hydrogel",
                "dressing": "hydrogel", "patch": "scaffold", "mn": "microneedle",
                "decellularized_ecm": "decm", "d_ecm": "decm"}

    @property
    def is_vehicle(self) -> bool:
        """True for depots that release vesicles over time (hydrogel, microneedle, scaffold, dECM)."""
        return self in (Route.HYDROGEL, Route.MICRONEEDLE, Route.SCAFFOLD, Route.DECM)


# Ordered rules that map free-text route descriptions from the literature to a Route.
# The first rule whose pattern matches wins; vehicles come before injection routes because
# "hydrogel injected subcutaneously" is a hydrogel depot.
_ROUTE_RULES: list[tuple[str, Route]] = [
    (r"microneedle", Route.MICRONEEDLE),
    (r"hydrogel|\bgel\b|dressing|pluronic|gelma|chitosan", Route.HYDROGEL),
    (r"decellulari[sz]ed|\bdecm\b|acellular", Route.DECM),
    (r"scaffold|gelfoam|sponge|patch|membrane scaffold|silk fibroin", Route.SCAFFOLD),
    (r"membrane[- ]coated", Route.MEMBRANE_COATED_NANOPARTICLE),
    (r"intrathecal|\bi\.t\.", Route.INTRATHECAL),
    (r"intranasal", Route.INTRANASAL),
    (r"intraplantar", Route.INTRAPLANTAR),
    (r"intraperitoneal|\bi\.p\.", Route.INTRAPERITONEAL),
    (r"intravenous|tail vein|\bi\.v\.", Route.INTRAVENOUS),
    (r"subcutaneous|\bs\.c\.|around (the )?wound|wound edge|into/around wound|into (the )?wound|"
     r"injection into wound", Route.SUBCUTANEOUS),
    (r"topical", Route.TOPICAL),
]


def route_from_text(text: str) -> Route | None:
    """Map a curated route/vehicle description to a :class:`Route`, or None when unknown/NR."""
    low = text.lower()
    for pattern, route in _ROUTE_RULES:
        if re.search(pattern, low):
            return route
    return None


class CargoKind(_Vocab):
    MIRNA = "mirna"
    MIRNA_INHIBITOR = "mirna_inhibitor"
    SPONGE = "sponge"  # circRNA/lncRNA sponge; names the miRNA it binds
    PROTEIN = "protein"
    SMALL_MOLECULE = "small_molecule"
    UNCHARACTERIZED = "uncharacterized"


class CargoMode(_Vocab):
    NATIVE = "native"
    OVEREXPRESSED = "overexpressed"
    LOADED = "loaded"
    INHIBITED = "inhibited"


class EvidenceLevel(_Vocab):
    """Evidence for a miRNA-target interaction (miRTarBase's strong/weak convention)."""

    STRONG = "strong"  # reporter assay, western blot, qPCR
    WEAK = "weak"  # microarray, sequencing, pSILAC
    PREDICTED = "predicted"  # seed-site prediction only


class Confidence(_Vocab):
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"


class TherapeuticDirection(_Vocab):
    """What the evidence supports doing with a miRNA for an indication.

    ``deliver``: raise it (mimic, agomir, overexpression, loading); ``inhibit``: lower it
    (antagomiR, knockdown, knockout, a sponge that binds it). Curated per study and miRNA.
    """

    DELIVER = "deliver"
    INHIBIT = "inhibit"

    @staticmethod
    def _aliases() -> dict[str, str]:
        return {"mimic": "deliver", "overexpress": "deliver", "overexpression": "deliver",
                "agomir": "deliver", "inhibitor": "inhibit", "antagomir": "inhibit",
                "knockdown": "inhibit", "sponge": "inhibit"}


class ExclusionReason(_Vocab):
    """Why a study is kept out of some uses of the evidence (see :mod:`exomir.core.gates`)."""

    RETRACTED = "retracted"
    DUPLICATE_PUBLICATION = "duplicate_publication"
    NO_CONTROL_ARM = "no_control_arm"
    POPULATION_MISMATCH = "population_mismatch"
    NOT_INDICATION_ENDPOINT = "not_indication_endpoint"
    NOT_MIRNA_DRIVEN = "not_mirna_driven"
    BIOMARKER_ONLY = "biomarker_only"
    IN_VITRO_ONLY = "in_vitro_only"
    REFERENCE_ONLY = "reference_only"

    @staticmethod
    def _aliases() -> dict[str, str]:
        return {"retraction": "retracted", "duplicate": "duplicate_publication",
                "no_control": "no_control_arm", "population": "population_mismatch",
                "not_endpoint": "not_indication_endpoint", "not_mirna": "not_mirna_driven",
                "biomarker": "biomarker_only", "in_vitro": "in_vitro_only",
                "reference": "reference_only"}


class EvidenceUse(_Vocab):
    """The uses an exclusion can bar: pooling (meta-analysis), interactions (miRNA-target
    evidence), ranking (cargo direction and ranking evidence for the study's indication)."""

    POOLING = "pooling"
    INTERACTIONS = "interactions"
    RANKING = "ranking"
