"""Build exomir's curated starter dataset from the project's reference tables.

Reads ``../shared/data/studies.csv``, ``trials.csv`` and ``mirbase/mature.fa`` and re-expresses
their facts in exomir's schema as JSON package data under ``src/exomir/kb/curated/``. Free text
is kept next to every parsed field; anything not reported (``NR``) stays unknown. Every
curator decision a parser cannot make is written out below as data, with the text it rests
on: exclusions (``EXCLUSIONS``, plus the reference rule), the direction of effect of each
cargo miRNA (``DIRECTIONS``), interaction pairings and evidence corrections (``PAIRINGS``,
``EVIDENCE_OVERRIDES``, ``DROP_PAIRS``), confidence corrections, the arm-level numbers of
validation tables (``CHEN_2024``, ``HSU_2020_ARMS``) and the published syntheses
(``SYNTHESES``). ``check_notes`` refuses to write a dataset whose notes say something (e.g.
"retracted", "not a pain endpoint") that no exclusion records.

Run from the repository root: ``python scripts/curate_kb.py [--shared ../shared/data]``.
"""

from __future__ import annotations

import argparse
import csv
import json
import re
from pathlib import Path
from typing import Any

from exomir.core import (
    Arm,
    ArmOutcome,
    Cargo,
    CargoKind,
    CargoMode,
    ClinicalTrial,
    Confidence,
    Delivery,
    Dose,
    Exclusion,
    ExclusionReason,
    ExosomeProduct,
    Indication,
    MatureMirna,
    MirnaTargetInteraction,
    PublishedSynthesis,
    Regimen,
    Species,
    Study,
    Subject,
    TherapeuticDirection,
)
from exomir.core.enums import EvidenceLevel, route_from_text
from exomir.core.mirna import (
    MirnaName,
    dominant_arms,
    find_mirna_names,
    mirna_matches,
    parse_mirna_name,
)
from exomir.core.models import Source

OUT = Path(__file__).resolve().parents[1] / "src" / "exomir" / "kb" / "curated"

X = ExclusionReason
DELIVER, INHIBIT = TherapeuticDirection.DELIVER, TherapeuticDirection.INHIBIT

# ---------------------------------------------------------------------------------------------
# Pathway tags: canonical tag -> whole words or curated synonyms in the pathway/target text.
# Each pattern must match a whole token (no letter or digit on either side), so "shift" is
# not "HIF" and "neurovascular" is not "neovascular".
PATHWAY_TAGS: list[tuple[str, list[str]]] = [
    ("PI3K/Akt", [r"pi3k", r"akt", r"pten", r"mtor", r"pik3r\d"]),
    ("NF-kB", [r"nf-?k(?:appa)?b", r"nf-κb", r"tlr[24]", r"irak1", r"traf6", r"myd88",
               r"tnfaip3", r"a20"]),
    ("MAPK", [r"mapk", r"p38", r"p38mapk", r"erk(?:1/2)?", r"jnk"]),
    ("TGF-b/Smad", [r"tgf-?(?:beta|β|b)\d?", r"tgf", r"smad\d?"]),
    ("HIF-1a/VEGF", [r"hif-?1(?:a|α)?", r"hif1a", r"vegf(?:-?[a-d])?"]),
    ("Wnt/beta-catenin", [r"wnt\d*[a-z]?", r"beta-catenin", r"β-catenin"]),
    ("Notch", [r"notch\d?"]),
    ("NLRP3 inflammasome", [r"nlrp3"]),
    ("autophagy", [r"autophagy", r"autophagic"]),
    ("AMPK", [r"ampk"]),
    ("macrophage polarization", [r"m1", r"m2", r"macrophage polari[sz]ation"]),
    ("angiogenesis", [r"angiogenesis", r"angiogenic", r"pro-angiogenic", r"neovasculari[sz]ation",
                      r"vasculari[sz]ation"]),
    ("neuroinflammation", [r"neuroinflammation", r"microglia", r"microglial"]),
    ("ferroptosis", [r"ferroptosis"]),
]
_TAG_RES = [(tag, re.compile("|".join(rf"(?<![a-z0-9]){p}(?![a-z0-9])" for p in pats)))
            for tag, pats in PATHWAY_TAGS]

VALIDATION_WORDS = re.compile(r"luciferase|validated|reporter|pull-down|\brip\b", re.I)

# Gene text -> HGNC symbol, only where the curated text uses a protein name.
GENE_ALIASES = {"YAP": "YAP1", "A20": "TNFAIP3", "BIM": "BCL2L11", "FIH-1": "HIF1AN"}

