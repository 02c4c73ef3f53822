"""Pathway over-representation of a target list against GMT gene sets.

For each gene set S, with background universe U (default: the union of all genes in the GMT
file, optionally intersected with a user background), query Q = targets in U:
``p = P[X >= k]``, X ~ Hypergeometric(N=|U|, K=|S in U|, n=|Q|), k = |Q in S| (one-sided
over-representation, equal to a one-sided Fisher exact test). P-values are adjusted with
Benjamini-Hochberg (1995, doi:10.1111/j.2517-6161.1995.tb02031.x) over all tested sets.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy.stats import hypergeom

from exomir.core.errors import InputError
from exomir.core.models import GeneSet


def read_gmt(path: str | Path) -> list[GeneSet]:
    """Gene sets of a GMT file (read by :func:`exomir.formats.read_gmt`)."""
    from exomir.formats import read_gmt as _read

    return list(_read(path))


def bh_adjust(p: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """Benjamini-Hochberg adjusted p-values (step-up, monotone, capped at 1)."""
    pv = np.asarray(p, dtype=float)
    n = pv.size
    if n == 0:
        return pv
    order = np.argsort(pv)
    ranked = pv[order] * n / np.arange(1, n + 1)
    adj = np.minimum.accumulate(ranked[::-1])[::-1]
    out = np.empty(n)
    out[order] = np.minimum(adj, 1.0)
    return out


def enrich(targets: Iterable[str], gene_sets: list[GeneSet],
           background: Iterable[str] | None = None, min_size: int = 5,
           max_size: int = 2000) -> pd.DataFrame:
    """Hypergeometric enrichment of ``targets`` in each gene set, BH-adjusted.

    Columns: gene_set, k (overlap), K (set size in universe), n (query size), N (universe),
    expected, fold, p, q, genes (overlap).
    """
    universe = set().union(*(set(g.genes) for g in gene_sets))
    if background is not None:
        universe &= {b.upper() for b in background}
    asked = {t.upper() for t in targets}
    if not asked:
        raise InputError("the gene list is empty", field="genes",
                         accepted="one or more gene symbols")
    if not universe:
        raise InputError("no genes in the universe (gene sets x background)", field="background",
                         accepted="a background that overlaps the gene sets' genes")
    query = asked & universe
    if not query:
        raise InputError(f"none of the {len(asked)} genes is in the gene sets' universe of "
                         f"{len(universe)} genes", field="genes", value=", ".join(sorted(asked)),
                         accepted="gene symbols as the GMT spells them (e.g. PTEN)")
    N, n = len(universe), len(query)
    rows = []
    for gs in gene_sets:
        s = set(gs.genes) & universe
        if not (min_size <= len(s) <= max_size):
            continue
        hit = sorted(query & s)
        k = len(hit)
        p = float(hypergeom.sf(k - 1, N, len(s), n)) if n else 1.0
        exp = n * len(s) / N if N else 0.0
        rows.append({"gene_set": gs.name, "k": k, "K": len(s), "n": n, "N": N,
                     "expected": exp, "fold": (k / exp) if exp else float("nan"), "p": p,
                     "genes": ",".join(hit)})
    df = pd.DataFrame(rows, columns=["gene_set", "k", "K", "n", "N", "expected", "fold", "p",
                                     "genes"])
    df.insert(8, "q", bh_adjust(df["p"].to_numpy()) if len(df) else [])
    return df.sort_values(["p", "gene_set"]).reset_index(drop=True)
