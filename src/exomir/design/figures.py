"""Figures for the design report, as SVG text (inlined into report.html and saved beside it).

Every figure is drawn for the full width of the report. Candidates differ by colour (Okabe-Ito,
colour-blind safe), line style and marker, so lines that coincide stay distinguishable and the
legend survives greyscale printing; reference arms (untreated, vehicle only) are black and grey
lines with their own styles and are named in the legend. Style and SVG writing:
:mod:`exomir.formats.svg` (10 pt text).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from exomir.formats.svg import styled, to_svg

# Okabe & Ito 2008 colour-blind-safe palette (blue, vermillion, bluish green, reddish purple,
# orange, sky blue), paired with line styles and markers for greyscale.
COLORS = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9"]
STYLES = ["-", "--", "-.", ":", (0, (5, 1, 1, 1, 1, 1)), (0, (8, 2))]
MARKERS = ["o", "s", "^", "D", "v", "P"]
REF_STYLES: list[dict[str, Any]] = [
    {"color": "black", "ls": "-", "lw": 2.2}, {"color": "#707070", "ls": (0, (6, 3)), "lw": 2.0},
    {"color": "#A0A0A0", "ls": (0, (2, 2)), "lw": 2.0}, {"color": "#505050", "ls": "-.", "lw": 1.8}]
WIDTH_IN = 10.5


def style(i: int) -> dict[str, Any]:
    """Colour, line style and marker of the i-th candidate."""
    return {"color": COLORS[i % len(COLORS)], "ls": STYLES[i % len(STYLES)],
            "marker": MARKERS[i % len(MARKERS)]}


def _legend(ax: plt.Axes) -> None:
    ax.legend(frameon=False, fontsize=9, loc="upper left", bbox_to_anchor=(1.01, 1.0),
              handlelength=3.2)


def _marks(t: np.ndarray, i: int, k: int, n: int = 10) -> list[int]:
    """Indices of ``n`` markers evenly spaced in time, shifted per series so that markers of
    coinciding lines do not sit on one another."""
    if len(t) < 2:
        return [0]
    span = t[-1] - t[0]
    at = t[0] + span * (np.arange(n) + (i + 0.5) / k) / n
    return sorted({int(j) for j in np.clip(np.searchsorted(t, at), 0, len(t) - 1)})


@styled(10)
def bands(times: np.ndarray, series: Mapping[str, np.ndarray], *, ylabel: str, title: str,
          refs: Mapping[str, np.ndarray] | None = None, hline: float | None = None,
          hlabel: str | None = None) -> str:
    """Median line and 5-95 % band across subjects for each series (N, T); reference arms
    (untreated, vehicle only) as median lines."""
    fig, ax = plt.subplots(figsize=(WIDTH_IN, 3.8))
    t = np.asarray(times, dtype=float)
    k = max(len(series), 1)
    for j, (label, y) in enumerate((refs or {}).items()):
        ax.plot(t, np.median(y, axis=0), label=label, zorder=1, **REF_STYLES[j % len(REF_STYLES)])
    for i, (label, y) in enumerate(series.items()):
        st = style(i)
        lo, med, hi = np.percentile(y, [5, 50, 95], axis=0)
        ax.fill_between(t, lo, hi, color=st["color"], alpha=0.13, lw=0)
        ax.plot(t, med, color=st["color"], ls=st["ls"], lw=1.8, marker=st["marker"], ms=5,
                markevery=_marks(t, i, k), label=label, zorder=2,
                mfc="white" if i % 2 else st["color"])
    if hline is not None:
        ax.axhline(hline, color="grey", ls=":", lw=1, label=hlabel)
    ax.set_xlabel("time (days)")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    _legend(ax)
    return to_svg(fig)


@styled(10)
def dose_response(doses: Sequence[float] | np.ndarray,
                  curves: Mapping[str, tuple[np.ndarray, np.ndarray, np.ndarray]],
                  *, ylabel: str, title: str, goal: float | None = None,
                  refs: Mapping[str, tuple[float, float, float]] | None = None) -> str:
    """Median and 5-95 % band versus dose (particles per administration, log axis), with the
    untreated and vehicle-only arms (median, band edges dotted) as horizontal references."""
    fig, ax = plt.subplots(figsize=(WIDTH_IN, 3.8))
    d = np.asarray(doses, dtype=float)
    for j, (label, (r_lo, r_med, r_hi)) in enumerate((refs or {}).items()):
        rs = REF_STYLES[j % len(REF_STYLES)]
        ax.axhline(r_med, label=label, zorder=1, **rs)
        ax.axhspan(r_lo, r_hi, color=rs["color"], alpha=0.06, lw=0)
    for i, (label, (lo, med, hi)) in enumerate(curves.items()):
        st = style(i)
        ax.fill_between(d, lo, hi, color=st["color"], alpha=0.13, lw=0)
        ax.plot(d, med, color=st["color"], ls=st["ls"], marker=st["marker"], lw=1.8, ms=5,
                label=label, zorder=2, mfc="white" if i % 2 else st["color"])
    if goal is not None:
        ax.axhline(goal, color="grey", ls=":", lw=1.2, label="goal")
    ax.set_xscale("log")
    ax.set_xlabel("dose (particles per administration)")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    _legend(ax)
    return to_svg(fig)


@styled(10)
def attribution_bars(names: Sequence[str], parts: Mapping[str, Sequence[float]], *,
                     xlabel: str, title: str) -> str:
    """Stacked horizontal bars: median share of each structure in each candidate's gain."""
    fig, ax = plt.subplots(figsize=(WIDTH_IN, 0.55 * len(names) + 1.4))
    y = np.arange(len(names))[::-1]
    hatches = ["", "//", ".."]
    colors = ["#B0B0B0", "#0072B2", "#D55E00"]
    left_pos = np.zeros(len(names))
    left_neg = np.zeros(len(names))
    for k, (label, vals) in enumerate(parts.items()):
        v = np.asarray(vals, dtype=float)
        left = np.where(v >= 0, left_pos, left_neg)
        ax.barh(y, v, left=left, color=colors[k % 3], hatch=hatches[k % 3], edgecolor="black",
                lw=0.6, label=label)
        left_pos = left_pos + np.maximum(v, 0)
        left_neg = left_neg + np.minimum(v, 0)
    ax.axvline(0, color="black", lw=1)
    ax.set_yticks(y, list(names))
    ax.set_xlabel(xlabel)
    ax.set_title(title)
    _legend(ax)
    return to_svg(fig)
