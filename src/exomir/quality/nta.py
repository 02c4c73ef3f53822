"""Particle-size data: NTA (NanoSight-, ZetaView-style), TRPS and DLS size tables.

Readers turn an export into a :class:`SizeDistribution` (bin centres in nm, particles per mL per
bin) or a :class:`SizeSummary` (instrument-computed summary only). Statistics treat each bin as a
point mass at its centre, so D10/D50/D90 equal ``numpy.quantile(sample, p,
method="inverted_cdf")`` of the expanded sample. Column mappings are documented in
``docs/quality.md``. A malformed file raises :class:`InputError` naming file, line and the
expected columns.
"""

from __future__ import annotations

import csv
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
from numpy.typing import NDArray
from scipy import stats

from exomir.core.errors import InputError

Weighting = Literal["number", "intensity", "volume"]
FloatArray = NDArray[np.float64]

# Size thresholds for the aggregate flag. 200 nm: MISEV2018 operational upper size of small EVs
# ("sEVs ... <100 nm or <200 nm", Thery 2018 doi:10.1080/20013078.2018.1535750).
# 1000 nm: exomir assumption (particles above 1 um are not single sEVs; the upper end of the
# microvesicle range); the allowed fractions are assumptions the user should set in a spec.
SEV_UPPER_NM = 200.0
LARGE_NM = 1000.0
DEFAULT_MAX_FRACTION_ABOVE_200NM = 0.10  # assumption, plausible 0.05-0.20
DEFAULT_MAX_FRACTION_ABOVE_1000NM = 0.01  # assumption, plausible 0.0-0.05

EXPECTED_LAYOUTS = (
    "NanoSight-style bin table: 'Bin centre (nm)' then one concentration column per capture "
    "(e.g. 'Concentration (particles / ml) 1', 'Capture 2'); "
    "NanoSight-style summary: 'Results' key,value rows with 'Mean', 'Mode', 'D10', 'D50', 'D90', "
    "'Concentration'; ZetaView-style: 'Size / nm' with 'Concentration / cm-3' or 'Number'; "
    "generic TRPS/DLS: 'size_nm' (or 'diameter_nm') with 'concentration_per_ml', 'count', "
    "'number_percent', 'volume_percent' or 'intensity_percent'"
)


@dataclass(frozen=True)
class SizeDistribution:
    """Binned size distribution of one sample.

    ``concentration`` is particles per mL of the *sample* (dilution applied) in each bin;
    ``captures`` holds one row per capture (video/run), same unit, or is None.
    """

    name: str
    size_nm: FloatArray
    concentration: FloatArray
    captures: FloatArray | None = None
    weighting: Weighting = "number"
    dilution: float = 1.0
    source: str | None = None
    layout: str = ""
    metadata: dict[str, str] = field(default_factory=dict)
    relative: bool = False  # True when weights are percentages/counts, not particles/mL


@dataclass(frozen=True)
class SizeSummary:
    """An instrument summary ('Results' file): numbers as the instrument computed them."""

    name: str
    values: dict[str, float]
    dilution: float = 1.0
    source: str | None = None
    layout: str = "nanosight-summary"


@dataclass(frozen=True)
class SizeStats:
    name: str
    weighting: str
    total_per_ml: float | None
    total_sd_per_ml: float | None
    mean_nm: float
    sd_nm: float
    mode_nm: float
    d10_nm: float
    d50_nm: float
    d90_nm: float
    span: float
    n_captures: int
    capture_sd: dict[str, float]
    fraction_above_200nm: float
    fraction_above_1000nm: float
    flags: list[str]

    def to_dict(self) -> dict[str, object]:
        return dict(self.__dict__)


# --- statistics -------------------------------------------------------------------------------


def weighted_quantile(x: FloatArray, w: FloatArray, p: float) -> float:
    """Smallest x whose cumulative weight fraction is >= p (numpy's 'inverted_cdf')."""
    order = np.argsort(x, kind="stable")
    xs, ws = x[order], w[order]
    cum = np.cumsum(ws)
    total = cum[-1]
    if total <= 0:
        raise ValueError("distribution has zero total weight")
    idx = int(np.searchsorted(cum, p * total, side="left"))
    # guard floating error at p*total == cum[i]
    while idx > 0 and math.isclose(cum[idx - 1], p * total, rel_tol=1e-12):
        idx -= 1
    return float(xs[min(idx, len(xs) - 1)])


