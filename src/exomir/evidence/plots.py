"""Forest, funnel, bubble and traffic-light plots (matplotlib; PNG or SVG by file suffix)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import matplotlib.ticker
import matplotlib.transforms
import numpy as np
import pandas as pd
from matplotlib.patches import Polygon
from scipy import stats

from exomir.core.errors import InputError
from exomir.evidence.analysis import SubgroupResult, TrimFillResult
from exomir.evidence.effects import is_log_scale
from exomir.evidence.meta import MetaResult
from exomir.evidence.rob import ITEM_IDS

_FORMATS = (".png", ".svg", ".pdf")


def _save(fig: plt.Figure, path: str | Path) -> Path:
    p = Path(path)
    if p.suffix.lower() not in _FORMATS:
        raise InputError("plot file must end in .png, .svg or .pdf", field="plot", value=str(p),
                         accepted=_FORMATS)
    suffix = p.suffix.lower()
    # No time stamp and fixed SVG ids: the same plot gives the same file.
    metadata = {".svg": {"Date": None}, ".pdf": {"CreationDate": None}}.get(suffix)
    with matplotlib.rc_context({"svg.hashsalt": "exomir"}):
        fig.savefig(p, dpi=200 if suffix == ".png" else None, bbox_inches="tight",
                    metadata=metadata)
    plt.close(fig)
    return p


def _diamond(ax: plt.Axes, y: float, lo: float, mid: float, hi: float, color: str) -> None:
    ax.add_patch(Polygon([(lo, y), (mid, y + 0.35), (hi, y), (mid, y - 0.35)], closed=True,
                         facecolor=color, edgecolor="black", lw=0.8))


def forest(res: MetaResult | SubgroupResult, path: str | Path, *, measure: str = "GEN",
           title: str | None = None) -> Path:
    """Forest plot: study CIs (square area ~ weight), subgroup and overall diamonds, and the
    prediction interval as a bar under the overall diamond. Log measures (RR, OR, ROM) are
    drawn exponentiated on a log axis."""
    tr = np.exp if is_log_scale(measure) else (lambda x: x)
    blocks: list[tuple[str | None, MetaResult]]
    overall = res.overall if isinstance(res, SubgroupResult) else res
    blocks = list(res.groups.items()) if isinstance(res, SubgroupResult) else [(None, res)]
    lines: list[tuple[str, float, float, float, float] | tuple[str, str]] = []
    for name, r in blocks:
        if name is not None:
            lines.append(("header", f"{res.by if isinstance(res, SubgroupResult) else ''}: {name}"))
        crit = stats.norm.isf((1 - r.level / 100) / 2)
        for s, y, v, w in zip(r.slab, r.yi, r.vi, r.weights, strict=True):
            half = crit * np.sqrt(v)
            lines.append((s, y, y - half, y + half, w))
        if name is not None:
            lines.append(("sub", f"Subtotal (k={r.k}, I²={r.i2 or 0:.0f}%)", r))  # type: ignore[arg-type]
    n = len(lines) + 3
    fig, ax = plt.subplots(figsize=(8.5, 0.32 * n + 1.2))
    ypos: float = n
    labels: list[tuple[float, str]] = []
    right: list[tuple[float, str]] = []
    wmax = max(float(np.max(r.weights)) for _, r in blocks)
    for item in lines:
        ypos -= 1
        if item[0] == "header":
            labels.append((ypos, str(item[1])))
            continue
        if item[0] == "sub":
            sub_r: MetaResult = item[2]  # type: ignore[misc,assignment]
            _diamond(ax, ypos, tr(sub_r.ci_lb), tr(sub_r.estimate), tr(sub_r.ci_ub), "#9ecae1")
            right.append((ypos, f"{tr(sub_r.estimate):.2f} [{tr(sub_r.ci_lb):.2f}, "
                                f"{tr(sub_r.ci_ub):.2f}]"))
            labels.append((ypos, str(item[1])))
            continue
        s, y, lo, hi, w = item  # type: ignore[misc]
        right.append((ypos, f"{tr(y):.2f} [{tr(lo):.2f}, {tr(hi):.2f}]  {float(w):4.1f}%"))
        ax.plot([tr(lo), tr(hi)], [ypos, ypos], color="black", lw=0.9)
        size = 4 + 10 * np.sqrt(float(w) / wmax)
        ax.plot([tr(y)], [ypos], marker="s", ms=size, color="#3182bd", mec="black", mew=0.5)
        labels.append((ypos, str(s)))
    ypos -= 1.5
    _diamond(ax, ypos, tr(overall.ci_lb), tr(overall.estimate), tr(overall.ci_ub), "#08519c")
    what = "FE model" if overall.method in ("FE", "EE") else f"RE model ({overall.method}"\
        f"{', Knapp-Hartung' if overall.test == 'knha' else ''})"
    i2 = f", I²={overall.i2:.0f}%" if overall.i2 is not None else ""
    labels.append((ypos, f"{what}, k={overall.k}{i2}"))
    right.append((ypos, f"{tr(overall.estimate):.2f} [{tr(overall.ci_lb):.2f}, "
                        f"{tr(overall.ci_ub):.2f}]"))
    if overall.method not in ("FE", "EE") and overall.k > 1:
        ax.plot([tr(overall.pi_lb), tr(overall.pi_ub)], [ypos - 0.6, ypos - 0.6], color="#08519c",
                lw=2.5, solid_capstyle="butt")
        labels.append((ypos - 0.6, "95% prediction interval"))
    null = 1.0 if is_log_scale(measure) else 0.0
    ax.axvline(null, color="grey", lw=0.8, ls="--")
    ax.axvline(tr(overall.estimate), color="#08519c", lw=0.6, ls=":")
    ax.set_yticks([p for p, _ in labels])
    ax.set_yticklabels([t for _, t in labels], fontsize=8)
    ax.set_ylim(ypos - 1.2, n)
    if is_log_scale(measure):
        ax.set_xscale("log")
        ax.xaxis.set_major_formatter(matplotlib.ticker.FormatStrFormatter("%g"))
    trans = matplotlib.transforms.blended_transform_factory(ax.transAxes, ax.transData)
    for yv, text in right:
        ax.text(1.02, yv, text, transform=trans, va="center", fontsize=8, family="monospace")
    ax.text(1.02, n - 0.2, "estimate [95% CI]  weight", transform=trans, va="center",
            fontsize=8, fontweight="bold")
    ax.set_xlabel({"SMD": "Standardized mean difference (Hedges' g)", "MD": "Mean difference",
                   "ROM": "Ratio of means", "RR": "Risk ratio", "OR": "Odds ratio",
                   "RD": "Risk difference"}.get(measure.upper(), "Effect size"))
    for side in ("top", "right", "left"):
        ax.spines[side].set_visible(False)
    ax.tick_params(axis="y", length=0)
    if title:
        ax.set_title(title, fontsize=10)
    return _save(fig, path)


def funnel(res: MetaResult, path: str | Path, *, trimfill: TrimFillResult | None = None,
           measure: str = "GEN") -> Path:
    """Funnel plot (effect vs standard error, inverted axis) with pseudo 95% limits; filled
    trim-and-fill studies as open circles and the adjusted estimate."""
    fig, ax = plt.subplots(figsize=(5.5, 4.5))
    se = np.sqrt(res.vi)
    top = float(se.max()) * 1.05 if se.size else 1.0
    grid = np.linspace(0, top, 50)
    z = stats.norm.isf(0.025)
    ax.fill_betweenx(grid, res.estimate - z * grid, res.estimate + z * grid, color="#f0f0f0")
    ax.plot(res.estimate - z * grid, grid, color="grey", lw=0.7)
    ax.plot(res.estimate + z * grid, grid, color="grey", lw=0.7)
    ax.axvline(res.estimate, color="black", lw=0.8)
    ax.scatter(res.yi, se, color="#3182bd", edgecolor="black", zorder=3, label="studies")
    if trimfill is not None and trimfill.k0 > 0:
        ax.scatter(trimfill.filled_yi, np.sqrt(trimfill.filled_vi), facecolor="white",
                   edgecolor="black", zorder=3, label=f"filled (k0={trimfill.k0})")
        ax.axvline(trimfill.fit.estimate, color="#de2d26", lw=0.8, ls="--",
                   label="trim-and-fill estimate")
        ax.legend(fontsize=8, frameon=False)
    ax.set_ylim(top, 0)
    ax.set_xlabel(f"Effect size ({measure})")
    ax.set_ylabel("Standard error")
    return _save(fig, path)


def bubble(res: MetaResult, path: str | Path, *, moderator: int = 1) -> Path:
    """Bubble plot for a meta-regression: effect vs moderator, bubble area ~ weight, with the
    fitted line (other moderators at their mean)."""
    if res.p < 2:
        raise InputError("a bubble plot needs a meta-regression (at least one moderator)",
                         field="moderators")
    x = res.X[:, moderator]
    fig, ax = plt.subplots(figsize=(5.5, 4.5))
    ax.scatter(x, res.yi, s=20 + 400 * res.weights / res.weights.max(), alpha=0.6,
               color="#3182bd", edgecolor="black")
    xs = np.linspace(float(x.min()), float(x.max()), 50)
    base = res.X.mean(axis=0)
    Xp = np.tile(base, (xs.size, 1))
    Xp[:, moderator] = xs
    pred = Xp @ res.beta
    sep = np.sqrt(np.einsum("ij,jk,ik->i", Xp, res.vb, Xp))
    crit = stats.norm.isf((1 - res.level / 100) / 2)
    ax.plot(xs, pred, color="black")
    ax.plot(xs, pred - crit * sep, color="black", ls="--", lw=0.7)
    ax.plot(xs, pred + crit * sep, color="black", ls="--", lw=0.7)
    ax.set_xlabel(res.coef_names[moderator])
    ax.set_ylabel("Effect size")
    return _save(fig, path)


_COLORS = {"low": "#31a354", "high": "#de2d26", "unclear": "#fec44f", "not assessed": "#d9d9d9"}


def traffic_light(table: pd.DataFrame, path: str | Path) -> Path:
    """SYRCLE traffic-light plot: one row per study, one column per item."""
    n = len(table)
    fig, ax = plt.subplots(figsize=(7, 0.35 * n + 1.8))
    for i, (_, row) in enumerate(table.iterrows()):
        for j, item in enumerate(ITEM_IDS):
            ax.scatter(j, n - 1 - i, s=180, color=_COLORS[str(row[item])], edgecolor="black")
    ax.set_xticks(range(len(ITEM_IDS)))
    ax.set_xticklabels([str(i + 1) for i in range(len(ITEM_IDS))])
    ax.set_yticks(range(n))
    ax.set_yticklabels(list(table["study"])[::-1], fontsize=8)
    ax.set_xlabel("SYRCLE item (Hooijmans 2014)")
    ax.set_xlim(-0.7, len(ITEM_IDS) - 0.3)
    ax.set_ylim(-0.7, n - 0.3)
    handles = [plt.Line2D([], [], marker="o", ls="", color=c, mec="black", label=k)
               for k, c in _COLORS.items()]
    ax.legend(handles=handles, fontsize=7, frameon=False, loc="upper center",
              bbox_to_anchor=(0.5, -0.12), ncol=4)
    for side in ("top", "right", "left", "bottom"):
        ax.spines[side].set_visible(False)
    return _save(fig, path)