# Studies whose several miRNAs and targets need an explicit pairing (from the curated text).
PAIRINGS: dict[str, list[tuple[str, str]]] = {
    "NP021": [("miR-199a-3p", "CBLB"), ("miR-145-5p", "CBL")],
}
# Pairs the generic rule would make but the row does not support: (study, gene) -> why.
DROP_PAIRS: dict[tuple[str, str], str] = {
    ("DW028", "GPX4"): "the row names SLC7A11 'via miR-144-3p' and GPX4 as the downstream "
                       "ferroptosis effector; GPX4 is not stated to be a miR-144-3p target",
    ("DW029", "FOXO1"): "the axis is miR-138-5p/SIRT1/FOXO1: FOXO1 acts downstream of SIRT1 "
                        "and is not stated to be a miR-138-5p target",
}
# Evidence level the row supports where the validation words refer to something else.
EVIDENCE_OVERRIDES: dict[tuple[str, str], tuple[EvidenceLevel, str]] = {
    ("DW029", "SIRT1"): (EvidenceLevel.WEAK,
                         "target named by the study; the luciferase assay in the text read "
                         "validates miR-138-5p adsorption by circ-Astn1, not the SIRT1 3'UTR"),
}

# ---------------------------------------------------------------------------------------------
# Exclusions: (reason, detail quoting the curated text). The row's own source is the source
# unless one is given. Reference rows are added by rule (``reference_exclusion``).
RETRACTION_NOTICE = Source(
    doi="10.1155/2019/9742765", url="https://www.hindawi.com/journals/bmri/2019/9742765/abs/",
    citation="publisher page of BioMed Res Int 2019:9742765, title marked [Retracted]")
EXCLUSIONS: dict[str, list[tuple[ExclusionReason, str, Source | None]]] = {
    "DW002": [(X.RETRACTED, "the publisher page marks the article [Retracted]; curator note: "
                            "'exclude from quantitative synthesis'", RETRACTION_NOTICE)],
    "DW037": [(X.POPULATION_MISMATCH, "mouse full-thickness skin defect, not diabetic "
                                      "(validation table: 'Mouse full-thickness skin defect "
                                      "(not diabetic)')", None)],
    "DW007": [(X.IN_VITRO_ONLY, "model text: 'in vitro high-glucose HUVEC focus'", None)],
    "DW013": [(X.IN_VITRO_ONLY, "model text: 'high-glucose HUVEC (in vitro)'; summary: "
                                "'(in vitro evidence)'", None)],
    "NP013": [(X.BIOMARKER_ONLY, "serum sEV profiling of SNI vs sham donors: '(no therapeutic "
                                 "delivery)'", None),
              (X.IN_VITRO_ONLY, "recipients are primary cortical microglia in vitro", None)],
    "NP019": [(X.POPULATION_MISMATCH, "Dicer-cKO Schwann-cell neuropathy: 'Peripheral-neuropathy "
                                      "(sensory deficit) model rather than a classic pain "
                                      "model'", None)],
    "NP020": [(X.NOT_INDICATION_ENDPOINT, "spinal cord injury, motor recovery: 'pain behaviour "
                                          "not reported in text read'; 'not a pain endpoint "
                                          "study'", None)],
    "NP021": [(X.NOT_INDICATION_ENDPOINT, "spinal cord injury, locomotor function: 'pain not "
                                          "assessed in text read'; 'no pain endpoint read'",
               None)],
    "NP022": [(X.BIOMARKER_ONLY, "'Biomarker study (no delivery)'", None)],
    "NP023": [(X.NOT_MIRNA_DRIVEN, "'effect attributed to leu-enkephalin protein cargo'; "
                                   "'Mechanism not miRNA-driven'", None),
              (X.POPULATION_MISMATCH, "recipient model is CFA inflammatory pain: 'recipient "
                                      "model inflammatory'", None)],
    "NP025": [(X.POPULATION_MISMATCH, "'murine inflammatory pain model (thermal hyperalgesia)' "
                                      "and CRPS patient samples, not a neuropathic pain model",
               None)],
}
# Notes that must be matched by an exclusion (check_notes fails otherwise).
NOTE_TRIGGERS: list[tuple[str, str, ExclusionReason]] = [
    ("outcome_summary", r"retract", X.RETRACTED),
    ("outcome_summary", r"not a pain endpoint|no pain endpoint", X.NOT_INDICATION_ENDPOINT),
    ("outcome_measure", r"pain not assessed|pain behaviour not reported",
     X.NOT_INDICATION_ENDPOINT),
    ("outcome_summary", r"biomarker", X.BIOMARKER_ONLY),
    ("outcome_summary", r"not mirna-driven", X.NOT_MIRNA_DRIVEN),
    ("model", r"inflammatory pain|\bcfa\b", X.POPULATION_MISMATCH),
    ("model", r"not diabetic", X.POPULATION_MISMATCH),
    ("outcome_summary", r"\breference\b", X.REFERENCE_ONLY),
]