def _basic(x: FloatArray, w: FloatArray) -> dict[str, float]:
    tot = float(w.sum())
    mean = float((x * w).sum() / tot)
    sd = float(np.sqrt(((x - mean) ** 2 * w).sum() / tot))
    d10, d50, d90 = (weighted_quantile(x, w, p) for p in (0.1, 0.5, 0.9))
    return {"total": tot, "mean": mean, "sd": sd, "mode": float(x[int(np.argmax(w))]),
            "d10": d10, "d50": d50, "d90": d90,
            "span": (d90 - d10) / d50 if d50 > 0 else float("nan")}


def size_stats(dist: SizeDistribution, *,
               max_fraction_above_200nm: float = DEFAULT_MAX_FRACTION_ABOVE_200NM,
               max_fraction_above_1000nm: float = DEFAULT_MAX_FRACTION_ABOVE_1000NM) -> SizeStats:
    """Concentration, mean, SD, mode, D10/D50/D90, span, per-capture SD and aggregate flags.

    span = (D90 - D10) / D50. Per-capture SD is the sample SD (ddof=1) across captures of each
    capture's total concentration, mean, mode and D50.
    """
    x, w = dist.size_nm, dist.concentration
    b = _basic(x, w)
    cap_sd: dict[str, float] = {}
    n_cap = 0 if dist.captures is None else int(dist.captures.shape[0])
    total_sd = None
    if dist.captures is not None and n_cap >= 2:
        per = [_basic(x, row) for row in dist.captures if row.sum() > 0]
        if len(per) >= 2:
            for key in ("total", "mean", "mode", "d50"):
                cap_sd[key] = float(np.std([p[key] for p in per], ddof=1))
            total_sd = cap_sd["total"]
    f200 = float(w[x > SEV_UPPER_NM].sum() / b["total"])
    f1000 = float(w[x > LARGE_NM].sum() / b["total"])
    flags = []
    if dist.weighting != "number":
        flags.append(f"{dist.weighting}-weighted distribution: statistics are not number-based "
                     "and overweight large particles")
    if f200 > max_fraction_above_200nm:
        flags.append(f"aggregates/large particles: {100 * f200:.1f}% of particles > 200 nm "
                     f"(limit {100 * max_fraction_above_200nm:.0f}%, assumption)")
    if f1000 > max_fraction_above_1000nm:
        flags.append(f"aggregates: {100 * f1000:.2f}% of particles > 1000 nm "
                     f"(limit {100 * max_fraction_above_1000nm:.0f}%, assumption)")
    return SizeStats(
        name=dist.name, weighting=dist.weighting,
        total_per_ml=None if dist.relative else b["total"], total_sd_per_ml=total_sd,
        mean_nm=b["mean"], sd_nm=b["sd"], mode_nm=b["mode"], d10_nm=b["d10"], d50_nm=b["d50"],
        d90_nm=b["d90"], span=b["span"], n_captures=n_cap, capture_sd=cap_sd,
        fraction_above_200nm=f200, fraction_above_1000nm=f1000, flags=flags)


@dataclass(frozen=True)
class Comparison:
    a: str
    b: str
    wasserstein_nm: float
    ks_statistic: float
    ks_pvalue: float
    n_tracks: tuple[int, int]
    d50_difference_nm: float
    concentration_ratio: float | None
    note: str

    def to_dict(self) -> dict[str, object]:
        return dict(self.__dict__)


def quantize(w: FloatArray, n: int) -> NDArray[np.int64]:
    """Integer counts summing to ``n`` proportional to ``w`` (largest-remainder rounding)."""
    share = w / w.sum() * n
    counts = np.floor(share).astype(np.int64)
    rest = n - int(counts.sum())
    if rest > 0:
        counts[np.argsort(-(share - counts), kind="stable")[:rest]] += 1
    return counts


#: Track counts up to which the KS test runs on the expanded samples (scipy's exact p-value
#: range); above it D comes from the binned CDFs and p from Smirnov's asymptotic formula,
#: exactly what ``ks_2samp`` would compute, in memory independent of the count.
EXACT_KS_MAX = 10_000
MAX_TRACKS = 10**12


