"""Canonical miRNA target-site scanning (TargetScan 7 compatible), one vectorised pass.

Site definitions (target 5'->3'; the miRNA pairs antiparallel; Lewis 2005
doi:10.1016/j.cell.2004.12.035, Grimson 2007 doi:10.1016/j.molcel.2007.06.017, Friedman 2009
doi:10.1101/gr.082701.108):

* ``M6`` = reverse complement of miRNA nt 2-7 (the 6-nt seed match);
* ``m8`` = the target base paired to miRNA nt 8 (immediately 5' of M6);
* ``A1`` = an A immediately 3' of M6 (opposite miRNA nt 1, whatever nt 1 is).

Every occurrence of M6 gives exactly one site of the strongest applicable type:
``8mer`` (m8 + M6 + A1, 8 nt), ``7mer-m8`` (m8 + M6, 7 nt), ``7mer-A1`` (M6 + A1, 7 nt),
``6mer`` (M6, 6 nt). An ``offset-6mer`` matches miRNA nt 3-8 (m8 + first five bases of M6)
and is reported only where that position carries no nt 2-7 match. Coordinates are 1-based,
inclusive, in the gap-free UTR and cover exactly the site's nucleotides.

The first ``mask_5p`` bases of each UTR (default 14; TargetScan 7 does not score sites this
close to the stop codon, the ribosome shadow: Grimson 2007) match nothing, exactly like ``N``:
a seed match whose m8 partner lies in the mask is downgraded (8mer -> 7mer-A1,
7mer-m8 -> 6mer).

Algorithm: all UTRs are encoded to 2-bit codes (A=0, C=1, G=2, U=3; anything else = 4)
into one array with a separator between UTRs; the 6-mer code of every position is computed
at once with numpy; a CSR index from 6-mer code -> miRNAs whose M6 is that code gives all
(position, miRNA) hits in one gather; m8 and A1 are then checked vectorised.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

from exomir.core.errors import InputError

SITE_TYPES: tuple[str, ...] = ("8mer", "7mer-m8", "7mer-A1", "6mer", "offset-6mer")
DEFAULT_SITE_TYPES: tuple[str, ...] = ("8mer", "7mer-m8", "7mer-A1", "6mer")
SITE_LENGTH = {"8mer": 8, "7mer-m8": 7, "7mer-A1": 7, "6mer": 6, "offset-6mer": 6}
#: TargetScan 7 output names for our site types.
TARGETSCAN_NAMES = {"8mer": "8mer-1a", "7mer-m8": "7mer-m8", "7mer-A1": "7mer-1a", "6mer": "6mer"}
DEFAULT_MASK_5P = 14

_T8, _T7M8, _T7A1, _T6, _TOFF = range(5)
_CODE = np.full(256, 4, dtype=np.uint8)
for _ch, _v in (("A", 0), ("C", 1), ("G", 2), ("U", 3), ("T", 3)):
    _CODE[ord(_ch)] = _v
    _CODE[ord(_ch.lower())] = _v
_GAP = np.zeros(256, dtype=bool)
for _ch in "-.":
    _GAP[ord(_ch)] = True
_COMP_CODE = np.array([3, 2, 1, 0], dtype=np.int64)  # A<->U, C<->G


def clean_sequence(seq: str) -> str:
    """Gap-free upper-case RNA: strip ``-``/``.``/whitespace, T->U; other letters kept."""
    s = "".join(seq.split()).replace("-", "").replace(".", "")
    return s.upper().replace("T", "U")


def encode(seq: str | bytes) -> npt.NDArray[np.uint8]:
    """2-bit codes of a sequence with gaps removed (A=0, C=1, G=2, U/T=3, other=4)."""
    raw = np.frombuffer(seq.encode("ascii", "replace") if isinstance(seq, str) else seq,
                        dtype=np.uint8)
    raw = raw[~_GAP[raw]]
    return _CODE[raw]


def seed_region(mature_or_seed: str, *, name: str = "") -> str:
    """miRNA nt 2-8 (7 nt) from a mature sequence (>= 8 nt) or a 7-nt seed (nt 2-8)."""
    s = clean_sequence(mature_or_seed)
    if len(s) == 7:
        seed = s
    elif len(s) >= 8:
        seed = s[1:8]
    else:
        raise InputError("miRNA sequence too short: need a mature sequence (>= 8 nt) or a "
                         "7-nt seed (nt 2-8)", field="sequence", value=f"{name} {mature_or_seed}")
    if set(seed) - set("ACGU"):
        raise InputError("seed region (nt 2-8) must contain only A, C, G, U/T",
                         field="sequence", value=f"{name} {mature_or_seed}")
    return seed


@dataclass(frozen=True)
class SiteTable:
    """Sites as parallel arrays (compact for genome-scale scans); ``to_frame`` for tables."""

    mirna_names: list[str]
    target_names: list[str]
    mirna: npt.NDArray[np.int32]  # index into mirna_names
    target: npt.NDArray[np.int32]  # index into target_names
    site_type: npt.NDArray[np.int8]  # index into SITE_TYPES
    utr_start: npt.NDArray[np.int32]  # 1-based inclusive
    utr_end: npt.NDArray[np.int32]

    def __len__(self) -> int:
        return int(self.mirna.size)

    def to_frame(self) -> pd.DataFrame:
        """Columns mirna, target, site_type, utr_start, utr_end."""
        mir = np.asarray(self.mirna_names, dtype=object)
        tgt = np.asarray(self.target_names, dtype=object)
        return pd.DataFrame({
            "mirna": mir[self.mirna] if mir.size else np.zeros(0, object),
            "target": tgt[self.target] if tgt.size else np.zeros(0, object),
            "site_type": np.asarray(SITE_TYPES, dtype=object)[self.site_type],
            "utr_start": self.utr_start,
            "utr_end": self.utr_end,
        })


def _parse_site_types(site_types: Sequence[str]) -> set[int]:
    out = set()
    for t in site_types:
        key = {"8mer-1a": "8mer", "7mer-1a": "7mer-A1", "offset6mer": "offset-6mer",
               "offset_6mer": "offset-6mer", "7mer-a1": "7mer-A1"}.get(t.strip().lower(),
                                                                          t.strip())
        if key not in SITE_TYPES:
            raise InputError("unknown site type", field="site_types", value=t,
                             accepted=SITE_TYPES)
        out.add(SITE_TYPES.index(key))
    return out


def _kmer_codes(codes: npt.NDArray[np.uint8], k: int) -> tuple[npt.NDArray[np.int64],
                                                                 npt.NDArray[np.bool_]]:
    """Code of the k-mer starting at each position (len - k + 1 values) and its validity."""
    n = codes.size - k + 1
    if n <= 0:
        return np.zeros(0, np.int64), np.zeros(0, bool)
    c = codes.astype(np.int32)
    valid = np.ones(n, dtype=bool)
    val = np.zeros(n, dtype=np.int32)
    for j in range(k):
        part = c[j:j + n]
        valid &= part < 4
        val = (val << 2) | (part & 3)
    return val.astype(np.int64), valid


def _seed_codes(seeds: Sequence[str]) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64],
                                               npt.NDArray[np.int64]]:
    """Per miRNA: 6-mer code of M6, target code for m8, 6-mer code of the offset match."""
    m6 = np.empty(len(seeds), np.int64)
    m8 = np.empty(len(seeds), np.int64)
    off = np.empty(len(seeds), np.int64)
    for i, s in enumerate(seeds):
        c = encode(s).astype(np.int64)  # nt 2..8
        comp = _COMP_CODE[c]
        # target 5'->3' = reverse complement; M6 = revcomp(nt2-7)
        m6_bases = comp[5::-1]  # comp(nt7), comp(nt6), ..., comp(nt2)
        m8[i] = comp[6]
        off_bases = comp[6:0:-1]  # comp(nt8) ... comp(nt3)
        m6[i] = int(np.sum(m6_bases * (4 ** np.arange(5, -1, -1))))
        off[i] = int(np.sum(off_bases * (4 ** np.arange(5, -1, -1))))
    return m6, m8, off


def _csr(keys: npt.NDArray[np.int64], nkeys: int) -> tuple[npt.NDArray[np.int64],
                                                          npt.NDArray[np.int64]]:
    order = np.argsort(keys, kind="stable").astype(np.int64)
    counts = np.bincount(keys, minlength=nkeys)
    offsets = np.zeros(nkeys + 1, np.int64)
    np.cumsum(counts, out=offsets[1:])
    return order, offsets


def _gather(kcodes: npt.NDArray[np.int64], valid: npt.NDArray[np.bool_],
            order: npt.NDArray[np.int64], offsets: npt.NDArray[np.int64]
            ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """All (position, miRNA) pairs where the k-mer at position is a key of the CSR index."""
    counts = np.diff(offsets)
    per_pos = np.where(valid, counts[kcodes], 0)
    pos = np.flatnonzero(per_pos)
    reps = per_pos[pos]
    total = int(reps.sum())
    if total == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    hit_pos = np.repeat(pos, reps)
    # index within each run: 0..reps-1
    run_start = np.repeat(np.cumsum(reps) - reps, reps)
    within = np.arange(total, dtype=np.int64) - run_start
    mir = order[offsets[kcodes[hit_pos]] + within]
    return hit_pos, mir


def scan_encoded(codes: npt.NDArray[np.uint8], starts: npt.NDArray[np.int64],
                 seeds: Sequence[str], site_types: set[int]
                 ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.int8]]:
    """Core scan of a concatenated, masked code array (UTRs separated by code 4).

    Returns (0-based start in ``codes``, miRNA index, site-type index), sorted by position.
    """
    m6, m8, off = _seed_codes(seeds)
    k6, valid = _kmer_codes(codes, 6)
    out_pos: list[npt.NDArray[np.int64]] = []
    out_mir: list[npt.NDArray[np.int64]] = []
    out_type: list[npt.NDArray[np.int8]] = []
    if site_types & {_T8, _T7M8, _T7A1, _T6}:
        order, offsets = _csr(m6, 4096)
        pos, mir = _gather(k6, valid, order, offsets)
        n = codes.size
        prev = np.where(pos > 0, codes[np.maximum(pos - 1, 0)], 4)
        nxt = np.where(pos + 6 < n, codes[np.minimum(pos + 6, n - 1)], 4)
        has8 = prev == m8[mir]
        has1 = nxt == 0
        stype = np.where(has8 & has1, _T8, np.where(has8, _T7M8, np.where(has1, _T7A1, _T6)))
        start = pos - has8.astype(np.int64)
        keep = np.isin(stype, list(site_types))
        out_pos.append(start[keep])
        out_mir.append(mir[keep])
        out_type.append(stype[keep].astype(np.int8))
    if _TOFF in site_types:
        order, offsets = _csr(off, 4096)
        pos, mir = _gather(k6, valid, order, offsets)
        n = codes.size
        # position pos+1 carries an nt 2-7 match iff the base at pos+6 is comp(nt2)
        nt2_target = np.asarray([_COMP_CODE[encode(s)[0]] for s in seeds], np.int64)
        nxt = np.where(pos + 6 < n, codes[np.minimum(pos + 6, n - 1)], 4)
        keep = nxt != nt2_target[mir]
        out_pos.append(pos[keep])
        out_mir.append(mir[keep])
        out_type.append(np.full(int(keep.sum()), _TOFF, np.int8))
    if not out_pos:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.int8)
    p = np.concatenate(out_pos)
    m = np.concatenate(out_mir)
    t = np.concatenate(out_type)
    o = np.lexsort((t, m, p))
    return p[o], m[o], t[o]


def encode_utrs(utrs: Sequence[str], mask_5p: int = DEFAULT_MASK_5P
                ) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Concatenate UTRs (gaps stripped) with one separator base after each; mask 5' ends.

    Returns (codes, starts, lengths) with ``starts[i]`` the offset of UTR i in ``codes``.
    """
    if mask_5p < 0:
        raise InputError("mask must be >= 0 nucleotides", field="mask_5p", value=mask_5p)
    parts = [encode(u) for u in utrs]
    lengths = np.array([p.size for p in parts], dtype=np.int64)
    starts = np.zeros(len(parts), np.int64)
    if len(parts) > 1:
        np.cumsum(lengths[:-1] + 1, out=starts[1:])
    total = int(lengths.sum() + len(parts))
    codes = np.full(total, 4, dtype=np.uint8)
    for s, p in zip(starts, parts, strict=True):
        codes[s:s + p.size] = p
        if mask_5p:
            codes[s:s + min(mask_5p, p.size)] = 4
    return codes, starts, lengths


