"""Reading cumulative-release curves from CSV.

Columns (header names case-insensitive): ``time``, ``released`` (required); ``sd``,
``replicate``, ``time_unit``, ``released_unit`` (optional). Times are converted to days with
pint (``exomir.core.units``); ``released`` and ``sd`` are read as percent (``%``,
``percent``) or fraction (``fraction``, ``1``). Without a ``released_unit`` column the caller's
default applies; ``auto`` reads percent when any value exceeds 1.05 and says so in a warning.

Errors (:class:`~exomir.core.InputError`, with file, line, field, value, accepted): missing
columns, non-numeric cells, negative times, negative SD, release below 0 or above 100 % beyond
measurement noise (2 SD when an SD is given, else 5 percentage points), unknown units.
A non-monotone mean curve is a warning (:class:`ReleaseDataWarning`), not an error.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from exomir.core.errors import InputError
from exomir.core.units import Q_, parse_unit

REQUIRED = ("time", "released")
OPTIONAL = ("sd", "replicate", "time_unit", "released_unit")
PERCENT_UNITS = {"%", "percent", "pct"}
FRACTION_UNITS = {"fraction", "1", "frac", "dimensionless"}
NOISE_PP = 0.05  # tolerance above 100 % when no SD is given (fraction units)


class ReleaseDataWarning(UserWarning):
    """Suspicious but usable release data (e.g. a cumulative curve that decreases)."""


@dataclass
class ReleaseData:
    """A cumulative release curve: one row per observation (replicates as separate rows)."""

    t_days: np.ndarray
    released: np.ndarray  # fraction 0..1
    sd: np.ndarray | None = None  # fraction, per observation
    replicate: np.ndarray | None = None  # replicate labels (str)
    source: str = "<data>"
    time_unit: str = "day"
    notes: list[str] = field(default_factory=list)

    @property
    def n(self) -> int:
        return int(self.t_days.size)

    def times(self) -> np.ndarray:
        """Distinct time points (days), sorted."""
        return np.unique(self.t_days)

    def mean_curve(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(times, mean fraction, SD) per time point; SD across replicates or the given SD."""
        ts = self.times()
        mean = np.empty_like(ts)
        sd = np.full_like(ts, np.nan)
        for i, t in enumerate(ts):
            sel = self.t_days == t
            mean[i] = float(np.mean(self.released[sel]))
            if sel.sum() > 1:
                sd[i] = float(np.std(self.released[sel], ddof=1))
            elif self.sd is not None:
                sd[i] = float(self.sd[sel][0])
        return ts, mean, sd

    def replicate_matrix(self) -> tuple[np.ndarray, np.ndarray] | None:
        """(times, matrix units x times) when every replicate has every time point."""
        if self.replicate is None:
            return None
        ts = self.times()
        labels = list(dict.fromkeys(self.replicate.tolist()))
        mat = np.full((len(labels), ts.size), np.nan)
        for i, lab in enumerate(labels):
            sel = self.replicate == lab
            for t, f in zip(self.t_days[sel], self.released[sel], strict=True):
                mat[i, np.searchsorted(ts, t)] = f
        if np.isnan(mat).any():
            return None
        return ts, mat


#: Largest time accepted (in the file's unit; 1e6 h is 114 years of release).
MAX_TIME = 1e6


def _number(text: str, *, source: str, line: int, fld: str) -> float:
    from exomir.core.files import MAX_MAGNITUDE, require_number

    hi = MAX_TIME if fld == "time" else MAX_MAGNITUDE
    return require_number(text, source=source, line=line, field=fld, lo=-MAX_MAGNITUDE, hi=hi)


def _released_scale(unit: str, *, source: str, line: int | None) -> float | None:
    u = unit.strip().lower()
    if u in PERCENT_UNITS:
        return 0.01
    if u in FRACTION_UNITS:
        return 1.0
    if u == "auto":
        return None
    raise InputError("unknown released_unit", source=source, line=line, field="released_unit",
                     value=unit, accepted="%, percent, fraction, auto")


def _days_per(unit: str, *, source: str, line: int | None) -> float:
    try:
        u = parse_unit(unit, field="time_unit")
    except InputError as exc:
        raise exc.located(source, line) from None
    q = Q_(1.0, u)
    if not q.check("[time]"):
        raise InputError("time_unit is not a unit of time", source=source, line=line,
                         field="time_unit", value=unit, accepted="min, h, day, week")
    return float(q.to("day").magnitude)