# Confidence the row cannot keep: study id -> (confidence, why).
CONFIDENCE_OVERRIDES: dict[str, tuple[Confidence, str]] = {
    "DW002": (Confidence.LOW, "retracted article (publisher page); csv said 'high'"),
}

# ---------------------------------------------------------------------------------------------
# Direction of effect per cargo miRNA: study -> {miRNA as curated (None = every cargo miRNA
# of the row): (direction or None, basis quoting the row)}. Sponges inhibit the miRNA they
# bind (set by rule). A miRNA absent here has no direction: it is not ranking evidence.
DIRECTIONS: dict[str, dict[str | None, tuple[TherapeuticDirection | None, str]]] = {
    "NP001": {None: (DELIVER, "miR-26a-5p agomir reproduced the analgesia of the sEVs")},
    "NP002": {None: (DELIVER, "inhibiting miR-150-5p in the exosomes offset the benefit")},
    "NP003": {None: (INHIBIT, "DRG-Exo aggravated pain; miR-16-5p knockdown in DRG-Exo "
                              "attenuated it ('pathogenic-cargo study, target for inhibition')")},
    "NP005": {None: (DELIVER, "engineered exo-146a improved NCV and thresholds faster than "
                              "native exosomes")},
    "NP006": {None: (DELIVER, "therapeutic Schwann-cell exosomes reversed the diabetes-reduced "
                              "miR-21/-27a/-146a (association; no gain or loss of function in "
                              "the text read)")},
    "NP007": {None: (INHIBIT, "EV-delivered miR-23a antagomir attenuated hypersensitivity; "
                              "EV-miR-23a drove pro-inflammatory macrophages")},
    "NP008": {None: (INHIBIT, "intrathecal miR-21-5p antagomir or conditional deletion reduced "
                              "neuropathic hypersensitivity")},
    "NP009": {None: (INHIBIT, "tumour-exosome let-7d-5p reduced OPRM1 and drove cancer-induced "
                              "bone pain ('pathogenic cargo; intervention target')")},
    "NP010": {None: (DELIVER, "Schwann-cell exosomes ameliorated CIPN through miR-21/PTEN "
                              "(title-level evidence)")},
    "NP011": {"miR-223": (DELIVER, "miR-223 application reduced C-fibre responses"),
              "miR-760": (None, "detected in the ELVs only"),
              "miR-145": (None, "detected in the ELVs only")},
    "NP012": {None: (DELIVER, "miR-24-3p-upregulated exosomes more effective, -inhibited "
                              "exosomes weaker")},
    "NP016": {None: (DELIVER, "miR-101b-3p silencing abolished the benefit; miR-101b-3p "
                              "nanovesicles replicated it")},
    "NP019": {None: (DELIVER, "SC-Exo ameliorated the neuropathy; the cKO had reduced "
                              "miR-138/-146a/-338 (association)")},
    "NP020": {None: (DELIVER, "knock-down abolished and over-expression enhanced the benefit")},
    "NP021": {None: (DELIVER, "exosomal miR-199a-3p/145-5p up-regulated TrkA and promoted "
                              "locomotor function")},
    "DW001": {None: (DELIVER, "exosomes of SMSCs overexpressing miR-126-3p accelerated healing")},
    "DW002": {None: (DELIVER, "miR-126 knockdown abolished the benefit (retracted article)")},
    "DW003": {None: (DELIVER, "miR-221-3p given directly enhanced wound healing")},
    "DW004": {None: (DELIVER, "EPC exosomes carrying miR-182-5p enhanced healing; PPARG "
                              "suppressed")},
    "DW005": {None: (INHIBIT, "applying miR-20b-5p slowed healing; knocking it out enhanced "
                              "healing and angiogenesis")},
    "DW006": {None: (INHIBIT, "Dia-Exos or miR-20b-5p slowed wound repair via VEGFA "
                              "('pathogenic cargo; target for inhibition')")},
    "DW007": {None: (DELIVER, "BMSC exosomal miR-221-3p reversed high-glucose suppression of "
                              "angiogenesis")},
    "DW008": {None: (DELIVER, "EXO@miR-493-5p accelerated diabetic wound closure")},
    "DW009": {None: (DELIVER, "local miR-222-3p inhibition disrupted healing")},
    "DW010": {None: (DELIVER, "miR-31-5p mimic and engineered miR-31 exosomes promoted healing")},
    "DW011": {None: (DELIVER, "milk-exosome miR-31-5p enhanced diabetic wound healing")},
    "DW012": {None: (None, "sequencing profile of hypoxic exosomes (up/down); no gain or loss "
                           "of function of a named miRNA")},
    "DW013": {None: (DELIVER, "NFIC-exosome effect was miR-204-3p-dependent")},
    "DW015": {None: (DELIVER, "miR-132-exo promoted healing")},
    "DW023": {None: (DELIVER, "SGM-miR146a-Exo@SFP outperformed exosome-only groups")},
    "DW025": {None: (DELIVER, "let-7b/TLR4 contributed to the benefit of LPS pre-Exo")},
}

