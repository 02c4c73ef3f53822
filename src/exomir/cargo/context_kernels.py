"""Compiled (numba) per-site feature loops for context++ scoring (one pass over all sites).

Inputs are the 2-bit codes of :func:`exomir.cargo.sites.encode_utrs` (A=0, C=1, G=2, U=3,
other=4; UTR ``u`` starts at ``ustart[u]`` and has ``ulen[u]`` bases, unmasked) and of the
mature miRNAs (one padded row per miRNA, ``mlen`` 0 for a seed-only family). Positions are
1-based inside the UTR, as in the site table. Site types: 0 8mer, 1 7mer-m8, 2 7mer-A1,
3 6mer. The definitions are those of :mod:`exomir.cargo.context` (which keeps plain-Python
reference versions that the tests compare with these kernels).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numba import njit

_OPTS: dict[str, Any] = {"cache": True, "nogil": True}


@njit(**_OPTS)
def _popcount(x: Any) -> int:  # pragma: no cover - compiled
    x = x - ((x >> np.uint64(1)) & np.uint64(0x5555555555555555))
    x = (x & np.uint64(0x3333333333333333)) + ((x >> np.uint64(2)) & np.uint64(0x3333333333333333))
    x = (x + (x >> np.uint64(4))) & np.uint64(0x0F0F0F0F0F0F0F0F)
    return int((x * np.uint64(0x0101010101010101)) >> np.uint64(56))


@njit(**_OPTS)
def _best_run(pairs: Any, weight: Any) -> float:  # pragma: no cover - compiled
    """Best score of a run of >= 2 consecutive set bits: 0.5 per pair, +0.5 where ``weight``."""
    top = 0.0
    x = pairs
    while x:
        low = x & (~x + np.uint64(1))
        run = x & ~(x + low)
        x = x & ~run
        n = _popcount(run)
        if n >= 2:
            sc = 0.5 * n + 0.5 * _popcount(run & weight)
            if sc > top:
                top = sc
    return top


@njit(**_OPTS)
def _three_prime(codes: Any, b: int, tail_masks: Any, ntail: int, p8: int, start: int,
                 first_nt: int) -> float:  # pragma: no cover - compiled
    """Best 3' supplementary pairing (Grimson 2007 score, TargetScan 7 offsets).

    Bit-parallel: bit i of ``up[c]`` marks UTR base c at the i-th position 5' of the seed
    match; bit j of ``tail_masks[c]`` marks miRNA nt ``first_nt + j`` pairing with base c.
    Each register offset (miRNA or UTR side) is one AND/OR of shifted masks; a diagonal is
    skipped when even all its pairs could not beat the best after the offset penalty.
    """
    lo = max(1, start - 15)
    ustart = p8 - (first_nt - 8)
    nup = ustart - lo + 1 if ustart >= lo else 0
    upA = np.uint64(0)
    upC = np.uint64(0)
    upG = np.uint64(0)
    upU = np.uint64(0)
    for i in range(nup):
        c = codes[b + ustart - i - 1]
        bit = np.uint64(1) << np.uint64(i)
        if c == 0:
            upA |= bit
        elif c == 1:
            upC |= bit
        elif c == 2:
            upG |= bit
        elif c == 3:
            upU |= bit
    tA = tail_masks[0]
    tC = tail_masks[1]
    tG = tail_masks[2]
    tU = tail_masks[3]
    wm = np.uint64(0)
    for mi in range(13 - first_nt, 17 - first_nt):
        wm |= np.uint64(1) << np.uint64(mi)
    best = 0.0
    span = max(ntail, nup)
    for offset in range(span):
        pen = max(0.0, (offset - 2) / 2.0)
        o = np.uint64(offset)
        for strand in range(2):
            if strand == 0:  # miRNA shifted: up[i] with nt first_nt + i + offset
                pairs = (upA & (tA >> o)) | (upC & (tC >> o)) | (upG & (tG >> o)) | \
                    (upU & (tU >> o))
                weight = wm >> o
            else:  # UTR shifted: up[i + offset] with nt first_nt + i
                pairs = ((upA >> o) & tA) | ((upC >> o) & tC) | ((upG >> o) & tG) | \
                    ((upU >> o) & tU)
                weight = wm
            npairs = _popcount(pairs)
            if npairs < 2 or 0.5 * npairs + 0.5 * min(4, npairs) - pen <= best:
                continue
            sc = _best_run(pairs, weight) - pen
            if sc > best:
                best = sc
            if offset == 0:
                break  # both strands coincide at offset 0
    return best


_AU_W = np.array([[1.0 / (i + d) for i in range(30)] for d in (1, 2)])  # 1/(d+1), 1/(d+2)


@njit(**_OPTS)
def _local_au(codes: Any, b: int, length: int, start: int, end: int,
              typ: int) -> float:  # pragma: no cover - compiled
    """Weighted A/U fraction of 30 nt either side (unrounded)."""
    wu = _AU_W[0] if typ <= 1 else _AU_W[1]
    wd = _AU_W[1] if (typ == 0 or typ == 2) else _AU_W[0]
    tot = 0.0
    mx = 0.0
    for i in range(min(30, start - 1)):
        w = wu[i]
        mx += w
        c = codes[b + start - 2 - i]
        if c == 0 or c == 3:
            tot += w
    for i in range(min(30, length - end)):
        w = wd[i]
        mx += w
        c = codes[b + end + i]
        if c == 0 or c == 3:
            tot += w
    return tot / mx if mx > 0 else 0.0


@njit(**_OPTS)
def _ts_window_pos(start: int, end: int, typ: int, length: int,
                   index: int) -> int:  # pragma: no cover - compiled
    """UTR position (1-based) that TargetScan 7's N-padded alignment window holds at
    ``index`` (0 = none): the window is UTR[start-16 : end(+1)] left-padded with N to 24
    characters when shorter than 23 (its ``extractSubseqForAlignment``)."""
    real_start = max(start - 16, 0)
    real_end = end if typ == 0 else end + 1
    if real_start >= real_end:
        real_start = 0
    got = max(0, min(real_end, length) - real_start)
    pad = 24 - got if got < 23 else 0
    k = index - pad
    if k < 0 or k >= got:
        return 0
    return real_start + k + 1


@njit(**_OPTS)
def site_features(codes: Any, ustart: Any, ulen: Any, tails: Any, mlen: Any, mir: Any,
                  utr: Any, typ: Any, start: Any, end: Any, ts_site8: bool,
                  out_3p: Any, out_au: Any, out_site8: Any) -> None:  # pragma: no cover
    """Raw 3' pairing score, local AU fraction and the code of the Site8 base per site.

    ``tails[m, f - 8, c]``: bit j set where miRNA m's nt ``f + j`` pairs with base code c
    (:func:`tail_masks`).
    ``ts_site8``: read Site8 where TargetScan 7's public code reads it (index 14 of its
    padded window: 3 nt upstream for 6mers); otherwise the base opposite miRNA nt 8.
    Offset 6mers (type 4) get NaN / code 4.
    """
    for k in range(mir.size):
        t = typ[k]
        if t > 3:
            out_3p[k] = np.nan
            out_au[k] = np.nan
            out_site8[k] = 4
            continue
        u = utr[k]
        b = ustart[u]
        length = ulen[u]
        s = start[k]
        e = end[k]
        p8 = s if t <= 1 else s - 1
        m = mir[k]
        if mlen[m] >= 8:
            first_nt = 8 if t == 2 else 9
            out_3p[k] = _three_prime(codes, b, tails[m, first_nt - 8], mlen[m] - first_nt + 1,
                                     p8, s, first_nt)
        else:
            out_3p[k] = np.nan
        out_au[k] = _local_au(codes, b, length, s, e, t)
        if t >= 2:
            q = _ts_window_pos(s, e, t, length, 14) if ts_site8 else p8
            out_site8[k] = codes[b + q - 1] if 1 <= q <= length else 4
        else:
            out_site8[k] = 4


@njit(**_OPTS)
def isoform_features(utr: Any, mir: Any, start: Any, end: Any, ulen: Any, r_off: Any,
                     r_start: Any, r_end: Any, r_air: Any, o_key: Any, o_end: Any,
                     nmir: int, ts_off6m: bool, out_len: Any, out_dist: Any, out_off: Any,
                     out_air: Any) -> None:  # pragma: no cover - compiled
    """AIR-weighted 3'UTR length, distance to the nearer end, offset-6mer count, and the AIR
    of the isoform region holding the site end, else of the nearest region (TargetScan 7).

    Regions of UTR u: ``r_off[u]:r_off[u+1]`` (start, end, AIR in percent). Over the regions
    with end >= site end: length = sum(end*AIR)/sum(AIR), distance = sum(min(start-1,
    end_r-site_end)*AIR)/sum(AIR), offsets = sum(#offset 6mers ending <= end_r *AIR)/sum(AIR),
    each rounded to an integer (0 when no region reaches the site). A UTR without regions is
    one isoform of its full length with AIR 100 %. ``ts_off6m``: TargetScan 7's public code
    counts one offset 6mer per region whatever the sequence. Offset-6mer ends: ``o_end``
    sorted by ``o_key = utr * nmir + mir`` then end.
    """
    for k in range(utr.size):
        u = utr[k]
        s = start[k]
        e = end[k]
        key = u * nmir + mir[k]
        lo = np.searchsorted(o_key, key, side="left")
        hi = np.searchsorted(o_key, key, side="right")
        a = r_off[u]
        z = r_off[u + 1]
        if a == z:
            length = ulen[u]
            out_len[k] = length
            out_dist[k] = min(s - 1, length - e)
            out_off[k] = 1.0 if ts_off6m else hi - lo
            out_air[k] = 1.0
            continue
        wsum = 0.0
        lsum = 0.0
        dsum = 0.0
        osum = 0.0
        best_d = 1 << 60
        air = -1.0
        near = 0.0
        for r in range(a, z):
            re = r_end[r]
            w = r_air[r]
            if r_start[r] <= e <= re and air < 0:
                air = w
            d = min(abs(re - e), abs(r_start[r] - e))
            if d < best_d:
                best_d = d
                near = w
            if re >= e:
                wsum += w
                lsum += re * w
                dsum += min(s - 1, re - e) * w
                if ts_off6m:
                    osum += w
                else:
                    cnt = np.searchsorted(o_end[lo:hi], re, side="right")
                    osum += cnt * w
        if wsum > 0:
            out_len[k] = np.rint(lsum / wsum)
            out_dist[k] = np.rint(dsum / wsum)
            out_off[k] = np.rint(osum / wsum)
        else:
            out_len[k] = 0.0
            out_dist[k] = 0.0
            out_off[k] = 0.0
        if air >= 0:
            out_air[k] = air / 100.0
        else:  # nearest region (TargetScan 7: rounding of scaled regions), at least 1e-4
            out_air[k] = max((near if near > 0 else 100.0) / 100.0, 0.0001)


@njit(**_OPTS)
def tail_masks(mcodes: Any, mlen: Any) -> Any:  # pragma: no cover - compiled
    """Per miRNA and first paired nt (8 or 9): one bit mask per UTR base (A, C, G, U) of the
    miRNA positions from that nt on that pair with it (Watson-Crick only)."""
    out = np.zeros((mcodes.shape[0], 2, 4), np.uint64)
    for m in range(mcodes.shape[0]):
        for f in (8, 9):
            for j in range(min(64, max(0, mlen[m] - f + 1))):
                c = mcodes[m, f - 1 + j]
                if c < 4:
                    out[m, f - 8, 3 - c] |= np.uint64(1) << np.uint64(j)
    return out


@njit(**_OPTS)
def combine(typ: Any, mir: Any, raw3p: Any, au: Any, dist: Any, len3: Any, site8: Any,
            sa: Any, orf_len: Any, orf8: Any, off6: Any, pct: Any, nt1: Any, nt8: Any,
            ta: Any, sps: Any, coef: Any, lo: Any, inv_span: Any, cap: Any, compat: bool,
            out: Any) -> None:  # pragma: no cover - compiled
    """Contributions (columns in :data:`exomir.cargo.context.FEATURE_COLUMNS` order) and the
    capped total (last column) of every site (row of ``out``): coeff * (raw - min) /
    (max - min) for scaled features, coeff * raw otherwise; a NaN raw value (feature absent)
    contributes 0.

    ``au`` is the local AU fraction already rounded to 3 decimals; ``dist``/``len3`` in nt
    (log10 taken here, 0 for 0); ``sa`` the unpaired probability; ``orf_len`` in nt (NaN if
    unknown); ``ta``/``sps[m, 0 for 8mer/7mer-m8 else 1]`` per miRNA (NaN if missing).
    ``compat`` rounds each contribution to 3 decimals before summing (TargetScan 7).
    """
    nf = coef.shape[1]
    raw = np.empty(nf)
    for k in range(typ.size):
        t = typ[k]
        row = out[k]
        if t > 3:
            row[:] = np.nan
            continue
        m = mir[k]
        raw[0] = 1.0
        raw[1] = raw3p[k]
        raw[2] = au[k]
        raw[3] = np.log10(dist[k]) if dist[k] > 0 else 0.0
        for j in range(3):
            raw[4 + j] = 1.0 if nt1[m] == j else 0.0
            raw[7 + j] = 1.0 if nt8[m] == j else 0.0
            raw[10 + j] = 1.0 if (t >= 2 and site8[k] == j) else 0.0
        raw[13] = np.log10(len3[k]) if len3[k] > 0 else 0.0
        raw[14] = np.log10(sa[k]) if sa[k] > 0 else np.nan
        raw[15] = np.log10(orf_len[k]) if orf_len[k] > 0 else np.nan
        raw[16] = orf8[k]
        raw[17] = off6[k]
        raw[18] = ta[m]
        raw[19] = sps[m, 0 if t <= 1 else 1]
        raw[20] = pct[k]
        c_t = coef[t]
        lo_t = lo[t]
        is_t = inv_span[t]
        total = 0.0
        for f in range(nf):
            x = raw[f]
            c = 0.0 if np.isnan(x) else c_t[f] * (x - lo_t[f]) * is_t[f]
            if compat:
                c = np.rint(c * 1000.0) / 1000.0
            row[f] = c
            total += c
        total = np.rint(total * 1000.0) / 1000.0
        row[nf] = min(total, cap[t])
