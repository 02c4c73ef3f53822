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
into one array with a separator between UTRs; a CSR index from 6-mer code -> miRNAs whose M6
(and, for offset 6mers, whose nt 3-8 match) is that code is built with numpy; one compiled
pass (numba) then walks every UTR once with a rolling 6-mer code, looks the code up, checks m8
and A1 and writes each site in (UTR, start, miRNA, type) order. It runs twice: once to count
the sites (to allocate exactly), once to write them. The cost is O(UTR length + number of
sites), independent of the number of miRNAs except through the sites they produce.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from numba import njit

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
_TYPE_LENGTH = np.asarray([SITE_LENGTH[t] for t in SITE_TYPES], np.int32)


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
    #: nt 2-8 of each miRNA (the seed region scanned), parallel to ``mirna_names``
    seeds: list[str] = field(default_factory=list)

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


def _seed_codes(seeds: Sequence[str]) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64],
                                               npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Per miRNA: 6-mer code of M6, target code for m8, 6-mer code of the offset match and the
    target code opposite nt 2 (the base that would turn an offset 6mer into an nt 2-7 match)."""
    m6 = np.empty(len(seeds), np.int64)
    m8 = np.empty(len(seeds), np.int64)
    off = np.empty(len(seeds), np.int64)
    nt2 = np.empty(len(seeds), np.int64)
    weights = 4 ** np.arange(5, -1, -1)
    for i, s in enumerate(seeds):
        c = encode(s).astype(np.int64)  # nt 2..8
        comp = _COMP_CODE[c]
        # target 5'->3' = reverse complement; M6 = revcomp(nt2-7)
        m6[i] = int(np.sum(comp[5::-1] * weights))  # comp(nt7), ..., comp(nt2)
        m8[i] = comp[6]
        off[i] = int(np.sum(comp[6:0:-1] * weights))  # comp(nt8) ... comp(nt3)
        nt2[i] = comp[0]
    return m6, m8, off, nt2


def _csr(keys: npt.NDArray[np.int64], nkeys: int) -> tuple[npt.NDArray[np.int64],
                                                          npt.NDArray[np.int64]]:
    """miRNA indices grouped by key (ascending within a key) and the key -> slice offsets."""
    order = np.argsort(keys, kind="stable").astype(np.int64)
    counts = np.bincount(keys, minlength=nkeys)
    offsets = np.zeros(nkeys + 1, np.int64)
    np.cumsum(counts, out=offsets[1:])
    return order, offsets


@njit(cache=True, nogil=True)
def _scan_pass(codes: Any, ustarts: Any, ulens: Any, m6_order: Any, m6_off: Any, m8: Any,
               o_order: Any, o_off: Any, nt2: Any, want: Any, out_mir: Any, out_utr: Any,
               out_type: Any, out_start: Any, fill: bool) -> int:  # pragma: no cover - numba
    """Count (``fill`` False) or write the sites of every UTR; returns the number of sites.

    For each start position s of a UTR the candidates are: an M6 at s without its m8 partner
    (7mer-A1/6mer), an M6 at s+1 with its m8 partner at s (8mer/7mer-m8) and an offset 6mer
    at s without an nt 2 partner at s+6; they are written sorted by (miRNA, type).
    """
    nmir = m8.size
    buf_key = np.empty(3 * nmir + 1, np.int64)
    n = 0
    for u in range(ustarts.size):
        b = ustarts[u]
        L = ulens[u]
        # rolling code of the 6-mer starting at p; ``bad`` = last index of an invalid base
        knext = -1  # code of the 6-mer at s+1 (-1 = invalid)
        v = 0
        bad = -1
        for q in range(min(L, 6)):
            c = codes[b + q]
            if c > 3:
                bad = q
            v = ((v << 2) | (c & 3)) & 4095
        kcur = v if (L >= 6 and bad < 0) else -1
        for s in range(L):
            # code of the 6-mer at s+1 (window s+1..s+6)
            if s + 6 < L:
                c = codes[b + s + 6]
                if c > 3:
                    bad = s + 6
                v = ((v << 2) | (c & 3)) & 4095
                knext = v if bad < s + 1 else -1
            else:
                knext = -1
            nb = 0
            if kcur >= 0:
                a1 = s + 6 < L and codes[b + s + 6] == 0
                prev = codes[b + s - 1] if s > 0 else 4
                for j in range(m6_off[kcur], m6_off[kcur + 1]):
                    mi = m6_order[j]
                    if prev != m8[mi]:
                        t = 2 if a1 else 3
                        if want[t]:
                            buf_key[nb] = mi * 8 + t
                            nb += 1
                if want[4]:
                    after = codes[b + s + 6] if s + 6 < L else 4
                    for j in range(o_off[kcur], o_off[kcur + 1]):
                        mi = o_order[j]
                        if after != nt2[mi]:
                            buf_key[nb] = mi * 8 + 4
                            nb += 1
            if knext >= 0:
                here = codes[b + s]
                a1 = s + 7 < L and codes[b + s + 7] == 0
                for j in range(m6_off[knext], m6_off[knext + 1]):
                    mi = m6_order[j]
                    if here == m8[mi]:
                        t = 0 if a1 else 1
                        if want[t]:
                            buf_key[nb] = mi * 8 + t
                            nb += 1
            if nb == 0:
                kcur = knext
                continue
            if fill:
                # insertion sort of the few candidates by (miRNA, type)
                for i in range(1, nb):
                    x = buf_key[i]
                    k = i - 1
                    while k >= 0 and buf_key[k] > x:
                        buf_key[k + 1] = buf_key[k]
                        k -= 1
                    buf_key[k + 1] = x
                for i in range(nb):
                    out_mir[n + i] = buf_key[i] >> 3
                    out_type[n + i] = buf_key[i] & 7
                    out_utr[n + i] = u
                    out_start[n + i] = s
            n += nb
            kcur = knext
    return n


def scan_encoded(codes: npt.NDArray[np.uint8], starts: npt.NDArray[np.int64],
                 lengths: npt.NDArray[np.int64], seeds: Sequence[str], site_types: set[int]
                 ) -> tuple[npt.NDArray[np.int32], npt.NDArray[np.int32], npt.NDArray[np.int8],
                            npt.NDArray[np.int32]]:
    """Core scan of a concatenated, masked code array (UTR i at ``starts[i]``, ``lengths[i]``).

    Returns (miRNA index, UTR index, site-type index, 0-based start within the UTR), sorted by
    (UTR, start, miRNA, type).
    """
    m6, m8, off, nt2 = _seed_codes(seeds)
    m6_order, m6_off = _csr(m6, 4096)
    o_order, o_off = _csr(off, 4096)
    want = np.zeros(5, np.bool_)
    want[list(site_types)] = True
    ustarts = np.ascontiguousarray(starts, np.int64)
    ulens = np.ascontiguousarray(lengths, np.int64)
    empty32 = np.zeros(0, np.int32)
    args = (codes, ustarts, ulens, m6_order, m6_off, m8, o_order, o_off, nt2, want)
    n = _scan_pass(*args, empty32, empty32, np.zeros(0, np.int8), empty32, False)
    mir = np.empty(n, np.int32)
    utr = np.empty(n, np.int32)
    typ = np.empty(n, np.int8)
    st = np.empty(n, np.int32)
    _scan_pass(*args, mir, utr, typ, st, True)
    return mir, utr, typ, st


def encode_utrs(utrs: Sequence[str], mask_5p: int = DEFAULT_MASK_5P
                ) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Concatenate UTRs (gaps stripped) with one separator base after each; mask 5' ends.

    Returns (codes, starts, lengths) with ``starts[i]`` the offset of UTR i in ``codes``.
    """
    if mask_5p < 0:
        raise InputError("mask must be >= 0 nucleotides", field="mask_5p", value=mask_5p)
    if not utrs:
        return np.zeros(0, np.uint8), np.zeros(0, np.int64), np.zeros(0, np.int64)
    # one C-level join and one table lookup for all UTRs; "\n" separates them (code 4)
    raw = np.frombuffer("\n".join(utrs).encode("ascii", "replace") + b"\n", dtype=np.uint8)
    keep = ~_GAP[raw]
    codes = _CODE[raw[keep]] if not keep.all() else _CODE[raw]
    lengths = np.fromiter((len(u) - u.count("-") - u.count(".") for u in utrs),
                          dtype=np.int64, count=len(utrs))
    starts = np.zeros(len(utrs), np.int64)
    np.cumsum(lengths[:-1] + 1, out=starts[1:])
    if mask_5p:
        width = np.minimum(lengths, mask_5p)
        idx = np.repeat(starts, width) + (np.arange(int(width.sum()))
                                          - np.repeat(np.cumsum(width) - width, width))
        codes[idx] = 4
    return codes, starts, lengths