# ---------------------------------------------------------------------------------------------
# Arm-level outcomes transcribed from published tables (see shared validation_cases.md).
# DW037 carries only what its table says: citation, species and model, groups, n, means/SD.
CHEN_2024 = {
    "id": "DW037",
    "first_author": "Chen YQ",
    "year": 2024,
    "journal": "Chin J Burns Wounds 40(4):323",
    "doi": "10.3760/cma.j.cn501225-20231218-00248",
    "url": "https://pmc.ncbi.nlm.nih.gov/articles/PMC11630113/table/Table2/",
    "source_cell": "hUC-MSC",
    "model": "mouse full-thickness skin defect (not diabetic)",
    "route_text": "groups: PBS; GelMA hydrogel only; hUC-MSC sEV injection only; hUC-MSC sEV "
                  "in GelMA",
    "outcome_measure": "wound healing rate (%)",
    "summary": "Table 2: wound healing rate (%) mean +/- SD, n = 6 per group at days 4, 8, 12",
}
CHEN_2024_ARMS = [
    ("PBS", "control", [(4, 58.3, 1.3), (8, 63.7, 0.4), (12, 77.8, 1.3)]),
    ("GelMA hydrogel only", "other", [(4, 65.4, 4.4), (8, 69.2, 1.8), (12, 92.8, 0.5)]),
    ("hUC-MSC sEV injection only", "treatment",
     [(4, 67.8, 0.9), (8, 75.7, 0.4), (12, 97.2, 0.6)]),
    ("hUC-MSC sEV in GelMA", "treatment", [(4, 80.2, 2.6), (8, 97.9, 0.6), (12, 100.0, None)]),
]
HSU_2020_ARMS = [  # NP015, day 21 median (IQR); n not in the text read
    ("alginate scaffold + hUC-MSC exosomes", "treatment",
     [("paw_withdrawal_threshold", "g", 14.1, 13.7, 15.5),
      ("thermal_withdrawal_latency", "s", 14.2, 13.7, 15.3)]),
    ("saline scaffold", "control",
     [("paw_withdrawal_threshold", "g", 2.1, 1.7, 3.0),
      ("thermal_withdrawal_latency", "s", 2.0, 1.8, 2.4)]),
]

# ---------------------------------------------------------------------------------------------
# Published preclinical syntheses (pooled estimates exactly as the abstracts read report them).
# Neuropathic pain: no published meta-analysis of EVs with a pooled estimate could be sourced
# (see docs/evidence.md); none is recorded.
SYNTHESES = [
    PublishedSynthesis(
        id="SR-Bailey2021-MSC-EV", indication=Indication.DIABETIC_WOUND,
        citation="Bailey AJM et al. 2021 Stem Cell Rev Rep: MSC-derived EVs to heal diabetic "
                 "wounds, systematic review and meta-analysis of preclinical animal studies",
        source=Source(doi="10.1007/s12015-021-10164-4",
                      url="https://distantreader.org/stacks/cord/cord-0882233-aglt2pu1.txt"),
        population="animal models of diabetic wounds", intervention="MSC-EVs",
        comparator="placebo or no treatment", outcome="wound closure", estimate=5.48,
        ci_lb=3.55, ci_ub=8.13, n_animals=136, model="random effects",
        note="10 studies included (n = 136 animals); the abstract read does not give k of the "
             "wound-closure pooling nor I2; CI as printed (asymmetric about the estimate)"),
    PublishedSynthesis(
        id="SR-Bailey2021-MSC-EV-ncRNA", indication=Indication.DIABETIC_WOUND,
        citation="Bailey AJM et al. 2021 Stem Cell Rev Rep (subgroup)",
        source=Source(doi="10.1007/s12015-021-10164-4",
                      url="https://distantreader.org/stacks/cord/cord-0882233-aglt2pu1.txt"),
        population="animal models of diabetic wounds",
        intervention="MSC-EVs enriched in non-coding RNAs or microRNAs",
        comparator="controls", outcome="wound closure", estimate=9.89, ci_lb=7.32, ci_ub=12.46,
        model="random effects",
        note="subgroup of the review above; k and I2 not in the abstract read"),
    PublishedSynthesis(
        id="SR-Yue2024-MSC-sEV-T2D", indication=Indication.DIABETIC_WOUND,
        citation="Yue G et al. 2024 Front Endocrinol 15: MSC-derived sEVs in type II diabetic "
                 "cutaneous wounds, systematic review and meta-analysis of animal models",
        source=Source(doi="10.3389/fendo.2024.1375632",
                      url="https://frontiersin.org/journals/endocrinology/articles/"
                          "10.3389/fendo.2024.1375632/text"),
        population="animal models of type II diabetic cutaneous wounds",
        intervention="MSC-derived small EVs", comparator="control group",
        outcome="wound closure rate", estimate=3.16, ci_lb=2.65, ci_ub=3.66, k=21, i2=39.0,
        model="fixed effect (the authors' rule: fixed effect when I2 < 50 %)"),
    PublishedSynthesis(
        id="SR-2025-platelet-EV", indication=Indication.DIABETIC_WOUND,
        citation="Arch Dermatol Res 2025;317(1):244: platelet-derived EVs in diabetic wounds, "
                 "systematic review and meta-analysis of animal studies",
        source=Source(doi="10.1007/s00403-024-03781-9", pmid="39812853"),
        population="animal models of diabetic wounds", intervention="platelet-derived EVs",
        comparator="control group", outcome="wound healing rate", estimate=4.43, ci_lb=2.85,
        ci_ub=6.01, k=9, n_animals=128, model="random effects",
        note="I2 not in the abstract read; EVs from platelets, not MSCs"),
]

