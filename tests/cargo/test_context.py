"""context++ features against TargetScan 7's own per-site contributions (sample output)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from exomir.cargo.context import (
    CAP,
    combine_pairs,
    contribution,
    local_au,
    score_sites,
    ta_sps,
    three_prime_score,
)
from exomir.cargo.inputs import read_utrs
from exomir.cargo.sites import scan

# exomir column -> TargetScan column; compared within 0.0015 (TargetScan rounds to 3 dp)
EXACT = {
    "intercept": "Site type contribution", "3P_score": "3' pairing contribution",
    "Local_AU": "local AU contribution", "sRNA1A": "sRNA1A contribution",
    "sRNA1C": "sRNA1C contribution", "sRNA1G": "sRNA1G contribution",
    "sRNA8A": "sRNA8A contribution", "sRNA8C": "sRNA8C contribution",
    "sRNA8G": "sRNA8G contribution", "Site8A": "site8A contribution",
    "Site8C": "site8C contribution", "Site8G": "site8G contribution",
    "Len_ORF": "ORF length contribution", "ORF8m": "ORF 8mer contribution",
    "TA_3UTR": "TA contribution", "SPS": "SPS contribution",
}


@pytest.fixture(scope="module")
def merged(shared_data: Path) -> pd.DataFrame:
    d = shared_data / "targetscan_sample"
    mc = pd.read_csv(d / "input" / "miR_for_context_scores.sample.txt", sep="\t", header=None,
                     names=["fam", "sp", "id", "seq"])
    mc = mc[mc.sp == 9606]
    mirs = list(zip(mc.id, mc.seq, strict=True))
    utrs = read_utrs(d / "input" / "UTR_Sequences_sample.txt", 9606)
    orfs = read_utrs(d / "input" / "ORF_Sequences_sample.txt", 9606)
    lens = pd.read_csv(d / "output" / "ORF_Sequences_sample.lengths.txt", sep="\t", header=None)
    orf_len = {g: int(n) for g, s, n in lens.itertuples(index=False) if s == 9606}
    scored = score_sites(scan(mirs, utrs), utrs, mature=dict(mirs), orf_lengths=orf_len,
                         orfs=orfs, targetscan_compat=True)
    ref = pd.read_csv(d / "output" / "Targets.BL_PCT.context_scores.txt", sep="\t")
    ref = ref[ref["Species ID"] == 9606]
    m = scored.merge(ref, left_on=["target", "mirna", "utr_start"],
                     right_on=["Gene ID", "Mirbase ID", "UTR start"], how="inner")
    assert len(m) == len(ref) == 206  # every reference site found by our scanner
    return m


@pytest.mark.parametrize("ours", sorted(EXACT))
def test_feature_contributions_match_targetscan(merged: pd.DataFrame, ours: str) -> None:
    ref = pd.to_numeric(merged[EXACT[ours]])
    diff = (merged[ours] - ref).abs()
    assert diff.max() <= 0.0015, merged.loc[diff.idxmax(), ["target", "mirna", "utr_start"]]


def test_site8_of_6mers_differs_from_targetscan_only_by_its_padding_artefact(
        shared_data: Path) -> None:
    d = shared_data / "targetscan_sample"
    utrs = read_utrs(d / "input" / "UTR_Sequences_sample.txt", 9606)
    mir = [("hsa-miR-608", "AGGGGUGGUGUUGGGACAGCUCCGU")]
    t = scan(mir, utrs)
    a = score_sites(t, utrs, mature=dict(mir))
    b = score_sites(t, utrs, mature=dict(mir), targetscan_compat=True)
    six = a.site_type == "6mer"
    assert (a.loc[~six, "Site8C"] == b.loc[~six, "Site8C"]).all()


def test_total_score_is_sum_capped(merged: pd.DataFrame) -> None:
    parts = merged[["intercept", "3P_score", "Local_AU", "Min_dist", "sRNA1A", "sRNA1C",
                    "sRNA1G", "sRNA8A", "sRNA8C", "sRNA8G", "Site8A", "Site8C", "Site8G",
                    "Len_3UTR", "Len_ORF", "ORF8m", "Off6m", "TA_3UTR", "SPS"]].sum(axis=1)
    cap = merged.site_type.map(CAP)
    assert np.allclose(merged.context_score, np.minimum(parts.round(3), cap))
    assert (merged.context_score <= cap + 1e-12).all()


def test_scaling_follows_published_min_max() -> None:
    # Local_AU 8mer: coeff -0.254, min 0.308, max 0.814 (Agarwal 2015)
    assert contribution("8mer", "Local_AU", 0.814) == pytest.approx(-0.254)
    assert contribution("8mer", "Local_AU", 0.308) == pytest.approx(0.0)
    ta, sps = ta_sps("GAGGUAG", "8mer")
    assert 2.5 < ta < 4.5 and -15 < sps < 0


def test_three_prime_pairing_by_hand() -> None:
    # perfect complement of nt 13-16 two nt upstream-shifted site: 4 pairs at nt 13-16 -> 4.0
    mir = "UGAGGUAGUAGGUUGUAUAGUU"  # let-7a
    comp = {"A": "U", "C": "G", "G": "C", "U": "A"}
    # UTR bases opposite nt 9..16 at zero offset, 5'->3' = complement of nt16..9
    pair9_16 = "".join(comp[b] for b in reversed(mir[8:16]))
    site = "CUACCUCA"  # 8mer for let-7 (m8 + M6 + A1)
    utr = "GGGGGGG" + pair9_16 + site + "GGGG"
    start = utr.index(site) + 1
    score = three_prime_score(mir, utr, start, start, "8mer")
    assert score == pytest.approx(4 * 1.0 + 4 * 0.5)
    assert three_prime_score(mir, "G" * 15 + site, 16, 16, "8mer") == 0.0


@settings(max_examples=50, deadline=None)
@given(utr=st.text(alphabet="ACGU", min_size=70, max_size=120), pos=st.integers(31, 40))
def test_local_au_bounds_and_monotone(utr: str, pos: int) -> None:
    v = local_au(utr, pos, pos + 7, "8mer")
    assert 0.0 <= v <= 1.0
    all_au = local_au("A" * len(utr), pos, pos + 7, "8mer")
    assert all_au == 1.0 and local_au("G" * len(utr), pos, pos + 7, "8mer") == 0.0


def test_combine_pairs_sums_sites(merged: pd.DataFrame) -> None:
    pairs = combine_pairs(merged[["mirna", "target", "site_type", "context_score"]])
    for r in pairs.itertuples(index=False):
        sub = merged[(merged.mirna == r.mirna) & (merged.target == r.target)]
        assert r.context_score == pytest.approx(sub.context_score.sum())
        assert r.n_sites == len(sub)
