"""Typed domain objects (pydantic v2) shared by every capability package.

Quantities that cross an API carry their unit in the field name (``modal_size_nm``,
``particles_per_ug_protein``) or as a :class:`Dose` with an explicit unit string checked by pint.
``None`` always means *not reported*; nothing is guessed.

Every number is finite (``NaN``/``inf`` are refused by every model), integers are integers
(``n = 2.5`` or ``year = 2022.7`` are errors, not truncated), and measured values have bounds
that no real value reaches but a typo or an overflow does (``MEASURED_MAX``: arm-level
outcomes; counts and concentrations have their own). The CLI, the Python API and the web app
all validate through these types, so they refuse the same inputs.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from exomir.core.enums import (
    CargoKind,
    CargoMode,
    Confidence,
    EvidenceLevel,
    ExclusionReason,
    Indication,
    Route,
    Species,
    TherapeuticDirection,
)

#: Largest magnitude of an arm-level outcome value (mean, SD, median, quartiles, range).
#: The curated outcomes are percentages, grams, seconds, scores and pg/mL (all below 1e6);
#: the bound only catches typos and overflow-scale values such as 1e300 (assumption, wide).
MEASURED_MAX = 1e9
#: Largest group size of one study arm (preclinical arms are 3-30; clinical trials below 1e5).
ARM_N_MAX = 10_000_000
#: Longest time point or schedule entry, days (100 years).
DAYS_MAX = 36_525.0
#: Largest count or concentration of particles/copies (1e20 is ~10^5 times any EV preparation).
COUNT_MAX = 1e20

NonNeg = Annotated[float, Field(ge=0)]
Pos = Annotated[float, Field(gt=0)]
Measured = Annotated[float, Field(ge=-MEASURED_MAX, le=MEASURED_MAX)]
Spread = Annotated[float, Field(ge=0, le=MEASURED_MAX)]
Days = Annotated[float, Field(ge=0, le=DAYS_MAX)]
Count = Annotated[float, Field(ge=0, le=COUNT_MAX)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=False, validate_assignment=True,
                              use_enum_values=False, allow_inf_nan=False)


class Source(_Model):
    """Where a fact comes from: DOI, PMID, PMCID and/or URL, and a citation text.

    ``url`` is the first page read; ``other_urls`` every further page the curators read for
    the same record (kept so that no source of a fact is lost).
    """

    doi: str | None = None
    pmid: str | None = None
    pmcid: str | None = None
    url: str | None = None
    other_urls: list[str] = Field(default_factory=list)
    citation: str | None = None

    @property
    def urls(self) -> list[str]:
        """Every URL read for this record, the first one first."""
        return ([self.url] if self.url else []) + list(self.other_urls)

    @property
    def link(self) -> str | None:
        if self.doi:
            return f"https://doi.org/{self.doi}"
        if self.pmid:
            return f"https://pubmed.ncbi.nlm.nih.gov/{self.pmid}/"
        if self.pmcid:
            return f"https://pmc.ncbi.nlm.nih.gov/articles/{self.pmcid}/"
        return self.url

    @property
    def key(self) -> str | None:
        """The best identifier: ``doi:...``, ``PMID:...`` or ``PMCID:...``."""
        if self.doi:
            return f"doi:{self.doi}"
        if self.pmid:
            return f"PMID:{self.pmid}"
        if self.pmcid:
            return f"PMCID:{self.pmcid}"
        return None


class Characterization(_Model):
    """Physical characterisation of an exosome preparation."""

    particle_concentration_per_ml: Count | None = None
    modal_size_nm: Annotated[float, Field(gt=0, le=1e5)] | None = None
    mean_size_nm: Annotated[float, Field(gt=0, le=1e5)] | None = None
    particles_per_ug_protein: Annotated[float, Field(gt=0, le=COUNT_MAX)] | None = None
    markers_positive: list[str] = Field(default_factory=list)
    markers_negative: list[str] = Field(default_factory=list)


class ExosomeProduct(_Model):
    """An exosome / small-EV product: where it comes from, how it was isolated, what it is."""

    source_cell: str | None = None
    isolation_method: str | None = None
    characterization: Characterization = Field(default_factory=Characterization)


class Cargo(_Model):
    """One cargo item carried by the vesicles.

    For miRNAs: ``name`` (miRBase style), ``mirbase_accession`` and ``mature_sequence``.
    For sponges (circRNA/lncRNA) ``sponged_mirna`` names the miRNA it binds.
    ``copies_per_vesicle`` is the mean number of molecules per particle (native loading is of
    the order of 0.01, Chevillet 2014 doi:10.1073/pnas.1408301111).
    """

    kind: CargoKind
    name: str
    mode: CargoMode | None = None
    mirbase_accession: str | None = None
    mature_sequence: str | None = None
    sponged_mirna: str | None = None
    copies_per_vesicle: NonNeg | None = None
    direction: TherapeuticDirection | None = None
    direction_basis: str | None = None

    @property
    def target_mirna(self) -> str | None:
        """The miRNA this cargo acts on: its own name, or the miRNA a sponge binds."""
        if self.kind == CargoKind.SPONGE:
            return self.sponged_mirna
        if self.kind in (CargoKind.MIRNA, CargoKind.MIRNA_INHIBITOR):
            return self.name
        return None

    @field_validator("mature_sequence")
    @classmethod
    def _rna(cls, v: str | None) -> str | None:
        if v is None:
            return v
        s = v.strip().upper().replace("T", "U")
        if not s or set(s) - set("ACGUN"):
            raise ValueError(f"mature_sequence must be RNA letters A,C,G,U (got {v!r})")
        return s

    @model_validator(mode="after")
    def _sponge_names_target(self) -> Cargo:
        if self.kind == CargoKind.SPONGE and not self.sponged_mirna:
            raise ValueError("a sponge cargo must name the miRNA it binds (sponged_mirna)")
        inhibiting = self.kind in (CargoKind.SPONGE, CargoKind.MIRNA_INHIBITOR)
        if inhibiting and self.direction == TherapeuticDirection.DELIVER:
            raise ValueError(f"cargo {self.name}: a {self.kind.value} inhibits its miRNA; "
                             "direction must be 'inhibit' (or omitted)")
        return self


class Exclusion(_Model):
    """A curated reason to keep a study out of some uses of the evidence.

    What each reason bars (pooling, interaction evidence, cargo ranking) is fixed in
    :data:`exomir.core.gates.EFFECTS`, so every capability applies the same rule. ``detail``
    says what exactly was found; ``source`` where (e.g. the publisher's retraction notice).
    """

    reason: ExclusionReason
    detail: str
    source: Source | None = None


class Delivery(_Model):
    """Route of administration or delivery vehicle, with the curated free text kept."""

    route: Route | None = None
    description: str | None = None
    targeting_ligand: str | None = None


class Dose(_Model):
    """A dose amount with a pint-checked unit, e.g. ``Dose(value=1e10, unit="particles")``."""

    value: NonNeg
    unit: str

    @field_validator("unit")
    @classmethod
    def _unit_ok(cls, v: str) -> str:
        from exomir.core.units import parse_quantity  # pint loads on first use (start-up)

        parse_quantity(1.0, v, field="dose.unit")
        return v

    def quantity(self):  # type: ignore[no-untyped-def]
        """The dose as a pint Quantity."""
        from exomir.core.units import parse_quantity

        return parse_quantity(self.value, self.unit, field="dose")


class Regimen(_Model):
    """Dose and schedule: ``times_days`` are the administration times (days from start).

    ``times_days`` is None when the schedule is not reported (curated studies); a therapy
    spec must give at least one time.
    """

    dose: Dose | None = None
    dose_text: str | None = None
    schedule_text: str | None = None
    times_days: list[Days] | None = None

    @field_validator("times_days")
    @classmethod
    def _sorted(cls, v: list[float] | None) -> list[float] | None:
        if v is not None and not v:
            raise ValueError("times_days needs at least one administration time (or omit it)")
        return sorted(v) if v is not None else None


class Subject(_Model):
    """Who is treated: species and disease model (free text kept as curated)."""

    species: Species | None = None
    species_text: str | None = None
    disease_model: str | None = None
    body_weight_kg: Annotated[float, Field(gt=0, le=10_000)] | None = None


class ArmOutcome(_Model):
    """One outcome measured in one arm at one time point.

    Exactly the numbers the paper reports: mean with SD or SE, or median with IQR/range.
    """

    measure: str
    timepoint_days: Days | None = None
    unit: str | None = None
    n: Annotated[int, Field(ge=1, le=ARM_N_MAX, strict=False)] | None = None
    mean: Measured | None = None
    sd: Spread | None = None
    se: Spread | None = None
    median: Measured | None = None
    q1: Measured | None = None
    q3: Measured | None = None
    min: Measured | None = None
    max: Measured | None = None
    higher_is_better: bool | None = None


class Arm(_Model):
    """A study arm: label, role (treatment/control) and its outcomes."""

    label: str
    role: Literal["treatment", "control", "other"] = "other"
    description: str | None = None
    outcomes: list[ArmOutcome] = Field(default_factory=list)


class Study(_Model):
    """A curated preclinical or clinical study (one row of the knowledge base)."""

    id: str = Field(pattern=r"^[A-Za-z0-9_.:-]+$")
    indication: Indication
    first_author: str | None = None
    year: Annotated[int, Field(ge=1900, le=2100)] | None = None
    journal: str | None = None
    title: str | None = None
    source: Source = Field(default_factory=Source)
    product: ExosomeProduct = Field(default_factory=ExosomeProduct)
    cargo: list[Cargo] = Field(default_factory=list)
    cargo_text: str | None = None
    target_genes: list[str] = Field(default_factory=list)
    pathways: list[str] = Field(default_factory=list)
    pathway_text: str | None = None
    subject: Subject = Field(default_factory=Subject)
    delivery: Delivery = Field(default_factory=Delivery)
    regimen: Regimen = Field(default_factory=Regimen)
    outcome_measure: str | None = None
    outcome_summary: str | None = None
    arms: list[Arm] = Field(default_factory=list)
    confidence: Confidence | None = None
    risk_of_bias: dict[str, Literal["low", "high", "unclear"]] = Field(default_factory=dict)
    exclusions: list[Exclusion] = Field(default_factory=list)

    @property
    def citation(self) -> str:
        parts = [p for p in (self.first_author, str(self.year) if self.year else None,
                             self.journal) if p]
        return " ".join(parts) if parts else self.id


class PublishedSynthesis(_Model):
    """A pooled estimate published by a systematic review / meta-analysis (a separate
    evidence type shown next to exomir's own pooling; never mixed into it).

    Every number is as the publication reports it; ``None`` where the text read does not give
    it (``note`` says what is missing). ``k`` is the number of studies in the pooled estimate.
    """

    id: str = Field(pattern=r"^[A-Za-z0-9_.:-]+$")
    indication: Indication
    citation: str
    source: Source
    population: str
    intervention: str
    comparator: str | None = None
    outcome: str
    measure: Literal["SMD", "MD", "ROM", "OR", "RR"] = "SMD"
    estimate: float
    ci_lb: float | None = None
    ci_ub: float | None = None
    level: float = 95.0
    k: Annotated[int, Field(ge=1)] | None = None
    n_animals: Annotated[int, Field(ge=1)] | None = None
    i2: Annotated[float, Field(ge=0, le=100)] | None = None
    model: str | None = None
    note: str | None = None


class MatureMirna(_Model):
    """A mature miRNA from miRBase: name, accession (MIMAT...), sequence (RNA)."""

    name: str
    accession: str | None = None
    sequence: str

    @field_validator("sequence")
    @classmethod
    def _rna(cls, v: str) -> str:
        s = v.strip().upper().replace("T", "U")
        if not s or set(s) - set("ACGUN"):
            raise ValueError(f"sequence must be RNA letters (got {v!r})")
        return s

    @property
    def seed(self) -> str:
        """Nucleotides 2-8 (the seed region used for site scanning)."""
        return self.sequence[1:8]


class MirnaTargetInteraction(_Model):
    """A miRNA represses a target gene, with evidence level and source."""

    mirna: str
    gene: str
    evidence: EvidenceLevel
    method: str | None = None
    source: Source = Field(default_factory=Source)
    study_id: str | None = None


class GeneSet(_Model):
    """A named set of gene symbols (pathway, hallmark, indication profile)."""

    name: str
    description: str | None = None
    genes: list[str]
    source: str | None = None


class ClinicalTrial(_Model):
    """A registered clinical trial of an EV product.

    ``indication`` links it to exomir's indication; ``condition`` keeps the registry's own
    condition where it is broader (e.g. chronic wounds of any cause, linked to diabetic_wound).
    """

    registry_id: str
    indication: Indication
    condition: str | None = None
    title: str
    sponsor: str | None = None
    phase: str | None = None
    status: str | None = None
    enrollment: Annotated[int, Field(ge=0, le=ARM_N_MAX)] | None = None
    start: str | None = None
    notes: str | None = None
    source_url: str | None = None


class TherapySpec(_Model):
    """A candidate therapy: product and cargo, delivery, regimen, subject, indication.

    ``regimen.dose`` is required; ``regimen.times_days`` omitted means one dose at day 0.

    Validated here so that every capability (simulator, design, quality) reads the same object.
    """

    name: str = "therapy"
    indication: Indication
    product: ExosomeProduct = Field(default_factory=ExosomeProduct)
    cargo: list[Cargo] = Field(default_factory=list)
    delivery: Delivery
    regimen: Regimen
    subject: Subject
    days: Pos = 28.0

    @model_validator(mode="after")
    def _schedule_inside_window(self) -> TherapySpec:
        if self.regimen.dose is None:
            raise ValueError("regimen.dose is required for a therapy (value and unit)")
        if self.regimen.times_days is None:  # documented default: one dose at day 0
            self.regimen.times_days = [0.0]
        late = [t for t in self.regimen.times_days if t > self.days]
        if late:
            raise ValueError(
                f"regimen.times_days {late} fall outside the simulation window of "
                f"{self.days} days; extend 'days' or drop those doses"
            )
        return self
