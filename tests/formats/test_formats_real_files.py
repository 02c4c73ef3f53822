"""Readers on the real reference files in ../shared/data (never copied into the repo).

Expected numbers come from the data README (2,656 human mature miRNAs; 50/186/293 gene sets)
or are counted here independently with plain string operations on the same file.
"""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from exomir.core import EvidenceLevel, Species
from exomir.formats import (
    ReadStats,
    read_gmt,
    read_mature_fasta,
    read_mir_family_info,
    read_mirtarbase,
    read_mirtarbase_rows,
    read_targetscan_utrs,
)
from exomir.formats.mirtarbase import is_hgnc_style


@pytest.fixture(scope="module")
def mature(shared_data: Path) -> Path:
    return shared_data / "mirbase" / "mature.fa"


def test_mature_counts_match_readme_and_headers(mature: Path) -> None:
    human = list(read_mature_fasta(mature, species=Species.HUMAN))
    assert len(human) == 2656  # data README: "all species (2,656 human)"
    headers = sum(1 for line in mature.read_text().splitlines() if line.startswith(">"))
    stats = ReadStats()
    assert sum(1 for _ in read_mature_fasta(mature, stats=stats)) == headers == stats.rows
    mouse_headers = sum(1 for line in mature.read_text().splitlines()
                        if line.startswith(">mmu-"))
    assert sum(1 for _ in read_mature_fasta(mature, species="mouse")) == mouse_headers


@pytest.mark.parametrize("spec", [Species.HUMAN, "human", "hsa", 9606, "9606"])
def test_species_filter_forms_agree(mature: Path, spec: object) -> None:
    names = [m.name for m in read_mature_fasta(mature, species=spec)]  # type: ignore[arg-type]
    assert len(names) == 2656 and all(n.startswith("hsa-") for n in names)


def test_known_mature_records(mature: Path) -> None:
    by_name = {m.name: m for m in read_mature_fasta(mature, species="hsa")}
    m146 = by_name["hsa-miR-146a-5p"]
    assert m146.accession == "MIMAT0000449"
    assert m146.sequence == "UGAGAACUGAAUUCCAUGGGUU"
    assert m146.seed == "GAGAACU"
    assert by_name["hsa-miR-21-5p"].accession == "MIMAT0000076"
    # every sequence is RNA and every accession a MIMAT id
    assert all(set(m.sequence) <= set("ACGUN") for m in by_name.values())
    assert all(m.accession and m.accession.startswith("MIMAT") for m in by_name.values())


def test_gzip_is_transparent(mature: Path, tmp_path: Path) -> None:
    gz = tmp_path / "mature.fa.gz"
    gz.write_bytes(gzip.compress(mature.read_bytes(), compresslevel=1))
    plain = [(m.name, m.sequence) for m in read_mature_fasta(mature, species="rno")]
    assert [(m.name, m.sequence) for m in read_mature_fasta(gz, species="rno")] == plain


def test_family_info_sample(shared_data: Path) -> None:
    path = shared_data / "targetscan_sample" / "input" / "miR_Family_info_sample.txt"
    fams = list(read_mir_family_info(path))
    assert len(fams) == 14  # README: 14 families
    assert len(list(read_mir_family_info(path, species="human"))) == 14
    assert len(list(read_mir_family_info(path, species="mouse"))) == 5
    # Seed+m8 is nucleotides 2-8 of the family's mature miRNA (context-score sample input)
    ctx = shared_data / "targetscan_sample" / "input" / "miR_for_context_scores.sample.txt"
    mature_by_family: dict[str, str] = {}
    for line in ctx.read_text().splitlines():
        fam, _taxon, _name, seq = line.split("\t")
        mature_by_family.setdefault(fam, seq)
    checked = 0
    for f in fams:
        if f.family in mature_by_family:
            assert f.seed == mature_by_family[f.family][1:8]
            checked += 1
    assert checked >= 5


def test_family_seed_matches_mirbase(shared_data: Path) -> None:
    path = shared_data / "targetscan_sample" / "input" / "miR_Family_info_sample.txt"
    seeds = {f.family: f.seed for f in read_mir_family_info(path)}
    mirbase = {m.name: m for m in read_mature_fasta(shared_data / "mirbase" / "mature.fa",
                                                    species="hsa")}
    assert seeds["let-7/98"] == mirbase["hsa-let-7a-5p"].seed
    assert seeds["miR-1/206"] == mirbase["hsa-miR-1-3p"].seed


def _revcomp(rna: str) -> str:
    return rna[::-1].translate(str.maketrans("ACGU", "UGCA"))


