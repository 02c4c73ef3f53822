"""Calibrated parameters (value, CI, covariance) as uncertainty factors.

Reads the calibrated-parameter file that ``exomir calibrate`` writes (format
``exomir-calibrated-parameters/1``, :mod:`exomir.core.calibrated`), or a hand-written
JSON/YAML file or mapping with the same fields::

    parameters:
      - {name: k_heal, value: 0.1335, scale: log10, se: 0.02, ci95: [0.121, 0.147],
         identifiability: identifiable, lower: 0.01, upper: 1}
      - {name: ec50_ev, value: 1.0, identifiability: practically non-identifiable,
         lower: 1, upper: 1000}
    covariance: {names: [k_heal, emax_ev], matrix: [[...], [...]]}   # estimation scale

``scale`` (lin | log | log10; default log10 in exomir's calibrated format, lin otherwise) is
the estimation scale of ``se`` and ``covariance``; ``ci95`` is on the linear scale (an open end
is null). ``ci``/``bounds``/``identifiable: false`` are accepted as spellings of ``ci95``,
``lower``/``upper`` and the verdict. Each parameter becomes a factor:

* identified (verdict "identifiable", or "not profiled" with a Fisher standard error) and in
  ``covariance``: one correlated normal block on the estimation scale (log scales give
  lognormals), analysed as one group, each member clipped to its bounds;
* identified with a standard error ``se`` only: normal (lin) or lognormal (log, log10) on its
  scale, truncated at its bounds;
* identified with only a finite ``ci95``: normal on its scale with sd = (hi − lo)/(2·1.96) on
  that scale (a symmetric reading of a profile CI, stated in the factor's ``reason``);
* not identified (any other verdict): its ``lower``-``upper`` range, log-uniform when
  positive and > 10x, else uniform (carried as uncertain, not presented as fitted);
* ``estimated: false``: left to the parameter table (its assumption range, if any).

Parameters that are not in the model (observable noise parameters of the calibration) are
ignored, and listed with that reason.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from exomir.core import InputError, ParameterTable
from exomir.core.calibrated import calibration_mapping
from exomir.sensitivity.problem import Block, Factor, default_distribution

Z95 = 1.959963984540054
TAIL = 3.090232306167813  # normal quantile at 0.999 (factor truncation, see problem.py)


def _mapping(cal: Any) -> tuple[dict[str, Any], str]:
    """The calibration's content: read (and, in exomir's format, validated) by core."""
    return calibration_mapping(cal)


IDENTIFIED = ("identifiable", "not profiled")


def _identified(row: Mapping[str, Any]) -> bool:
    if "identifiable" in row:
        v = row["identifiable"]
        return v is True or str(v).strip().lower() in ("true", "yes", "identifiable")
    verdict = row.get("identifiability", row.get("verdict"))
    return verdict is None or str(verdict).strip().lower() in IDENTIFIED


def _verdict(row: Mapping[str, Any]) -> str:
    return str(row.get("identifiability", row.get("verdict", "not identifiable")))


def _pair(row: Mapping[str, Any], *keys: str) -> tuple[float, float] | None:
    """A finite increasing (low, high) from the first of ``keys`` present."""
    for key in keys:
        v = row.get(key)
        if v is None and f"{key}_low" in row and f"{key}_high" in row:
            v = [row[f"{key}_low"], row[f"{key}_high"]]
        if v is None:
            continue
        if v[0] is None or v[1] is None:
            return None
        lo, hi = float(v[0]), float(v[1])
        return (lo, hi) if np.isfinite(lo) and np.isfinite(hi) and lo < hi else None
    return None


def _bounds(row: Mapping[str, Any]) -> tuple[float, float] | None:
    if row.get("lower") is not None and row.get("upper") is not None:
        return _pair({"b": [row["lower"], row["upper"]]}, "b")
    return _pair(row, "bounds")


def _scale(row: Mapping[str, Any], default: str) -> str:
    return str(row.get("scale", default))


def _to(x: float, scale: str) -> float:
    """Linear value -> natural-log or linear sampling scale."""
    return float(np.log(x)) if scale in ("log", "log10") else float(x)


def _back(x: float, scale: str) -> float:
    return float(np.exp(x)) if scale in ("log", "log10") else float(x)


def _ln_units(scale: str) -> float:
    """Factor from the estimation scale's units to natural-log units (ln 10 for log10)."""
    return float(np.log(10.0)) if scale == "log10" else 1.0


def _truncation(m: float, sd: float, scale: str, bounds: tuple[float, float] | None
                ) -> tuple[float, float]:
    """Linear-scale truncation points: the 0.1/99.9 % tails, inside the bounds."""
    lo, hi = _back(m - TAIL * sd, scale), _back(m + TAIL * sd, scale)
    if bounds is not None:
        lo, hi = max(lo, bounds[0]), min(hi, bounds[1])
    return lo, hi


