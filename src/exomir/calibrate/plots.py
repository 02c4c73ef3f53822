"""Figures of a calibration (SVG text): waterfall, profiles, data vs fit, residuals, correlation.

They read a :class:`CalibrationResult` and never re-run anything.
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from exomir.calibrate.profile import CHI2_95
from exomir.calibrate.result import CONVERGED_TOL, CalibrationResult
from exomir.core.calibrated import from_scale
from exomir.formats.svg import styled, to_svg

COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#17becf"]


@styled(8)
def waterfall(res: CalibrationResult) -> str:
    """Final NLL of every start, sorted (best first); the converged ones highlighted."""
    v = np.array([s.nll for s in res.starts], dtype=float)
    v = np.sort(v[np.isfinite(v)])
    fig, ax = plt.subplots(figsize=(5.2, 3.0))
    d = v - res.nll + 1e-6
    conv = d < CONVERGED_TOL
    ax.semilogy(np.arange(1, v.size + 1)[~conv], d[~conv], "o", ms=3.5, color="#888888",
                label="other local optima")
    ax.semilogy(np.arange(1, v.size + 1)[conv], d[conv], "o", ms=3.5, color=COLORS[1],
                label=f"best ({int(conv.sum())}/{v.size} starts within {CONVERGED_TOL:g})")
    ax.set_xlabel("start (sorted by final NLL)")
    ax.set_ylabel("NLL - best NLL + 1e-6")
    ax.set_title(f"waterfall: best NLL {res.nll:.6g}")
    ax.legend(frameon=False, fontsize=7)
    return to_svg(fig)


@styled(8)
def profiles(res: CalibrationResult) -> str:
    """2 (PL - NLL_min) per parameter with the chi-square threshold and the interval."""
    names = list(res.profiles)
    k = len(names)
    cols = min(3, k) or 1
    rows = -(-k // cols) if k else 1
    fig, axes = plt.subplots(rows, cols, figsize=(3.0 * cols, 2.4 * rows), squeeze=False)
    for ax, name in zip(axes.flat, names, strict=False):
        p = res.profiles[name]
        xv = from_scale(p.x, p.scale)
        ax.plot(xv, 2 * (p.nll - p.nll_min), "-o", ms=2.5, color=COLORS[0])
        ax.axhline(CHI2_95, color="grey", ls="--", lw=0.8)
        lo, hi = p.ci
        for e in (lo, hi):
            if e is not None:
                ax.axvline(e, color=COLORS[1], lw=0.8)
        if p.scale != "lin":
            ax.set_xscale("log")
        ax.set_ylim(bottom=-0.2, top=max(2 * CHI2_95, 1.0))
        ax.set_title(f"{name}\n{p.verdict}", fontsize=7)
        ax.set_ylabel("2 ΔNLL")
    for ax in list(axes.flat)[k:]:
        ax.axis("off")
    fig.tight_layout()
    return to_svg(fig)


@styled(8)
def fits(res: CalibrationResult) -> str:
    """Data (±1.96 sigma) and fitted curve per observable and arm; held-out points hollow."""
    curves = res.predictions.get("curves", {})
    frame = res.fit_frame()
    names = list(dict.fromkeys(frame["observable"]))
    cols = min(2, len(names)) or 1
    rows = -(-len(names) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 2.8 * rows), squeeze=False)
    for ax, name in zip(axes.flat, names, strict=False):
        sub_all = frame[frame["observable"] == name]
        pairs = list(dict.fromkeys(zip(sub_all["simulationConditionId"],
                                       sub_all["observableId"], strict=True)))
        for j, (arm, oid) in enumerate(pairs):
            c = COLORS[j % len(COLORS)]
            sub = sub_all[(sub_all["simulationConditionId"] == arm)
                          & (sub_all["observableId"] == oid)]
            key = f"{arm}/{oid}"
            if key in curves:
                t, y = curves[key]
                ax.plot(np.asarray(t), np.asarray(y), color=c, lw=1.2, label=str(arm))
            cal = sub[sub["role"] == "calibration"]
            sig = cal["sigma"].to_numpy(dtype=float)
            obs = res.problem.observables[oid]
            if obs.transformation == "log":
                m = cal["measurement"].to_numpy(dtype=float)
                err = [m - m * np.exp(-1.96 * sig), m * np.exp(1.96 * sig) - m]
            else:
                err = 1.96 * sig
            ax.errorbar(cal["time"], cal["measurement"], yerr=err, fmt="o", ms=3, color=c,
                        capsize=2, lw=0.8)
            ho = sub[sub["role"] == "held out"]
            if len(ho):
                ax.plot(ho["time"], ho["measurement"], "o", mfc="none", color=c, ms=5,
                        label=f"{arm} held out")
        ax.set_title(name, fontsize=8)
        ax.set_xlabel("time (days)")
        ax.set_ylabel(res.problem.observables[pairs[0][1]].unit if pairs else "")
        ax.legend(frameon=False, fontsize=6)
    for ax in list(axes.flat)[len(names):]:
        ax.axis("off")
    fig.tight_layout()
    return to_svg(fig)


@styled(8)
def residuals(res: CalibrationResult) -> str:
    r = np.asarray(res.predictions.get("residual", []), dtype=float)
    fig, ax = plt.subplots(figsize=(5.2, 2.6))
    ax.bar(np.arange(r.size), r, color=COLORS[0])
    ax.axhline(0, color="black", lw=0.6)
    for y in (-2, 2):
        ax.axhline(y, color="grey", ls="--", lw=0.6)
    ax.set_xlabel("measurement row")
    ax.set_ylabel("weighted residual (m - y)/σ")
    return to_svg(fig)


@styled(8)
def correlation(res: CalibrationResult) -> str:
    R = res.correlation
    k = len(res.names)
    fig, ax = plt.subplots(figsize=(0.45 * k + 2.2, 0.45 * k + 1.6))
    im = ax.imshow(np.nan_to_num(R, nan=0.0), vmin=-1, vmax=1, cmap="RdBu_r")
    ax.set_xticks(range(k), res.names, rotation=90, fontsize=6)
    ax.set_yticks(range(k), res.names, fontsize=6)
    fig.colorbar(im, ax=ax, shrink=0.8, label="correlation (Fisher)")
    return to_svg(fig)