def chunk_ranges(utrs: Sequence[tuple[str, str]], chunk_nt: int) -> list[tuple[int, int]]:
    """Consecutive [i, j) ranges of ``utrs`` holding about ``chunk_nt`` nucleotides each
    (at least one UTR per range, so a UTR longer than ``chunk_nt`` is a range of its own)."""
    out = []
    i = 0
    while i < len(utrs):
        j, acc = i, 0
        while j < len(utrs) and (acc == 0 or acc + len(utrs[j][1]) <= chunk_nt):
            acc += len(utrs[j][1])
            j += 1
        out.append((i, j))
        i = j
    return out


def scan(mirnas: Sequence[tuple[str, str]], utrs: Sequence[tuple[str, str]], *,
         site_types: Sequence[str] = DEFAULT_SITE_TYPES, mask_5p: int = DEFAULT_MASK_5P,
         chunk_nt: int = 32_000_000) -> SiteTable:
    """Scan UTRs for canonical sites of every miRNA in one pass per chunk.

    ``mirnas``: (name, mature sequence or 7-nt seed nt 2-8); ``utrs``: (target id, sequence).
    UTRs are encoded in chunks of about ``chunk_nt`` nucleotides (1 byte per nt) to bound
    memory. Sites come sorted by (UTR, start, miRNA, type).
    """
    types = _parse_site_types(site_types)
    names = [n for n, _ in mirnas]
    seeds = [seed_region(s, name=n) for n, s in mirnas]
    targets = [t for t, _ in utrs]
    parts: list[tuple[npt.NDArray[Any], ...]] = []
    for i, j in chunk_ranges(utrs, chunk_nt):
        codes, starts, lengths = encode_utrs([u for _, u in utrs[i:j]], mask_5p)
        mir, utr, typ, st = scan_encoded(codes, starts, lengths, seeds, types)
        if i:
            utr += np.int32(i)
        parts.append((mir, utr, typ, st))
    if len(parts) == 1:
        mir_a, utr_a, typ_a, st_a = parts[0]
    elif parts:
        mir_a, utr_a, typ_a, st_a = (np.concatenate(c) for c in zip(*parts, strict=True))
    else:
        mir_a, utr_a, st_a = (np.zeros(0, np.int32) for _ in range(3))
        typ_a = np.zeros(0, np.int8)
    length = _TYPE_LENGTH[typ_a]
    st_a += np.int32(1)
    return SiteTable(
        mirna_names=names, target_names=targets,
        mirna=mir_a, target=utr_a, site_type=typ_a,
        utr_start=st_a, utr_end=st_a + (length - np.int32(1)), seeds=seeds,
    )
