"""Build exomir's curated starter dataset from the project's reference tables.

Reads ``../shared/data/studies.csv``, ``trials.csv`` and ``mirbase/mature.fa`` and re-expresses
their facts in exomir's schema as JSON package data under ``src/exomir/kb/curated/``. Free text
is kept next to every parsed field; anything not reported (``NR``) stays unknown. Curator
decisions that a parser cannot make (arm-level numbers from tables, explicit miRNA-target
pairings) are written out in ``OVERRIDES`` and ``ARM_DATA`` below with their sources.

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
    ExosomeProduct,
    Indication,
    MatureMirna,
    MirnaTargetInteraction,
    Regimen,
    Species,
    Study,
    Subject,
)
from exomir.core.enums import EvidenceLevel, route_from_text
from exomir.core.mirna import MirnaName, find_mirna_names, mirna_matches
from exomir.core.models import Source

OUT = Path(__file__).resolve().parents[1] / "src" / "exomir" / "kb" / "curated"

# Canonical pathway tags and the words in curated text (pathway, targets) that name them.
PATHWAY_TAGS: list[tuple[str, str]] = [
    ("PI3K/Akt", r"pi3k|\bakt\b|akt/|/akt|\bpten\b|mtor"),
    ("NF-kB", r"nf-?k(appa)?b|nf-κb|\bnfkb|tlr4|tlr2|irak1|traf6|myd88|tnfaip3|\ba20\b"),
    ("MAPK", r"mapk|p38|\berk\b|/erk|jnk"),
    ("TGF-b/Smad", r"tgf|smad"),
    ("HIF-1a/VEGF", r"hif|vegf"),
    ("Wnt/beta-catenin", r"wnt|beta-catenin|β-catenin"),
    ("Notch", r"notch"),
    ("NLRP3 inflammasome", r"nlrp3"),
    ("autophagy", r"autophag"),
    ("AMPK", r"ampk"),
    ("macrophage polarization", r"\bm1\b|\bm2\b|macrophage polari"),
    ("angiogenesis", r"angiogen|neovascular|vasculari"),
    ("neuroinflammation", r"neuroinflam|microglia"),
    ("ferroptosis", r"ferroptosis"),
]

VALIDATION_WORDS = re.compile(r"luciferase|validated|reporter|pull-down|\brip\b", re.I)

# Gene text -> HGNC symbol, only where the curated text uses a protein name.
GENE_ALIASES = {"YAP": "YAP1", "A20": "TNFAIP3", "BIM": "BCL2L11", "FIH-1": "HIF1AN"}

# Studies whose several miRNAs and targets need an explicit pairing (from the curated text).
PAIRINGS: dict[str, list[tuple[str, str]]] = {
    "NP021": [("miR-199a-3p", "CBLB"), ("miR-145-5p", "CBL")],
}

# Arm-level outcomes transcribed from published tables (see shared validation_cases.md).
CHEN_2024 = {
    "id": "DW037",
    "indication": "diabetic_wound",
    "first_author": "Chen YQ",
    "year": 2024,
    "journal": "Chin J Burns Wounds 40(4):323",
    "doi": "10.3760/cma.j.cn501225-20231218-00248",
    "source_cell": "hUC-MSC",
    "species": "mouse",
    "model": "full-thickness skin defect (NOT diabetic; used as vehicle reference)",
    "route": "hydrogel",
    "route_text": "sEV embedded in GelMA hydrogel vs sEV injection vs GelMA only vs PBS",
    "outcome_measure": "wound healing rate (%)",
    "summary": "Table 2: healing rate (%) mean +/- SD, n = 6 per group at days 4, 8, 12; "
               "sEV in GelMA > sEV injection > GelMA only > PBS",
}
CHEN_2024_ARMS = [
    ("PBS", "control", [(4, 58.3, 1.3), (8, 63.7, 0.4), (12, 77.8, 1.3)]),
    ("GelMA hydrogel only", "other", [(4, 65.4, 4.4), (8, 69.2, 1.8), (12, 92.8, 0.5)]),
    ("hUC-MSC sEV injection", "treatment", [(4, 67.8, 0.9), (8, 75.7, 0.4), (12, 97.2, 0.6)]),
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

# Registry conditions broader than exomir's indications, and the indication they inform.
TRIAL_INDICATION = {"chronic_wound": "diabetic_wound"}

DOSES = {"DW036": Dose(value=100, unit="ug")}


def nr(text: str) -> str | None:
    t = text.strip()
    return None if not t or t.upper() == "NR" else t


def parse_source(text: str, url: str) -> Source:
    doi = re.search(r"doi:\s*(10\.\S+?)(?:;|\s|$)", text, re.I)
    pmid = re.search(r"PMID:\s*(\d+)", text, re.I)
    pmc = re.search(r"(PMC\d+)", text)
    return Source(doi=doi.group(1) if doi else None, pmid=pmid.group(1) if pmid else None,
                  pmcid=pmc.group(1) if pmc else None,
                  url=nr(url.split(" ; ")[0]) if url else None,
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
    joined = " ".join(texts).lower()
    return [tag for tag, pat in PATHWAY_TAGS if re.search(pat, joined)]


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


def parse_cargo(row: dict[str, str], species: Species | None,
                mature: dict[str, MatureMirna]) -> list[Cargo]:
    text = row["cargo_mirna"]
    mode = parse_mode(row["cargo_mode"])
    low = text.lower()
    if low.startswith(("not characterized", "exosomal mirna profile", "sev mirna profiles")) \
            or re.match(r"^\d+ ", low) or "names not in" in low:
        return []
    sponge = re.match(r"^(?:circRNA |lncRNA )?(\S+) \(sponges (miR-[\w-]+)\)", text)
    if sponge:
        return [Cargo(kind=CargoKind.SPONGE, name=sponge.group(1), mode=mode,
                      sponged_mirna=sponge.group(2))]
    out: list[Cargo] = []
    names = find_mirna_names(text)
    # "miR-146a (miR-146a-5p)": keep the most specific spelling of each miRNA.
    names = [n for n in names if not any(o is not n and mirna_matches(n, o) and len(str(o)) >
                                         len(str(n)) for o in names)]
    inhibit = "antagomir" in row["route_or_vehicle"].lower() or (
        mode == CargoMode.INHIBITED and "antagomir" in row["cargo_mode"].lower())
    for n in names:
        m = resolve(n, mature)
        out.append(Cargo(kind=CargoKind.MIRNA_INHIBITOR if inhibit else CargoKind.MIRNA,
                         name=str(n), mode=mode,
                         mirbase_accession=m.accession if m else None,
                         mature_sequence=m.sequence if m else None))
    return out


def build_study(row: dict[str, str], mature: dict[str, MatureMirna]) -> Study:
    species = parse_species(row["species"])
    cargo = parse_cargo(row, species, mature)
    route_text = nr(row["route_or_vehicle"])
    study = Study(
        id=row["id"],
        indication=Indication(row["indication"]),
        first_author=nr(row["first_author"]),
        year=int(row["year"]) if nr(row["year"]) else None,
        journal=nr(row["journal"]),
        source=parse_source(row["doi_or_pmid"], row["source_read"]),
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
        confidence=Confidence(row["confidence"]),
    )
    if study.id == "NP015":
        study.arms = [Arm(label=label, role=role, outcomes=[
            ArmOutcome(measure=m, unit=u, timepoint_days=21, median=med, q1=lo, q3=hi,
                       higher_is_better=True) for m, u, med, lo, hi in outs])
            for label, role, outs in HSU_2020_ARMS]
    return study


def chen_2024() -> Study:
    c = CHEN_2024
    return Study(
        id=c["id"], indication=Indication(c["indication"]), first_author=c["first_author"],
        year=c["year"], journal=c["journal"],
        source=Source(doi=c["doi"], citation="Chen YQ 2024 Chin J Burns Wounds 40(4):323, Table 2"),
        product=ExosomeProduct(source_cell=c["source_cell"]),
        cargo_text="not characterized (hUC-MSC sEV)",
        pathways=["angiogenesis"],
        subject=Subject(species=Species.MOUSE, species_text="mouse",
                        disease_model=c["model"]),
        delivery=Delivery(route=Route_hydrogel(), description=c["route_text"]),
        regimen=Regimen(),
        outcome_measure=c["outcome_measure"], outcome_summary=c["summary"],
        arms=[Arm(label=label, role=role, outcomes=[  # type: ignore[arg-type]
            ArmOutcome(measure="wound_closure", unit="percent", timepoint_days=d, n=6, mean=m,
                       sd=sd, higher_is_better=True) for d, m, sd in outs])
            for label, role, outs in CHEN_2024_ARMS],
        confidence=Confidence.HIGH,
    )


def Route_hydrogel():
    from exomir.core import Route

    return Route.HYDROGEL


def interactions(studies: list[Study]) -> list[MirnaTargetInteraction]:
    out: list[MirnaTargetInteraction] = []
    for s in studies:
        text = " ".join(filter(None, [s.outcome_summary, s.pathway_text]))
        strong = bool(VALIDATION_WORDS.search(text))
        method = ("validated in study (reporter/luciferase, pull-down or stated validation)"
                  if strong else "target named by the study; validation method not in text read")
        pairs: list[tuple[str, str]] = PAIRINGS.get(s.id, [])
        if not pairs:
            mirnas = [c.sponged_mirna if c.kind == CargoKind.SPONGE else c.name for c in s.cargo]
            mirnas = [m for m in mirnas if m]
            if len(mirnas) == 1:
                pairs = [(mirnas[0], g) for g in s.target_genes]
        for mirna, gene in pairs:
            out.append(MirnaTargetInteraction(
                mirna=mirna, gene=gene,
                evidence=EvidenceLevel.STRONG if strong else EvidenceLevel.WEAK,
                method=method, source=s.source, study_id=s.id))
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
    """Every human/mouse/rat mature miRNA of each miRNA family a study mentions."""
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
            if mirna_matches(base, cand):
                keep[full] = m
                break
    return sorted(keep.values(), key=lambda m: m.name)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--shared", type=Path, default=Path("../shared/data"))
    args = ap.parse_args()
    mature = read_mature(args.shared / "mirbase" / "mature.fa")
    with open(args.shared / "studies.csv", newline="", encoding="utf-8") as fh:
        studies = [build_study(r, mature) for r in csv.DictReader(fh)]
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


if __name__ == "__main__":
    main()
