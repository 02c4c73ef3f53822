"""Figures: release data with error bars, fitted curves and a residual panel (matplotlib)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from exomir.core.errors import InputError
from exomir.release.fit import KP_MAX_FRACTION, FitReport


def plot_fit(report: FitReport, path: str | Path, *, top: int = 4) -> Path:
    """Write data (mean +- SD), the ``top`` ranked fits and their residuals to PNG/SVG/PDF."""
    out = Path(path)
    if out.suffix.lower() not in {".png", ".svg", ".pdf"}:
        raise InputError("unsupported figure format", field="plot", value=str(out),
                         accepted=".png, .svg, .pdf")
    data = report.data
    ts, mean, sd = data.mean_curve()
    fig, (ax, axr) = plt.subplots(2, 1, figsize=(7, 6.5), sharex=True,
                                  gridspec_kw={"height_ratios": [3, 1.3]})
    ax.errorbar(ts, 100 * mean, yerr=100 * np.nan_to_num(sd), fmt="o", color="black",
                capsize=3, label="data (mean ± SD)", zorder=5)
    grid = np.linspace(0.0, float(ts.max()) * 1.02, 300)
    shown = [f for f in report.fits if f.rank is not None][:top]
    if report.recommended is not None and report.recommended not in shown:
        shown = [report.recommended, *shown[: top - 1]]
    shown += [f for f in report.fits if f.rank is None][:1]
    for f in shown:
        style = "-" if f is report.recommended else "--"
        tag = " (recommended)" if f is report.recommended else ""
        tag += f" [{f.subset}]" if f.subset != "all" else ""
        g = grid
        if f.subset != "all":  # draw subset fits only over the range they were fitted on
            g = grid[grid <= float(ts[mean <= KP_MAX_FRACTION].max(initial=0.0)) * 1.05]
        line = ax.plot(g, 100 * f.predict(g), style,
                       label=f"{f.model.label}{tag}, adj. R² {f.r2_adj:.3f}")[0]
        if f.subset == "all":  # subset fits (Korsmeyer-Peppas) have no full residual set
            axr.plot(data.t_days, 100 * f.residuals, "o", ms=3, color=line.get_color(), alpha=0.7)
    axr.axhline(0, color="grey", lw=0.8)
    ax.set_ylabel("cumulative release (%)")
    ax.set_title(f"Release fit: {Path(data.source).name}")
    ax.legend(fontsize=8, loc="lower right")
    axr.set_xlabel("time (days)")
    axr.set_ylabel("residual (%)")
    fig.tight_layout()
    fig.savefig(out)
    plt.close(fig)
    return out