# Registry conditions broader than exomir's indications, and the indication they inform.
TRIAL_INDICATION = {"chronic_wound": "diabetic_wound"}

DOSES = {"DW036": Dose(value=100, unit="ug")}


def nr(text: str) -> str | None:
    t = text.strip()
    return None if not t or t.upper() == "NR" else t


def parse_source(text: str, url: str) -> Source:
    """Identifiers from the citation text; every URL read (``source_read`` joins them with
    `` ; ``): the first as ``url``, the others in ``other_urls``."""
    doi = re.search(r"doi:\s*(10\.\S+?)(?:;|\s|$)", text, re.I)
    pmid = re.search(r"PMID:\s*(\d+)", text, re.I)
    pmc = re.search(r"(PMC\d+)", text)
    urls = [u for u in (nr(x) for x in url.split(" ; ")) if u] if url else []
    return Source(doi=doi.group(1) if doi else None, pmid=pmid.group(1) if pmid else None,
                  pmcid=pmc.group(1) if pmc else None,
                  url=urls[0] if urls else None, other_urls=urls[1:],
                  citation=nr(text))


def parse_species(text: str) -> Species | None:
    low = text.lower()
    if "/" in low:
        return None
    for sp in ("mouse", "rat", "human"):
        if low.startswith(sp):
            return Species(sp)
    return None


def parse_mode(text: str) -> CargoMode | None:
    low = text.lower()
    for m in CargoMode:
        if low.startswith(m.value):
            return m
    return None


def parse_targets(text: str) -> list[str]:
    if nr(text) is None or text.upper().startswith("NR"):
        return []
    genes: list[str] = []
    for part in re.split(r"[;]", text):
        word = part.strip().split(" ")[0].strip("()")
        word = GENE_ALIASES.get(word.upper(), word)
        if re.fullmatch(r"[A-Z][A-Z0-9-]{1,15}", word) and word not in genes:
            genes.append(word)
    return genes


def pathway_tags(*texts: str) -> list[str]:
    """Canonical pathway tags whose whole words or synonyms occur in the texts."""
    joined = " ".join(texts).lower()
    return [tag for tag, rx in _TAG_RES if rx.search(joined)]


def resolve(name: MirnaName, mature: dict[str, MatureMirna]) -> MatureMirna | None:
    """The miRBase entry a curated name refers to, only where that is unambiguous.

    A name with species prefix and arm resolves to that entry (mouse/rat ``miR-21`` is
    ``miR-21a``). A name without prefix resolves only when hsa, mmu and rno agree on the
    sequence (the accession is then left unknown); a name without arm never resolves.
    """
    if name.arm is None:
        return None
    letters = [name.letter] if name.letter or name.prefix in (None, "hsa") else [None, "a"]
    prefixes = [name.prefix] if name.prefix else ["hsa", "mmu", "rno"]
    found: list[MatureMirna] = []
    for pre in prefixes:
        for letter in letters:
            key = str(MirnaName(pre, name.kind, name.number, letter, name.paralog, name.arm))
            if key in mature:
                found.append(mature[key])
                break
    if not found:
        return None
    if name.prefix:
        return found[0]
    if len({m.sequence for m in found}) == 1:
        return MatureMirna(name=str(name), accession=None, sequence=found[0].sequence)
    return None


