"""context++ with SA, PCT and AIRs against TargetScan 7's sample outputs, all five species.

Reference: ``targetscan_sample/output/Targets.BL_PCT.context_scores.txt`` (675 site x mature
miRNA rows, 5 species) and ``targetscan_70_output.BL_PCT.txt`` (213 sites with branch length,
PCT and conservation calls), produced by TargetScan 7's perl on the sample inputs.
Tolerances: TargetScan prints contributions with 3 decimals, so "exact" means |diff| <= 0.0005
(plus float noise); SA differs by the ViennaRNA version (see docs/cargo.md).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from exomir.cargo.accessibility import unpaired
from exomir.cargo.conservation import Tree, conservation, site_pct, utr_bin
from exomir.cargo.context import (
    FEATURE_COLUMNS,
    local_au,
    score_sites,
    score_table,
    three_prime_score,
)
from exomir.cargo.isoforms import read_airs, scale_regions
from exomir.cargo.pipeline import scan_and_score
from exomir.cargo.sites import scan
from exomir.formats import read_mir_family_info, read_targetscan_utrs

TS_COLUMNS = {
    "intercept": "Site type contribution", "3P_score": "3' pairing contribution",
    "Local_AU": "local AU contribution", "Min_dist": "Min_dist contribution",
    "sRNA1A": "sRNA1A contribution", "sRNA1C": "sRNA1C contribution",
    "sRNA1G": "sRNA1G contribution", "sRNA8A": "sRNA8A contribution",
    "sRNA8C": "sRNA8C contribution", "sRNA8G": "sRNA8G contribution",
    "Site8A": "site8A contribution", "Site8C": "site8C contribution",
    "Site8G": "site8G contribution", "Len_3UTR": "3'UTR length contribution",
    "SA": "SA contribution", "Len_ORF": "ORF length contribution",
    "ORF8m": "ORF 8mer contribution", "Off6m": "Offset 6mer contribution",
    "TA_3UTR": "TA contribution", "SPS": "SPS contribution", "PCT": "PCT contribution",
}
EXACT = 0.0005 + 1e-9


@pytest.fixture(scope="module")
def sample(shared_data: Path) -> dict[str, Any]:
    d = shared_data / "targetscan_sample"
    utrs = list(read_targetscan_utrs(d / "input" / "UTR_Sequences_sample.txt"))
    fams = list(read_mir_family_info(d / "input" / "miR_Family_info_sample.txt"))
    return {
        "dir": d, "utrs": utrs, "fams": fams,
        "mature": pd.read_csv(d / "input" / "miR_for_context_scores.sample.txt", sep="\t",
                              header=None, names=["fam", "sp", "id", "seq"]),
        "orf_len": pd.read_csv(d / "output" / "ORF_Sequences_sample.lengths.txt", sep="\t",
                               header=None, names=["gene", "sp", "n"]),
        "orfs": list(read_targetscan_utrs(d / "input" / "ORF_Sequences_sample.txt")),
        "airs": read_airs(d / "input" / "All_cell_lines.AIRs.txt"),
        "cons": conservation([(f.family, f.seed, f.taxa) for f in fams],
                             [(u.id, u.taxon, u.aligned) for u in utrs]),
        "ref": pd.read_csv(d / "output" / "Targets.BL_PCT.context_scores.txt", sep="\t"),
    }


def _score(sample: dict[str, Any], taxon: int, *, compat: bool, sa: bool
           ) -> pd.DataFrame:
    """exomir's context++ of one species' sample UTRs, as TargetScan 7 is set up there."""
    fam_here = {f.family for f in sample["fams"] if taxon in f.taxa}
    m = sample["mature"]
    m = m[(m.sp == taxon) & m.fam.isin(fam_here)]
    mirs = list(zip(m.id, m.seq, strict=True))
    utrs = [(u.id, u.sequence) for u in sample["utrs"] if u.taxon == taxon]
    human = {u.id: len(u.sequence) for u in sample["utrs"] if u.taxon == 9606}
    airs = {g: scale_regions(r, human[g] / len(s))
            for g, s in utrs for r in [sample["airs"].get(g)] if r}
    ol = sample["orf_len"]
    table = scan(mirs, utrs)
    scores = score_table(
        table, utrs, mature=dict(mirs), airs=airs,
        orf_lengths={g: int(n) for g, s, n in ol.itertuples(index=False) if s == taxon},
        orfs=[(o.id, o.sequence) for o in sample["orfs"] if o.taxon == taxon],
        pct=site_pct(table, sample["cons"], taxon), sa=sa, targetscan_compat=compat)
    return scores.to_frame(table).assign(species=taxon)


@pytest.fixture(scope="module")
def merged(sample: dict[str, Any]) -> pd.DataFrame:
    """TargetScan-compatible scores (no SA) of all species, merged with the reference."""
    ours = pd.concat([_score(sample, t, compat=True, sa=False)
                      for t in (9606, 10090, 10116, 9031, 9615)])
    m = ours.merge(sample["ref"], left_on=["target", "species", "mirna", "utr_start"],
                   right_on=["Gene ID", "Species ID", "Mirbase ID", "UTR start"],
                   how="outer", indicator=True)
    assert (m["_merge"] == "both").all()  # the same 675 sites x miRNAs, none more
    assert len(m) == 675
    return m


@pytest.mark.parametrize("feature", [f for f in FEATURE_COLUMNS if f != "SA"])
def test_every_contribution_equals_targetscan(merged: pd.DataFrame, feature: str) -> None:
    diff = (merged[feature] - merged[TS_COLUMNS[feature]]).abs()
    assert diff.max() <= EXACT, merged.loc[diff.idxmax(), ["target", "species", "mirna"]]


def test_total_and_weighted_scores_equal_targetscan_given_its_sa(merged: pd.DataFrame) -> None:
    # with TargetScan's own SA contribution substituted, totals must be exactly TargetScan's
    total = merged[[f for f in FEATURE_COLUMNS if f != "SA"]].sum(axis=1) + \
        merged["SA contribution"]
    cap = merged.site_type.map({"8mer": -0.03, "7mer-m8": -0.02, "7mer-A1": -0.01,
                                "6mer": 0.0})
    assert np.abs(np.minimum(total.round(3), cap) - merged["context++ score"]).max() <= EXACT
    assert np.allclose(merged.AIR_x, merged.AIR_y, atol=1e-12)
    weighted = np.log2((np.exp2(merged["context++ score"]) - 1) * merged.AIR_x + 1)
    assert np.abs(weighted - merged["weighted context++ score"]).max() <= 0.00005 + 1e-9


def test_site_accessibility_within_viennarna_version_tolerance(sample: dict[str, Any]) -> None:
    ours = _score(sample, 9606, compat=True, sa=True)
    ref = sample["ref"][sample["ref"]["Species ID"] == 9606]
    m = ours.merge(ref, left_on=["target", "mirna", "utr_start"],
                   right_on=["Gene ID", "Mirbase ID", "UTR start"])
    assert len(m) == 206
    diff = (m.SA - m["SA contribution"]).abs()
    # 206 human rows: 84 % within TargetScan's rounding, none off by more than 0.005
    # (0.009 over all 675 rows of the five species; docs/cargo.md)
    assert (diff <= 0.0015).mean() >= 0.8
    assert diff.max() <= 0.005
    assert np.corrcoef(m.SA, m["SA contribution"])[0, 1] > 0.99


def test_branch_length_pct_and_bins_equal_targetscan(sample: dict[str, Any]) -> None:
    d = sample["dir"]
    ref = pd.read_csv(d / "output" / "targetscan_70_output.BL_PCT.txt", sep="\t",
                      keep_default_na=False)
    ref = ref[ref.Gene_ID != ""]
    m = sample["cons"].merge(ref.astype({"UTR_start": int}),
                             left_on=["gene", "family", "species", "utr_start"],
                             right_on=["Gene_ID", "miRNA_family_ID", "species_ID", "UTR_start"],
                             how="outer", indicator=True)
    assert (m["_merge"] == "both").all() and len(m) == 213
    assert (m.msa_start == m.MSA_start.astype(int)).all()
    assert (m.msa_end == m.MSA_end.astype(int)).all()
    assert np.abs(m.branch_length - m["Branch length score"].astype(float)).max() < 1e-9
    pct = pd.to_numeric(m.Pct.replace("NA", np.nan))
    assert (m.pct.isna() == pct.isna()).all()
    assert np.abs(m.pct - pct).max() < 1e-9
    assert (m.conserved == (m.Conserved == "x")).all()
    assert (pct > 0).sum() >= 25  # the sample exercises non-trivial PCTs (28 of 213)
    bins = pd.read_csv(d / "output" / "UTRs_median_BLs_bins.txt", sep="\t", header=None)
    rows: dict[str, dict[int, str]] = {}
    for u in sample["utrs"]:
        rows.setdefault(u.id, {})[u.taxon] = u.aligned
    for gene, bl, b in bins.itertuples(index=False):
        got_bl, got_bin = utr_bin(rows[gene])
        assert got_bin == b and got_bl == pytest.approx(bl, abs=1e-7)


def test_branch_length_is_the_joining_subtree() -> None:
    tree = Tree.named("generic")
    human_chimp = tree.branch_length([9606, 9598])
    h = tree.length[tree.leaf[9606]]
    c = tree.length[tree.leaf[9598]]
    assert human_chimp == pytest.approx(h + c)  # siblings in TargetScan's tree
    assert tree.branch_length([9606]) == 0.0 == tree.branch_length([9606, 123456789])
    three = tree.branch_length([9606, 9598, 10090])
    assert three > tree.branch_length([9606, 10090]) > human_chimp


def test_default_mode_differs_only_by_documented_quirks(sample: dict[str, Any]) -> None:
    a = _score(sample, 9606, compat=False, sa=False)
    b = _score(sample, 9606, compat=True, sa=False)
    same = [f for f in FEATURE_COLUMNS if f not in ("Site8A", "Site8C", "Site8G", "Off6m")]
    assert np.abs(a[same].to_numpy() - b[same].to_numpy()).max() <= EXACT
    not6 = (a.site_type != "6mer").to_numpy()
    site8 = ["Site8A", "Site8C", "Site8G"]
    assert np.abs(a.loc[not6, site8].to_numpy() - b.loc[not6, site8].to_numpy()).max() <= EXACT
    assert (b.Off6m != a.Off6m).any()  # TargetScan's public code counts 1 per isoform


@settings(max_examples=60, deadline=None)
@given(mir=st.text(alphabet="ACGU", min_size=8, max_size=26),
       utr=st.text(alphabet="ACGUN", min_size=40, max_size=160))
def test_compiled_kernels_equal_python_references(mir: str, utr: str) -> None:
    seed = mir[1:8]
    comp = {"A": "U", "C": "G", "G": "C", "U": "A"}
    m6 = "".join(comp[x] for x in reversed(seed[:6]))
    utr = utr[:30] + comp[seed[6]] + m6 + "A" + utr[30:]  # at least one 8mer
    table = scan([("m", mir)], [("u", utr)], mask_5p=0)
    f = score_sites(table, [("u", utr)], mature={"m": mir}, mask_5p=0)
    sc = score_table(table, [("u", utr)], mature={"m": mir}, mask_5p=0)
    for k, r in enumerate(f.itertuples(index=False)):
        st_ = str(r.site_type)
        p8 = r.utr_start if st_ in ("8mer", "7mer-m8") else r.utr_start - 1
        assert sc.raw["3P_score"][k] == three_prime_score(mir, utr, p8, r.utr_start, st_)
        assert sc.raw["Local_AU"][k] == local_au(utr, r.utr_start, r.utr_end, st_)


def test_chunked_threaded_pipeline_equals_one_pass(sample: dict[str, Any]) -> None:
    utrs = [(u.id, u.sequence) for u in sample["utrs"] if u.taxon == 9606]
    m = sample["mature"]
    mirs = list(zip(m[m.sp == 9606].id, m[m.sp == 9606].seq, strict=True))
    one = score_sites(scan(mirs, utrs), utrs, mature=dict(mirs))
    parts = [sc.to_frame(t) for t, sc in scan_and_score(mirs, utrs, chunk_nt=3000,
                                                        threads=2) if sc is not None]
    assert len(parts) > 2
    chunked = pd.concat(parts, ignore_index=True)
    pd.testing.assert_frame_equal(chunked, one)


def test_unpaired_is_rnaplfold_column_14() -> None:
    open_ = unpaired("A" * 40)  # A cannot pair with A: always unpaired
    assert open_.shape == (41,) and np.isnan(open_[:14]).all()
    assert np.allclose(open_[14:], 1.0)
    hairpin = "GGGCGCGCGCGCAAAAGCGCGCGCGCCC" + "A" * 20  # 12-bp GC stem, then single strand
    p = unpaired(hairpin)
    assert p[14] < 1e-3  # 14 nt ending in the stem are paired
    assert p[-1] > 0.9  # the 3' A tail is open


def test_cli_scan_with_sa_air_orf_pct(shared_data: Path, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from exomir.cli import app

    d = shared_data / "targetscan_sample" / "input"
    out = tmp_path / "sites.parquet"
    args = ["cargo", "scan", "--mirna", str(d / "miR_Family_info_sample.txt"),
            "--utr", str(d / "UTR_Sequences_sample.txt"), "--species", "9606",
            "--air", str(d / "All_cell_lines.AIRs.txt"),
            "--orf", str(d / "ORF_Sequences_sample.txt"), "--pct", "--sa", "--out", str(out)]
    r = CliRunner().invoke(app, args)
    assert r.exit_code == 0, r.output
    df = pd.read_parquet(out)
    assert len(df) == 88
    assert {"SA", "PCT", "AIR", "weighted_context_score", *FEATURE_COLUMNS} <= set(df)
    assert (df.SA != 0).all() and (df.Len_ORF != 0).all() and (df.AIR < 1).any()
    # PCT in a human-only scan comes from the alignment's other four species
    assert (df.PCT != 0).any()
    bad = CliRunner().invoke(app, ["cargo", "scan", "--mirna", str(d / "miR_Family_info_sample.txt"),
                                   "--utr", str(d / "UTR_Sequences_sample.txt"), "--pct"])
    assert bad.exit_code == 2 and "--species" in bad.output