def scan(mirnas: Sequence[tuple[str, str]], utrs: Sequence[tuple[str, str]], *,
         site_types: Sequence[str] = DEFAULT_SITE_TYPES, mask_5p: int = DEFAULT_MASK_5P,
         chunk_nt: int = 8_000_000) -> SiteTable:
    """Scan UTRs for canonical sites of every miRNA in one pass per chunk.

    ``mirnas``: (name, mature sequence or 7-nt seed nt 2-8); ``utrs``: (target id, sequence).
    UTRs are processed in chunks of about ``chunk_nt`` nucleotides to bound memory.
    """
    types = _parse_site_types(site_types)
    names = [n for n, _ in mirnas]
    seeds = [seed_region(s, name=n) for n, s in mirnas]
    targets = [t for t, _ in utrs]
    res_m: list[npt.NDArray[np.int64]] = []
    res_u: list[npt.NDArray[np.int64]] = []
    res_t: list[npt.NDArray[np.int8]] = []
    res_s: list[npt.NDArray[np.int64]] = []
    i = 0
    while i < len(utrs):
        j, acc = i, 0
        while j < len(utrs) and (acc == 0 or acc + len(utrs[j][1]) <= chunk_nt):
            acc += len(utrs[j][1])
            j += 1
        codes, starts, _ = encode_utrs([u for _, u in utrs[i:j]], mask_5p)
        pos, mir, typ = scan_encoded(codes, starts, seeds, types)
        uidx = np.searchsorted(starts, pos, side="right") - 1
        res_m.append(mir)
        res_u.append(uidx + i)
        res_t.append(typ)
        res_s.append(pos - starts[uidx])
        i = j
    if res_m:
        mir_a, utr_a = np.concatenate(res_m), np.concatenate(res_u)
        typ_a, st_a = np.concatenate(res_t), np.concatenate(res_s)
    else:
        mir_a = utr_a = st_a = np.zeros(0, np.int64)
        typ_a = np.zeros(0, np.int8)
    lengths = np.asarray([SITE_LENGTH[t] for t in SITE_TYPES], np.int64)[typ_a]
    return SiteTable(
        mirna_names=names, target_names=targets,
        mirna=mir_a.astype(np.int32), target=utr_a.astype(np.int32), site_type=typ_a,
        utr_start=(st_a + 1).astype(np.int32), utr_end=(st_a + lengths).astype(np.int32),
    )