def _direction(study_id: str, name: str) -> tuple[TherapeuticDirection | None, str | None]:
    table = DIRECTIONS.get(study_id, {})
    for key in (name, None):
        if key in table:
            return table[key]
    return None, None


def parse_cargo(row: dict[str, str], species: Species | None,
                mature: dict[str, MatureMirna]) -> list[Cargo]:
    text = row["cargo_mirna"]
    mode = parse_mode(row["cargo_mode"])
    low = text.lower()
    if low.startswith(("not characterized", "exosomal mirna profile", "sev mirna profiles")) \
            or re.match(r"^\d+ ", low) or bool(re.search(r"names? not in", low)):
        return []
    sponge = re.match(r"^(?:circRNA |lncRNA )?(\S+) \(sponges (miR-[\w-]+)\)", text)
    if sponge:
        return [Cargo(kind=CargoKind.SPONGE, name=sponge.group(1), mode=mode,
                      sponged_mirna=sponge.group(2), direction=INHIBIT,
                      direction_basis=f"{sponge.group(1)} sponges {sponge.group(2)} "
                                      "(cargo text)")]
    out: list[Cargo] = []
    names = find_mirna_names(text)
    # "miR-146a (miR-146a-5p)": keep the most specific spelling of each miRNA.
    names = [n for n in names if not any(o is not n and mirna_matches(n, o) and len(str(o)) >
                                         len(str(n)) for o in names)]
    inhibit = "antagomir" in row["route_or_vehicle"].lower() or (
        mode == CargoMode.INHIBITED and "antagomir" in row["cargo_mode"].lower())
    for n in names:
        m = resolve(n, mature)
        direction, basis = _direction(row["id"], str(n))
        out.append(Cargo(kind=CargoKind.MIRNA_INHIBITOR if inhibit else CargoKind.MIRNA,
                         name=str(n), mode=mode,
                         mirbase_accession=m.accession if m else None,
                         mature_sequence=m.sequence if m else None,
                         direction=direction, direction_basis=basis))
    return out


def reference_exclusion(row: dict[str, str]) -> list[Exclusion]:
    """The curators' 'reference' rows: included for the vehicle, route, dose or model, not as
    cargo evidence (the sentence that says so is the detail)."""
    hits = re.findall(r"[^.;]*\breference\b[^.;]*", row["outcome_summary"], re.I)
    return [Exclusion(reason=X.REFERENCE_ONLY, detail=f"curator note: '{h.strip()}'")
            for h in hits[:1]]


def exclusions_for(study_id: str, row: dict[str, str] | None, source: Source) -> list[Exclusion]:
    out = [Exclusion(reason=r, detail=d, source=src or source)
           for r, d, src in EXCLUSIONS.get(study_id, [])]
    if row is not None:
        for e in reference_exclusion(row):
            e.source = source
            out.append(e)
    return out


def check_notes(rows: list[dict[str, str]], studies: dict[str, Study]) -> None:
    """Refuse a dataset whose curator notes are not matched by an exclusion."""
    missing = []
    for row in rows:
        have = {e.reason for e in studies[row["id"]].exclusions}
        for field, pattern, reason in NOTE_TRIGGERS:
            if re.search(pattern, row[field], re.I) and reason not in have:
                missing.append(f"{row['id']}: {field} matches {pattern!r} but no {reason.value}")
    if missing:
        raise SystemExit("curation notes without exclusion:\n  " + "\n  ".join(missing))


