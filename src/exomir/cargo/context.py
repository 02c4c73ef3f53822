"""Context++-style predicted repression per site (log2 fold change), Agarwal 2015.

score(site) = intercept[type] + sum_f coeff[type, f] * scaled_f, where for the continuous
features ``scaled_f = (x_f - min[type, f]) / (max[type, f] - min[type, f])`` (not clipped, as in
TargetScan 7) and binary/count features enter unscaled. Coefficients, min and max are those of
Agarwal et al. 2015 (doi:10.7554/eLife.05005; table ``data/context_pp_agarwal2015.json``), TA
and SPS per seed region from ``data/ta_sps.json`` (Garcia 2011 doi:10.1038/nsmb.2115 via
TargetScan 7). The per-site score is capped at the TargetScan 7 per-type ceiling (8mer -0.03,
7mer-m8 -0.02, 7mer-A1 -0.01, 6mer 0).

Features computed from sequence (definitions follow TargetScan 7's context++ code):

* ``3P_score``: best 3' supplementary pairing (Grimson 2007 doi:10.1016/j.molcel.2007.06.017):
  contiguous Watson-Crick runs (>= 2 pairs) between miRNA nt 9.. and the 15 nt upstream of the
  seed match, 1 per pair at miRNA nt 13-16 and 0.5 elsewhere, minus max(0, (offset-2)/2) for an
  offset of the register between miRNA and UTR (either strand), best over offsets;
* ``Local_AU``: AU in 30 nt each side, weights 1/(d+1) (1/(d+2) where the site type omits the
  nt 8 partner upstream or includes A1 downstream), as a fraction of the maximum;
* ``Min_dist``: log10 distance to the nearer UTR end; ``Len_3UTR``: log10 UTR length;
* ``Len_ORF``: log10 ORF length (only with ORF lengths); ``ORF8m``: 8mer sites of the miRNA in
  the ORF (only with ORF sequences); ``Off6m``: offset 6mers of the miRNA in the UTR;
* ``sRNA1{A,C,G}``, ``sRNA8{A,C,G}``: miRNA nt 1 and nt 8 identity (need the mature sequence);
  ``Site8{A,C,G}``: target base opposite nt 8 (7mer-A1 and 6mer only);
* ``TA_3UTR``, ``SPS``: target-site abundance and seed-pairing stability of nt 2-8.

Omitted: ``SA`` (RNAplfold accessibility) and ``PCT`` (conservation; needs alignments and
branch lengths) contribute 0; TargetScan weights Len_3UTR, Min_dist and Off6m by 3'UTR isoform
ratios (AIRs); exomir uses the full UTR (AIR = 1). Omitted terms shift a site by at most
|coeff| (SA: 8mer up to -0.115 more repression; PCT: 8mer up to -0.103 more).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from functools import cache
from importlib import resources
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from exomir.cargo.sites import SITE_TYPES, SiteTable, clean_sequence, scan

CAP = {"8mer": -0.03, "7mer-m8": -0.02, "7mer-A1": -0.01, "6mer": 0.0}
SCALED = {"TA_3UTR", "SPS", "Local_AU", "3P_score", "SA", "Len_ORF", "Len_3UTR", "Min_dist", "PCT"}
FEATURE_COLUMNS = ["intercept", "3P_score", "Local_AU", "Min_dist", "sRNA1A", "sRNA1C", "sRNA1G",
                   "sRNA8A", "sRNA8C", "sRNA8G", "Site8A", "Site8C", "Site8G", "Len_3UTR",
                   "Len_ORF", "ORF8m", "Off6m", "TA_3UTR", "SPS"]


@cache
def coefficients() -> dict[str, Any]:
    """The Agarwal 2015 context++ table: features -> site type -> coeff/min/max."""
    text = resources.files("exomir.cargo").joinpath("data/context_pp_agarwal2015.json")
    return dict(json.loads(text.read_text()))


@cache
def _ta_sps() -> dict[str, npt.NDArray[np.float64]]:
    d = json.loads(resources.files("exomir.cargo").joinpath("data/ta_sps.json").read_text())
    s = float(d["scale"])
    return {k: np.asarray(d[k], float) / s for k in ("sps_8mer_7mer_m8", "sps_7mer_a1_6mer", "ta")}


def seed_index(seed7: str) -> int:
    """Index of a 7-nt seed (nt 2-8) in the TA/SPS table (base 4, A=0 C=1 G=2 U=3)."""
    v = 0
    for b in seed7:
        v = v * 4 + "ACGU".index(b)
    return v


def ta_sps(seed7: str, site_type: str) -> tuple[float, float]:
    """(TA, SPS) of a seed region; SPS depends on whether the site includes the nt 8 match."""
    t = _ta_sps()
    i = seed_index(seed7)
    sps = t["sps_8mer_7mer_m8"][i] if site_type in ("8mer", "7mer-m8") else \
        t["sps_7mer_a1_6mer"][i]
    return float(t["ta"][i]), float(sps)


def contribution(site_type: str, feature: str, raw: float) -> float:
    """coeff * scaled raw value, as TargetScan 7 ``getAgarwalContribution`` defines it."""
    f = coefficients()["features"][feature][site_type]
    if f["coeff"] is None:
        return 0.0
    if feature in SCALED:
        raw = (raw - f["min"]) / (f["max"] - f["min"])
    return float(f["coeff"] * raw)


_PAIR = {("A", "U"), ("U", "A"), ("G", "C"), ("C", "G")}


def three_prime_score(mirna: str, utr: str, p8: int, utr_start: int, site_type: str) -> float:
    """Grimson 2007 3' supplementary pairing score of one site (see module docstring).

    ``p8``: 1-based UTR position opposite miRNA nt 8; the UTR window reaches 15 nt upstream
    of the site start (``utr_start - 15``).
    """
    first_nt = 8 if site_type == "7mer-A1" else 9
    tail = mirna[first_nt - 1:]
    lo = max(1, utr_start - 15)
    # UTR bases paired (at zero offset) with miRNA nt first_nt, first_nt+1, ...
    ustart = p8 - (first_nt - 8)
    up = [utr[q - 1] for q in range(ustart, lo - 1, -1)] if ustart >= lo else []
    best = 0.0
    span = max(len(tail), len(up))
    for offset in range(span):
        pen = max(0.0, (offset - 2) / 2)
        for mir_shift in (True, False):
            run, tmp, top = 0, 0.0, 0.0
            n = (min(len(tail) - offset, len(up)) if mir_shift
                 else min(len(up) - offset, len(tail)))
            for i in range(max(n, 0)):
                mi, ui = (i + offset, i) if mir_shift else (i, i + offset)
                nt = first_nt + mi  # 1-based miRNA position
                if (up[ui], tail[mi]) in _PAIR:
                    tmp = (tmp if run else 0.0) + (1.0 if 13 <= nt <= 16 else 0.5)
                    run += 1
                else:
                    if run >= 2:
                        top = max(top, tmp)
                    run, tmp = 0, 0.0
            if run >= 2:
                top = max(top, tmp)
            best = max(best, top - pen)
    return best


def local_au(utr: str, start: int, end: int, site_type: str) -> float:
    """Weighted AU fraction of 30 nt either side (TargetScan 7 definition, 3 decimals)."""
    up_off = 1 if site_type in ("7mer-m8", "8mer") else 2
    down_off = 2 if site_type in ("8mer", "7mer-A1") else 1
    tot = mx = 0.0
    for i in range(30):
        q = start - 1 - i  # 1-based, moving 5'
        if q < 1:
            break
        w = 1.0 / (i + up_off)
        mx += w
        tot += w if utr[q - 1] in "AU" else 0.0
    for i in range(30):
        q = end + 1 + i
        if q > len(utr):
            break
        w = 1.0 / (i + down_off)
        mx += w
        tot += w if utr[q - 1] in "AU" else 0.0
    return round(tot / mx, 3) if mx else 0.0


def score_sites(table: SiteTable, utrs: Sequence[tuple[str, str]],
                mature: Mapping[str, str] | None = None,
                orf_lengths: Mapping[str, int] | None = None,
                orfs: Sequence[tuple[str, str]] | None = None,
                mask_5p: int = 14, targetscan_6mer_site8: bool = False) -> pd.DataFrame:
    """Per-site feature contributions and context++ score for canonical sites.

    ``mature``: miRNA name -> mature sequence (defaults to the names' own sequences if the
    table was built from mature sequences, else sRNA1/8 and 3' pairing are 0 for those).
    Offset 6mers get NaN scores (not part of the context++ model).
    ``targetscan_6mer_site8``: read Site8 of 6mers 3 nt upstream of the site as TargetScan 7's
    public code does (an artefact of its N-padding of the 22-nt window); default: the base
    opposite miRNA nt 8 (1 nt upstream), as Agarwal 2015 defines the feature.
    """
    frame = table.to_frame()
    utr_seq = {t: clean_sequence(s) for t, s in utrs}
    mature = dict(mature or {})
    # offset 6mer counts per (mirna, target) in the UTR, ORF 8mer counts per (mirna, gene)
    names_seqs = [(n, mature.get(n, "")) for n in table.mirna_names]
    have = [(n, s) for n, s in names_seqs if len(clean_sequence(s)) >= 8]
    seeds_for = dict(have)
    off_counts: dict[tuple[str, str], int] = {}
    orf8: dict[tuple[str, str], int] = {}
    if have:
        off = scan(have, list(utr_seq.items()), site_types=["offset-6mer"],
                   mask_5p=mask_5p).to_frame()
        off_counts = _pair_counts(off)
        if orfs:
            o8 = scan(have, orfs, site_types=["8mer"], mask_5p=0).to_frame()
            orf8 = _pair_counts(o8)
    rows = []
    records: Any = frame.itertuples(index=False)
    for r in records:
        st = str(r.site_type)
        if st not in CAP:
            rows.append({c: np.nan for c in [*FEATURE_COLUMNS, "context_score"]})
            continue
        u = utr_seq[r.target]
        start, end = int(r.utr_start), int(r.utr_end)
        m = clean_sequence(seeds_for.get(r.mirna, ""))
        c: dict[str, float] = {k: 0.0 for k in FEATURE_COLUMNS}
        c["intercept"] = coefficients()["features"]["Intercept"][st]["coeff"]
        p8 = start if st in ("8mer", "7mer-m8") else start - 1
        if m:
            c["3P_score"] = contribution(st, "3P_score", three_prime_score(m, u, p8, start, st))
            for pos, pre in ((0, "sRNA1"), (7, "sRNA8")):
                if m[pos] in "ACG":
                    c[pre + m[pos]] = contribution(st, pre + m[pos], 1.0)
            seed7 = m[1:8]
        else:
            seed7 = ""
        c["Local_AU"] = contribution(st, "Local_AU", local_au(u, start, end, st))
        dist = min(start - 1, len(u) - end)
        c["Min_dist"] = contribution(st, "Min_dist", float(np.log10(dist)) if dist > 0 else 0.0)
        c["Len_3UTR"] = contribution(st, "Len_3UTR", float(np.log10(len(u))))
        q8 = start - 3 if (st == "6mer" and targetscan_6mer_site8) else p8
        if st in ("7mer-A1", "6mer") and q8 >= 1 and u[q8 - 1] in "ACG":
            c["Site8" + u[q8 - 1]] = contribution(st, "Site8" + u[q8 - 1], 1.0)
        if orf_lengths and r.target in orf_lengths:
            c["Len_ORF"] = contribution(st, "Len_ORF", float(np.log10(orf_lengths[r.target])))
        c["ORF8m"] = contribution(st, "ORF8m", float(orf8.get((r.mirna, r.target), 0)))
        c["Off6m"] = contribution(st, "Off6m", float(off_counts.get((r.mirna, r.target), 0)))
        if seed7 and not set(seed7) - set("ACGU"):
            ta, sps = ta_sps(seed7, st)
            c["TA_3UTR"] = contribution(st, "TA_3UTR", ta)
            c["SPS"] = contribution(st, "SPS", sps)
        total = round(sum(c.values()), 3)
        c["context_score"] = min(total, CAP[st])
        rows.append(c)
    out = pd.concat([frame.reset_index(drop=True), pd.DataFrame(rows)], axis=1)
    return out


def _pair_counts(frame: pd.DataFrame) -> dict[tuple[str, str], int]:
    counts: Any = frame.groupby(["mirna", "target"]).size()
    return {(str(k[0]), str(k[1])): int(v) for k, v in counts.items()}


def combine_pairs(scored: pd.DataFrame) -> pd.DataFrame:
    """Total context++ score per miRNA-target pair: the sum of its sites' scores.

    TargetScan 7 reports the total context++ score of a gene as the plain sum over its sites
    (each site already capped at its type ceiling); the predicted fold change of the mRNA is
    2**total. exomir uses the same rule, so a second 8mer roughly doubles the log2 repression
    (Grimson 2007 found multiple sites act roughly independently/multiplicatively).
    Returns columns mirna, target, n_sites, best_site, context_score (log2 FC, <= 0).
    """
    s = scored.dropna(subset=["context_score"])
    if s.empty:
        return pd.DataFrame(columns=["mirna", "target", "n_sites", "best_site",
                                     "context_score"])
    rank = {t: i for i, t in enumerate(SITE_TYPES)}
    g = s.groupby(["mirna", "target"], sort=True)
    out = g.agg(n_sites=("context_score", "size"), context_score=("context_score", "sum"),
                best_rank=("site_type", lambda x: min(rank[str(v)] for v in x))).reset_index()
    out["best_site"] = [SITE_TYPES[i] for i in out.pop("best_rank")]
    return out.sort_values("context_score").reset_index(drop=True)
