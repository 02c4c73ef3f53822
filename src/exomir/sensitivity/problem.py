"""What is uncertain and how: factors, their distributions, groups and correlated blocks.

A :class:`SensitivityProblem` lists the uncertain parameters of a model (the *factors*), the
distribution each is drawn from, the group it belongs to, and the parameters held fixed (with
the reason). Samplers work on the unit hypercube; :meth:`SensitivityProblem.transform` maps a
unit sample ``U`` (n, k) to parameter values by each factor's inverse CDF:

* ``uniform(low, high)``: x = low + u·(high − low);
* ``loguniform(low, high)``: ln x = ln low + u·ln(high/low);
* ``normal(mean, sd)``, ``lognormal`` (normal on ln x), truncated to [low, high] (by default
  the 0.1th and 99.9th percentiles, so Morris' grid ends are finite; inside a calibrated
  parameter's bounds): x = mean + sd·Φ⁻¹(Φ(a) + u·(Φ(b) − Φ(a))), a, b the standardised ends;
* a correlated block (a calibration covariance, on linear or log scale): z = Φ⁻¹(u'),
  u' = 0.001 + 0.998·u, for each of its independent components, θ = mean + L·z with L the
  Cholesky factor, each member clipped to [low, high]. Variance-based indices assume
  independent inputs, so a block is always analysed as one group.

Default distribution for a range (assumption or a source's range): **log-uniform** when the
range is positive and spans more than 10x (high/low > 10), **uniform** otherwise.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Literal

import numpy as np

from exomir.core import InputError, Parameter, ParameterTable

Dist = Literal["uniform", "loguniform", "normal", "lognormal", "mvnormal"]
TRUNCATION = 0.001  # normal factors are truncated at this lower and upper tail probability
LOG_SPAN = 10.0  # ranges with high/low above this are sampled log-uniformly

# Name-based grouping, used until a Parameter carries a ``group`` field (first match wins).
NAME_GROUPS: list[tuple[str, str]] = [
    (r"^(w_|weight_|h_|pathway)", "pathway weights"),
    (r"^cv_|_cv$", "population variability"),
    (r"^k_(abs_\w+|nose_brain|site_loss)$", "administration"),
    (r"^k_depot|release|^vehicle_|^k_vehicle", "vehicle"),
    (r"^(n_target_cells|vmax_cell_uptake|km_cell_uptake|k_endosome|f_escape)$",
     "cellular uptake"),
    (r"(risc|mirna|^k_mrna_deg$|^k_protein_deg$|rmax)", "miRNA and target knockdown"),
    (r"^(k_(liver|spleen|lung|kidney|rest|brain|spinal|skin|csf|plasma)_\w+|km_mps"
     r"|mps_factor|homing_factor|ligand_factor|rvg_factor)$", "PK (distribution)"),
    (r"(_ev$|_ev_|^k_effect$|bioactivity)", "vesicle bioactivity"),
    (r"(heal|pwt|sensitization|injury|latency|wound)", "outcome model"),
]
DEFAULT_GROUP = "other"


def name_group(name: str) -> str:
    """The documented name-based group of a parameter (fallback for a missing ``group``)."""
    for pat, group in NAME_GROUPS:
        if re.search(pat, name):
            return group
    return DEFAULT_GROUP


def parameter_group(p: Parameter) -> str:
    """``p.group`` when the table has one, else :func:`name_group`."""
    g = getattr(p, "group", None)
    return str(g) if g else name_group(p.name)


SWITCH_GROUPS = {"mechanism switches"}


def is_switch(p: Parameter) -> bool:
    """An on/off switch of a model structure (``mech_*``), never sampled as uncertain."""
    return p.name.startswith("mech_") or (getattr(p, "group", None) or "") in SWITCH_GROUPS


def default_distribution(low: float, high: float) -> tuple[Dist, str]:
    """(distribution, reason) for a range: log-uniform if positive and > 10x, else uniform."""
    if low > 0 and high / low > LOG_SPAN:
        return "loguniform", f"log-uniform: positive range spanning {high / low:.3g}x (> 10x)"
    span = "" if low <= 0 else f" spanning {high / low:.3g}x"
    return "uniform", f"uniform: range{span} (not positive or <= 10x)"


@dataclass(frozen=True)
class Factor:
    """One uncertain input. ``low``/``high``: the support (uniform, log-uniform) or the
    truncation points (normal); ``mean``/``sd`` on the sampling scale (ln x for lognormal)."""

    name: str
    dist: Dist
    low: float
    high: float
    nominal: float
    unit: str = ""
    group: str = DEFAULT_GROUP
    origin: str = "assumption range"
    reason: str = ""
    mean: float | None = None
    sd: float | None = None
    block: str | None = None

    def ppf(self, u: np.ndarray) -> np.ndarray:
        """Inverse CDF on the unit interval (independent factors only)."""
        if self.dist == "uniform":
            return self.low + u * (self.high - self.low)
        if self.dist == "loguniform":
            return np.exp(np.log(self.low) + u * np.log(self.high / self.low))
        assert self.mean is not None and self.sd is not None
        if self.dist not in ("normal", "lognormal"):
            raise AssertionError(self.dist)  # mvnormal is transformed per block
        from scipy.stats import norm

        log = self.dist == "lognormal"
        lo, hi = (np.log(self.low), np.log(self.high)) if log else (self.low, self.high)
        pa, pb = norm.cdf((lo - self.mean) / self.sd), norm.cdf((hi - self.mean) / self.sd)
        x = self.mean + self.sd * norm.ppf(pa + np.asarray(u) * (pb - pa))
        return np.exp(x) if log else x

    def describe(self) -> str:
        """A one-line distribution statement with units."""
        u = f" {self.unit}" if self.unit and self.unit != "dimensionless" else ""
        if self.dist in ("uniform", "loguniform"):
            return f"{self.dist}({self.low:.4g}, {self.high:.4g}){u}"
        if self.dist == "lognormal":
            return (f"lognormal(median {np.exp(self.mean or 0.0):.4g}{u}, sd of ln "
                    f"{self.sd:.3g})")
        if self.dist == "mvnormal":
            return f"correlated normal (block '{self.block}'), {self.low:.4g}-{self.high:.4g}{u}"
        return f"normal({self.mean:.4g}, sd {self.sd:.3g}){u}"


def _norm_ppf(u: np.ndarray) -> np.ndarray:
    from scipy.stats import norm

    return np.asarray(norm.ppf(TRUNCATION + (1.0 - 2.0 * TRUNCATION) * np.asarray(u)))


@dataclass(frozen=True)
class Block:
    """Jointly normal factors (e.g. a calibration covariance) on ``scale`` (lin or log)."""

    name: str
    names: tuple[str, ...]
    mean: tuple[float, ...]
    cov: tuple[tuple[float, ...], ...]
    scale: Literal["lin", "log"] = "lin"

    def cholesky(self) -> np.ndarray:
        c = np.asarray(self.cov, dtype=float)
        try:
            return np.linalg.cholesky(c)
        except np.linalg.LinAlgError:  # positive semi-definite: eigen-decomposition
            w, v = np.linalg.eigh(c)
            return np.asarray(v * np.sqrt(np.clip(w, 0.0, None)))


@dataclass
class SensitivityProblem:
    """Factors to vary, parameters held fixed (name -> reason) and correlated blocks."""

    factors: list[Factor]
    fixed: dict[str, str] = field(default_factory=dict)
    blocks: dict[str, Block] = field(default_factory=dict)
    source: str = ""

    def __post_init__(self) -> None:
        names = [f.name for f in self.factors]
        if len(set(names)) != len(names):
            raise ValueError(f"duplicate factors in {names}")
        for b in self.blocks.values():
            missing = set(b.names) - set(names)
            if missing:
                raise ValueError(f"block {b.name!r} names unknown factors {sorted(missing)}")

    # ---- views --------------------------------------------------------------------------
    @property
    def names(self) -> list[str]:
        return [f.name for f in self.factors]

    @property
    def k(self) -> int:
        return len(self.factors)

    def factor(self, name: str) -> Factor:
        for f in self.factors:
            if f.name == name:
                return f
        raise KeyError(name)

    def labels(self, by: Literal["parameter", "group"] = "parameter") -> list[str]:
        """The index label of each factor: its name, or its block / group.

        A correlated block is one label in both modes (its members are not independent)."""
        out = []
        for f in self.factors:
            if f.block is not None:
                out.append(f"{f.block} (correlated)")
            else:
                out.append(f.group if by == "group" else f.name)
        return out

    def salib(self, by: Literal["parameter", "group"] = "parameter") -> dict[str, Any]:
        """The SALib problem dict on the unit hypercube (groups when a label repeats)."""
        labels = self.labels(by)
        prob: dict[str, Any] = {"num_vars": self.k, "names": self.names,
                                "bounds": [[0.0, 1.0]] * self.k}
        if len(set(labels)) < len(labels) or by == "group":
            prob["groups"] = labels
        return prob

    # ---- sampling ----------------------------------------------------------------------
    def transform(self, U: np.ndarray) -> np.ndarray:
        """Parameter values X (n, k) from a unit-hypercube sample U (n, k)."""
        U = np.atleast_2d(np.asarray(U, dtype=float))
        if U.shape[1] != self.k:
            raise ValueError(f"sample has {U.shape[1]} columns for {self.k} factors")
        X = np.empty_like(U)
        col = {n: i for i, n in enumerate(self.names)}
        for i, f in enumerate(self.factors):
            if f.block is None:
                X[:, i] = f.ppf(U[:, i])
        for b in self.blocks.values():
            idx = [col[n] for n in b.names]
            z = _norm_ppf(U[:, idx])
            theta = np.asarray(b.mean)[None, :] + z @ b.cholesky().T
            vals = np.exp(theta) if b.scale == "log" else theta
            lo = np.array([self.factors[i].low for i in idx])
            hi = np.array([self.factors[i].high for i in idx])
            X[:, idx] = np.clip(vals, lo, hi)
        return X

    def nominal(self) -> np.ndarray:
        return np.array([f.nominal for f in self.factors])

    def ends(self) -> tuple[np.ndarray, np.ndarray]:
        """Low and high end of every factor (support or truncation points), (k,) each."""
        return (np.array([f.low for f in self.factors]),
                np.array([f.high for f in self.factors]))

    # ---- editing -----------------------------------------------------------------------
    def without(self, names: Iterable[str], reason: str) -> SensitivityProblem:
        """A copy with some factors moved to ``fixed`` (a correlated block stays whole)."""
        drop = set(names)
        for b in self.blocks.values():
            if drop & set(b.names) and not set(b.names) <= drop:
                drop -= set(b.names)
        keep = [f for f in self.factors if f.name not in drop]
        fixed = dict(self.fixed)
        fixed.update({n: reason for n in self.names if n in drop})
        blocks = {k: b for k, b in self.blocks.items() if set(b.names) <= {f.name for f in keep}}
        return SensitivityProblem(keep, fixed, blocks, self.source)

    def select(self, groups: Sequence[str] | None = None,
               names: Sequence[str] | None = None) -> SensitivityProblem:
        """Only the factors in ``groups`` and/or ``names`` (others fixed at nominal)."""
        if not groups and not names:
            return self
        known_groups = sorted({f.group for f in self.factors})
        for g in groups or []:
            if g not in known_groups:
                raise InputError("unknown parameter group", field="--group", value=g,
                                 accepted=known_groups)
        for n in names or []:
            if n not in self.names:
                raise InputError("not an uncertain parameter of this model", field="--param",
                                 value=n, accepted=self.names)
        keep = {f.name for f in self.factors
                if (groups and f.group in groups) or (names and f.name in names)}
        return self.without([n for n in self.names if n not in keep],
                            "outside the chosen groups/parameters (held at nominal)")

    def to_records(self) -> list[dict[str, Any]]:
        """One row per factor: name, unit, nominal, distribution, range, origin, group."""
        rows = []
        for f in self.factors:
            d = asdict(f)
            d["distribution"] = f.describe()
            rows.append(d)
        return rows

    def to_dict(self) -> dict[str, Any]:
        return {"factors": self.to_records(), "fixed": dict(self.fixed),
                "blocks": {k: asdict(b) for k, b in self.blocks.items()},
                "source": self.source}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> SensitivityProblem:
        fields = set(Factor.__dataclass_fields__)
        factors = [Factor(**{k: v for k, v in r.items() if k in fields}) for r in d["factors"]]
        blocks = {}
        for k, b in d.get("blocks", {}).items():
            blocks[k] = Block(name=b["name"], names=tuple(b["names"]), mean=tuple(b["mean"]),
                              cov=tuple(tuple(r) for r in b["cov"]), scale=b["scale"])
        return cls(factors, dict(d.get("fixed", {})), blocks, d.get("source", ""))

    # ---- construction ------------------------------------------------------------------
    @classmethod
    def from_bounds(cls, names: Sequence[str], bounds: Sequence[tuple[float, float]],
                    dists: Sequence[Dist] | None = None,
                    groups: Sequence[str] | None = None) -> SensitivityProblem:
        """Independent factors on explicit ranges (analytic test functions, user models)."""
        fs = []
        for i, (n, (lo, hi)) in enumerate(zip(names, bounds, strict=True)):
            d: Dist = dists[i] if dists else "uniform"
            nominal = float(np.sqrt(lo * hi)) if d == "loguniform" else 0.5 * (lo + hi)
            fs.append(Factor(n, d, float(lo), float(hi), nominal, group=(groups or names)[i],
                             origin="given range", reason=d))
        return cls(fs, source="explicit bounds")

    @classmethod
    def from_table(
        cls,
        table: ParameterTable,
        *,
        groups: Sequence[str] | None = None,
        names: Sequence[str] | None = None,
        calibration: Any = None,
        exclude: Iterable[str] = (),
        source: str = "",
    ) -> SensitivityProblem:
        """All uncertain parameters of a table (or the chosen ``groups``/``names``).

        Uncertain: an assumption with its range, a sourced value whose source gives a range
        (``low``/``high``), and, when ``calibration`` (a calibrated-parameter file or object,
        see :func:`exomir.sensitivity.calibration.calibration_factors`) is given, every
        calibrated parameter with its CI or covariance (this replaces the table's range).
        Everything else is fixed, with the reason recorded.
        """
        factors: list[Factor] = []
        fixed: dict[str, str] = {}
        blocks: dict[str, Block] = {}
        cal_factors: dict[str, Factor] = {}
        if calibration is not None:
            from exomir.sensitivity.calibration import calibration_factors

            cf, blocks, cal_fixed = calibration_factors(calibration, table)
            cal_factors = {f.name: f for f in cf}
            fixed.update(cal_fixed)
        skip = set(exclude)
        for p in table:
            if p.name in skip:
                fixed[p.name] = "excluded"
                continue
            if p.name in cal_factors:
                factors.append(replace(cal_factors[p.name], group=parameter_group(p),
                                       unit=p.unit))
                continue
            if p.name in fixed:
                continue
            if is_switch(p):
                fixed[p.name] = "a mechanism switch (on/off), not an uncertainty"
                continue
            if p.low is None or p.high is None or not p.low < p.high:
                fixed[p.name] = ("no range: " + (f"sourced ({p.source})" if p.source
                                                 else "no source") + ", held at its value")
                continue
            dist, reason = default_distribution(p.low, p.high)
            origin = "assumption range" if p.assumption else f"source range ({p.source})"
            factors.append(Factor(p.name, dist, float(p.low), float(p.high), float(p.value),
                                  p.unit, parameter_group(p), origin, reason))
        prob = cls(factors, fixed, blocks, source or "parameter table")
        return prob.select(groups, names)
