"""Context++ predicted repression per site (log2 fold change), Agarwal 2015, at genome scale.

score(site) = intercept[type] + sum_f coeff[type, f] * scaled_f, where for the continuous
features ``scaled_f = (x_f - min[type, f]) / (max[type, f] - min[type, f])`` (not clipped, as in
TargetScan 7) and binary/count features enter unscaled. Coefficients, min and max are those of
Agarwal et al. 2015 (doi:10.7554/eLife.05005; table ``data/context_pp_agarwal2015.json``), TA
and SPS per seed region from ``data/ta_sps.json`` (Garcia 2011 doi:10.1038/nsmb.2115 via
TargetScan 7). The total is rounded to 3 decimals and capped at the TargetScan 7 per-type
ceiling (8mer -0.03, 7mer-m8 -0.02, 7mer-A1 -0.01, 6mer 0). With isoform ratios (AIR, see
:mod:`exomir.cargo.isoforms`) the weighted score is ``log2((2**score - 1) * AIR + 1)``.

Features (definitions follow TargetScan 7's context++ code, ``targetscan_70_context_scores.pl``):

* ``3P_score``: best 3' supplementary pairing (Grimson 2007 doi:10.1016/j.molcel.2007.06.017):
  contiguous Watson-Crick runs (>= 2 pairs) between miRNA nt 9.. and the 15 nt upstream of the
  seed match, 1 per pair at miRNA nt 13-16 and 0.5 elsewhere, minus max(0, (offset-2)/2) for an
  offset of the register between miRNA and UTR (either strand), best over offsets;
* ``Local_AU``: AU in 30 nt each side, weights 1/(d+1) (1/(d+2) where the site type omits the
  nt 8 partner upstream or includes A1 downstream), as a fraction of the maximum (3 decimals);
* ``Min_dist``: log10 distance to the nearer UTR end; ``Len_3UTR``: log10 UTR length;
  ``Off6m``: offset 6mers of the miRNA in the UTR; all three AIR-weighted over the isoforms
  that contain the site when isoform ratios are given (else the full UTR);
* ``Len_ORF``: log10 ORF length (only with ORF lengths); ``ORF8m``: 8mer sites of the miRNA in
  the ORF (only with ORF sequences);
* ``sRNA1{A,C,G}``, ``sRNA8{A,C,G}``: miRNA nt 1 and nt 8 identity (need the mature sequence);
  ``Site8{A,C,G}``: target base opposite nt 8 (7mer-A1 and 6mer only);
* ``SA``: log10 P(unpaired) of the 14 nt around the pairs to nt 7-8 (ViennaRNA RNAplfold, W 80,
  L 40; :mod:`exomir.cargo.accessibility`), only with ``sa=True`` (costly), else 0;
* ``TA_3UTR``, ``SPS``: target-site abundance and seed-pairing stability of nt 2-8;
* ``PCT``: probability of conserved targeting (Friedman 2009 doi:10.1101/gr.082701.108) from a
  multi-species alignment (:mod:`exomir.cargo.conservation`), only when given, else 0.

The per-site work is one compiled pass (:mod:`exomir.cargo.context_kernels`) plus numpy over all
sites; :func:`three_prime_score` and :func:`local_au` are plain-Python references of the same
definitions, kept for tests and reading.

``targetscan_compat=True`` reproduces four quirks of TargetScan 7's public perl (all off by
default, where exomir follows the published definitions): Site8 of a 6mer is read 3 nt upstream
(its N-padded window), the SA window of a 6mer is not moved to the nt-8 partner, Off6m is 1 in
every isoform whatever the sequence (its offset search runs on a hash reference, not the UTR),
and each contribution is rounded to 3 decimals before summing.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from exomir.cargo.isoforms import Region, region_arrays
from exomir.cargo.sites import SITE_TYPES, SiteTable, clean_sequence, encode, encode_utrs, scan

CAP = {"8mer": -0.03, "7mer-m8": -0.02, "7mer-A1": -0.01, "6mer": 0.0}
SCALED = {"TA_3UTR", "SPS", "Local_AU", "3P_score", "SA", "Len_ORF", "Len_3UTR", "Min_dist", "PCT"}
#: contribution columns in TargetScan 7's output order ("intercept" = site type contribution)
FEATURE_COLUMNS = ["intercept", "3P_score", "Local_AU", "Min_dist", "sRNA1A", "sRNA1C", "sRNA1G",
                   "sRNA8A", "sRNA8C", "sRNA8G", "Site8A", "Site8C", "Site8G", "Len_3UTR", "SA",
                   "Len_ORF", "ORF8m", "Off6m", "TA_3UTR", "SPS", "PCT"]
_TYPES4 = SITE_TYPES[:4]  # the scored types, in site-type index order
_CAP = np.array([CAP[t] for t in _TYPES4] + [np.nan])


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


@cache
def _coef_arrays(feature: str) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64],
                                        npt.NDArray[np.float64]]:
    """(coeff, min, scale) per site-type index (offset 6mer: NaN); scale = max - min or 1."""
    key = "Intercept" if feature == "intercept" else feature
    f = coefficients()["features"][key]
    coef = np.array([f[t]["coeff"] or 0.0 for t in _TYPES4] + [np.nan])
    if feature in SCALED:
        lo = np.array([f[t]["min"] for t in _TYPES4] + [0.0], float)
        span = np.array([f[t]["max"] - f[t]["min"] for t in _TYPES4] + [1.0], float)
    else:
        lo, span = np.zeros(5), np.ones(5)
    return coef, lo, span


_PAIR = {("A", "U"), ("U", "A"), ("G", "C"), ("C", "G")}


def three_prime_score(mirna: str, utr: str, p8: int, utr_start: int, site_type: str) -> float:
    """Grimson 2007 3' supplementary pairing score of one site (see module docstring).

    ``p8``: 1-based UTR position opposite miRNA nt 8; the UTR window reaches 15 nt upstream
    of the site start (``utr_start - 15``). Plain-Python reference of the compiled kernel.
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
    """Weighted AU fraction of 30 nt either side (TargetScan 7 definition, 3 decimals).

    Plain-Python reference of the compiled kernel."""
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


