"""Figures for the design report, as SVG text (inlined into report.html and saved beside it)."""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

plt.rcParams.update({"svg.fonttype": "none", "font.size": 9, "axes.spines.top": False,
                     "axes.spines.right": False})
COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b"]


def to_svg(fig: plt.Figure) -> str:
    buf = io.StringIO()
    fig.savefig(buf, format="svg", bbox_inches="tight")
    plt.close(fig)
    return buf.getvalue()


def bands(times: np.ndarray, series: Mapping[str, np.ndarray], *, ylabel: str, title: str,
          hline: float | None = None, hlabel: str | None = None) -> str:
    """Median line and 5-95 % band across subjects for each candidate; series: (N, T)."""
    fig, ax = plt.subplots(figsize=(6.4, 3.6))
    for i, (label, y) in enumerate(series.items()):
        c = COLORS[i % len(COLORS)]
        lo, med, hi = np.percentile(y, [5, 50, 95], axis=0)
        ax.fill_between(times, lo, hi, color=c, alpha=0.18, lw=0)
        ax.plot(times, med, color=c, lw=1.8, label=label)
    if hline is not None:
        ax.axhline(hline, color="grey", ls="--", lw=1, label=hlabel)
    ax.set_xlabel("time (days)")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.legend(frameon=False, fontsize=8)
    return to_svg(fig)


def dose_response(doses: Sequence[float] | np.ndarray, curves: Mapping[str, tuple[np.ndarray, np.ndarray,
                                                                     np.ndarray]],
                  *, ylabel: str, title: str, goal: float | None = None) -> str:
    """Median and 5-95 % band versus dose (particles per administration, log axis)."""
    fig, ax = plt.subplots(figsize=(6.4, 3.6))
    d = np.asarray(doses, dtype=float)
    for i, (label, (lo, med, hi)) in enumerate(curves.items()):
        c = COLORS[i % len(COLORS)]
        ax.fill_between(d, lo, hi, color=c, alpha=0.18, lw=0)
        ax.plot(d, med, "o-", color=c, lw=1.6, ms=3, label=label)
    if goal is not None:
        ax.axhline(goal, color="grey", ls="--", lw=1, label="goal")
    ax.set_xscale("log")
    ax.set_xlabel("dose (particles per administration)")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.legend(frameon=False, fontsize=8)
    return to_svg(fig)


def tornado(labels: Sequence[str], low: Sequence[float], high: Sequence[float], base: float,
            *, xlabel: str, title: str) -> str:
    """One-at-a-time sensitivity: headline at each parameter's low and high value."""
    n = len(labels)
    fig, ax = plt.subplots(figsize=(6.4, 0.35 * n + 1.2))
    y = np.arange(n)[::-1]
    for yi, lo, hi in zip(y, low, high, strict=True):
        ax.barh(yi, lo - base, left=base, color="#1f77b4", alpha=0.8)
        ax.barh(yi, hi - base, left=base, color="#d62728", alpha=0.8)
    ax.axvline(base, color="black", lw=1)
    ax.set_yticks(y, labels)
    ax.set_xlabel(xlabel)
    ax.set_title(title)
    return to_svg(fig)
