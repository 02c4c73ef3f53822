"""3'UTR isoform profiles: affected isoform ratios (AIRs) from 3P-seq (Agarwal 2015).

A profile splits a 3'UTR into regions ``[start, end]`` (1-based, inclusive) by the poly(A)
sites observed; a region's AIR is the percentage of the gene's transcripts whose 3'UTR
reaches it (100 for the region next to the stop codon). TargetScan 7 reads them from
``All_cell_lines.AIRs.txt`` (gene, start, end, AIR %; tab-separated, no header; only the first
four columns are used) and uses them to weight ``Len_3UTR``, ``Min_dist`` and ``Off6m`` and to
turn a site's context++ score into a weighted one (see :mod:`exomir.cargo.context`).

For a species other than the one profiled, TargetScan 7 rescales the regions by the ratio of
UTR lengths (``factor = len(reference UTR) / len(this UTR)``, ends ``round(end / factor)``,
starts likewise except a start of 1): :func:`scale_regions`.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np
import numpy.typing as npt

from exomir.core.errors import InputError

Region = tuple[int, int, float]  # start, end (1-based inclusive), AIR in percent


def read_airs(path: str | Path) -> dict[str, list[Region]]:
    """Regions per gene from a TargetScan AIR file (gene, start, end, AIR %, ...)."""
    from exomir.formats import read_lines  # the one input layer (encodings, limits, binary)

    p = Path(path)
    out: dict[str, list[Region]] = {}
    for n, line in read_lines(p):
        if not line.strip():
            continue
        f = line.split("\t")
        if len(f) < 4:
            raise InputError("expected 4 tab-separated columns (gene, start, end, AIR %)",
                             source=p, line=n, value=line.strip()[:60])
        try:
            start, end, air = int(f[1]), int(f[2]), float(f[3])
        except ValueError:
            raise InputError("start and end must be integers and AIR a number",
                             source=p, line=n, value="\t".join(f[1:4])) from None
        if start < 1 or end < start or not 0 <= air <= 100:
            raise InputError("need 1 <= start <= end and 0 <= AIR <= 100", source=p,
                             line=n, value=f"{start} {end} {air}")
        out.setdefault(f[0], []).append((start, end, air))
    if not out:
        raise InputError("no AIR regions read", source=p)
    return out


def _round_half_even(x: float) -> int:
    return int(np.rint(x))


def scale_regions(regions: list[Region], factor: float) -> list[Region]:
    """TargetScan 7's rescaling of one gene's regions to another species' UTR length.

    Regions are keyed by their scaled end (a later region with the same scaled end replaces
    an earlier one, as in TargetScan's hash)."""
    by_end: dict[int, Region] = {}
    for start, end, air in regions:
        e = _round_half_even(end / factor)
        s = _round_half_even(start / factor) if start > 1 else 1
        by_end[e] = (s, e, air)
    return list(by_end.values())


def region_arrays(targets: list[str], airs: Mapping[str, list[Region]] | None
                  ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64],
                             npt.NDArray[np.int64], npt.NDArray[np.float64]]:
    """CSR arrays (offsets per target, starts, ends, AIRs) sorted by end within a target."""
    off = np.zeros(len(targets) + 1, np.int64)
    starts: list[int] = []
    ends: list[int] = []
    vals: list[float] = []
    for i, t in enumerate(targets):
        regs = sorted((airs or {}).get(t, ()), key=lambda r: r[1])
        for s, e, a in regs:
            starts.append(s)
            ends.append(e)
            vals.append(a)
        off[i + 1] = len(ends)
    return (off, np.asarray(starts, np.int64), np.asarray(ends, np.int64),
            np.asarray(vals, np.float64))