def _binned_ks(xa: FloatArray, ca: NDArray[np.int64], xb: FloatArray, cb: NDArray[np.int64]
               ) -> tuple[float, float]:
    """Two-sample KS statistic and asymptotic two-sided p of samples given as bin counts."""
    grid = np.union1d(xa, xb)
    na, nb = float(ca.sum()), float(cb.sum())
    fa = np.concatenate([[0.0], np.cumsum(ca[np.argsort(xa, kind="stable")])])
    fb = np.concatenate([[0.0], np.cumsum(cb[np.argsort(xb, kind="stable")])])
    cdf_a = fa[np.searchsorted(np.sort(xa), grid, side="right")] / na
    cdf_b = fb[np.searchsorted(np.sort(xb), grid, side="right")] / nb
    d = float(np.max(np.abs(cdf_a - cdf_b)))
    m, n = sorted([na, nb], reverse=True)
    en = m * n / (m + n)
    p = float(np.clip(stats.distributions.kstwo.sf(d, np.round(en)), 0.0, 1.0))
    return d, p


def compare(a: SizeDistribution, b: SizeDistribution, *, n_tracks: tuple[int, int] = (1000, 1000)
            ) -> Comparison:
    """Distance and test between two size distributions.

    Wasserstein-1 distance (nm) between the two normalised binned distributions
    (``scipy.stats.wasserstein_distance`` with bin weights). Two-sample Kolmogorov-Smirnov test
    (``scipy.stats.ks_2samp``) on samples of ``n_tracks`` particles drawn deterministically from
    each distribution (largest-remainder quantisation of the bin weights). The p-value depends on
    ``n_tracks``: set it to the number of completed tracks in each export (the default 1000 is an
    assumption).
    """
    for n in n_tracks:
        if not (isinstance(n, int | np.integer) and 2 <= n <= MAX_TRACKS):
            raise InputError("number of tracks out of range", field="n_tracks", value=n,
                             accepted=f"an integer from 2 to {MAX_TRACKS:.0e}")
    wd = float(stats.wasserstein_distance(a.size_nm, b.size_nm, a.concentration, b.concentration))
    ca, cb = quantize(a.concentration, n_tracks[0]), quantize(b.concentration, n_tracks[1])
    if max(n_tracks) <= EXACT_KS_MAX:
        ks = stats.ks_2samp(np.repeat(a.size_nm, ca), np.repeat(b.size_nm, cb))
        ks_d, ks_p = float(ks.statistic), float(ks.pvalue)
    else:  # same D and the same asymptotic p scipy uses, without materialising the samples
        ks_d, ks_p = _binned_ks(a.size_nm, ca, b.size_nm, cb)
    ra, rb = _basic(a.size_nm, a.concentration), _basic(b.size_nm, b.concentration)
    ratio = None if (a.relative or b.relative) else rb["total"] / ra["total"]
    return Comparison(a=a.name, b=b.name, wasserstein_nm=wd, ks_statistic=ks_d,
                      ks_pvalue=ks_p, n_tracks=n_tracks,
                      d50_difference_nm=rb["d50"] - ra["d50"], concentration_ratio=ratio,
                      note="KS on deterministic resamples of n_tracks particles per batch; "
                           "p-value depends on n_tracks (assumption unless set from the export)")


# --- readers ----------------------------------------------------------------------------------

_NUM_RE = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")


def _num(text: str) -> float | None:
    t = text.strip().replace("\u2212", "-")
    if not _NUM_RE.match(t):
        return None
    v = float(t)
    return v if math.isfinite(v) else None


def _norm(h: str) -> str:
    return re.sub(r"\s+", " ", h.strip().lower().replace("\ufeff", ""))


def _rows(text: str) -> list[list[str]]:
    sample = text[:4096]
    delim = ","
    if sample.count("\t") > sample.count(",") and sample.count("\t") >= sample.count(";"):
        delim = "\t"
    elif sample.count(";") > sample.count(","):
        delim = ";"
    try:
        return [[c.strip() for c in row]
                for row in csv.reader(text.splitlines(), delimiter=delim)]
    except csv.Error as exc:
        raise InputError(f"not a delimited text table ({exc})", accepted=EXPECTED_LAYOUTS
                         ) from None


