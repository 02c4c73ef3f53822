"""Genome-scale scan + context++ scoring in UTR chunks, in parallel threads, bounded memory.

The UTRs are cut into chunks of about ``chunk_nt`` nucleotides (whole UTRs); each chunk is
scanned and scored on its own (every feature of a site depends only on its own UTR, ORF and
isoforms), so chunks run concurrently in threads (the compiled loops release the GIL) and
memory stays at a few hundred MB whatever the genome size. Chunks come back in input order.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import numpy as np
import numpy.typing as npt

from exomir.cargo.context import ContextScores, score_table
from exomir.cargo.sites import (
    DEFAULT_MASK_5P,
    DEFAULT_SITE_TYPES,
    SiteTable,
    chunk_ranges,
    scan,
)

Chunk = tuple[SiteTable, ContextScores | None]


def scan_and_score(mirnas: Sequence[tuple[str, str]], utrs: Sequence[tuple[str, str]], *,
                   site_types: Sequence[str] = DEFAULT_SITE_TYPES,
                   mask_5p: int = DEFAULT_MASK_5P, scores: bool = True,
                   orfs: Sequence[tuple[str, str]] | None = None,
                   pct_for: Callable[[SiteTable], npt.NDArray[np.float64]] | None = None,
                   chunk_nt: int = 2_000_000, threads: int | None = None,
                   progress: Callable[[int, int], None] | None = None,
                   **score_kw: Any) -> Iterator[Chunk]:
    """Scan (and with ``scores`` score) UTRs chunk by chunk; yields (sites, scores) per chunk.

    ``mirnas``: (name, mature sequence or 7-nt seed); the mature sequences also feed the
    context++ terms that need them. ``orfs``: ORF sequences by target name (each chunk gets
    its own); ``pct_for``: PCT per site of a chunk's table (see
    :func:`exomir.cargo.conservation.site_pct`); other keywords go to
    :func:`exomir.cargo.context.score_table` (``orf_lengths``, ``airs``, ``sa``,
    ``targetscan_compat``, ``workers``). ``threads``: concurrent chunks (default: CPUs; 1
    when computing SA, which runs its own processes). ``progress(done_nt, total_nt)``.
    """
    mature = dict(score_kw.pop("mature", None) or dict(mirnas))
    orf_by_target: Mapping[str, str] = dict(orfs or ())
    ranges = chunk_ranges(utrs, chunk_nt)
    n_threads = threads or os.cpu_count() or 1
    if score_kw.get("sa"):
        n_threads = 1
    total_nt = sum(len(u) for _, u in utrs)

    def work(rng: tuple[int, int]) -> tuple[Chunk, int]:
        part = utrs[rng[0]:rng[1]]
        table = scan(mirnas, part, site_types=site_types, mask_5p=mask_5p)
        sc = None
        if scores:
            sub_orfs = [(t, orf_by_target[t]) for t, _ in part if t in orf_by_target]
            sc = score_table(table, part, mature=mature, orfs=sub_orfs or None,
                             pct=pct_for(table) if pct_for is not None else None,
                             mask_5p=mask_5p, **score_kw)
        return (table, sc), sum(len(u) for _, u in part)

    done = 0
    if n_threads <= 1 or len(ranges) <= 1:
        for rng in ranges:
            chunk, nt = work(rng)
            done += nt
            if progress is not None:
                progress(done, total_nt)
            yield chunk
        return
    with ThreadPoolExecutor(max_workers=n_threads) as ex:
        pending: deque[Future[tuple[Chunk, int]]] = deque()
        it = iter(ranges)
        for rng in it:
            pending.append(ex.submit(work, rng))
            if len(pending) > n_threads:
                break
        while pending:
            chunk, nt = pending.popleft().result()
            nxt = next(it, None)
            if nxt is not None:
                pending.append(ex.submit(work, nxt))
            done += nt
            if progress is not None:
                progress(done, total_nt)
            yield chunk