def parse_rows(rows: Sequence[dict[str, str]], *, source: str = "<data>",
               line_numbers: Sequence[int] | None = None, time_unit: str = "h",
               released_unit: str = "auto") -> ReleaseData:
    """Build :class:`ReleaseData` from dict rows (keys lower-case column names)."""
    lines = list(line_numbers) if line_numbers is not None else list(range(2, len(rows) + 2))
    if not rows:
        raise InputError("no data rows", source=source, field="rows", accepted="at least 3 rows")
    cols = set(rows[0])
    missing = [c for c in REQUIRED if c not in cols]
    if missing:
        raise InputError(f"missing column(s) {', '.join(missing)}", source=source, line=1,
                         field="header", value=",".join(sorted(cols)),
                         accepted="time, released [, sd, replicate, time_unit, released_unit]")
    default_days = _days_per(time_unit, source=source, line=None)
    default_scale = _released_scale(released_unit, source=source, line=None)
    t_list: list[float] = []
    f_raw: list[float] = []
    sd_raw: list[float] = []
    scales: list[float | None] = []
    reps: list[str] = []
    has_sd = "sd" in cols
    for i, row in enumerate(rows):
        line = lines[i]
        t = _number(row.get("time") or "", source=source, line=line, fld="time")
        if t < 0:
            raise InputError("negative time", source=source, line=line, field="time", value=t,
                             accepted="times >= 0 (time since the vehicle was placed in medium)")
        tu = (row.get("time_unit") or "").strip()
        days = _days_per(tu, source=source, line=line) if tu else default_days
        ru = (row.get("released_unit") or "").strip()
        scale = _released_scale(ru, source=source, line=line) if ru else default_scale
        f = _number(row.get("released") or "", source=source, line=line, fld="released")
        s = float("nan")
        if has_sd and (row.get("sd") or "").strip():
            s = _number(row["sd"], source=source, line=line, fld="sd")
            if s < 0:
                raise InputError("negative SD", source=source, line=line, field="sd", value=s,
                                 accepted="SD >= 0")
        t_list.append(t * days)
        f_raw.append(f)
        sd_raw.append(s)
        scales.append(scale)
        reps.append((row.get("replicate") or "").strip())
    notes: list[str] = []
    if any(sc is None for sc in scales):
        auto = 0.01 if max(f_raw) > 1.05 else 1.0
        msg = (f"{source}: released_unit 'auto' read as "
               f"{'percent' if auto == 0.01 else 'fraction'} (max value {max(f_raw):g})")
        notes.append(msg)
        warnings.warn(msg, ReleaseDataWarning, stacklevel=2)
        scales = [auto if sc is None else sc for sc in scales]
    sc_arr = np.asarray(scales, dtype=float)
    fr = np.asarray(f_raw) * sc_arr
    sd = np.asarray(sd_raw) * sc_arr
    for i, (f, s) in enumerate(zip(fr, sd, strict=True)):
        tol = 2.0 * s if np.isfinite(s) and s > 0 else NOISE_PP
        if f > 1.0 + tol or f < -tol:
            raise InputError(
                "release outside 0-100 % beyond measurement noise", source=source,
                line=lines[i], field="released", value=f_raw[i],
                accepted=f"0-100 % (0-1 as fraction) within {tol * 100:.3g} percentage points")
    data = ReleaseData(
        t_days=np.asarray(t_list), released=fr,
        sd=sd if has_sd and np.isfinite(sd).all() else None,
        replicate=np.asarray(reps) if any(reps) else None, source=source,
        time_unit=time_unit, notes=notes)
    if has_sd and not np.isfinite(sd).all() and np.isfinite(sd).any():
        notes.append(f"{source}: sd given on some rows only; fit is unweighted")
    _check_monotone(data)
    return data


def _check_monotone(data: ReleaseData) -> None:
    ts, mean, sd = data.mean_curve()
    if ts.size < 2:
        return
    drops = np.diff(mean)
    noise = np.nan_to_num(sd[1:], nan=0.0) + np.nan_to_num(sd[:-1], nan=0.0)
    bad = np.where(drops < -np.maximum(noise, 1e-9))[0]
    if bad.size:
        i = int(bad[0])
        msg = (f"{data.source}: cumulative release decreases from {mean[i] * 100:.3g} % at "
               f"t = {ts[i]:g} d to {mean[i + 1] * 100:.3g} % at t = {ts[i + 1]:g} d "
               "(beyond the SD); check sampling/replacement corrections")
        data.notes.append(msg)
        warnings.warn(msg, ReleaseDataWarning, stacklevel=3)


def read_release_csv(path: str | Path, *, time_unit: str | None = None,
                     released_unit: str = "auto") -> ReleaseData:
    """Read a release CSV (see module docstring). ``time_unit`` applies where no column.

    Read through the input layer (:mod:`exomir.core.files`: encodings, BOM, strict quoting,
    cell and size limits). Blank lines and lines starting with ``#`` are skipped; errors name
    the physical line. Without a ``time_unit`` column the caller must say the unit
    (``time_unit``); it is never assumed.
    """
    from exomir.core.files import read_table

    p = Path(path)
    table = read_table(p, comment="#", required=REQUIRED, min_rows=1, lower_header=True,
                       field="data", accepted="a CSV with columns time, released [, sd, "
                       "replicate, time_unit, released_unit]")
    if "time_unit" not in table.header and time_unit is None:
        raise InputError("the time unit is not given", source=str(p), line=table.header_line,
                         field="time_unit",
                         accepted="a time_unit column (h, day, min, week) or --time-unit",
                         hint="add --time-unit h (or day, min, week); exomir does not assume "
                         "hours")
    lines: list[int] = []
    rows: list[dict[str, str]] = []
    for line, rec in table.records():
        lines.append(line)
        rows.append(rec)
    return parse_rows(rows, source=str(p), line_numbers=lines,
                      time_unit=time_unit or "h", released_unit=released_unit)


def from_arrays(t_days: Sequence[float] | np.ndarray, released_fraction: Sequence[float] |
                np.ndarray, sd_fraction: Sequence[float] | np.ndarray | None = None,
                replicate: Sequence[str] | None = None, source: str = "<arrays>") -> ReleaseData:
    """ReleaseData from arrays already in days and fractions (same checks as the CSV path)."""
    rows = []
    for i, (t, f) in enumerate(zip(t_days, released_fraction, strict=True)):
        row = {"time": repr(float(t)), "released": repr(float(f))}
        if sd_fraction is not None:
            row["sd"] = repr(float(sd_fraction[i]))
        if replicate is not None:
            row["replicate"] = str(replicate[i])
        rows.append(row)
    return parse_rows(rows, source=source, line_numbers=list(range(1, len(rows) + 1)),
                      time_unit="day",
                      released_unit="fraction")
