"""Site accessibility (SA) of context++: local RNA folding with ViennaRNA (``RNAplfold``).

Agarwal 2015 (doi:10.7554/eLife.05005) scores how open a site is by the probability that the
14 nt ending 7 nt 3' of the site's nt-8 partner are unpaired (the window centred on the pairs
to miRNA nt 7 and 8), from ``RNAplfold`` local base-pair probabilities (Bernhart 2006
doi:10.1093/bioinformatics/btl024; ViennaRNA, Lorenz 2011 doi:10.1186/1748-7188-6-26) with
the settings TargetScan 7's ``targetscan_70_context_scores.pl`` uses: window ``-W 80``,
maximal base-pair span ``-L 40``, unpaired stretches up to ``-u 20`` of which it reads length
14. SA = log10 of that probability (scaled per site type like the other continuous features).

exomir calls the ViennaRNA Python package (``RNA.pfl_fold_up``, the library behind the
``RNAplfold`` program; default energy parameters, Turner 2004, 37 degC, dangles 2). It costs
about 8,000 nt/s per core, so it is an option (``--sa``) and runs across processes for
large inputs.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context

import numpy as np
import numpy.typing as npt

from exomir.core.errors import ExomirError

WINDOW = 80  # RNAplfold -W
SPAN = 40  # RNAplfold -L
STRETCH = 14  # the unpaired length read (of -u 20)


def _require_rna() -> None:
    try:
        import RNA  # noqa: F401
    except ImportError as exc:  # pragma: no cover - ViennaRNA is a dependency
        raise ExomirError("site accessibility needs ViennaRNA: pip install ViennaRNA") from exc


def unpaired(seq: str, *, stretch: int = STRETCH, window: int = WINDOW,
             span: int = SPAN) -> npt.NDArray[np.float64]:
    """P(positions i-stretch+1..i unpaired) for i = 0..len(seq) (1-based; NaN for i < stretch).

    As ``RNAplfold -W window -L span -u stretch`` column ``stretch`` of its ``_lunp`` file.
    """
    import RNA

    s = seq.upper().replace("T", "U")
    out = np.full(len(s) + 1, np.nan)
    if len(s) < stretch:
        return out
    up = RNA.pfl_fold_up(s, stretch, min(window, len(s)), min(span, len(s)))
    vals = np.fromiter((row[stretch] for row in up[stretch:len(s) + 1]), np.float64,
                       count=len(s) + 1 - stretch)
    out[stretch:] = vals
    return out


def _batch(seqs: list[str]) -> list[npt.NDArray[np.float64]]:
    return [unpaired(s) for s in seqs]


def unpaired_many(seqs: Sequence[str], *, workers: int | None = None
                  ) -> list[npt.NDArray[np.float64]]:
    """:func:`unpaired` of many sequences, in ``workers`` processes (default: all CPUs) when
    the input is large enough to repay starting them (> 200 kb)."""
    _require_rna()
    n_cpu = workers or os.cpu_count() or 1
    total = sum(len(s) for s in seqs)
    if n_cpu <= 1 or total < 200_000 or len(seqs) < 2:
        return _batch(list(seqs))
    # about 4 batches per worker, balanced by length
    order = np.argsort([-len(s) for s in seqs], kind="stable")
    nb = min(len(seqs), 4 * n_cpu)
    batches: list[list[int]] = [[] for _ in range(nb)]
    load = np.zeros(nb)
    for i in order:
        j = int(np.argmin(load))
        batches[j].append(int(i))
        load[j] += len(seqs[i])
    out: list[npt.NDArray[np.float64]] = [np.zeros(0)] * len(seqs)
    with ProcessPoolExecutor(max_workers=n_cpu, mp_context=get_context("spawn")) as ex:
        for idx, res in zip(batches, ex.map(_batch, [[seqs[i] for i in b] for b in batches]),
                            strict=True):
            for i, r in zip(idx, res, strict=True):
                out[i] = r
    return out