def test_utr_sample_against_targetscan_output(shared_data: Path) -> None:
    root = shared_data / "targetscan_sample"
    stats = ReadStats()
    utrs = {(u.id, u.taxon): u for u in
            read_targetscan_utrs(root / "input" / "UTR_Sequences_sample.txt", stats=stats)}
    raw_rows = (root / "input" / "UTR_Sequences_sample.txt").read_text().splitlines()
    assert stats.rows == len(raw_rows) == 28
    assert stats.kept + sum(stats.skipped.values()) == stats.rows
    for row in raw_rows:
        gene, taxon, aligned = row.split("\t")
        ungapped = aligned.replace("-", "")
        if ungapped:
            assert utrs[(gene, int(taxon))].sequence == ungapped.upper()
        else:
            assert (gene, int(taxon)) not in utrs
    seeds = {f.family: f.seed for f in
             read_mir_family_info(root / "input" / "miR_Family_info_sample.txt")}
    expected_site = {  # site = reverse complement of the seed pairing region (+ A opposite nt 1)
        "8mer-1a": lambda s: _revcomp(s) + "A",
        "7mer-m8": lambda s: _revcomp(s),
        "7mer-1a": lambda s: _revcomp(s[:6]) + "A",
        "6mer": lambda s: _revcomp(s[:6]),
    }
    out = (root / "output" / "targetscan_70_output.txt").read_text().splitlines()
    checked = 0
    for line in out[1:]:
        c = line.split("\t")
        u = utrs[(c[0], int(c[2]))]
        msa_s, msa_e, utr_s, utr_e = (int(x) for x in c[3:7])
        site = u.sequence[utr_s - 1:utr_e]
        assert u.aligned is not None
        assert u.aligned[msa_s - 1:msa_e].replace("-", "").upper() == site
        assert site == expected_site[c[8]](seeds[c[1]]), line
        checked += 1
    assert checked > 50


def test_mirtarbase_strong_pairs(shared_data: Path) -> None:
    for version in (9, 10):
        path = shared_data / "mirtarbase" / f"mirtarbase_v{version}_strong_pairs.tsv"
        stats = ReadStats()
        mtis = list(read_mirtarbase(path, stats=stats))
        data_lines = len(path.read_text(encoding="utf-8").splitlines()) - 1
        assert stats.rows == data_lines
        assert len(mtis) == stats.kept
        assert stats.kept + sum(stats.skipped.values()) == stats.rows
        assert all(m.mirna.startswith("hsa-") for m in mtis)
        assert all(m.evidence is EvidenceLevel.STRONG for m in mtis)
        assert all(is_hgnc_style(m.gene) for m in mtis)
        pairs = {(m.mirna, m.gene) for m in mtis}
        assert ("hsa-miR-146a-5p", "CXCR4") in pairs or version == 10
        assert ("hsa-miR-20a-5p", "HIF1A") in pairs or version == 10
    # v10: non-human and unprefixed entries are filtered, with the reason counted
    path10 = shared_data / "mirtarbase" / "mirtarbase_v10_strong_pairs.tsv"
    stats = ReadStats()
    rows = list(read_mirtarbase_rows(path10, stats=stats))
    names = {r.mirna for r in rows}
    assert not any(n.startswith(("mmu-", "rno-", "ebv-", "kshv-")) for n in names)
    assert "hsa-miR-15b-5p" in names  # written with U+2011 dashes in the file
    assert any(r.mirna == "hsa-miR-21-5p" and r.gene == "KLF6" and r.row_index == 9076
               for r in rows)  # written 'Hsa-miR-21-5p'
    assert "trim71" not in {r.gene for r in rows}
    assert stats.skipped["miRNA species prefix is not hsa"] > 50
    assert stats.skipped["miRNA name without species prefix"] > 10
    assert stats.skipped["target gene symbol is not human (HGNC style)"] > 100
    mouse = list(read_mirtarbase(path10, species="mouse"))
    assert mouse and all(m.mirna.startswith("mmu-") for m in mouse)


@pytest.mark.parametrize(("name", "count"), [
    ("msigdb_hallmark_v7.0.symbols.gmt", 50),
    ("msigdb_c2_cp_kegg_v7.5.1.symbols.gmt", 186),
    ("enrichr_KEGG_2016.gmt", 293),
])
def test_gmt_counts(shared_data: Path, name: str, count: int) -> None:
    sets = list(read_gmt(shared_data / "genesets" / name))
    assert len(sets) == count
    assert all(s.genes for s in sets)
    if name.startswith("enrichr"):
        assert all(s.description is None for s in sets)
    else:
        assert all(s.description and s.description.startswith("http") for s in sets)


def test_gmt_known_sets(shared_data: Path) -> None:
    kegg = {s.name: s for s in read_gmt(shared_data / "genesets" / "enrichr_KEGG_2016.gmt")}
    pi3k = next(s for n, s in kegg.items() if "hsa04151" in n)
    assert pi3k.name.startswith("PI3K-Akt signaling pathway")
    assert {"AKT1", "PIK3CA", "PTEN"} <= set(pi3k.genes)
    hallmark = list(read_gmt(shared_data / "genesets" / "msigdb_hallmark_v7.0.symbols.gmt"))
    tnfa = next(s for s in hallmark if s.name == "HALLMARK_TNFA_SIGNALING_VIA_NFKB")
    assert tnfa.genes[:3] == ["JUNB", "CXCL2", "ATF3"] and len(tnfa.genes) == 200
    go = shared_data / "genesets" / "enrichr_GO_Biological_Process_2021.gmt"
    n_lines = sum(1 for line in go.read_text().splitlines() if line.strip())
    assert sum(1 for _ in read_gmt(go)) == n_lines
