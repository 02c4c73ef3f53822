"""MISEV2018/2023 minimal-information check of an EV preparation's characterization.

A :class:`CharacterizationRecord` (read from YAML) is checked against exomir's curated checklist
(``data/misev_checklist.yaml``; MISEV2018, Thery 2018 doi:10.1080/20013078.2018.1535750; MISEV2023,
Welsh 2024 doi:10.1002/jev2.12404). The completeness score follows EV-METRIC (EV-TRACK, Van Deun
2017 doi:10.1038/nmeth.4185): the percentage of *applicable* items that are reported, each item
counting once. Not reported (missing, empty, unknown) means not met.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from exomir.core.errors import InputError
from exomir.core.files import read_mapping
from exomir.core.models import Study

Level = Literal["mandatory", "if_applicable", "encouraged", "recommended"]


class ChecklistItem(BaseModel):
    """One curated MISEV requirement."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    key: str
    category: str
    level: Level
    item: str
    examples: str = ""
    why: str
    source: str
    applies_when: str | None = None


class Checklist(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    version: int
    sources: dict[str, str]
    items: list[ChecklistItem]

    def source_text(self, key: str) -> str:
        return self.sources.get(key, key)


@lru_cache(maxsize=1)
def load_checklist() -> Checklist:
    """The curated checklist shipped with exomir."""
    text = resources.files("exomir.quality").joinpath("data/misev_checklist.yaml").read_text(
        encoding="utf-8")
    return Checklist.model_validate(yaml.safe_load(text))


# --- the record -------------------------------------------------------------------------------


class _Rec(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class StartingMaterial(_Rec):
    """How much material the EVs came from (any one is enough)."""

    kind: str | None = None  # conditioned medium, plasma, tissue ...
    volume_ml: float | None = Field(default=None, gt=0, le=1e20)
    cell_count: float | None = Field(default=None, gt=0, le=1e20)
    tissue_mass_g: float | None = Field(default=None, gt=0, le=1e20)


class Isolation(_Rec):
    method: str | None = None
    parameters: dict[str, object] = Field(default_factory=dict)


class Quantification(_Rec):
    """Global quantification of the final preparation (per mL of the preparation)."""

    particles_per_ml: float | None = Field(default=None, gt=0, le=1e20)
    protein_ug_per_ml: float | None = Field(default=None, gt=0, le=1e20)
    lipid_ug_per_ml: float | None = Field(default=None, gt=0, le=1e20)
    particles_per_ug_protein: float | None = Field(default=None, gt=0, le=1e20)
    particles_per_ug_lipid: float | None = Field(default=None, gt=0, le=1e20)


class Markers(_Rec):
    transmembrane: list[str] = Field(default_factory=list)
    cytosolic: list[str] = Field(default_factory=list)
    negative: list[str] = Field(default_factory=list)
    other_compartments: list[str] = Field(default_factory=list)
    soluble_proteins: list[str] = Field(default_factory=list)


class CharacterizationRecord(_Rec):
    """What a lab reports about one EV preparation, in exomir's record schema."""

    id: str = "record"
    ev_term: str | None = None
    biogenesis_shown: bool = False
    subtype_claimed: bool = False
    function_claimed: bool = True
    starting_material: StartingMaterial = Field(default_factory=StartingMaterial)
    isolation: Isolation = Field(default_factory=Isolation)
    quantification: Quantification = Field(default_factory=Quantification)
    markers: Markers = Field(default_factory=Markers)
    single_ev_imaging: list[str] = Field(default_factory=list)
    single_ev_counting: list[str] = Field(default_factory=list)
    topology: list[str] = Field(default_factory=list)


def load_record(path: str | Path) -> CharacterizationRecord:
    """Read a characterization record YAML; errors name the file and field."""
    p = Path(path)
    data = read_mapping(p, accepted=", ".join(CharacterizationRecord.model_fields))
    try:
        return CharacterizationRecord.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        value = err.get("input") if err["type"] != "missing" else None
        raise InputError(str(err["msg"]).removeprefix("Value error, "), source=p,
                         field=".".join(str(x) for x in err["loc"]) or None,
                         value=None if isinstance(value, dict | list) else value) from None


# --- evaluation -------------------------------------------------------------------------------


class ItemResult(BaseModel):
    key: str
    level: Level
    item: str
    applicable: bool
    met: bool
    evidence: str
    why: str
    source: str


class MisevReport(BaseModel):
    record_id: str
    items: list[ItemResult]

    @property
    def applicable(self) -> list[ItemResult]:
        return [r for r in self.items if r.applicable]

    @property
    def completeness_pct(self) -> float:
        """EV-METRIC-style: met applicable items / applicable items x 100."""
        app = self.applicable
        return 100.0 * sum(r.met for r in app) / len(app) if app else 0.0

    @property
    def mandatory_met(self) -> tuple[int, int]:
        """Met / total of the *mandatory* items (``if applicable`` items are counted apart:
        they are required only when their condition holds, see :attr:`if_applicable_met`)."""
        man = [r for r in self.applicable if r.level == "mandatory"]
        return sum(r.met for r in man), len(man)

    @property
    def if_applicable_met(self) -> tuple[int, int]:
        """Met / total of the ``if applicable`` items whose condition holds for this record."""
        cond = [r for r in self.applicable if r.level == "if_applicable"]
        return sum(r.met for r in cond), len(cond)

    @property
    def missing(self) -> list[ItemResult]:
        return [r for r in self.applicable if not r.met]

    def to_dict(self) -> dict[str, object]:
        met, total = self.mandatory_met
        c_met, c_total = self.if_applicable_met
        return {"record_id": self.record_id, "completeness_pct": round(self.completeness_pct, 1),
                "mandatory_met": met, "mandatory_total": total,
                "if_applicable_met": c_met, "if_applicable_total": c_total,
                "items": [r.model_dump() for r in self.items]}


_EXOSOME_RE = re.compile(r"\bexosom", re.IGNORECASE)
_EV_TERM_RE = re.compile(r"extracellular vesicle|\bs?EVs?\b|\bl?EVs?\b|ev mimetic",
                         re.IGNORECASE)


def _nomenclature(term: str | None, biogenesis_shown: bool) -> tuple[bool, str]:
    if not term:
        return False, "EV term not reported"
    if _EXOSOME_RE.search(term) and not biogenesis_shown:
        return False, f"uses {term!r} without shown biogenesis"
    if _EV_TERM_RE.search(term) or biogenesis_shown:
        return True, f"term {term!r}"
    return False, f"term {term!r} is not a MISEV2023 term"


def evaluate(record: CharacterizationRecord, checklist: Checklist | None = None) -> MisevReport:
    """Check a record against every checklist item and give the evidence for each verdict."""
    cl = checklist or load_checklist()
    q = record.quantification
    sm = record.starting_material
    quants = [name for name, v in (("particles", q.particles_per_ml),
                                   ("protein", q.protein_ug_per_ml),
                                   ("lipid", q.lipid_ug_per_ml)) if v is not None]
    ratio_given = q.particles_per_ug_protein or q.particles_per_ug_lipid
    amount = [f"{n}={v:g}" for n, v in (("volume_ml", sm.volume_ml), ("cell_count", sm.cell_count),
                                        ("tissue_mass_g", sm.tissue_mass_g)) if v is not None]
    checks: dict[str, tuple[bool, str]] = {
        "starting_material": (bool(amount), ", ".join(amount) or "no volume, cell number or mass"),
        "isolation_method": (
            bool(record.isolation.method) and bool(record.isolation.parameters),
            (f"{record.isolation.method}; parameters: "
             + (", ".join(f"{k}={v}" for k, v in record.isolation.parameters.items()) or "none"))
            if record.isolation.method else "method not reported"),
        "two_quantifications": (len(quants) >= 2 or (len(quants) == 1 and bool(ratio_given)),
                                ", ".join(quants) or "none"),
        "quantification_ratio": (bool(ratio_given) or len(quants) >= 2,
                                 "ratio given" if ratio_given else
                                 ("computable from " + " and ".join(quants) if len(quants) >= 2
                                  else "no ratio")),
        "marker_transmembrane": (bool(record.markers.transmembrane),
                                 ", ".join(record.markers.transmembrane) or "none"),
        "marker_cytosolic": (bool(record.markers.cytosolic),
                             ", ".join(record.markers.cytosolic) or "none"),
        "marker_negative": (bool(record.markers.negative),
                            ", ".join(record.markers.negative) or "none"),
        "other_compartments": (bool(record.markers.other_compartments),
                               ", ".join(record.markers.other_compartments) or "none"),
        "soluble_proteins": (bool(record.markers.soluble_proteins),
                             ", ".join(record.markers.soluble_proteins) or "none"),
        "topology": (bool(record.topology), ", ".join(record.topology) or "none"),
        "single_ev_imaging": (bool(record.single_ev_imaging),
                              ", ".join(record.single_ev_imaging) or "none"),
        "single_ev_counting": (bool(record.single_ev_counting),
                               ", ".join(record.single_ev_counting) or "none"),
        "nomenclature": _nomenclature(record.ev_term, record.biogenesis_shown),
    }
    flags = {"subtype_claimed": record.subtype_claimed, "function_claimed": record.function_claimed}
    results = []
    for it in cl.items:
        if it.key not in checks:
            raise KeyError(f"no evaluator for checklist item {it.key!r}")
        met, evidence = checks[it.key]
        applicable = flags.get(it.applies_when, False) if it.applies_when else True
        results.append(ItemResult(key=it.key, level=it.level, item=it.item, applicable=applicable,
                                  met=met, evidence=evidence if applicable else "not applicable",
                                  why=it.why, source=cl.source_text(it.source)))
    return MisevReport(record_id=record.id, items=results)


# --- curated studies (knowledge base) --------------------------------------------------------

# Marker classes after MISEV2018 Table 3 (categories 1, 2 and 3/4); matched on the gene symbol
# or common name at the start of a curated marker string.
TRANSMEMBRANE_MARKERS = frozenset({
    "CD9", "CD63", "CD81", "CD82", "CD47", "CD44", "CD73", "NT5E", "CD90", "THY1", "CD29",
    "ITGB1", "MFGE8", "LAMP1", "LAMP2", "TSPAN8", "EGFR", "HLA", "MHC", "TFRC", "PTGFRN",
    "BSG", "ADAM10", "CD59", "CD55", "LAMP2B", "CD146", "CD105", "ENG",
})
CYTOSOLIC_MARKERS = frozenset({
    "TSG101", "ALIX", "PDCD6IP", "SYNTENIN", "SDCBP", "FLOT1", "FLOT2", "FLOTILLIN",
    "FLOTILLIN-1", "FLOTILLIN-2", "HSP70", "HSPA8", "HSC70", "HSP90", "HSP90AB1", "ANXA1",
    "ANXA2", "ANXA5", "ANNEXIN", "RAB", "RAB27A", "RAB27B", "RAB11", "CAV1", "EHD4", "VPS4",
    "ARRDC1", "ACTB", "GAPDH",
})


def _marker_key(name: str) -> str:
    token = re.split(r"[\s(/,;]+", name.strip())[0].upper()
    return token


def classify_marker(name: str) -> Literal["transmembrane", "cytosolic", "other"]:
    """MISEV2018 category of a curated positive marker (unknown -> 'other')."""
    key = _marker_key(name)
    if key in TRANSMEMBRANE_MARKERS or key.startswith(("ITG", "HLA-", "TSPAN")):
        return "transmembrane"
    if key in CYTOSOLIC_MARKERS or key.startswith(("RAB", "ANXA", "HSP")):
        return "cytosolic"
    return "other"


_COUNTING_HINT = "single-particle sizing reported (modal/mean size or concentration)"


_IMAGING_RE = re.compile(r"\b(cryo-?EM|TEM|EM|AFM|electron microscop\w*|atomic force)\b",
                         re.IGNORECASE)
_COUNTING_RE = re.compile(r"\b(NTA|TRPS|nanoparticle tracking|nanosight|zetaview|"
                          r"nano-?flow|flow cytometr\w*)\b", re.IGNORECASE)


def _text_hints(text: str) -> tuple[list[str], list[str], list[str]]:
    """Imaging, counting and marker mentions in curated free text (e.g. the isolation field)."""
    imaging = sorted({m.group(0) for m in _IMAGING_RE.finditer(text)})
    counting = sorted({m.group(0) for m in _COUNTING_RE.finditer(text)})
    markers = [t for t in re.split(r"[^A-Za-z0-9-]+", text)
               if t and classify_marker(t) != "other"]
    return imaging, counting, markers


def record_from_study(study: Study) -> CharacterizationRecord:
    """What a curated Study reports, as a record. Unknown means not reported.

    Structured characterization fields are used first; mentions of EM/NTA/markers in the
    curated isolation text (e.g. "ultracentrifugation; NTA, EM, ALIX/TSG101/CD9 WB") count as
    reported. The Study schema has no starting amount, isolation parameters, topology or lipid
    fields, so those items are never met from KB data alone.
    """
    ch = study.product.characterization
    imaging, text_counting, text_markers = _text_hints(study.product.isolation_method or "")
    positives = list(dict.fromkeys([*ch.markers_positive, *text_markers]))
    tm = [m for m in positives if classify_marker(m) == "transmembrane"]
    cy = [m for m in positives if classify_marker(m) == "cytosolic"]
    counting = [_COUNTING_HINT] if (ch.modal_size_nm or ch.mean_size_nm
                                    or ch.particle_concentration_per_ml) else []
    counting += text_counting
    term = study.title if study.title and (
        _EXOSOME_RE.search(study.title) or _EV_TERM_RE.search(study.title)) else None
    return CharacterizationRecord(
        id=study.id,
        ev_term=term,
        function_claimed=True,
        isolation=Isolation(method=study.product.isolation_method or None),
        quantification=Quantification(
            particles_per_ml=ch.particle_concentration_per_ml or None,
            particles_per_ug_protein=ch.particles_per_ug_protein),
        markers=Markers(transmembrane=tm, cytosolic=cy, negative=list(ch.markers_negative)),
        single_ev_counting=counting,
        single_ev_imaging=imaging,
    )


def score_studies(studies: Iterable[Study]) -> list[MisevReport]:
    """MISEV reports for curated studies (from ``kb.studies()``), in input order."""
    return [evaluate(record_from_study(s)) for s in studies]