@dataclass
class ContextScores:
    """Per-site context++ contributions, parallel to the rows of a :class:`SiteTable`.

    ``columns``: every name of :data:`FEATURE_COLUMNS`, ``context_score`` and, with isoform
    ratios, ``AIR`` and ``weighted_context_score`` (offset 6mers: NaN). ``raw``: the feature
    values before scaling (``3P_score``, ``Local_AU``, ``Min_dist``/``Len_3UTR`` in nt,
    ``Off6m``, ``ORF8m``, ``SA`` probability, ``PCT``).
    """

    columns: dict[str, npt.NDArray[np.float64]]
    raw: dict[str, npt.NDArray[np.float64]] = field(default_factory=dict)

    def to_frame(self, table: SiteTable) -> pd.DataFrame:
        """The site table's columns followed by the contribution columns."""
        return pd.concat([table.to_frame(), pd.DataFrame(self.columns)], axis=1)


def _mirna_arrays(table: SiteTable, mature: Mapping[str, str]
                  ) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.int64], list[str]]:
    """Padded mature codes (rows per miRNA), mature lengths (0: none) and nt 2-8 seeds."""
    seqs = []
    seeds = []
    for i, name in enumerate(table.mirna_names):
        s = clean_sequence(mature.get(name, ""))
        if len(s) < 8:
            s = ""
        seqs.append(s)
        if s:
            seeds.append(s[1:8])
        elif table.seeds:
            seeds.append(table.seeds[i])
        else:
            seeds.append("")
    width = max([len(s) for s in seqs] + [8])
    codes = np.full((len(seqs), width), 4, np.uint8)
    lens = np.zeros(len(seqs), np.int64)
    for i, s in enumerate(seqs):
        codes[i, :len(s)] = encode(s)
        lens[i] = len(s)
    return codes, lens, seeds


def _pair_count_lookup(keys: npt.NDArray[np.int64], query: npt.NDArray[np.int64]
                       ) -> npt.NDArray[np.float64]:
    """How often each query key occurs in ``keys``."""
    if keys.size == 0:
        return np.zeros(query.size)
    uniq, counts = np.unique(keys, return_counts=True)
    pos = np.clip(np.searchsorted(uniq, query), 0, uniq.size - 1)
    return np.where(uniq[pos] == query, counts[pos], 0).astype(float)


def _utr_list(table: SiteTable, utrs: Sequence[tuple[str, str]]) -> list[str]:
    """UTR sequences in ``table.target_names`` order."""
    if [t for t, _ in utrs] == table.target_names:
        return [s for _, s in utrs]
    by_name = {t: s for t, s in utrs}
    return [by_name[t] for t in table.target_names]