def calibration_factors(cal: Any, table: ParameterTable
                        ) -> tuple[list[Factor], dict[str, Block], dict[str, str]]:
    """(factors, correlated blocks, fixed name -> reason) from a calibrated-parameter file."""
    data, src = _mapping(cal)
    exomir_format = str(data.get("format", "")).startswith("exomir-calibrated-parameters")
    default_scale = "log10" if exomir_format else "lin"
    rows = data.get("parameters")
    if not isinstance(rows, list):
        raise InputError("missing list 'parameters'", source=src, field="parameters",
                         accepted="[{name, value, se|ci95, scale}, ...]")
    fixed: dict[str, str] = {}
    by_name: dict[str, Mapping[str, Any]] = {}
    for i, r in enumerate(rows):
        name = str(r.get("name", ""))
        if "value" not in r:
            raise InputError("missing", source=src, field=f"parameters[{i}].value")
        scale = _scale(r, default_scale)
        if scale not in ("lin", "log", "log10"):
            raise InputError("unknown scale", source=src, field=f"parameters[{i}].scale",
                             value=scale, accepted="lin, log, log10")
        if name not in table:
            if exomir_format:  # e.g. an observable's noise parameter
                fixed[name] = f"calibration ({src}): not a parameter of this model (ignored)"
                continue
            raise InputError("not a parameter of the model", source=src,
                             field=f"parameters[{i}].name", value=name,
                             accepted=[p.name for p in table])
        if r.get("estimated", True) is False:
            continue  # fixed in the calibration: the table's own range applies
        by_name[name] = r
    cov = data.get("covariance") or {}
    cov_names = [str(n) for n in cov.get("names", [])]
    mat = np.zeros((0, 0))
    if cov_names:
        mat = np.asarray(cov.get("matrix"), dtype=float)
        if mat.shape != (len(cov_names), len(cov_names)) or not np.allclose(mat, mat.T):
            raise InputError("covariance matrix must be square, symmetric and match 'names'",
                             source=src, field="covariance.matrix",
                             value=f"shape {mat.shape}")
    joint = [n for n in cov_names if n in by_name and _identified(by_name[n])]
    factors: list[Factor] = []
    blocks: dict[str, Block] = {}
    if len(joint) >= 2:
        sel = [cov_names.index(n) for n in joint]
        scales = [_scale(by_name[n], default_scale) for n in joint]
        if len({s != "lin" for s in scales}) > 1:
            raise InputError("a covariance block must be all linear or all log scale",
                             source=src, field="covariance.names", value=joint,
                             accepted="all lin or all log/log10")
        unit = np.array([_ln_units(sc) for sc in scales])
        sub = mat[np.ix_(sel, sel)] * np.outer(unit, unit)  # log10 -> natural log
        usable = bool(np.all(np.isfinite(sub)) and np.abs(sub).max() < 1e299)
        if usable and np.linalg.eigvalsh(sub).min() < -1e-10 * max(1.0, np.abs(sub).max()):
            raise InputError("covariance matrix is not positive semi-definite", source=src,
                             field="covariance.matrix")
        if usable:
            log = scales[0] != "lin"
            mean = [_to(float(by_name[n]["value"]), sc) for n, sc in zip(joint, scales,
                                                                         strict=True)]
            blocks["calibration"] = Block("calibration", tuple(joint), tuple(mean),
                                          tuple(tuple(float(x) for x in r) for r in sub),
                                          "log" if log else "lin")
            for i, n in enumerate(joint):
                sd = float(np.sqrt(sub[i, i]))
                lo, hi = _truncation(mean[i], sd, scales[i], _bounds(by_name[n]))
                factors.append(Factor(n, "mvnormal", lo, hi, float(by_name[n]["value"]),
                                      table[n].unit, origin=f"calibration covariance ({src})",
                                      reason="jointly estimated: correlated normal on its "
                                             f"{scales[i]} scale, clipped to its bounds",
                                      mean=mean[i], sd=sd, block="calibration"))
    done = {f.name for f in factors}
    for name, r in by_name.items():
        if name in done:
            continue
        scale = _scale(r, default_scale)
        value = float(r["value"])
        bounds = _bounds(r)
        if not _identified(r):
            rng = bounds or _pair(r, "ci95", "ci")
            if rng is None:
                fixed[name] = (f"calibration ({src}): {_verdict(r)} and no range given, "
                               "held at its value")
                continue
            dist, reason = default_distribution(*rng)
            factors.append(Factor(name, dist, rng[0], rng[1], value, table[name].unit,
                                  origin=f"calibration: {_verdict(r)} ({src})",
                                  reason=reason + "; the range of a parameter the data do not "
                                                  "identify"))
            continue
        se = None if r.get("se") is None else float(r["se"]) * _ln_units(scale)
        if se is None and name in cov_names:
            i = cov_names.index(name)
            if np.isfinite(mat[i, i]) and mat[i, i] < 1e299:
                se = float(np.sqrt(mat[i, i])) * _ln_units(scale)
        ci = _pair(r, "ci95", "ci")
        m = _to(value, scale)
        if se is not None and np.isfinite(se):
            sd, why = float(se), "standard error"
        elif ci is not None:
            sd = (_to(ci[1], scale) - _to(ci[0], scale)) / (2 * Z95)
            why = "95 % CI read as symmetric on its scale"
        else:
            fixed[name] = f"calibration ({src}): no CI or standard error, held at its value"
            continue
        if not sd > 0:
            fixed[name] = f"calibration ({src}): zero uncertainty, held at its value"
            continue
        dist = "lognormal" if scale != "lin" else "normal"
        lo, hi = _truncation(m, sd, scale, bounds)
        factors.append(Factor(name, dist, lo, hi, value, table[name].unit,
                              origin=f"calibration CI ({src})",
                              reason=f"{dist} from the {why}, truncated at the 0.1/99.9 % "
                                     "tails and its bounds", mean=m, sd=sd))
    return factors, blocks, fixed