def build_study(row: dict[str, str], mature: dict[str, MatureMirna]) -> Study:
    species = parse_species(row["species"])
    cargo = parse_cargo(row, species, mature)
    route_text = nr(row["route_or_vehicle"])
    source = parse_source(row["doi_or_pmid"], row["source_read"])
    confidence = Confidence(row["confidence"])
    if row["id"] in CONFIDENCE_OVERRIDES:
        confidence = CONFIDENCE_OVERRIDES[row["id"]][0]
    study = Study(
        id=row["id"],
        indication=Indication(row["indication"]),
        first_author=nr(row["first_author"]),
        year=int(row["year"]) if nr(row["year"]) else None,
        journal=nr(row["journal"]),
        source=source,
        product=ExosomeProduct(source_cell=nr(row["exosome_source"]),
                               isolation_method=nr(row["isolation_method"])
                               if not row["isolation_method"].startswith("NR") else None),
        cargo=cargo,
        cargo_text=nr(row["cargo_mirna"]),
        target_genes=parse_targets(row["target_genes"]),
        pathways=pathway_tags(row["pathway"], row["target_genes"]),
        pathway_text=nr(row["pathway"]),
        subject=Subject(species=species, species_text=nr(row["species"]),
                        disease_model=nr(row["model"])),
        delivery=Delivery(route=route_from_text(route_text) if route_text else None,
                          description=route_text,
                          targeting_ligand="RVG" if "rvg" in row["route_or_vehicle"].lower()
                          else None),
        regimen=Regimen(dose=DOSES.get(row["id"]), dose_text=nr(row["dose"]),
                        schedule_text=nr(row["schedule"])),
        outcome_measure=nr(row["outcome_measure"]),
        outcome_summary=nr(row["outcome_summary"]),
        confidence=confidence,
        exclusions=exclusions_for(row["id"], row, source),
    )
    if study.id == "NP015":
        study.arms = [Arm(label=label, role=role, outcomes=[
            ArmOutcome(measure=m, unit=u, timepoint_days=21, median=med, q1=lo, q3=hi,
                       higher_is_better=True) for m, u, med, lo, hi in outs])
            for label, role, outs in HSU_2020_ARMS]
    return study


def chen_2024() -> Study:
    """DW037 from Chen 2024 Table 2 alone: no confidence, pathway or route the table does not
    give; filed under diabetic_wound with a population-mismatch exclusion."""
    c = CHEN_2024
    source = Source(doi=c["doi"], url=c["url"],
                    citation="Chen YQ 2024 Chin J Burns Wounds 40(4):323, Table 2")
    return Study(
        id=c["id"], indication=Indication.DIABETIC_WOUND, first_author=c["first_author"],
        year=c["year"], journal=c["journal"], source=source,
        product=ExosomeProduct(source_cell=c["source_cell"]),
        subject=Subject(species=Species.MOUSE, species_text="mouse",
                        disease_model=c["model"]),
        delivery=Delivery(description=c["route_text"]),
        outcome_measure=c["outcome_measure"], outcome_summary=c["summary"],
        arms=[Arm(label=label, role=role, outcomes=[  # type: ignore[arg-type]
            ArmOutcome(measure="wound_closure", unit="percent", timepoint_days=d, n=6, mean=m,
                       sd=sd, higher_is_better=True) for d, m, sd in outs])
            for label, role, outs in CHEN_2024_ARMS],
        exclusions=exclusions_for(c["id"], None, source),
    )


def interactions(studies: list[Study]) -> list[MirnaTargetInteraction]:
    out: list[MirnaTargetInteraction] = []
    for s in studies:
        text = " ".join(filter(None, [s.outcome_summary, s.pathway_text]))
        strong = bool(VALIDATION_WORDS.search(text))
        method = ("validated in study (reporter/luciferase, pull-down or stated validation)"
                  if strong else "target named by the study; validation method not in text read")
        pairs: list[tuple[str, str]] = PAIRINGS.get(s.id, [])
        if not pairs:
            mirnas = [c.target_mirna for c in s.cargo]
            mirnas = [m for m in mirnas if m]
            if len(mirnas) == 1:
                pairs = [(mirnas[0], g) for g in s.target_genes]
        for mirna, gene in pairs:
            if (s.id, gene) in DROP_PAIRS:
                continue
            level = EvidenceLevel.STRONG if strong else EvidenceLevel.WEAK
            how = method
            if (s.id, gene) in EVIDENCE_OVERRIDES:
                level, how = EVIDENCE_OVERRIDES[(s.id, gene)]
            out.append(MirnaTargetInteraction(mirna=mirna, gene=gene, evidence=level,
                                              method=how, source=s.source, study_id=s.id))
    return out


# Landmark interactions named in the seed reviews, each with its primary paper.
LANDMARK = [
    ("hsa-miR-146a-5p", "TRAF6", "10.1073/pnas.0605298103", "Taganov 2006 PNAS"),
    ("hsa-miR-146a-5p", "IRAK1", "10.1073/pnas.0605298103", "Taganov 2006 PNAS"),
    ("hsa-miR-126-3p", "SPRED1", "10.1016/j.devcel.2008.07.002", "Wang 2008 Dev Cell"),
    ("hsa-miR-126-3p", "PIK3R2", "10.1016/j.devcel.2008.07.008", "Fish 2008 Dev Cell"),
    ("hsa-miR-21-5p", "PTEN", "10.1053/j.gastro.2007.05.022", "Meng 2007 Gastroenterology"),
    ("hsa-miR-21-5p", "PDCD4", "10.1038/sj.onc.1210856", "Asangani 2008 Oncogene"),
]