def score_table(table: SiteTable, utrs: Sequence[tuple[str, str]], *,
                mature: Mapping[str, str] | None = None,
                orf_lengths: Mapping[str, int] | None = None,
                orfs: Sequence[tuple[str, str]] | None = None,
                airs: Mapping[str, list[Region]] | None = None,
                sa: bool | Mapping[str, npt.NDArray[np.float64]] = False,
                pct: npt.NDArray[np.float64] | None = None,
                mask_5p: int = 14, targetscan_compat: bool = False,
                workers: int | None = None) -> ContextScores:
    """Context++ contributions of every canonical site of ``table`` (vectorised).

    ``utrs``: the UTRs scanned (by target name); ``mature``: miRNA name -> mature sequence
    (3' pairing, sRNA1/8; families given only as 7-nt seeds get those terms 0, TA and SPS
    from the seed); ``orf_lengths``/``orfs``: ORF lengths and sequences by target name;
    ``airs``: isoform regions by target name (:func:`exomir.cargo.isoforms.read_airs`);
    ``sa``: True computes site accessibility with ViennaRNA (``workers`` processes), or a
    mapping target -> :func:`exomir.cargo.accessibility.unpaired` array; ``pct``: PCT per
    site (NaN = not conserved family / not computed).
    """
    from exomir.cargo.context_kernels import combine, isoform_features, site_features, tail_masks

    mature = dict(mature or {})
    n = len(table)
    typ = table.site_type.astype(np.int64)
    start = table.utr_start.astype(np.int64)
    end = table.utr_end.astype(np.int64)
    utr_idx = table.target.astype(np.int64)
    mir_idx = table.mirna.astype(np.int64)
    seqs = _utr_list(table, utrs)
    codes, ustart, ulen = encode_utrs(seqs, mask_5p=0)
    mcodes, mlen, seeds = _mirna_arrays(table, mature)

    raw3p = np.empty(n)
    au = np.empty(n)
    site8 = np.empty(n, np.uint8)
    site_features(codes, ustart, ulen, tail_masks(mcodes, mlen), mlen, mir_idx, utr_idx, typ,
                  start, end, targetscan_compat, raw3p, au, site8)
    au = np.round(au, 3)  # TargetScan 7 rounds the AU fraction before scaling

    # offset 6mers of each miRNA in each UTR (for Off6m), sorted by (utr, mirna, end)
    nmir = len(table.mirna_names)
    have_seed = [i for i, s in enumerate(seeds) if len(s) == 7]
    sub = [(table.mirna_names[i], seeds[i]) for i in have_seed]
    if sub and not targetscan_compat:
        off = scan(sub, list(zip(table.target_names, seqs, strict=True)),
                   site_types=["offset-6mer"], mask_5p=mask_5p)
        okey = off.target.astype(np.int64) * nmir + np.asarray(have_seed, np.int64)[off.mirna]
        oend = off.utr_end.astype(np.int64)
        o = np.lexsort((oend, okey))
        okey, oend = okey[o], oend[o]
    else:
        okey = oend = np.zeros(0, np.int64)
    r_off, r_start, r_end, r_air = region_arrays(table.target_names, airs)
    len3, dist, off6, air = (np.empty(n) for _ in range(4))
    isoform_features(utr_idx, mir_idx, start, end, ulen, r_off, r_start, r_end, r_air, okey,
                     oend, nmir, targetscan_compat, len3, dist, off6, air)

    # ORF 8mers per (target, miRNA)
    orf8 = np.zeros(n)
    if orfs and sub:
        tindex = {t: i for i, t in enumerate(table.target_names)}
        o8 = scan(sub, orfs, site_types=["8mer"], mask_5p=0)
        o_t = np.asarray([tindex.get(t, -1) for t in o8.target_names], np.int64)[o8.target]
        ok = o_t >= 0
        keys = o_t[ok] * nmir + np.asarray(have_seed, np.int64)[o8.mirna[ok]]
        orf8 = _pair_count_lookup(keys, utr_idx * nmir + mir_idx)

    sa_raw = np.full(n, np.nan)
    if sa is not False:
        sa_raw = _site_accessibility(table, seqs, sa, typ, start, ulen, targetscan_compat,
                                     workers)
    orf_len = np.full(n, np.nan)
    if orf_lengths:
        per_t = np.array([float(orf_lengths.get(t, 0)) or np.nan for t in table.target_names])
        orf_len = per_t[utr_idx]
    nt1 = np.where(mlen > 0, mcodes[:, 0], 4).astype(np.int64)
    nt8 = np.where(mlen > 0, mcodes[:, 7], 4).astype(np.int64)
    t = _ta_sps()
    sidx = np.array([seed_index(s) if len(s) == 7 else -1 for s in seeds], np.int64)
    ok = sidx >= 0
    ta = np.where(ok, t["ta"][np.maximum(sidx, 0)], np.nan)
    sps = np.column_stack([np.where(ok, t[k][np.maximum(sidx, 0)], np.nan)
                           for k in ("sps_8mer_7mer_m8", "sps_7mer_a1_6mer")])
    # TargetScan 7 treats a TA or SPS of 0 as missing (both contributions 0)
    zero = (ta == 0) | (sps == 0).any(axis=1)
    ta[zero] = np.nan
    sps[zero] = np.nan
    pct_raw = np.full(n, np.nan) if pct is None else np.asarray(pct, float)
    coef, lo, span = (np.column_stack(x) for x in zip(
        *(_coef_arrays(f) for f in FEATURE_COLUMNS), strict=True))  # (site type, feature)
    out = np.empty((n, len(FEATURE_COLUMNS) + 1))  # one row per site: cache-friendly writes
    combine(typ, mir_idx, raw3p, au, dist, len3, site8, sa_raw, orf_len, orf8, off6, pct_raw,
            nt1, nt8, ta, sps.reshape(-1, 2), np.ascontiguousarray(coef),
            np.ascontiguousarray(lo), np.ascontiguousarray(1.0 / span), _CAP,
            targetscan_compat, out)
    cols = {c: out[:, i] for i, c in enumerate(FEATURE_COLUMNS)}
    cols["context_score"] = out[:, -1]
    if airs:
        cols["AIR"] = np.where(typ < 4, air, np.nan)
        cols["weighted_context_score"] = np.log2(
            (np.exp2(cols["context_score"]) - 1.0) * cols["AIR"] + 1.0)
    raw = {"3P_score": raw3p, "Local_AU": au, "Min_dist": dist, "Len_3UTR": len3,
           "Off6m": off6, "ORF8m": orf8, "SA": sa_raw, "PCT": pct_raw}
    return ContextScores(columns=cols, raw=raw)