_SIZE_HEADERS = {
    "bin centre (nm)": "nanosight", "bin center (nm)": "nanosight", "bin centre": "nanosight",
    "bin center": "nanosight", "size / nm": "zetaview", "size/nm": "zetaview",
    "size (nm)": "generic", "size_nm": "generic", "diameter_nm": "generic",
    "diameter (nm)": "generic",
}
_GENERIC_WEIGHTS: dict[str, tuple[Weighting, bool]] = {
    "concentration_per_ml": ("number", False), "concentration (particles/ml)": ("number", False),
    "concentration / cm-3": ("number", False), "concentration": ("number", False),
    "count": ("number", True), "number": ("number", True), "counts": ("number", True),
    "number_percent": ("number", True), "number (%)": ("number", True),
    "volume_percent": ("volume", True), "volume (%)": ("volume", True),
    "intensity_percent": ("intensity", True), "intensity (%)": ("intensity", True),
}
_SUMMARY_KEYS = {
    "mean": "mean_nm", "mode": "mode_nm", "sd": "sd_nm", "d10": "d10_nm", "d50": "d50_nm",
    "d90": "d90_nm", "concentration": "concentration_per_ml",
    "concentration (particles / ml)": "concentration_per_ml",
    "concentration (particles/ml)": "concentration_per_ml",
}


def read_size_file(path: str | Path, *, dilution: float = 1.0, name: str | None = None
                   ) -> SizeDistribution | SizeSummary:
    """Auto-detect the layout of a size export and read it (see ``EXPECTED_LAYOUTS``).

    ``dilution`` multiplies every concentration (sample = measured x dilution). A 'Dilution
    factor' line in the file is kept in ``metadata`` but never applied silently.
    """
    from exomir.core.files import read_text

    p = Path(path)
    # instrument software on Windows writes Latin-1/CP-1252 (e.g. "°C"): accepted for exports
    text = read_text(p, fallback="latin-1")
    return parse_size_text(text, source=str(p), dilution=dilution, name=name or p.stem)


def parse_size_text(text: str, *, source: str = "<text>", dilution: float = 1.0,
                    name: str = "sample") -> SizeDistribution | SizeSummary:
    if not (isinstance(dilution, int | float) and math.isfinite(dilution) and dilution > 0):
        raise InputError("dilution factor must be a positive number", field="dilution",
                         value=dilution, accepted="a number > 0, e.g. 1000")
    if "\x00" in text:
        raise InputError("binary file, not a text size export", source=source, line=1,
                         accepted=EXPECTED_LAYOUTS)
    try:
        rows = _rows(text)
    except InputError as exc:
        raise exc.located(source, None) from None
    meta: dict[str, str] = {}
    results_at: int | None = None
    for i, row in enumerate(rows):
        if not row or not any(row):
            continue
        head = _norm(row[0])
        if head in _SIZE_HEADERS:
            return _read_table(rows, i, _SIZE_HEADERS[head], source, dilution, name, meta)
        if head in ("[results]", "results") and results_at is None:
            results_at = i + 1
        elif len(row) >= 2 and row[1]:
            meta[row[0].strip()] = row[1].strip()
    if results_at is not None:
        return _read_summary(rows, results_at, source, dilution, name)
    raise InputError("no size table header found", source=source,
                     line=max(1, len(rows)), accepted=EXPECTED_LAYOUTS)


