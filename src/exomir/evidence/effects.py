"""Effect sizes from study-level data, equivalent to metafor's ``escalc`` (default arguments).

Column names are metafor's: continuous ``m1i, sd1i, n1i`` (treatment) and ``m2i, sd2i, n2i``
(control); binary ``ai, bi`` (treatment events / non-events) and ``ci, di`` (control);
precomputed ``yi`` with ``vi`` or ``sei``. Group 1 is the treatment, so a positive SMD/MD/ROM
means a larger value under treatment.

Measures (equations in docs/evidence.md):

* ``SMD``: Hedges' g with the exact bias correction c(m) = Gamma(m/2) / (sqrt(m/2)
  Gamma((m-1)/2)), m = n1 + n2 - 2 (Hedges 1981), and metafor's default large-sample variance
  ``vtype="LS"``: v = 1/n1 + 1/n2 + g^2 / (2 (n1 + n2)).
* ``MD``: m1 - m2, v = sd1^2/n1 + sd2^2/n2.
* ``ROM``: log(m1/m2), v = sd1^2/(n1 m1^2) + sd2^2/(n2 m2^2) (Hedges, Gurevitch & Curtis 1999).
* ``RR``, ``OR``, ``RD``: log risk ratio, log odds ratio, risk difference; studies with a zero
  cell get 1/2 added to all four cells (metafor ``add=1/2, to="only0"``).
* ``GEN``: precomputed ``yi`` with ``vi`` (or ``sei``).

Rows lacking a needed value are dropped with an :class:`EffectSizeWarning` that names them.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray
from scipy import special, stats

from exomir.core.errors import InputError

CONTINUOUS = ("SMD", "MD", "ROM")
BINARY = ("RR", "OR", "RD")
MEASURES = (*CONTINUOUS, *BINARY, "GEN")
CONT_COLS = ("m1i", "sd1i", "n1i", "m2i", "sd2i", "n2i")
BIN_COLS = ("ai", "bi", "ci", "di")

FloatArray = NDArray[np.float64]


class EffectSizeWarning(UserWarning):
    """Rows were dropped or adjusted while computing effect sizes."""


def hedges_cm(m: ArrayLike) -> FloatArray:
    """Exact small-sample correction c(m) = Gamma(m/2) / (sqrt(m/2) Gamma((m-1)/2)) (Hedges 1981).

    ``m`` is the degrees of freedom n1 + n2 - 2; NaN where m <= 1 (as metafor's ``.cmicalc``).
    """
    mm = np.asarray(m, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.exp(special.gammaln(mm / 2) - 0.5 * np.log(mm / 2) - special.gammaln((mm - 1) / 2))
    return np.where(mm <= 1, np.nan, out)


# ----------------------------------------------------------------------------------------------
# conversions
# ----------------------------------------------------------------------------------------------


def se_to_sd(se: ArrayLike, n: ArrayLike) -> FloatArray:
    """SD from the standard error of a mean: SD = SE * sqrt(n)."""
    s = np.asarray(se, dtype=float)
    nn = np.asarray(n, dtype=float)
    if np.any(nn < 1):
        raise InputError("n must be at least 1 to convert SE to SD", field="n")
    return s * np.sqrt(nn)


def _xi(n: FloatArray) -> FloatArray:
    """Wan 2014 xi(n) = 2 Phi^-1((n - 0.375) / (n + 0.25)) (expected range of n normals / sigma)."""
    return 2.0 * stats.norm.ppf((n - 0.375) / (n + 0.25))


def _eta(n: FloatArray) -> FloatArray:
    """Wan 2014 eta(n) = 2 Phi^-1((0.75 n - 0.125) / (n + 0.25)) (expected IQR / sigma)."""
    return 2.0 * stats.norm.ppf((0.75 * n - 0.125) / (n + 0.25))


def wan_mean_sd(
    n: float,
    median: float,
    *,
    q1: float | None = None,
    q3: float | None = None,
    min: float | None = None,
    max: float | None = None,
) -> tuple[float, float, str]:
    """Mean and SD from a median with IQR and/or range (Wan et al. 2014, BMC Med Res Methodol
    14:135, doi:10.1186/1471-2288-14-135), assuming normality.

    Scenario C1 (min, median, max): mean = (a + 2m + b)/4, SD = (b - a)/xi(n).
    Scenario C2 (min, q1, median, q3, max): mean = (a + 2q1 + 2m + 2q3 + b)/8,
    SD = (b - a)/(2 xi(n)) + (q3 - q1)/(2 eta(n)).
    Scenario C3 (q1, median, q3): mean = (q1 + m + q3)/3, SD = (q3 - q1)/eta(n).
    Returns (mean, sd, scenario).
    """
    if n is None or n < 2:
        raise InputError("Wan 2014 conversion needs n >= 2", field="n", value=n)
    nn = np.array(float(n))
    has_iqr = q1 is not None and q3 is not None
    has_rng = min is not None and max is not None
    if has_iqr and q3 < q1:  # type: ignore[operator]
        raise InputError("q3 is below q1", field="q3", value=q3)
    if has_rng and max < min:  # type: ignore[operator]
        raise InputError("max is below min", field="max", value=max)
    if has_iqr and has_rng:
        a, b, lo, hi = float(min), float(max), float(q1), float(q3)  # type: ignore[arg-type]
        mean = (a + 2 * lo + 2 * median + 2 * hi + b) / 8
        sd = (b - a) / (2 * float(_xi(nn))) + (hi - lo) / (2 * float(_eta(nn)))
        return mean, sd, "C2"
    if has_rng:
        a, b = float(min), float(max)  # type: ignore[arg-type]
        return (a + 2 * median + b) / 4, (b - a) / float(_xi(nn)), "C1"
    if has_iqr:
        lo, hi = float(q1), float(q3)  # type: ignore[arg-type]
        return (lo + median + hi) / 3, (hi - lo) / float(_eta(nn)), "C3"
    raise InputError("a median needs its IQR (q1, q3) and/or range (min, max) to be converted",
                     field="median", value=median)


def split_shared_control(n_control: int, n_comparisons: int) -> list[int]:
    """Split a control group shared by several treatment arms (Cochrane Handbook 23.3.4).

    The control n is divided as evenly as possible among the comparisons (mean and SD are kept)
    so that no animal is counted twice in the pooled analysis. Each share must be >= 2.
    """
    if n_comparisons < 1:
        raise InputError("need at least one comparison", field="n_comparisons",
                         value=n_comparisons)
    base, extra = divmod(int(n_control), int(n_comparisons))
    shares = [base + (1 if i < extra else 0) for i in range(n_comparisons)]
    if min(shares) < 2:
        raise InputError(f"a control group of n = {n_control} cannot be split into "
                         f"{n_comparisons} shares of at least 2", field="n2i", value=n_control)
    return shares


# ----------------------------------------------------------------------------------------------
# escalc
# ----------------------------------------------------------------------------------------------


def _col(data: pd.DataFrame, name: str) -> FloatArray:
    return pd.to_numeric(data[name], errors="coerce").to_numpy(dtype=float)


def escalc(
    measure: str,
    data: pd.DataFrame | None = None,
    *,
    slab: str | Sequence[str] | None = None,
    **columns: ArrayLike,
) -> pd.DataFrame:
    """Effect sizes ``yi`` and sampling variances ``vi`` (metafor ``escalc`` defaults).

    Give a DataFrame with metafor's column names, or the columns as keyword arrays. ``slab`` is
    the study-label column name (default ``study`` if present) or a list of labels. Returns a
    copy of the input with ``yi`` and ``vi`` added and a ``study`` column, without the rows that
    lacked a needed value (an :class:`EffectSizeWarning` names them).
    """
    measure = measure.upper()
    if measure not in MEASURES:
        raise InputError("unknown effect-size measure", field="measure", value=measure,
                         accepted=MEASURES)
    df = pd.DataFrame(columns) if data is None else data.copy()
    for key, val in columns.items():
        if data is not None:
            df[key] = np.asarray(val)
    if df.empty:
        raise InputError("no rows to compute effect sizes from", field="data")
    if isinstance(slab, str):
        if slab not in df.columns:
            raise InputError("study-label column not found", field="slab", value=slab,
                             accepted=list(map(str, df.columns)))
        labels = df[slab].astype(str).tolist()
    elif slab is not None:
        labels = [str(s) for s in slab]
    elif "study" in df.columns:
        labels = df["study"].astype(str).tolist()
    else:
        labels = [str(i + 1) for i in range(len(df))]
    df = df.reset_index(drop=True)
    df["study"] = labels

    if measure in CONTINUOUS:
        need: tuple[str, ...] = CONT_COLS
    elif measure in BINARY:
        need = BIN_COLS
    else:
        need = ("yi", "vi") if "vi" in df.columns else ("yi", "sei")
    missing_cols = [c for c in need if c not in df.columns]
    if missing_cols:
        raise InputError(f"measure {measure} needs columns {', '.join(need)}",
                         field="columns", value=", ".join(missing_cols), accepted=need)
    vals = {c: _col(df, c) for c in need}
    bad = np.zeros(len(df), dtype=bool)
    for c in need:
        bad |= ~np.isfinite(vals[c])
    if bad.any():
        names = [labels[i] for i in np.flatnonzero(bad)]
        warnings.warn(f"{len(names)} row(s) dropped for missing values: {', '.join(names)}",
                      EffectSizeWarning, stacklevel=2)
        keep = ~bad
        df = df.loc[keep].reset_index(drop=True)
        vals = {c: a[keep] for c, a in vals.items()}
    if df.empty:
        raise InputError("every row lacks a value needed for the effect size", field="data")
    rows = df["study"].tolist()

    if measure in CONTINUOUS:
        yi, vi = _continuous(measure, vals, rows)
    elif measure in BINARY:
        yi, vi = _binary(measure, vals, rows)
    else:
        yi = vals["yi"]
        vi = vals["vi"] if "vi" in vals else vals["sei"] ** 2
        neg = np.flatnonzero(vi < 0)
        if neg.size:
            raise InputError("sampling variances must be >= 0", field="vi",
                             value=f"{rows[neg[0]]}: {vi[neg[0]]}")
    df["yi"] = yi
    df["vi"] = vi
    df.attrs["measure"] = measure
    return df


def _check_n(n: FloatArray, col: str, rows: list[str]) -> None:
    small = np.flatnonzero(n < 2)
    if small.size:
        raise InputError("each arm needs n >= 2 (an SD needs two observations); "
                         f"studies: {', '.join(rows[i] for i in small)}", field=col,
                         value=n[small[0]])
    frac = np.flatnonzero(n != np.round(n))
    if frac.size:
        raise InputError("group sizes must be whole numbers", field=col, value=n[frac[0]])


def _continuous(measure: str, c: dict[str, FloatArray],
                rows: list[str]) -> tuple[FloatArray, FloatArray]:
    m1, s1, n1, m2, s2, n2 = (c[k] for k in CONT_COLS)
    _check_n(n1, "n1i", rows)
    _check_n(n2, "n2i", rows)
    for arr, col in ((s1, "sd1i"), (s2, "sd2i")):
        neg = np.flatnonzero(arr < 0)
        if neg.size:
            raise InputError("SDs must be >= 0", field=col, value=f"{rows[neg[0]]}: {arr[neg[0]]}")
    if measure == "MD":
        vi = s1**2 / n1 + s2**2 / n2
        return m1 - m2, vi
    if measure == "ROM":
        nonpos = np.flatnonzero((m1 <= 0) | (m2 <= 0))
        if nonpos.size:
            raise InputError("ROM (log ratio of means) needs positive means in both arms; "
                             f"studies: {', '.join(rows[i] for i in nonpos)}", field="m1i/m2i",
                             accepted="positive means (use MD or SMD otherwise)")
        return np.log(m1 / m2), s1**2 / (n1 * m1**2) + s2**2 / (n2 * m2**2)
    mi = n1 + n2 - 2
    sdp = np.sqrt(((n1 - 1) * s1**2 + (n2 - 1) * s2**2) / mi)
    zero = np.flatnonzero(sdp == 0)
    if zero.size:
        raise InputError("SMD is undefined when both arms have SD = 0; "
                         f"studies: {', '.join(rows[i] for i in zero)}", field="sd1i/sd2i",
                         value=0)
    yi = hedges_cm(mi) * (m1 - m2) / sdp
    vi = 1 / n1 + 1 / n2 + yi**2 / (2 * (n1 + n2))
    return yi, vi


def _binary(measure: str, c: dict[str, FloatArray],
            rows: list[str]) -> tuple[FloatArray, FloatArray]:
    a, b, cc, d = (c[k].copy() for k in BIN_COLS)
    for arr, col in zip((a, b, cc, d), BIN_COLS, strict=True):
        bad = np.flatnonzero((arr < 0) | (arr != np.round(arr)))
        if bad.size:
            raise InputError("cell counts must be whole numbers >= 0", field=col,
                             value=f"{rows[bad[0]]}: {arr[bad[0]]}")
    empty = np.flatnonzero((a + b == 0) | (cc + d == 0))
    if empty.size:
        raise InputError(f"an arm with no subjects: {', '.join(rows[i] for i in empty)}",
                         field="ai+bi / ci+di", value=0)
    zero = (a == 0) | (b == 0) | (cc == 0) | (d == 0)
    if zero.any():
        warnings.warn("1/2 added to every cell of studies with a zero cell (metafor add=1/2, "
                      f"to='only0'): {', '.join(rows[i] for i in np.flatnonzero(zero))}",
                      EffectSizeWarning, stacklevel=3)
        for arr in (a, b, cc, d):
            arr[zero] += 0.5
    n1 = a + b
    n2 = cc + d
    p1 = a / n1
    p2 = cc / n2
    if measure == "RR":
        return np.log(p1) - np.log(p2), 1 / a - 1 / n1 + 1 / cc - 1 / n2
    if measure == "OR":
        return (np.log(p1 / (1 - p1)) - np.log(p2 / (1 - p2)),
                1 / a + 1 / b + 1 / cc + 1 / d)
    return p1 - p2, p1 * (1 - p1) / n1 + p2 * (1 - p2) / n2


def describe_measure(measure: str) -> str:
    """One line saying what a measure is and which direction is which."""
    text = {
        "SMD": "standardized mean difference (Hedges' g), treatment minus control",
        "MD": "raw mean difference, treatment minus control",
        "ROM": "log ratio of means, log(treatment / control)",
        "RR": "log risk ratio, treatment vs control",
        "OR": "log odds ratio, treatment vs control",
        "RD": "risk difference, treatment minus control",
        "GEN": "precomputed effect sizes (yi, vi)",
    }
    return text.get(measure.upper(), measure)


def is_log_scale(measure: str) -> bool:
    """Whether estimates are on the log scale (RR, OR, ROM) and are shown exponentiated."""
    return measure.upper() in ("RR", "OR", "ROM")