def _site_accessibility(table: SiteTable, seqs: list[str],
                        sa: bool | Mapping[str, npt.NDArray[np.float64]],
                        typ: npt.NDArray[np.int64], start: npt.NDArray[np.int64],
                        ulen: npt.NDArray[np.int64], targetscan_compat: bool,
                        workers: int | None) -> npt.NDArray[np.float64]:
    """P(unpaired) of the 14 nt ending 7 nt 3' of the nt-8 partner, per site."""
    from exomir.cargo.accessibility import unpaired_many

    used = np.unique(table.target)
    if isinstance(sa, Mapping):
        arrays = {int(u): np.asarray(sa[table.target_names[u]], float) for u in used}
    else:
        arrays = dict(zip((int(u) for u in used),
                          unpaired_many([seqs[u] for u in used], workers=workers), strict=True))
    off = np.zeros(len(seqs) + 1, np.int64)
    np.cumsum([arrays[u].size if u in arrays else 0 for u in range(len(seqs))], out=off[1:])
    flat = np.concatenate([arrays[u] for u in range(len(seqs)) if u in arrays]) \
        if arrays else np.zeros(0)
    shift = np.where((typ == 2) | ((typ == 3) & (not targetscan_compat)), 1, 0)
    u = table.target.astype(np.int64)
    pos = np.minimum(start - shift + 7, ulen[u])  # TargetScan: last row when past the end
    out = np.full(typ.size, np.nan)
    ok = (typ < 4) & (pos >= 1)
    out[ok] = flat[off[u[ok]] + pos[ok]]
    return out


def score_sites(table: SiteTable, utrs: Sequence[tuple[str, str]],
                mature: Mapping[str, str] | None = None,
                orf_lengths: Mapping[str, int] | None = None,
                orfs: Sequence[tuple[str, str]] | None = None,
                mask_5p: int = 14, targetscan_compat: bool = False,
                **kwargs: Any) -> pd.DataFrame:
    """Per-site feature contributions and context++ score as a table (see
    :func:`score_table` for the options); offset 6mers get NaN scores."""
    scores = score_table(table, utrs, mature=mature, orf_lengths=orf_lengths, orfs=orfs,
                         mask_5p=mask_5p, targetscan_compat=targetscan_compat, **kwargs)
    return scores.to_frame(table)


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
    best = s["site_type"].map(rank)
    frame = s.assign(_rank=best.to_numpy())
    g = frame.groupby(["mirna", "target"], sort=True)
    out = g.agg(n_sites=("context_score", "size"), context_score=("context_score", "sum"),
                best_rank=("_rank", "min")).reset_index()
    out["best_site"] = [SITE_TYPES[int(i)] for i in out.pop("best_rank")]
    return out.sort_values("context_score").reset_index(drop=True)
