"""Figures as SVG text: index bars with CIs, Morris mu*, uncertainty vs variability bands."""

from __future__ import annotations

from typing import Any

import numpy as np

from exomir.formats.svg import styled, to_svg
from exomir.sensitivity.result import SensitivityResult


def _plt() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


@styled(9)
def indices_bar(result: SensitivityResult, output: str, k: int = 12) -> str:
    """Top-k labels: S1 and ST bars with 95 % CI whiskers (Sobol', eFAST) or mu* with its CI
    and sigma (Morris), largest first."""
    plt = _plt()
    top = result.top(output, k)
    col = result.column(output)
    n = len(top)
    fig, ax = plt.subplots(figsize=(6.4, 0.32 * n + 1.3))
    y = np.arange(n)[::-1]
    if result.method == "morris":
        ax.barh(y, top["mu_star"], xerr=top["mu_star_conf"], color="#1f77b4", alpha=0.85,
                capsize=2, label="mu* (95 % CI)")
        ax.plot(top["sigma"], y, "k|", ms=10, label="sigma")
        ax.set_xlabel(f"mean |elementary effect| ({col.unit} per full range)")
    else:
        h = 0.38
        ax.barh(y + h / 2, top["S1"], h, xerr=top["S1_conf"], color="#1f77b4", capsize=2,
                label="first order S1")
        ax.barh(y - h / 2, top["ST"], h, xerr=top["ST_conf"], color="#d62728", capsize=2,
                label="total ST")
        ax.axvline(0, color="black", lw=0.8)
        ax.set_xlabel("Sobol' index (share of output variance; 95 % bootstrap CI)")
    ax.set_yticks(y, list(top["label"]))
    ax.set_title(f"{col.label}: {result.method}, n = {result.n}")
    ax.legend(frameon=False, fontsize=8, loc="lower right")
    return to_svg(fig)


@styled(9)
def bands_plot(unc: Any, outputs: list[str] | None = None) -> str:
    """Per output: the variability, uncertainty and combined 5-95 % ranges and the nominal."""
    plt = _plt()
    outs = outputs or [c.name for c in unc.columns[:2]]
    fig, axes = plt.subplots(len(outs), 1, figsize=(6.4, 1.5 * len(outs) + 0.6),
                             squeeze=False)
    kinds = [("var", "between-subject variability", "#2ca02c"),
             ("unc", "parameter uncertainty (median)", "#d62728"),
             ("comb", "combined", "#7f7f7f")]
    for ax, out in zip(axes[:, 0], outs, strict=True):
        b = unc.band(out)
        for i, (key, label, color) in enumerate(kinds):
            lo, hi = b[f"{key}_p05"], b[f"{key}_p95"]
            ax.plot([lo, hi], [2 - i, 2 - i], color=color, lw=6, solid_capstyle="butt",
                    label=label)
        ax.axvline(b["nominal_median"], color="black", lw=1, ls="--", label="nominal median")
        ax.set_yticks([2, 1, 0], ["variability", "uncertainty", "combined"])
        ax.set_ylim(-0.6, 2.6)
        unit = f" ({b['unit']})" if b["unit"] else ""
        ax.set_xlabel(f"{b['label']}{unit}: 5-95 %")
    axes[0, 0].legend(frameon=False, fontsize=7, loc="upper left", bbox_to_anchor=(1, 1))
    return to_svg(fig)