def read_mature(path: Path) -> dict[str, MatureMirna]:
    out: dict[str, MatureMirna] = {}
    name = acc = None
    for line in path.read_text().splitlines():
        if line.startswith(">"):
            parts = line[1:].split()
            name, acc = parts[0], parts[1]
        elif name:
            out[name] = MatureMirna(name=name, accession=acc, sequence=line.strip())
            name = None
    return out


def mentioned_mature(studies: list[Study], mature: dict[str, MatureMirna]) -> list[MatureMirna]:
    """Every human/mouse/rat mature miRNA of each miRNA family a study mentions, and of the
    letter-less family (``miR-101`` for ``miR-101b``) so that ortholog seeds can be compared."""
    names: list[MirnaName] = []
    for s in studies:
        for c in s.cargo:
            for n in (c.name, c.sponged_mirna):
                if n:
                    names.extend(find_mirna_names(n))
        names.extend(find_mirna_names(s.cargo_text or ""))
    for m, *_ in LANDMARK:
        names.extend(find_mirna_names(m))
    keep: dict[str, MatureMirna] = {}
    for full, m in mature.items():
        if full[:3] not in ("hsa", "mmu", "rno"):
            continue
        try:
            cand = find_mirna_names(full)[0]
        except IndexError:
            continue
        for n in names:
            base = MirnaName(None, n.kind, n.number, n.letter, n.paralog, None)
            plain = MirnaName(None, n.kind, n.number, None, n.paralog, None)
            if mirna_matches(base, cand) or (n.letter and not cand.letter
                                             and mirna_matches(plain, cand)):
                keep[full] = m
                break
    return sorted(keep.values(), key=lambda m: m.name)


def arm_table(mature: dict[str, MatureMirna]) -> dict[str, Any]:
    """Dominant-arm calls (exomir.core.mirna.dominant_arms) for hsa, mmu and rno, compact."""
    seqs = {k: v.sequence for k, v in mature.items()}
    out: dict[str, Any] = {"source": "miRBase release 22 mature.fa (Kozomara 2019 "
                                     "doi:10.1093/nar/gky1141); rules in docs/cargo.md"}
    for prefix in ("hsa", "mmu", "rno"):
        calls = dominant_arms(seqs, prefix)
        out[prefix] = {k: [c.dominant, c.rule, dict(c.votes)] for k, c in calls.items()}
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--shared", type=Path, default=Path("../shared/data"))
    args = ap.parse_args()
    mature = read_mature(args.shared / "mirbase" / "mature.fa")
    with open(args.shared / "studies.csv", newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    studies = [build_study(r, mature) for r in rows]
    check_notes(rows, {s.id: s for s in studies})
    studies.append(chen_2024())
    with open(args.shared / "trials.csv", newline="", encoding="utf-8") as fh:
        trials = [ClinicalTrial(
            registry_id=r["registry_id"],
            indication=Indication(TRIAL_INDICATION.get(r["indication"], r["indication"])),
            condition=r["indication"],
            title=r["title_or_intervention"], sponsor=nr(r["sponsor"]), phase=nr(r["phase"]),
            status=nr(r["status_as_read"]),
            enrollment=int(r["enrollment"]) if nr(r["enrollment"]) else None,
            start=nr(r["start"]), notes=nr(r["notes"]), source_url=nr(r["source_read"]))
            for r in csv.DictReader(fh)]
    inter = interactions(studies)
    for mirna, gene, doi, cite in LANDMARK:
        inter.append(MirnaTargetInteraction(
            mirna=mirna, gene=gene, evidence=EvidenceLevel.STRONG,
            method="reporter assay and protein level (primary paper)",
            source=Source(doi=doi, citation=cite)))
    for i in inter:  # every name must parse (ranking unifies them)
        parse_mirna_name(i.mirna)
    OUT.mkdir(parents=True, exist_ok=True)

    def dump(name: str, items: list[Any]) -> None:
        data = [i.model_dump(mode="json", exclude_none=True, exclude_defaults=True)
                for i in items]
        (OUT / name).write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n",
                                encoding="utf-8")
        print(f"{name}: {len(items)}")

    dump("studies.json", studies)
    dump("trials.json", trials)
    dump("interactions.json", inter)
    dump("mirnas.json", mentioned_mature(studies, mature))
    dump("syntheses.json", SYNTHESES)
    (OUT / "arms.json").write_text(json.dumps(arm_table(mature), separators=(",", ":"),
                                              ensure_ascii=False) + "\n", encoding="utf-8")
    print("arms.json: dominant-arm calls for hsa, mmu, rno")


if __name__ == "__main__":
    main()
