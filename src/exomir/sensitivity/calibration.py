"""Calibrated parameters (value, CI, covariance) as uncertainty factors.

Reads a calibrated-parameter file (JSON/YAML, or the mapping / object with ``to_dict()`` the
calibration package writes)::

    parameters:
      - {name: k_heal, value: 0.1335, scale: log, ci: [0.121, 0.147], identifiable: true}
      - {name: emax_ev, value: 0.8, scale: lin, se: 0.05}   # se, covariance: on its scale
      - {name: ec50_ev, value: 1.0, identifiable: false, bounds: [1, 1000]}
    covariance: {names: [k_heal, emax_ev], matrix: [[...], [...]]}   # on each one's scale

Each parameter becomes a factor:

* jointly estimated ones named in ``covariance``: one correlated normal block (on their
  estimation scale; log scale means lognormal), analysed as one group;
* with a standard error ``se`` (on its scale): normal (lin) or lognormal (log);
* with a 95 % CI only: normal on its scale with sd = (hi − lo)/(2·1.96) (a symmetric reading
  of a profile CI, stated in the factor's ``reason``);
* not identifiable (``identifiable: false`` or a verdict other than "identifiable"): its CI,
  else its ``bounds``, as a range (log-uniform when positive and > 10x, else uniform).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from exomir.core import InputError, ParameterTable
from exomir.sensitivity.problem import Block, Factor, default_distribution

Z95 = 1.959963984540054
TAIL = 3.090232306167813  # normal quantile at 0.999 (factor truncation, see problem.py)


def _mapping(cal: Any) -> tuple[dict[str, Any], str]:
    if isinstance(cal, str | Path):
        from exomir.core.files import read_mapping

        return read_mapping(cal, accepted="a calibrated-parameter file (parameters: "
                                          "[{name, value, ci|se, scale}], covariance)"), str(cal)
    if isinstance(cal, Mapping):
        return dict(cal), "calibration"
    if hasattr(cal, "to_dict"):
        return dict(cal.to_dict()), type(cal).__name__
    raise InputError("not a calibrated-parameter file or mapping", field="calibration",
                     value=type(cal).__name__)


def _identifiable(row: Mapping[str, Any]) -> bool:
    if "identifiable" in row:
        v = row["identifiable"]
        return v is True or str(v).strip().lower() in ("true", "yes", "identifiable")
    verdict = row.get("verdict") or row.get("identifiability")
    return verdict is None or str(verdict).strip().lower() == "identifiable"


def _pair(row: Mapping[str, Any], key: str) -> tuple[float, float] | None:
    v = row.get(key)
    if v is None and f"{key}_low" in row and f"{key}_high" in row:
        v = [row[f"{key}_low"], row[f"{key}_high"]]
    if v is None:
        return None
    lo, hi = float(v[0]), float(v[1])
    return (lo, hi) if np.isfinite(lo) and np.isfinite(hi) and lo < hi else None


def calibration_factors(cal: Any, table: ParameterTable
                        ) -> tuple[list[Factor], dict[str, Block], dict[str, str]]:
    """(factors, correlated blocks, fixed name -> reason) from a calibrated-parameter file."""
    data, src = _mapping(cal)
    rows = data.get("parameters")
    if not isinstance(rows, list):
        raise InputError("missing list 'parameters'", source=src, field="parameters",
                         accepted="[{name, value, ci|se, scale}, ...]")
    cov = data.get("covariance") or {}
    cov_names = [str(n) for n in cov.get("names", [])]
    by_name: dict[str, Mapping[str, Any]] = {}
    for i, r in enumerate(rows):
        name = str(r.get("name", ""))
        if name not in table:
            raise InputError("not a parameter of the model", source=src,
                             field=f"parameters[{i}].name", value=name,
                             accepted=[p.name for p in table])
        if "value" not in r:
            raise InputError("missing", source=src, field=f"parameters[{i}].value")
        scale = str(r.get("scale", "lin"))
        if scale not in ("lin", "log", "log10"):
            raise InputError("unknown scale", source=src, field=f"parameters[{i}].scale",
                             value=scale, accepted="lin, log, log10")
        by_name[name] = r
    factors: list[Factor] = []
    blocks: dict[str, Block] = {}
    fixed: dict[str, str] = {}
    joint = [n for n in cov_names if n in by_name and _identifiable(by_name[n])]
    if cov_names:
        unknown = [n for n in cov_names if n not in by_name]
        if unknown:
            raise InputError("covariance names a parameter not in 'parameters'", source=src,
                             field="covariance.names", value=unknown[0],
                             accepted=sorted(by_name))
        mat = np.asarray(cov.get("matrix"), dtype=float)
        if mat.shape != (len(cov_names), len(cov_names)) or not np.allclose(mat, mat.T):
            raise InputError("covariance matrix must be square, symmetric and match 'names'",
                             source=src, field="covariance.matrix",
                             value=f"shape {mat.shape}")
        if np.linalg.eigvalsh(mat).min() < -1e-10 * max(1.0, float(np.abs(mat).max())):
            raise InputError("covariance matrix is not positive semi-definite", source=src,
                             field="covariance.matrix")
        sel = [cov_names.index(n) for n in joint]
        unit = np.array([_ln_units(by_name[n]) for n in joint])
        sub = mat[np.ix_(sel, sel)] * np.outer(unit, unit)  # log10 -> natural log
        if len(joint) >= 2:
            scales = {_scale(by_name[n]) for n in joint}
            if len(scales) > 1:
                raise InputError("a covariance block must share one scale", source=src,
                                 field="covariance.names", value=joint,
                                 accepted="all lin or all log")
            scale = scales.pop()
            mean = [_on_scale(float(by_name[n]["value"]), scale) for n in joint]
            bname = "calibration"
            blocks[bname] = Block(bname, tuple(joint), tuple(mean),
                                  tuple(tuple(float(x) for x in r) for r in sub),
                                  "log" if scale == "log" else "lin")
            for i, n in enumerate(joint):
                sd = float(np.sqrt(sub[i, i]))
                lo, hi = _back(mean[i] - TAIL * sd, scale), _back(mean[i] + TAIL * sd, scale)
                factors.append(Factor(n, "mvnormal", lo, hi, float(by_name[n]["value"]),
                                      table[n].unit, origin=f"calibration covariance ({src})",
                                      reason="jointly estimated: correlated normal on its "
                                             f"{scale} scale", mean=mean[i], sd=sd,
                                      block=bname))
    done = {f.name for f in factors}
    for name, r in by_name.items():
        if name in done:
            continue
        scale = _scale(r)
        value = float(r["value"])
        se = None if r.get("se") is None else float(r["se"]) * _ln_units(r)
        if se is None and name in cov_names and _identifiable(r):
            i = cov_names.index(name)
            se = float(np.sqrt(np.asarray(cov["matrix"], dtype=float)[i, i])) * _ln_units(r)
        ci = _pair(r, "ci")
        if not _identifiable(r):
            rng = ci or _pair(r, "bounds")
            if rng is None:
                fixed[name] = f"calibration ({src}): not identifiable and no range given"
                continue
            dist, reason = default_distribution(*rng)
            factors.append(Factor(name, dist, rng[0], rng[1], value, table[name].unit,
                                  origin=f"calibration: not identifiable ({src})",
                                  reason=reason + "; range of a non-identifiable parameter"))
            continue
        m = _on_scale(value, scale)
        if se is not None:
            sd, why = float(se), "standard error"
        elif ci is not None:
            lo_s, hi_s = _on_scale(ci[0], scale), _on_scale(ci[1], scale)
            sd, why = (hi_s - lo_s) / (2 * Z95), "95 % CI read as symmetric on its scale"
        else:
            fixed[name] = f"calibration ({src}): no CI or standard error, held at its value"
            continue
        if not sd > 0:
            fixed[name] = f"calibration ({src}): zero uncertainty"
            continue
        dist = "lognormal" if scale == "log" else "normal"
        lo, hi = _back(m - TAIL * sd, scale), _back(m + TAIL * sd, scale)
        factors.append(Factor(name, dist, lo, hi, value, table[name].unit,
                              origin=f"calibration CI ({src})",
                              reason=f"{dist} from the {why}", mean=m, sd=sd))
    return factors, blocks, fixed


def _ln_units(row: Mapping[str, Any]) -> float:
    """Factor from the row's scale units to natural-log units (ln 10 for log10)."""
    return float(np.log(10.0)) if str(row.get("scale", "lin")) == "log10" else 1.0


def _scale(row: Mapping[str, Any]) -> str:
    s = str(row.get("scale", "lin"))
    return "log" if s in ("log", "log10") else "lin"


def _on_scale(x: float, scale: str) -> float:
    return float(np.log(x)) if scale == "log" else float(x)


def _back(x: float, scale: str) -> float:
    return float(np.exp(x)) if scale == "log" else float(x)