def _read_table(rows: list[list[str]], hi: int, layout: str, source: str, dilution: float,
                name: str, meta: dict[str, str]) -> SizeDistribution:
    header = [_norm(h) for h in rows[hi]]
    weighting: Weighting = "number"
    relative = False
    if layout == "nanosight":
        cols = [j for j, h in enumerate(header) if j > 0 and h and not re.search(
            r"average|mean|standard error|std|sd\b|error", h)]
        if not cols:  # only an averaged column was exported
            cols = [j for j, h in enumerate(header) if j > 0 and "concentration" in h
                    and not re.search(r"error|std|sd\b", h)][:1]
        expected = "'Bin centre (nm)', then concentration columns per capture"
    else:
        cols = []
        for key, (wt, rel) in _GENERIC_WEIGHTS.items():  # priority: concentration first
            if key in header[1:]:
                cols = [header.index(key, 1)]
                weighting, relative = wt, rel
                break
        expected = ("'Size / nm' and 'Concentration / cm-3' or 'Number'" if layout == "zetaview"
                    else "'size_nm' and one of " + ", ".join(repr(k) for k in _GENERIC_WEIGHTS))
    if not cols:
        raise InputError("size table has no concentration/weight column", source=source,
                         line=hi + 1, value=",".join(rows[hi]), accepted=expected)
    sizes: list[float] = []
    data: list[list[float]] = []
    for k in range(hi + 1, len(rows)):
        row = rows[k]
        if not row or not any(row):
            break
        x = _num(row[0])
        if x is None and not data:
            raise InputError("expected a numeric size in the first column", source=source,
                             line=k + 1, value=row[0], accepted=expected)
        if x is None:
            # the end of the table (a next section) -- unless numeric rows follow: then this
            # is a bad cell in the middle of the table, and stopping would lose the rest
            for k2 in range(k + 1, len(rows)):
                nxt = rows[k2]
                if not nxt or not any(nxt):
                    break
                if _num(nxt[0]) is not None and len(nxt) >= len(rows[hi]) - 1:
                    raise InputError("size cell is not a number, in the middle of the table "
                                     f"(numeric rows follow on line {k2 + 1})", source=source,
                                     line=k + 1, value=row[0], accepted=expected)
            break
        vals = []
        for j in cols:
            v = _num(row[j]) if j < len(row) else None
            if v is None or v < 0:
                raise InputError(
                    f"column {rows[hi][j]!r}: expected a non-negative number",
                    source=source, line=k + 1, value=row[j] if j < len(row) else "(missing)",
                    accepted=expected)
            vals.append(v)
        if x <= 0:
            raise InputError("size must be positive (nm)", source=source, line=k + 1, value=x,
                             accepted=expected)
        sizes.append(x)
        data.append(vals)
    if len(sizes) < 2:
        raise InputError("size table has fewer than 2 data rows", source=source, line=hi + 2,
                         accepted=expected)
    arr = np.asarray(data, dtype=float) * (1.0 if relative else dilution)
    x_arr = np.asarray(sizes, dtype=float)
    if np.any(np.diff(x_arr) <= 0):
        bad = int(np.argmax(np.diff(x_arr) <= 0)) + hi + 3
        raise InputError("size bins must increase strictly", source=source, line=bad,
                         accepted=expected)
    if arr.sum() <= 0:
        raise InputError("all concentrations are zero", source=source, line=hi + 2,
                         accepted=expected)
    captures = arr.T if arr.shape[1] > 1 else None
    conc = arr.mean(axis=1)
    return SizeDistribution(name=name, size_nm=x_arr, concentration=conc, captures=captures,
                            weighting=weighting, dilution=dilution, source=source,
                            layout=layout, metadata=meta, relative=relative)


def _read_summary(rows: list[list[str]], start: int, source: str, dilution: float, name: str
                  ) -> SizeSummary:
    values: dict[str, float] = {}
    for k in range(start, len(rows)):
        row = rows[k]
        if not row or not any(row):
            continue
        key = _norm(row[0])
        if key in _SUMMARY_KEYS and len(row) >= 2:
            v = _num(row[1])
            if v is None:
                raise InputError(f"{row[0]!r}: expected a number", source=source, line=k + 1,
                                 value=row[1], accepted="key,number rows")
            values[_SUMMARY_KEYS[key]] = v
    if "concentration_per_ml" in values:
        values["concentration_per_ml"] *= dilution
    if not values:
        raise InputError("'Results' section has none of the expected keys", source=source,
                         line=start, accepted=", ".join(sorted(set(_SUMMARY_KEYS))))
    return SizeSummary(name=name, values=values, dilution=dilution, source=source)


# --- plot -------------------------------------------------------------------------------------


def overlay_plot(dists: Sequence[SizeDistribution], path: str | Path, *,
                 normalise: bool = False, xmax_nm: float | None = None) -> Path:
    """Overlay of size distributions (PNG/SVG/PDF by extension); shaded +-1 SD over captures."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out = Path(path)
    if out.suffix.lower() not in (".png", ".svg", ".pdf"):
        raise InputError("plot file must end in .png, .svg or .pdf", field="plot",
                         value=str(out), accepted=".png, .svg, .pdf")
    fig, ax = plt.subplots(figsize=(7, 4))
    for d in dists:
        scale = 1.0 / d.concentration.sum() if (normalise or d.relative) else 1.0
        ax.plot(d.size_nm, d.concentration * scale, label=d.name, lw=1.5)
        if d.captures is not None and d.captures.shape[0] >= 2:
            sd = d.captures.std(axis=0, ddof=1) * scale
            ax.fill_between(d.size_nm, d.concentration * scale - sd,
                            d.concentration * scale + sd, alpha=0.2)
    ax.axvline(SEV_UPPER_NM, color="grey", ls=":", lw=1)
    ax.set_xlabel("diameter (nm)")
    ax.set_ylabel("fraction per bin" if normalise else "particles / mL per bin")
    if xmax_nm:
        ax.set_xlim(0, xmax_nm)
    ax.legend()
    fig.tight_layout()
    fig.savefig(out)
    plt.close(fig)
    return out
