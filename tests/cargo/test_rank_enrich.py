"""Evidence merge, enrichment (vs scipy Fisher / R p.adjust), ranking and the CLI."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import fisher_exact
from typer.testing import CliRunner

from exomir.cargo.enrich import bh_adjust, enrich, read_gmt
from exomir.cargo.evidence import curated_interactions, merge, read_mirtarbase
from exomir.cargo.rank import exosome_motifs, profiles, rank_cargo, repression
from exomir.cli import app
from exomir.core.enums import EvidenceLevel
from exomir.core.errors import InputError
from exomir.core.models import GeneSet, MirnaTargetInteraction


def test_profiles_have_sources_and_weights() -> None:
    for name, p in profiles().items():
        assert p["repress"], name
        for g in p["repress"] + p["spare"]:
            assert g["source"] and 0 < g["weight"] <= 1.0 and g["gene"].isupper()


def test_merge_keeps_strongest_evidence_and_all_sources() -> None:
    a = MirnaTargetInteraction(mirna="m", gene="g1", evidence=EvidenceLevel.WEAK)
    b = MirnaTargetInteraction(mirna="m", gene="G1", evidence=EvidenceLevel.STRONG,
                               study_id="S1")
    pred = pd.DataFrame({"mirna": ["m", "m"], "target": ["G1", "G2"], "n_sites": [1, 2],
                         "context_score": [-0.3, -0.5]})
    df = merge([a, b], pred).set_index("gene")
    assert df.loc["G1", "evidence"] == "strong" and df.loc["G1", "context_score"] == -0.3
    assert df.loc["G2", "evidence"] == "predicted" and df.loc["G2", "n_sites"] == 2
    assert any(s.startswith("S1") for s in df.loc["G1", "sources"])


def test_mirtarbase_filters_human(shared_data: Path) -> None:
    rows = read_mirtarbase(shared_data / "mirtarbase" / "mirtarbase_v10_strong_pairs.tsv")
    assert len(rows) > 5000
    assert all(r.mirna.startswith("hsa-") for r in rows)
    assert any(r.mirna == "hsa-miR-146a-5p" and r.gene == "TRAF6" for r in rows)


def test_mirtarbase_support_type(tmp_path: Path) -> None:
    f = tmp_path / "m.tsv"
    head = ("miRTarBase ID\tmiRNA\tSpecies (miRNA)\tTarget Gene\tTarget Gene (Entrez ID)\t"
            "Species (Target Gene)\tExperiments\tSupport Type\tReferences (PMID)\n")
    rows = [("MIRT1", "hsa-miR-1", "Homo sapiens", "A", "1", "Homo sapiens",
             "Luciferase reporter assay", "Functional MTI", "111"),
            ("MIRT2", "hsa-miR-1", "Homo sapiens", "B", "2", "Homo sapiens", "Microarray",
             "Functional MTI (Weak)", "222"),
            ("MIRT3", "hsa-miR-1", "Homo sapiens", "C", "3", "Homo sapiens", "qRT-PCR",
             "Non-Functional MTI", "333"),
            ("MIRT4", "mmu-miR-1", "Mus musculus", "D", "4", "Mus musculus", "Western blot",
             "Functional MTI", "444")]
    f.write_text(head + "".join("\t".join(r) + "\n" for r in rows))
    got = {(r.gene, r.evidence.value) for r in read_mirtarbase(f)}
    assert got == {("A", "strong"), ("B", "weak")}
    bad = tmp_path / "bad.tsv"
    bad.write_text("x\ty\n1\t2\n")
    with pytest.raises(InputError, match="miRNA"):
        read_mirtarbase(bad)


@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_enrichment_p_equals_one_sided_fisher(data: st.DataObject) -> None:
    universe = [f"G{i}" for i in range(60)]
    sets = [GeneSet(name=f"S{j}", genes=sorted(data.draw(
        st.sets(st.sampled_from(universe), min_size=5, max_size=30)))) for j in range(3)]
    sets.append(GeneSet(name="all", genes=universe))
    query = data.draw(st.sets(st.sampled_from(universe), min_size=1, max_size=25))
    res = enrich(query, sets, min_size=1).set_index("gene_set")
    uni = set().union(*(set(s.genes) for s in sets))
    for s in sets:
        k = len(query & set(s.genes))
        table = [[k, len(query) - k],
                 [len(set(s.genes)) - k, len(uni) - len(s.genes) - len(query) + k]]
        p = fisher_exact(table, alternative="greater")[1]
        assert res.loc[s.name, "p"] == pytest.approx(p, rel=1e-9, abs=1e-12)


def test_bh_matches_r_p_adjust(rscript: str) -> None:
    p = np.array([0.001, 0.04, 0.03, 0.2, 0.5, 0.01, 0.04, 0.9])
    r = subprocess.run([rscript, "-e", "cat(p.adjust(c(" + ",".join(map(str, p)) +
                        "), method='BH'), sep=' ')"], capture_output=True, text=True, check=True)
    expected = np.array([float(x) for x in r.stdout.split()])
    assert np.allclose(bh_adjust(p), expected)


def test_enrichment_of_mir146a_targets_hits_tlr_pathway(shared_data: Path) -> None:
    sets = read_gmt(shared_data / "genesets" / "enrichr_KEGG_2016.gmt")
    rows = read_mirtarbase(shared_data / "mirtarbase" / "mirtarbase_v10_strong_pairs.tsv")
    targets = {r.gene for r in rows if r.mirna == "hsa-miR-146a-5p"}
    res = enrich(targets, sets)
    tlr = res[res.gene_set.str.startswith("Toll-like receptor signaling")].iloc[0]
    assert tlr.q < 1e-3 and "TRAF6" in tlr.genes and "IRAK1" in tlr.genes


def test_gmt_errors(tmp_path: Path) -> None:
    f = tmp_path / "x.gmt"
    f.write_text("only_name\n")
    with pytest.raises(InputError) as e:
        read_gmt(f)
    assert e.value.line == 1


def test_repression_and_motifs() -> None:
    assert repression("strong", float("nan")) == 1.0
    assert repression("predicted", -1.0) == pytest.approx(0.5)
    assert exosome_motifs("UGAGGAGUAG") == ["GGAG"] and exosome_motifs("UUUU") == []


def test_rank_exact_vs_bruteforce_and_greedy() -> None:
    rows = [MirnaTargetInteraction(mirna=m, gene=g, evidence=EvidenceLevel(e)) for m, g, e in [
        ("a", "IRAK1", "strong"), ("a", "TRAF6", "strong"), ("b", "TRAF6", "strong"),
        ("b", "OPRM1", "strong"), ("c", "SCN8A", "weak"), ("c", "XYZ", "strong"),
        ("d", "TLR4", "strong")]]
    inter = merge(rows)
    res = rank_cargo(inter, "neuropathic_pain", k=2)
    # hand: a=2, b=1-1(OPRM1 spare)=0, c=0.5-0.01, d=1 -> best pair a+d=3
    assert res[1][0].mirnas == ("a",) and res[1][0].score == pytest.approx(2.0)
    assert res[2][0].mirnas == ("a", "d") and res[2][0].score == pytest.approx(3.0)
    b = next(c for c in rank_cargo(inter, "neuropathic_pain", k=1, top=10)[1]
             if c.mirnas == ("b",))
    assert b.spare_penalty == pytest.approx(1.0)
    assert {d["gene"] for d in b.contributions} == {"TRAF6", "OPRM1"}
    greedy = rank_cargo(inter, "neuropathic_pain", k=2, max_exact=1)
    assert greedy[2][0].method == "greedy" and greedy[2][0].mirnas == ("a", "d")


def test_rank_out_of_the_box_uses_curated_data() -> None:
    res = rank_cargo(merge(curated_interactions(), prefix="hsa"), "diabetic_wound", k=1)
    assert res[1][0].mirnas == ("hsa-miR-146a-5p",)


runner = CliRunner()


def test_cli_rank_json() -> None:
    r = runner.invoke(app, ["cargo", "rank", "--indication", "neuropathic_pain", "--k", "2",
                            "--format", "json"])
    assert r.exit_code == 0, r.output
    data = json.loads(r.output)["candidates"]
    assert data["1"][0]["contributions"][0]["by"][0]["evidence"] in ("strong", "weak")
    assert len(data["2"][0]["mirnas"]) == 2
    assert set(data["2"][0]["modality"].values()) <= {"mimic", "inhibitor"}


def test_cli_rank_table_and_bad_indication() -> None:
    r = runner.invoke(app, ["cargo", "rank", "--indication", "neuropathic_pain"])
    assert r.exit_code == 0 and "IRAK1" in r.output
    bad = runner.invoke(app, ["cargo", "rank", "--indication", "asthma"])
    assert bad.exit_code == 2 and "asthma" in bad.output


def test_cli_scan_targetscan_sample(shared_data: Path, tmp_path: Path) -> None:
    d = shared_data / "targetscan_sample" / "input"
    out = tmp_path / "sites.tsv"
    r = runner.invoke(app, ["cargo", "scan", "--mirna", str(d / "miR_Family_info_sample.txt"),
                            "--utr", str(d / "UTR_Sequences_sample.txt"), "--species", "9606",
                            "--out", str(out)])
    assert r.exit_code == 0, r.output
    df = pd.read_csv(out, sep="\t")
    assert len(df) == 88
    assert {"mirna", "target", "site_type", "utr_start", "utr_end", "context_score"} <= set(df)
    pq = tmp_path / "sites.parquet"
    r2 = runner.invoke(app, ["cargo", "scan", "--mirna", str(d / "miR_Family_info_sample.txt"),
                             "--utr", str(d / "UTR_Sequences_sample.txt"), "--species", "9606",
                             "--site-types", "8mer,offset-6mer", "--no-scores", "--out", str(pq)])
    assert r2.exit_code == 0, r2.output
    assert set(pd.read_parquet(pq).site_type) <= {"8mer", "offset-6mer"}


def test_names_unified_to_species_only_where_the_seed_is_identical() -> None:
    from exomir.cargo.evidence import canonical_name, resolve_name

    assert canonical_name("mmu-miR-21a-5p", "hsa") == "hsa-miR-21-5p"
    assert canonical_name("miR-146a-5p", "hsa") == "hsa-miR-146a-5p"
    assert canonical_name("rno-miR-150-5p", "hsa") == "hsa-miR-150-5p"
    # issue 15: mmu-miR-101b-3p (seed UACAGUA) is not hsa-miR-101-3p (ACAGUAC, miRBase 22)
    name, note = resolve_name("mmu-miR-101b-3p", "hsa")
    assert name == "mmu-miR-101b-3p" and "UACAGUA" in note and "ACAGUAC" in note
    assert resolve_name("rno-miR-101b-3p", "hsa")[0] == "hsa-miR-101-3p"  # same seed: mapped
    # a sequence we are told differs is not mapped either
    fake = {"mmu-miR-146a-5p": "UCCCAACUGAAUUCCAUGGGUU"}
    assert resolve_name("mmu-miR-146a-5p", "hsa", fake)[0] == "mmu-miR-146a-5p"
