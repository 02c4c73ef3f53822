"""Population plots: exposure per tissue, copies per target cell, knockdown, outcome (bands)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from exomir.body.model import TISSUES
from exomir.body.simulate import UNCERTAINTY_NOTE, Result


def _band(ax, t: np.ndarray, x: np.ndarray, label: str) -> None:  # type: ignore[no-untyped-def]
    med = np.median(x, axis=0)
    lo, hi = np.percentile(x, [5, 95], axis=0)
    line = ax.plot(t, med, label=label)[0]
    ax.fill_between(t, lo, hi, color=line.get_color(), alpha=0.2, linewidth=0)


def write_plots(result: Result, out_dir: str | Path) -> list[Path]:
    """Write four PNG figures with median and 5-95 % bands; returns their paths."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    m = result.model
    t = result.times
    dose = np.maximum(result.params["dose"], 1.0)[:, None]
    paths = []

    fig, ax = plt.subplots(figsize=(7, 4.5))
    for s in ["plasma", *TISSUES]:
        _band(ax, t, 100 * result.state(s) / dose, s)
    ax.set(xlabel="time (day)", ylabel="% of one dose", yscale="log", ylim=(1e-3, 200),
           title="Exposure per tissue (median, 5-95 %)")
    ax.legend(fontsize=7, ncol=2)
    paths.append(out / "exposure.png")
    fig.savefig(paths[-1], dpi=120, bbox_inches="tight")
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(7, 4.5))
    _band(ax, t, result.state(f"{m.target}_mirna_cyt"), "cytosolic miRNA")
    _band(ax, t, result.state(f"{m.target}_mirna_risc"), "RISC-loaded miRNA")
    ax.set(xlabel="time (day)", ylabel="copies per target cell",
           title=f"miRNA copies per {m.target} target cell")
    ax.legend()
    paths.append(out / "copies_per_cell.png")
    fig.savefig(paths[-1], dpi=120, bbox_inches="tight")
    plt.close(fig)

    obs = result.observables()
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for g in m.genes:
        _band(ax, t, 100 * obs[f"knockdown_{g}"], g)
    ax.set(xlabel="time (day)", ylabel="protein knockdown (%)", title="Target knockdown")
    if m.genes:
        ax.legend()
    paths.append(out / "knockdown.png")
    fig.savefig(paths[-1], dpi=120, bbox_inches="tight")
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(7, 4.5))
    key = "wound_closure_pct" if m.outcome == "wound_closure" else "paw_withdrawal_threshold_g"
    _band(ax, t, obs[key], key)
    ax.set(xlabel="time (day)", ylabel=key.replace("_", " "),
           title="Outcome (assumption-based link; see note)")
    fig.text(0.01, -0.05, UNCERTAINTY_NOTE, fontsize=6, wrap=True)
    paths.append(out / "outcome.png")
    fig.savefig(paths[-1], dpi=120, bbox_inches="tight")
    plt.close(fig)
    return paths
