"""Every exomir command that reads a user file, with a valid base input to mutate.

Each :class:`Cmd` builds the argument list for one input file; ``base`` is a valid file (an
example of the repository or a small inline one written to the test folder) that mutations
start from. ``writes_kb`` commands must leave the knowledge base unchanged when they fail.
Other engineers' commands (sensitivity, serve, ...) are added here when they land.

``calibrate`` runs with ``--to-petab`` (every reader and check of a problem, the SBML export and
petab's lint, but no fit): the short YAML, its data CSV, a PEtab problem's YAML and measurement
table; a calibrated-parameter file is fuzzed through ``simulate --params``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from tests.fuzz.harness import DESIGN_EXAMPLES, EXAMPLES

EQ = EXAMPLES / "quality"
CAL = Path(__file__).resolve().parents[1] / "calibrate" / "data"
ER = EXAMPLES / "release"

MIRNA_FA = """>hsa-miR-21-5p MIMAT0000076 Homo sapiens miR-21-5p
UAGCUUAUCAGACUGAUGUUGA
>hsa-miR-146a-5p MIMAT0000449 Homo sapiens miR-146a-5p
UGAGAACUGAAUUCCAUGGGUU
>mmu-miR-126a-3p MIMAT0000138 Mus musculus miR-126a-3p
UCGUACCGUGAGUAAUAAUGCG
"""
UTR_FA = """>PTEN
UUUAAAUAAGCUAAAAAGUUCUAAAUAAGCUAUUUGAUUCCAUAUAAAGAUAAGCUAUUUAAAUAAGCUACGAUCGAUCGAUCGAUCGAU
>TRAF6
AAAGUUCUCAAAUGCAUGCAUAAAGUUCUCAUUUAAAAGUUCUCAGGCAUGCAUAUGCAUCGAUCGAUGCAUGCAGUCAGUCAG
>IRAK1
GCGCGCAGUUCUCAGCGCGCUAUAUAUAGUUCUCAUAUAUCGCGCGAUAUAAAGUUCUCAAAAAAAAAAAAAAUUUUUUUUUUU
"""
GMT = ("SET_A\tdesc\tPTEN\tAKT1\tTRAF6\tIRAK1\tNFKB1\tRELA\n"
       "SET_B\thttp://x\tVEGFA\tKDR\tPTEN\tSPRED1\tPIK3R2\tHIF1A\n"
       "SET_C\t\tIL6\tTNF\tIL1B\tTRAF6\tIRAK1\tMYD88\n")
MIRTARBASE = ("\tmiRNA\tGene\tGene ID\tEnsembl.ID\n"
              "1\thsa-miR-146a-5p\tTRAF6\t7189\tENSG00000175104\n"
              "2\thsa-miR-146a-5p\tIRAK1\t3654\tENSG00000184216\n"
              "3\thsa-miR-21-5p\tPTEN\t5728\tENSG00000171862\n")
META_CSV = ("study,m1i,sd1i,n1i,m2i,sd2i,n2i,year,route\n"
            "A 2019,80,5,6,60,6,6,2019,hydrogel\nB 2020,85,4,7,62,5,7,2020,sc\n"
            "C 2021,70,8,8,58,7,8,2021,hydrogel\nD 2022,75,6,5,65,6,5,2022,sc\n"
            "E 2023,90,3,10,61,4,10,2023,iv\n")
SHEET = ("study,indication,outcome,treatment,timepoint_days,m1i,sd1i,se1i,n1i,m2i,sd2i,n2i,"
         "year,rob_1,rob_blinding_assessor\n"
         "FZ1,diabetic_wound,wound_closure,exo,14,80,5,,6,60,6,12,2022,low,high\n"
         "FZ1,diabetic_wound,wound_closure,exo+gel,14,90,4,,6,60,6,12,2022,low,high\n"
         "FZ2,diabetic_wound,wound_closure,exo,10,70,,1.5,8,55,5,8,2023,unclear,\n")
GENES = "PTEN\nTRAF6\nIRAK1\nVEGFA\n"
AIRS = "PTEN\t1\t60\t70\nPTEN\t1\t86\t30\nTRAF6\t1\t84\t100\n"
DESIGN_SMALL_OVERRIDES = {"subjects:": "subjects: 3", "days:": "days: 21",
                          "outcome_day:": "outcome_day: 14"}


@dataclass(frozen=True)
class Cmd:
    """One command that reads a user file."""

    name: str
    suffix: str
    base: Callable[[Path], Path]
    args: Callable[[Path, Path], list[str]]  # (input file, scratch folder) -> argv
    allowed: tuple[int, ...] = (0, 2)
    writes_kb: bool = False
    tags: frozenset[str] = field(default_factory=frozenset)


def _inline(name: str, text: str) -> Callable[[Path], Path]:
    def make(tmp: Path) -> Path:
        p = tmp / name
        p.write_text(text, encoding="utf-8")
        return p

    return make


def _copy(src: Path, edits: dict[str, str] | None = None) -> Callable[[Path], Path]:
    def make(tmp: Path) -> Path:
        lines = src.read_text(encoding="utf-8").splitlines()
        if edits:
            lines = [next((v for k, v in edits.items() if ln.startswith(k)), ln)
                     for ln in lines]
        p = tmp / src.name
        p.write_text("\n".join(lines) + "\n", encoding="utf-8")
        if src.parent == EQ:  # batch records refer to their NTA file next to them
            for extra in ("batch_A_nanosight.csv",):
                (tmp / extra).write_bytes((EQ / extra).read_bytes())
        return p

    return make


def _kb_json(tmp: Path) -> Path:
    from exomir.kb import io as kbio
    from exomir.kb import open_kb

    p = tmp / "records.json"
    p.write_text(kbio.dump_json("studies", open_kb().studies()[:3]), encoding="utf-8")
    return p


def _kb_csv(tmp: Path) -> Path:
    from exomir.kb import io as kbio
    from exomir.kb import open_kb

    p = tmp / "records.csv"
    p.write_text(kbio.dump_csv("studies", open_kb().studies()[:3]), encoding="utf-8")
    return p


def _kb_syntheses(tmp: Path) -> Path:
    from exomir.kb import io as kbio
    from exomir.kb import open_kb

    p = tmp / "syntheses.json"
    p.write_text(kbio.dump_json("syntheses", open_kb().syntheses()[:2]), encoding="utf-8")
    return p


def _calib_csv_args(f: Path, tmp: Path) -> list[str]:
    """The short problem YAML, its data entry pointing at the fuzzed CSV."""
    text = (CAL / "wound_user.yaml").read_text(encoding="utf-8")
    y = tmp / f"calib-{f.stem}.yaml"
    y.write_text(text.replace("  - wound_user.csv", f"  - {{file: '{f}'}}"), encoding="utf-8")
    return ["calibrate", str(y), "--to-petab", str(tmp / "petab-out")]


def _petab_base(tmp: Path) -> Path:
    """PEtab files of the user wound problem (exomir's own writer), written once."""
    d = tmp / "petab-base"
    if not (d / "problem.yaml").exists():
        from exomir.calibrate.petab_io import write_petab
        from exomir.calibrate.problem import load_problem

        write_petab(load_problem(tmp / "wound_user.yaml"), d)
    return d


def _petab_file(name: str) -> Callable[[Path], Path]:
    def make(tmp: Path) -> Path:
        p = tmp / f"base-{name}"
        p.write_bytes((_petab_base(tmp) / name).read_bytes())
        return p

    return make


def _petab_args(name: str) -> Callable[[Path, Path], list[str]]:
    """Copy the PEtab folder, put the fuzzed file in place of ``name``, convert it."""
    def args(f: Path, tmp: Path) -> list[str]:
        import shutil

        d = tmp / "petab-run"
        shutil.rmtree(d, ignore_errors=True)
        shutil.copytree(_petab_base(tmp), d)
        target = d / name
        target.unlink()
        if f.is_file() and f.stat().st_size < 10**8:
            target.write_bytes(f.read_bytes())
        else:  # a directory, /dev/zero, a missing file: the PEtab YAML names that path
            target.symlink_to(f)
        return ["calibrate", str(d / "problem.yaml"), "--to-petab", str(tmp / "petab-out")]

    return args


CALIBRATED = """{"format": "exomir-calibrated-parameters/1",
 "problem": {"id": "wound_user", "indication": "diabetic_wound", "species": "mouse"},
 "data_sources": ["synthetic test data"],
 "parameters": [
  {"name": "k_contraction", "value": 0.3, "scale": "log10", "lower": 0.05, "upper": 5,
   "se": 0.05, "ci95": [0.22, 0.41], "identifiability": "identifiable"},
  {"name": "emax_ev", "value": 0.5, "scale": "log10", "lower": 0.01, "upper": 10,
   "se": 0.1, "ci95": [0.3, 0.8], "identifiability": "identifiable"},
  {"name": "k_effect", "value": 1.0, "scale": "log10", "lower": 0.05, "upper": 5,
   "identifiability": "practically non-identifiable"}],
 "covariance": {"names": ["k_contraction", "emax_ev"],
                "matrix": [[0.0025, 0.001], [0.001, 0.01]]}}
"""


def _sim_args(f: Path, tmp: Path) -> list[str]:
    return ["simulate", str(f), "--subjects", "2", "--format", "json"]


COMMANDS: tuple[Cmd, ...] = (
    Cmd("kb-import-json", ".json", _kb_json, lambda f, t: ["kb", "import", str(f)],
        writes_kb=True),
    Cmd("kb-import-csv", ".csv", _kb_csv, lambda f, t: ["kb", "import", str(f)],
        writes_kb=True),
    Cmd("kb-import-syntheses", ".json", _kb_syntheses, lambda f, t: ["kb", "import", str(f)],
        writes_kb=True),
    Cmd("kb-import-fasta", ".fa", _inline("mature.fa", MIRNA_FA),
        lambda f, t: ["kb", "import", str(f)], writes_kb=True),
    Cmd("kb-import-gmt", ".gmt", _inline("sets.gmt", GMT),
        lambda f, t: ["kb", "import", str(f)], writes_kb=True),
    Cmd("kb-import-mirtarbase", "_mirtarbase.tsv", _inline("x_mirtarbase.tsv", MIRTARBASE),
        lambda f, t: ["kb", "import", str(f)], writes_kb=True),
    Cmd("evidence-meta", ".csv", _inline("meta.csv", META_CSV),
        lambda f, t: ["evidence", "meta", "--data", str(f), "--format", "json"]),
    Cmd("evidence-meta-by", ".csv", _inline("meta.csv", META_CSV),
        lambda f, t: ["evidence", "meta", "--data", str(f), "--by", "route"]),
    Cmd("evidence-rob", ".csv", _inline("sheet.csv", SHEET),
        lambda f, t: ["evidence", "rob", "--sheet", str(f)]),
    Cmd("evidence-import-sheet", ".csv", _inline("sheet.csv", SHEET),
        lambda f, t: ["evidence", "import-sheet", str(f)], writes_kb=True),
    Cmd("cargo-scan-mirna", ".fa", _inline("mirs.fa", MIRNA_FA),
        lambda f, t: ["cargo", "scan", "--mirna", str(f), "--utr", str(t / "utr.fa")]),
    Cmd("cargo-scan-utr", ".fa", _inline("utr.fa", UTR_FA),
        lambda f, t: ["cargo", "scan", "--mirna", str(t / "mirs.fa"), "--utr", str(f)]),
    Cmd("cargo-scan-air", ".txt", _inline("airs.txt", AIRS),
        lambda f, t: ["cargo", "scan", "--mirna", str(t / "mirs.fa"), "--utr", str(t / "utr.fa"),
                      "--air", str(f)]),
    Cmd("cargo-scan-orf", ".fa", _inline("orf.fa", UTR_FA),
        lambda f, t: ["cargo", "scan", "--mirna", str(t / "mirs.fa"), "--utr", str(t / "utr.fa"),
                      "--orf", str(f)]),
    Cmd("cargo-enrich-genes", ".txt", _inline("genes.txt", GENES),
        lambda f, t: ["cargo", "enrich", "--gmt", str(t / "sets.gmt"), "--genes", str(f)]),
    Cmd("cargo-enrich-gmt", ".gmt", _inline("sets.gmt", GMT),
        lambda f, t: ["cargo", "enrich", "--gmt", str(f), "--genes", str(t / "genes.txt")]),
    Cmd("cargo-rank-mirtarbase", ".tsv", _inline("mtb.tsv", MIRTARBASE),
        lambda f, t: ["cargo", "rank", "--indication", "diabetic_wound", "--mirtarbase",
                      str(f), "--top", "2"]),
    Cmd("release-fit", ".csv", _copy(ER / "gelma_synthetic.csv"),
        lambda f, t: ["release", "fit", "--data", str(f), "--models", "base", "--format",
                      "json"]),
    Cmd("release-compare", ".csv", _copy(ER / "chitosan_synthetic.csv"),
        lambda f, t: ["release", "compare", str(f), str(ER / "gelma_synthetic.csv"),
                      "--bootstrap", "100"]),
    Cmd("simulate", ".yaml", _copy(EXAMPLES / "diabetic_wound_hydrogel.yaml"), _sim_args,
        tags=frozenset({"slow"})),
    Cmd("calibrate-yaml", ".yaml", _copy(CAL / "wound_user.yaml"),
        lambda f, t: ["calibrate", str(f), "--to-petab", str(t / "petab-out")]),
    Cmd("calibrate-csv", ".csv", _copy(CAL / "wound_user.csv"), _calib_csv_args),
    Cmd("calibrate-petab-yaml", ".yaml", _petab_file("problem.yaml"),
        _petab_args("problem.yaml")),
    Cmd("calibrate-petab-measurements", ".tsv", _petab_file("measurements.tsv"),
        _petab_args("measurements.tsv")),
    Cmd("simulate-params", ".json", _inline("calibrated.json", CALIBRATED),
        lambda f, t: ["simulate", str(EXAMPLES / "diabetic_wound_hydrogel.yaml"), "--params",
                      str(f), "--subjects", "2", "--format", "json"],
        tags=frozenset({"slow"})),
    Cmd("design", ".yaml", _copy(DESIGN_EXAMPLES / "neuropathic_pain.yaml",
                                 DESIGN_SMALL_OVERRIDES),
        lambda f, t: ["design", str(f), "--out", str(t / "design-out")],
        tags=frozenset({"slow"})),
    Cmd("quality-misev", ".yaml", _copy(EQ / "record_synthetic.yaml"),
        lambda f, t: ["quality", "misev", str(f), "--format", "json"]),
    Cmd("quality-nta", ".csv", _copy(EQ / "batch_A_nanosight.csv"),
        lambda f, t: ["quality", "nta", str(f)]),
    Cmd("quality-nta-zetaview", ".csv", _copy(EQ / "batch_B_zetaview.csv"),
        lambda f, t: ["quality", "nta", str(f), "--format", "json"]),
    Cmd("quality-compare", ".csv", _copy(EQ / "batch_B_zetaview.csv"),
        lambda f, t: ["quality", "compare", str(EQ / "batch_A_nanosight.csv"), str(f)]),
    Cmd("quality-release-spec", ".yaml", _copy(EQ / "release_spec_synthetic.yaml"),
        lambda f, t: ["quality", "release", str(f), str(t / "batch_A_record_synthetic.yaml")],
        allowed=(0, 1, 2)),
    Cmd("quality-release-batch", ".yaml", _copy(EQ / "batch_A_record_synthetic.yaml"),
        lambda f, t: ["quality", "release", str(EQ / "release_spec_synthetic.yaml"), str(f)],
        allowed=(0, 1, 2)),
)


def prepare(tmp: Path) -> None:
    """Write the companion files the argument builders refer to (mirs.fa, utr.fa, ...)."""
    tmp.mkdir(parents=True, exist_ok=True)
    (tmp / "mirs.fa").write_text(MIRNA_FA, encoding="utf-8")
    (tmp / "utr.fa").write_text(UTR_FA, encoding="utf-8")
    (tmp / "sets.gmt").write_text(GMT, encoding="utf-8")
    (tmp / "genes.txt").write_text(GENES, encoding="utf-8")
    (tmp / "batch_A_record_synthetic.yaml").write_bytes(
        (EQ / "batch_A_record_synthetic.yaml").read_bytes())
    (tmp / "batch_A_nanosight.csv").write_bytes((EQ / "batch_A_nanosight.csv").read_bytes())
    for name in ("wound_user.yaml", "wound_user.csv"):  # the calibrate problems' base files
        (tmp / name).write_bytes((CAL / name).read_bytes())


BY_NAME = {c.name: c for c in COMMANDS}
