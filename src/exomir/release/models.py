"""Library of cumulative-release models F(t) (fraction of the load released, 0..1).

Time ``t`` is in days throughout, so rate constants are per day (or day^-n). Every model
carries its equation, parameter names, units, fitting bounds, valid range and a reference,
a vectorised numpy function and an SBML Level 3 infix formula of the same F(t).

References (the model list follows DDSolver):

* Zhang Y et al. 2010, "DDSolver: an add-in program for modeling and comparison of drug
  dissolution profiles", AAPS J 12:263, doi:10.1208/s12248-010-9185-1 (DDSolver).
* Costa P, Sousa Lobo JM 2001, "Modeling and comparison of dissolution profiles",
  Eur J Pharm Sci 13:123, doi:10.1016/S0928-0987(01)00095-1 (Costa 2001).
* Siepmann J, Peppas NA 2012, "Higuchi equation: derivation, applications, use and misuse",
  Int J Pharm 418:6 doi:10.1016/j.ijpharm.2011.03.051; Siepmann J, Siepmann F 2012,
  "Modeling of diffusion controlled drug delivery", J Control Release 161:351,
  doi:10.1016/j.jconrel.2011.10.006.
* Korsmeyer RW et al. 1983 Int J Pharm 15:25, doi:10.1016/0378-5173(83)90064-9;
  Ritger PL, Peppas NA 1987 J Control Release 5:23, doi:10.1016/0168-3659(87)90034-4.
* Peppas NA, Sahlin JJ 1989 Int J Pharm 57:169, doi:10.1016/0378-5173(89)90306-2.
* Hixson AW, Crowell JH 1931 Ind Eng Chem 23:923, doi:10.1021/ie50260a018.
* Hopfenberg HB 1976 ACS Symp Ser 33:26, doi:10.1021/bk-1976-0033.ch003.
* Baker RW, Lonsdale HK 1974 in "Controlled Release of Biologically Active Agents",
  Adv Exp Med Biol 47:15, doi:10.1007/978-1-4684-7238-6_2.
* Makoid MC, Dufoure A, Banakar UV 1993, STP Pharma Sci 3:49 (no DOI; as tabulated in DDSolver).

Lag (``_tlag``) variants evaluate the base model at ``t - tlag`` and are 0 before ``tlag``.
Burst (``_f0``) variants add an immediate fraction ``F0``: power-law models as
``F0 + f(t)`` (DDSolver's form), plateau models as ``F0 + (1 - F0) f(t)``. Plateau
(``_fmax``) variants scale a plateau model by ``Fmax``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import numpy.typing as npt

from exomir.core.errors import InputError

Array = np.ndarray
ModelFunc = Callable[..., Array]
#: d F / d params at times t: an array of shape (len(t), n_params)
JacFunc = Callable[..., Array]
InfixFunc = Callable[[str, Mapping[str, float]], str]

_ZHANG = "Zhang 2010 doi:10.1208/s12248-010-9185-1"
_COSTA = "Costa & Sousa Lobo 2001 doi:10.1016/S0928-0987(01)00095-1"


@dataclass(frozen=True)
class ParamSpec:
    """One model parameter: name, unit (time in days), fitting bounds and a start guess.

    ``guess`` maps (characteristic time tc in days, final observed fraction) to a start value.
    """

    name: str
    unit: str
    lower: float
    upper: float
    description: str
    guess: Callable[[float, float], float]


@dataclass(frozen=True)
class ReleaseModel:
    """A cumulative-release model F(t; params), t in days, F a fraction."""

    name: str
    label: str
    equation: str
    params: tuple[ParamSpec, ...]
    func: ModelFunc
    infix: InfixFunc
    reference: str
    valid: str
    family: str
    multimodal: bool = False
    power_law: bool = False  # Korsmeyer-Peppas family: fit on F <= 0.6 only
    notes: str = ""
    tags: tuple[str, ...] = field(default_factory=tuple)
    #: analytic Jacobian dF/dparams (None: the fitter differentiates numerically)
    jac: JacFunc | None = None

    def __reduce__(self) -> tuple[Any, tuple[str]]:
        """Library models pickle by name (their functions are closures): worker processes
        of :func:`exomir.release.fit.fit_many` get the same registry object."""
        return get_model, (self.name,)

    @property
    def param_names(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.params)

    @property
    def n_params(self) -> int:
        return len(self.params)

    def evaluate(self, t_days: npt.ArrayLike, params: Sequence[float] | Mapping[str, float]
                 ) -> Array:
        """F(t) for parameters given in order or by name (no clipping)."""
        values = self._ordered(params)
        t = np.asarray(t_days, dtype=float)
        with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
            return np.asarray(self.func(t, *values), dtype=float)

    def sbml_infix(self, params: Sequence[float] | Mapping[str, float], t: str = "t") -> str:
        """F(t) as an SBML L3 infix formula of the time symbol ``t`` (days)."""
        values = self._ordered(params)
        return self.infix(t, dict(zip(self.param_names, values, strict=True)))

    def _ordered(self, params: Sequence[float] | Mapping[str, float]) -> list[float]:
        if isinstance(params, Mapping):
            missing = [n for n in self.param_names if n not in params]
            extra = [n for n in params if n not in self.param_names]
            if missing or extra:
                raise InputError(
                    f"model {self.name} needs parameters {', '.join(self.param_names)}"
                    + (f"; missing {', '.join(missing)}" if missing else "")
                    + (f"; unknown {', '.join(extra)}" if extra else ""),
                    field="param", value=",".join(params), accepted=", ".join(self.param_names))
            return [float(params[n]) for n in self.param_names]
        vals = [float(v) for v in params]
        if len(vals) != self.n_params:
            raise InputError(f"model {self.name} takes {self.n_params} parameters",
                             field="param", value=vals, accepted=", ".join(self.param_names))
        return vals


# ----------------------------------------------------------------------------- helpers

def _f(x: float) -> str:
    """A number as SBML infix text (repr keeps full precision)."""
    return repr(float(x))


def _rate(tc: float, fend: float) -> float:
    return float(np.log(2.0) / max(tc, 1e-9))


def _const(v: float) -> Callable[[float, float], float]:
    return lambda tc, fend: v


def _k_pow(n: float) -> Callable[[float, float], float]:
    """Start for k in F = k t^n: half release at tc."""
    return lambda tc, fend: 0.5 / max(tc, 1e-9) ** n


def _lag_spec() -> ParamSpec:
    return ParamSpec("tlag", "day", 0.0, 1e4, "lag time before release starts",
                     lambda tc, fend: 0.05 * tc)


def _f0_spec() -> ParamSpec:
    return ParamSpec("F0", "1", 0.0, 1.0, "burst fraction released at t = 0",
                     lambda tc, fend: 0.05)


def _fmax_spec() -> ParamSpec:
    return ParamSpec("Fmax", "1", 1e-6, 1.5, "plateau fraction (F at infinite time)",
                     lambda tc, fend: max(min(fend, 1.0), 0.05))


# ----------------------------------------------------------------------------- closed forms

def zero_order(t: Array, k0: float) -> Array:
    """F = k0 t (Costa 2001 eq. 3)."""
    return k0 * t


def first_order(t: Array, k1: float) -> Array:
    """F = 1 - exp(-k1 t) (Costa 2001 eq. 7)."""
    return -np.expm1(-k1 * t)


def higuchi(t: Array, kH: float) -> Array:
    """F = kH sqrt(t) (Higuchi 1963; Costa 2001 eq. 14)."""
    return kH * np.sqrt(np.maximum(t, 0.0))


def korsmeyer_peppas(t: Array, kKP: float, n: float) -> Array:
    """F = kKP t^n, valid for F <= 0.6 (Korsmeyer 1983; Ritger & Peppas 1987)."""
    return kKP * np.power(np.maximum(t, 0.0), n)


def hixson_crowell(t: Array, kHC: float) -> Array:
    """F = 1 - (1 - kHC t)^3 for t < 1/kHC, else 1 (Hixson & Crowell 1931; DDSolver)."""
    return 1.0 - np.power(np.clip(1.0 - kHC * t, 0.0, None), 3)


def hopfenberg(t: Array, kHB: float, n: float) -> Array:
    """F = 1 - (1 - kHB t)^n, n = 1 slab, 2 cylinder, 3 sphere (Hopfenberg 1976; DDSolver)."""
    return 1.0 - np.power(np.clip(1.0 - kHB * t, 0.0, None), n)


def baker_lonsdale(t: Array, kBL: float) -> Array:
    """Solve 3/2 [1 - (1 - F)^(2/3)] - F = kBL t for F (Baker & Lonsdale 1974; Costa 2001 eq. 20).

    Exact explicit solution: with y = (1 - F)^(1/3) the implicit equation becomes the cubic
    y^3 - 3/2 y^2 + 1/2 - c = 0 (c = kBL t), whose root in [0, 1] for 0 <= c <= 1/2 is
    y = 1/2 + cos((arccos(4c - 1) - 2 pi) / 3) (trigonometric solution of the depressed cubic
    x^3 - 3/4 x + (1/4 - c) = 0, y = x + 1/2). F = 1 - y^3; F = 1 once c >= 1/2.
    """
    c = np.clip(kBL * t, 0.0, 0.5)
    y = 0.5 + np.cos((np.arccos(np.clip(4.0 * c - 1.0, -1.0, 1.0)) - 2.0 * np.pi) / 3.0)
    return 1.0 - np.clip(y, 0.0, 1.0) ** 3


def makoid_banakar(t: Array, kMB: float, n: float, k: float) -> Array:
    """F = kMB t^n exp(-k t) (Makoid et al. 1993; DDSolver)."""
    tt = np.maximum(t, 0.0)
    return kMB * np.power(tt, n) * np.exp(-k * tt)


def peppas_sahlin(t: Array, k1: float, k2: float, m: float) -> Array:
    """F = k1 t^m + k2 t^(2m): Fickian (k1) plus relaxation (k2) terms (Peppas & Sahlin 1989)."""
    tt = np.maximum(t, 0.0)
    tm = np.power(tt, m)
    return k1 * tm + k2 * tm * tm


def weibull(t: Array, a: float, b: float) -> Array:
    """F = 1 - exp(-t^b / a) (Langenbucher 1972; DDSolver 'Weibull 1'; Costa 2001 eq. 16)."""
    return -np.expm1(-np.power(np.maximum(t, 0.0), b) / a)


def gompertz(t: Array, alpha: float, beta: float) -> Array:
    """F = exp(-alpha exp(-beta ln t)) = exp(-alpha t^-beta) (Costa 2001 eq. 23, sign of beta
    chosen so that F increases; 0 at t = 0)."""
    tt = np.maximum(t, 0.0)
    with np.errstate(divide="ignore"):
        out = np.exp(-alpha * np.power(tt, -beta))
    return np.where(tt > 0, out, 0.0)


def logistic(t: Array, alpha: float, beta: float) -> Array:
    """F = e^(alpha + beta ln t) / (1 + e^(alpha + beta ln t)) (Costa 2001 eq. 22)."""
    tt = np.maximum(t, 0.0)
    with np.errstate(divide="ignore"):
        z = alpha + beta * np.log(tt)
    out = 1.0 / (1.0 + np.exp(-z))
    return np.where(tt > 0, out, 0.0)


# ----------------------------------------------------------------------------- Jacobians
# dF/dp of each closed form, parameters on the last axis: shape t.shape + (n_params,), with
# parameters given as scalars or as arrays broadcasting against t (one row per curve in the
# batched fitter). ln t and t^-beta are taken as 0 at t = 0, where their F terms vanish.
# Checked against central differences in tests/release/test_fast_fit.py.

def _stack(*cols: Array | float) -> Array:
    return np.stack(np.broadcast_arrays(*cols), axis=-1).astype(float)


def _logt(t: Array) -> Array:
    return np.where(t > 0, np.log(np.where(t > 0, t, 1.0)), 0.0)


def _jac_zero(t: Array, k0: float) -> Array:
    return _stack(t, k0 * 0.0)[..., :1]


def _jac_first(t: Array, k1: float) -> Array:
    return _stack(t * np.exp(-k1 * t))


def _jac_higuchi(t: Array, kH: float) -> Array:
    return _stack(np.sqrt(np.maximum(t, 0.0)), kH * 0.0)[..., :1]


def _jac_kp(t: Array, kKP: float, n: float) -> Array:
    tt = np.maximum(t, 0.0)
    tn = np.power(tt, n)
    return _stack(tn, kKP * tn * _logt(tt))


def _jac_hc(t: Array, kHC: float) -> Array:
    u = np.clip(1.0 - kHC * t, 0.0, None)
    return _stack(3.0 * u * u * t)


def _jac_hb(t: Array, kHB: float, n: float) -> Array:
    u = np.clip(1.0 - kHB * t, 0.0, None)
    pos = u > 0
    uu = np.where(pos, u, 1.0)
    dk = np.where(pos, n * np.power(uu, n - 1.0) * t, 0.0)
    dn = np.where(pos, -np.power(uu, n) * np.log(uu), 0.0)
    return _stack(dk, dn)


def _jac_bl(t: Array, kBL: float) -> Array:
    """Implicit derivative: dG/dF = (1 - y)/y with y = (1 - F)^(1/3), G(F) = kBL t."""
    c = kBL * t
    y = 0.5 + np.cos((np.arccos(np.clip(4.0 * np.clip(c, 0.0, 0.5) - 1.0, -1.0, 1.0))
                      - 2.0 * np.pi) / 3.0)
    ok = (c > 0) & (c < 0.5) & (y < 1)
    return _stack(np.where(ok, t * y / np.where(ok, 1.0 - y, 1.0), 0.0))


def _jac_mb(t: Array, kMB: float, n: float, k: float) -> Array:
    tt = np.maximum(t, 0.0)
    base = np.power(tt, n) * np.exp(-k * tt)
    f = kMB * base
    return _stack(base, f * _logt(tt), -tt * f)


def _jac_ps(t: Array, k1: float, k2: float, m: float) -> Array:
    tt = np.maximum(t, 0.0)
    tm = np.power(tt, m)
    t2m = tm * tm
    return _stack(tm, t2m, (k1 * tm + 2.0 * k2 * t2m) * _logt(tt))


def _jac_weibull(t: Array, a: float, b: float) -> Array:
    tt = np.maximum(t, 0.0)
    tb = np.power(tt, b)
    e = np.exp(-tb / a)
    return _stack(-e * tb / (a * a), e * tb * _logt(tt) / a)


def _jac_gompertz(t: Array, alpha: float, beta: float) -> Array:
    tt = np.maximum(t, 0.0)
    pos = tt > 0
    tb = np.where(pos, np.power(np.where(pos, tt, 1.0), -beta), 0.0)
    f = np.where(pos, np.exp(-alpha * tb), 0.0)
    return _stack(-f * tb, f * alpha * tb * _logt(tt))


def _jac_logistic(t: Array, alpha: float, beta: float) -> Array:
    tt = np.maximum(t, 0.0)
    lt = _logt(tt)
    f = np.where(tt > 0, 1.0 / (1.0 + np.exp(-(alpha + beta * lt))), 0.0)
    g = f * (1.0 - f)
    return _stack(g, g * lt)


# ----------------------------------------------------------------------------- SBML infix

def _ix_zero(t: str, p: Mapping[str, float]) -> str:
    return f"{_f(p['k0'])} * ({t})"


def _ix_first(t: str, p: Mapping[str, float]) -> str:
    return f"(1 - exp(-{_f(p['k1'])} * ({t})))"


def _ix_higuchi(t: str, p: Mapping[str, float]) -> str:
    return f"{_f(p['kH'])} * sqrt({t})"


def _ix_kp(t: str, p: Mapping[str, float]) -> str:
    return f"{_f(p['kKP'])} * pow({t}, {_f(p['n'])})"


def _ix_hc(t: str, p: Mapping[str, float]) -> str:
    k = _f(p["kHC"])
    return f"piecewise(1 - pow(1 - {k} * ({t}), 3), lt({k} * ({t}), 1), 1)"


def _ix_hb(t: str, p: Mapping[str, float]) -> str:
    k = _f(p["kHB"])
    return f"piecewise(1 - pow(1 - {k} * ({t}), {_f(p['n'])}), lt({k} * ({t}), 1), 1)"


def _ix_bl(t: str, p: Mapping[str, float]) -> str:
    k = _f(p["kBL"])
    y = f"(0.5 + cos((arccos(4 * {k} * ({t}) - 1) - 2 * pi) / 3))"
    return f"piecewise(1 - pow({y}, 3), lt({k} * ({t}), 0.5), 1)"


def _ix_mb(t: str, p: Mapping[str, float]) -> str:
    return f"{_f(p['kMB'])} * pow({t}, {_f(p['n'])}) * exp(-{_f(p['k'])} * ({t}))"


def _ix_ps(t: str, p: Mapping[str, float]) -> str:
    m = _f(p["m"])
    return f"({_f(p['k1'])} * pow({t}, {m}) + {_f(p['k2'])} * pow({t}, 2 * {m}))"


def _ix_weibull(t: str, p: Mapping[str, float]) -> str:
    return f"(1 - exp(-pow({t}, {_f(p['b'])}) / {_f(p['a'])}))"


def _ix_gompertz(t: str, p: Mapping[str, float]) -> str:
    return f"piecewise(exp(-{_f(p['alpha'])} * pow({t}, -{_f(p['beta'])})), gt({t}, 0), 0)"


def _ix_logistic(t: str, p: Mapping[str, float]) -> str:
    return (f"piecewise(1 / (1 + exp(-({_f(p['alpha'])} + {_f(p['beta'])} * ln({t})))), "
            f"gt({t}, 0), 0)")


# ----------------------------------------------------------------------------- variants

def _with_lag(base: ReleaseModel) -> ReleaseModel:
    nb = base.n_params

    def func(t: Array, *p: float) -> Array:
        tl = p[nb]
        shifted = np.maximum(t - tl, 0.0)
        return np.where(t > tl, base.func(shifted, *p[:nb]), 0.0)

    def infix(t: str, p: Mapping[str, float]) -> str:
        tl = _f(p["tlag"])
        inner = base.infix(f"({t} - {tl})", p)
        return f"piecewise({inner}, gt({t}, {tl}), 0)"

    return ReleaseModel(
        name=base.name + "_tlag", label=base.label + " with lag time",
        equation=base.equation + ", evaluated at t - tlag for t > tlag; F = 0 before tlag",
        params=(*base.params, _lag_spec()), func=func, infix=infix, reference=base.reference,
        valid=base.valid, family=base.family, multimodal=True, power_law=base.power_law,
        notes="lag-time variant (DDSolver)")


def _with_f0(base: ReleaseModel, plateau: bool) -> ReleaseModel:
    nb = base.n_params

    def func(t: Array, *p: float) -> Array:
        f0 = p[nb]
        f = base.func(t, *p[:nb])
        return f0 + (1.0 - f0) * f if plateau else f0 + f

    def infix(t: str, p: Mapping[str, float]) -> str:
        f0 = _f(p["F0"])
        inner = base.infix(t, p)
        return f"({f0} + (1 - {f0}) * {inner})" if plateau else f"({f0} + {inner})"

    eq = ("F = F0 + (1 - F0) f(t), f: " if plateau else "F = F0 + f(t), f: ") + base.equation
    jac = None
    if base.jac is not None:
        bj = base.jac

        def jac(t: Array, *p: float) -> Array:
            f0 = np.asarray(p[nb])
            jb = bj(t, *p[:nb])
            if plateau:
                last = 1.0 - base.func(t, *p[:nb])
                scale = (1.0 - f0)[..., None] if f0.ndim else 1.0 - f0
                return np.concatenate([scale * jb, _stack(last, jb[..., 0])[..., :1]],
                                      axis=-1)
            return np.concatenate([jb, np.ones((*jb.shape[:-1], 1))], axis=-1)

    return ReleaseModel(
        name=base.name + "_f0", label=base.label + " with burst F0", equation=eq,
        params=(*base.params, _f0_spec()), func=func, infix=infix, reference=base.reference,
        valid=base.valid, family=base.family, multimodal=base.multimodal,
        power_law=base.power_law, notes="burst-fraction variant (DDSolver)", jac=jac)


def _with_fmax(base: ReleaseModel) -> ReleaseModel:
    nb = base.n_params

    def func(t: Array, *p: float) -> Array:
        return p[nb] * base.func(t, *p[:nb])

    def infix(t: str, p: Mapping[str, float]) -> str:
        return f"{_f(p['Fmax'])} * {base.infix(t, p)}"

    jac = None
    if base.jac is not None:
        bj = base.jac

        def jac(t: Array, *p: float) -> Array:
            jb = bj(t, *p[:nb])
            fm = np.asarray(p[nb])
            return np.concatenate([(fm[..., None] if fm.ndim else fm) * jb,
                                   _stack(base.func(t, *p[:nb]), jb[..., 0])[..., :1]],
                                  axis=-1)

    return ReleaseModel(
        name=base.name + "_fmax", label=base.label + " with plateau Fmax",
        equation="F = Fmax f(t), f: " + base.equation,
        params=(*base.params, _fmax_spec()), func=func, infix=infix, reference=base.reference,
        valid=base.valid, family=base.family, multimodal=base.multimodal,
        notes="plateau variant (DDSolver)", jac=jac)


# ----------------------------------------------------------------------------- the library

_BASE: list[ReleaseModel] = [
    ReleaseModel(
        "zero_order", "Zero-order", "F = k0 t",
        (ParamSpec("k0", "1/day", 0.0, 1e4, "zero-order release rate",
                   lambda tc, fend: 0.5 / max(tc, 1e-9)),),
        zero_order, _ix_zero, f"{_COSTA} eq. 3; {_ZHANG}", "F <= 1 (t <= 1/k0)", "zero_order"),
    ReleaseModel(
        "first_order", "First-order", "F = 1 - exp(-k1 t)",
        (ParamSpec("k1", "1/day", 0.0, 1e4, "first-order release rate constant", _rate),),
        first_order, _ix_first, f"{_COSTA} eq. 7; {_ZHANG}", "all t >= 0", "first_order"),
    ReleaseModel(
        "higuchi", "Higuchi", "F = kH t^0.5",
        (ParamSpec("kH", "day^-0.5", 0.0, 1e4, "Higuchi release constant", _k_pow(0.5)),),
        higuchi, _ix_higuchi,
        f"Higuchi 1963 doi:10.1002/jps.2600521210; Siepmann & Peppas 2011 "
        f"doi:10.1016/j.ijpharm.2011.03.051; {_ZHANG}",
        "F <= 0.6 strictly (planar matrix, perfect sink, initial load >> solubility)", "higuchi"),
    ReleaseModel(
        "korsmeyer_peppas", "Korsmeyer-Peppas", "F = kKP t^n",
        (ParamSpec("kKP", "day^-n", 0.0, 1e4, "release constant", _k_pow(0.5)),
         ParamSpec("n", "1", 0.05, 2.0, "release exponent (mechanism)", _const(0.5))),
        korsmeyer_peppas, _ix_kp,
        "Korsmeyer 1983 doi:10.1016/0378-5173(83)90064-9; Ritger & Peppas 1987 "
        "doi:10.1016/0168-3659(87)90034-4; Siepmann & Peppas 2012 doi:10.1016/j.jconrel.2012.06.003",
        "fitted on F <= 0.6 only", "korsmeyer_peppas", power_law=True),
    ReleaseModel(
        "hixson_crowell", "Hixson-Crowell", "F = 1 - (1 - kHC t)^3",
        (ParamSpec("kHC", "1/day", 0.0, 1e4, "cube-root (erosion) rate constant",
                   lambda tc, fend: 0.2063 / max(tc, 1e-9)),),
        hixson_crowell, _ix_hc, f"Hixson & Crowell 1931 doi:10.1021/ie50260a018; {_ZHANG}",
        "t <= 1/kHC (F = 1 afterwards); eroding sphere of constant shape", "hixson_crowell"),
    ReleaseModel(
        "hopfenberg", "Hopfenberg", "F = 1 - (1 - kHB t)^n",
        (ParamSpec("kHB", "1/day", 0.0, 1e4, "surface-erosion rate k0/(C0 a0)",
                   lambda tc, fend: 0.3 / max(tc, 1e-9)),
         ParamSpec("n", "1", 0.5, 4.0, "geometry (1 slab, 2 cylinder, 3 sphere)", _const(2.0))),
        hopfenberg, _ix_hb, f"Hopfenberg 1976 doi:10.1021/bk-1976-0033.ch003; {_ZHANG}",
        "t <= 1/kHB; surface-eroding device", "hopfenberg", multimodal=True),
    ReleaseModel(
        "baker_lonsdale", "Baker-Lonsdale", "3/2 [1 - (1 - F)^(2/3)] - F = kBL t",
        (ParamSpec("kBL", "1/day", 0.0, 1e4, "Baker-Lonsdale constant",
                   lambda tc, fend: 0.0966 / max(tc, 1e-9)),),
        baker_lonsdale, _ix_bl,
        f"Baker & Lonsdale 1974 doi:10.1007/978-1-4684-7238-6_2; {_COSTA} eq. 20; {_ZHANG}",
        "spherical matrix; kBL t <= 1/2 (F = 1 afterwards). Solved exactly (cubic root)",
        "baker_lonsdale"),
    ReleaseModel(
        "makoid_banakar", "Makoid-Banakar", "F = kMB t^n exp(-k t)",
        (ParamSpec("kMB", "day^-n", 0.0, 1e4, "scale constant", _k_pow(0.5)),
         ParamSpec("n", "1", 0.01, 5.0, "power exponent", _const(0.5)),
         ParamSpec("k", "1/day", 0.0, 1e3, "exponential constant",
                   lambda tc, fend: 0.01 / max(tc, 1e-9))),
        makoid_banakar, _ix_mb, f"Makoid 1993 STP Pharma Sci 3:49 (as in {_ZHANG})",
        "rises to a maximum at t = n/k, decreasing after (fit range only)", "makoid_banakar",
        multimodal=True),
    ReleaseModel(
        "peppas_sahlin", "Peppas-Sahlin", "F = k1 t^m + k2 t^(2m)",
        (ParamSpec("k1", "day^-m", -1e3, 1e4, "Fickian (diffusion) constant", _k_pow(0.5)),
         ParamSpec("k2", "day^-2m", -1e3, 1e4, "case-II (relaxation) constant",
                   lambda tc, fend: 0.0),
         ParamSpec("m", "1", 0.05, 1.5, "Fickian exponent of the geometry", _const(0.45))),
        peppas_sahlin, _ix_ps, f"Peppas & Sahlin 1989 doi:10.1016/0378-5173(89)90306-2; {_ZHANG}",
        "F <= 0.6 in the original method; m = 0.5 slab, 0.45 cylinder, 0.43 sphere",
        "peppas_sahlin", multimodal=True),
    ReleaseModel(
        "weibull", "Weibull", "F = 1 - exp(-t^b / a)",
        (ParamSpec("a", "day^b", 1e-8, 1e8, "scale parameter (time dependence)",
                   lambda tc, fend: max(tc, 1e-9) / np.log(2.0)),
         ParamSpec("b", "1", 0.05, 10.0, "shape parameter (<1 parabolic, 1 exponential, "
                   ">1 sigmoid)", _const(1.0))),
        weibull, _ix_weibull,
        f"Langenbucher 1972 doi:10.1111/j.2042-7158.1972.tb08930.x; {_COSTA} eq. 16; {_ZHANG}",
        "all t >= 0", "weibull", multimodal=True),
    ReleaseModel(
        "gompertz", "Gompertz", "F = exp(-alpha t^(-beta))  [= exp(-alpha e^(-beta ln t))]",
        (ParamSpec("alpha", "day^beta", 1e-8, 1e8, "scale (undissolved log-fraction at t = 1 day)",
                   lambda tc, fend: np.log(2.0) * max(tc, 1e-9)),
         ParamSpec("beta", "1", 0.01, 10.0, "shape (dissolution rate)", _const(1.0))),
        gompertz, _ix_gompertz, f"{_COSTA} eq. 23 (sign of beta: F increasing); {_ZHANG}",
        "t > 0; F(0) = 0", "gompertz", multimodal=True,
        notes="Costa 2001 writes exp(-alpha e^(beta log t)); an increasing profile needs "
              "beta < 0 there, here beta > 0 with the sign written out"),
    ReleaseModel(
        "logistic", "Logistic", "F = e^(alpha + beta ln t) / (1 + e^(alpha + beta ln t))",
        (ParamSpec("alpha", "1", -100.0, 100.0, "location (ln t50 = -alpha/beta)",
                   lambda tc, fend: -np.log(max(tc, 1e-9))),
         ParamSpec("beta", "1", 0.01, 20.0, "shape (slope in ln t)", _const(1.0))),
        logistic, _ix_logistic, f"{_COSTA} eq. 22; {_ZHANG}", "t > 0; F(0) = 0", "logistic",
        multimodal=True),
]


_JACOBIANS: dict[str, JacFunc] = {
    "zero_order": _jac_zero, "first_order": _jac_first, "higuchi": _jac_higuchi,
    "korsmeyer_peppas": _jac_kp, "hixson_crowell": _jac_hc, "hopfenberg": _jac_hb,
    "baker_lonsdale": _jac_bl, "makoid_banakar": _jac_mb, "peppas_sahlin": _jac_ps,
    "weibull": _jac_weibull, "gompertz": _jac_gompertz, "logistic": _jac_logistic}
_BASE = [replace(m, jac=_JACOBIANS[m.name]) for m in _BASE]


def _build() -> dict[str, ReleaseModel]:
    base = {m.name: m for m in _BASE}
    out: dict[str, ReleaseModel] = {}
    for m in _BASE:
        out[m.name] = m
    # Variants as used in DDSolver / the literature.
    for name in ("zero_order", "higuchi", "korsmeyer_peppas"):
        out[name + "_f0"] = _with_f0(base[name], plateau=False)
    for name in ("zero_order", "first_order", "higuchi", "korsmeyer_peppas", "hixson_crowell",
                 "hopfenberg", "baker_lonsdale", "makoid_banakar", "weibull"):
        out[name + "_tlag"] = _with_lag(base[name])
    for name in ("first_order", "weibull"):
        out[name + "_f0"] = _with_f0(base[name], plateau=True)
    for name in ("first_order", "weibull", "gompertz", "logistic"):
        out[name + "_fmax"] = _with_fmax(base[name])
    # Peppas-Sahlin with m fixed at the slab value 0.5 (DDSolver 'Peppas-Sahlin 2').
    ps = base["peppas_sahlin"]
    out["peppas_sahlin_m05"] = ReleaseModel(
        "peppas_sahlin_m05", "Peppas-Sahlin (m = 0.5)", "F = k1 t^0.5 + k2 t",
        ps.params[:2], lambda t, k1, k2: peppas_sahlin(t, k1, k2, 0.5),
        lambda t, p: _ix_ps(t, {**p, "m": 0.5}), ps.reference, ps.valid, "peppas_sahlin",
        jac=lambda t, k1, k2: _jac_ps(t, k1, k2, 0.5)[..., :2])
    return out


MODELS: dict[str, ReleaseModel] = _build()
BASE_MODELS: tuple[str, ...] = tuple(m.name for m in _BASE)


def get_model(name: str) -> ReleaseModel:
    """Look a model up by name (case and '-' insensitive) or raise InputError."""
    key = name.strip().lower().replace("-", "_").replace(" ", "_")
    if key not in MODELS:
        raise InputError("unknown release model", field="model", value=name,
                         accepted=", ".join(MODELS))
    return MODELS[key]


def parse_model_list(text: str | Sequence[str] | None) -> list[ReleaseModel]:
    """``all`` / ``base`` / ``None`` or a comma-separated list of model names."""
    if text is None:
        return list(MODELS.values())
    items = [text] if isinstance(text, str) else list(text)
    names = [n.strip() for item in items for n in item.split(",") if n.strip()]
    if not names or names == ["all"]:
        return list(MODELS.values())
    if names == ["base"]:
        return [MODELS[n] for n in BASE_MODELS]
    return [get_model(n) for n in names]
