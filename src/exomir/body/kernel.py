"""Compiled per-subject solver: the model's flux list generated as straight-line numba code.

Why: the numpy batch (:mod:`exomir.body.solver`) does ~40 passes over (states × subjects)
arrays per step and is memory-bound; a single subject pays Python overhead on every step. Here
the same right-hand side, analytic Jacobian, sparse LU (same symbolic factorisation, same
elimination order) and the same Rosenbrock 4(3) method (Shampine 1982, γ = 1/2) are written
out as straight-line Python for *one* subject from the model's flux list, compiled once by
numba (cached on disk by a hash of the generated source), and run over chunks of subjects
in threads (the compiled loop releases the GIL). Each subject controls its own step size, so a subject's trajectory does not
depend on who else is in the batch.

The numeric content is identical to :class:`exomir.body.model.Evaluator` (the numpy engine):
every flux kind has the same rate law and derivative; the vehicle's release F(τ) is compiled
from the profile's own SBML infix formula (the same text the SBML export uses) and checked
against ``fraction_released`` before use. Anything that cannot be compiled raises
:class:`KernelUnavailable` and :func:`exomir.body.simulate.simulate` falls back to the numpy
engine, saying so.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import re
import sys
import tempfile
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

from exomir.body.model import RELEASE_FD_STEP_DAYS, BodyModel, Evaluator
from exomir.body.solver import (
    A2X,
    A3X,
    A21,
    A31,
    A32,
    B1,
    B2,
    B3,
    B4,
    C1X,
    C2X,
    C3X,
    C4X,
    C21,
    C31,
    C32,
    C41,
    C42,
    C43,
    E1,
    E2,
    E3,
    E4,
    GAM,
    SolverStats,
    SparseBatchLU,
    StepSizeUnderflow,
)

KERNEL_VERSION = 5  # bump when the template changes (part of the cache key)


class KernelUnavailable(RuntimeError):
    """The compiled engine cannot run this model (reason in the message)."""


# ----------------------------------------------------------------------------- infix -> python

def translate_infix(infix: str, var: str = "tau_x", names: dict[str, str] | None = None) -> str:
    """An SBML L3 infix formula of one variable ``var`` as a Python/numba expression of ``x``;
    ``names`` maps further SBML names (model parameters) to Python expressions (``p[12]``).

    Supports arithmetic, powers, exp/ln/log/sqrt/root, abs, floor/ceiling, trigonometric and
    hyperbolic functions, piecewise, relational and logical operators, pi, e, true/false.
    Raises :class:`KernelUnavailable` for anything else (e.g. other names, user functions).
    """
    import libsbml

    ast = libsbml.parseL3Formula(infix)
    if ast is None:
        raise KernelUnavailable(f"cannot parse formula {infix!r}: "
                                f"{libsbml.getLastParseL3Error()}")
    return _py(ast, var, libsbml, names or {})


_FUNCS = {"AST_FUNCTION_EXP": "math.exp", "AST_FUNCTION_LN": "math.log",
          "AST_FUNCTION_ABS": "abs", "AST_FUNCTION_FLOOR": "math.floor",
          "AST_FUNCTION_CEILING": "math.ceil", "AST_FUNCTION_SIN": "math.sin",
          "AST_FUNCTION_COS": "math.cos", "AST_FUNCTION_TAN": "math.tan",
          "AST_FUNCTION_ARCSIN": "math.asin", "AST_FUNCTION_ARCCOS": "math.acos",
          "AST_FUNCTION_ARCTAN": "math.atan", "AST_FUNCTION_SINH": "math.sinh",
          "AST_FUNCTION_COSH": "math.cosh", "AST_FUNCTION_TANH": "math.tanh"}
_REL = {"AST_RELATIONAL_LT": "<", "AST_RELATIONAL_GT": ">", "AST_RELATIONAL_LEQ": "<=",
        "AST_RELATIONAL_GEQ": ">=", "AST_RELATIONAL_EQ": "==", "AST_RELATIONAL_NEQ": "!="}


def _py(node: Any, var: str, lib: Any, extra: dict[str, str] | None = None) -> str:
    names = {getattr(lib, k): k for k in dir(lib) if k.startswith("AST_")}
    kind = names.get(node.getType(), str(node.getType()))
    extra = extra or {}
    ch = [_py(node.getChild(i), var, lib, extra) for i in range(node.getNumChildren())]
    if kind == "AST_INTEGER":
        return repr(float(node.getInteger()))
    if kind in ("AST_REAL", "AST_REAL_E", "AST_RATIONAL"):
        return repr(float(node.getValue()))
    if kind == "AST_NAME":
        if node.getName() in extra:
            return extra[node.getName()]
        if node.getName() != var:
            raise KernelUnavailable(f"unknown name {node.getName()!r} in a release formula")
        return "x"
    if kind == "AST_CONSTANT_PI":
        return "math.pi"
    if kind == "AST_CONSTANT_E":
        return "math.e"
    if kind in ("AST_CONSTANT_TRUE", "AST_CONSTANT_FALSE"):
        return "True" if kind.endswith("TRUE") else "False"
    if kind == "AST_PLUS":
        return "(" + " + ".join(ch) + ")" if ch else "0.0"
    if kind == "AST_MINUS":
        return f"(-{ch[0]})" if len(ch) == 1 else f"({ch[0]} - {ch[1]})"
    if kind == "AST_TIMES":
        return "(" + " * ".join(ch) + ")" if ch else "1.0"
    if kind == "AST_DIVIDE":
        return f"({ch[0]} / {ch[1]})"
    if kind in ("AST_POWER", "AST_FUNCTION_POWER"):
        return f"({ch[0]} ** {ch[1]})"
    if kind == "AST_FUNCTION_ROOT":
        return f"math.sqrt({ch[0]})" if len(ch) == 1 else f"({ch[1]} ** (1.0 / {ch[0]}))"
    if kind == "AST_FUNCTION_LOG":
        return f"math.log10({ch[0]})" if len(ch) == 1 else \
            f"(math.log({ch[1]}) / math.log({ch[0]}))"
    if kind in _FUNCS:
        return f"{_FUNCS[kind]}({', '.join(ch)})"
    if kind in _REL:
        return f"({ch[0]} {_REL[kind]} {ch[1]})"
    if kind == "AST_LOGICAL_AND":
        return "(" + " and ".join(ch) + ")"
    if kind == "AST_LOGICAL_OR":
        return "(" + " or ".join(ch) + ")"
    if kind == "AST_LOGICAL_NOT":
        return f"(not {ch[0]})"
    if kind == "AST_FUNCTION_PIECEWISE":
        otherwise = ch[-1] if len(ch) % 2 == 1 else "math.nan"
        expr = otherwise
        for i in range(len(ch) // 2 - 1, -1, -1):
            expr = f"({ch[2 * i]} if {ch[2 * i + 1]} else {expr})"
        return expr
    raise KernelUnavailable(f"formula element {kind} is not supported by the compiled engine")


# ----------------------------------------------------------------------------- code generation

@dataclass
class Layout:
    """How one subject's parameter row ``p`` is packed (columns of P, shape (N, n_cols))."""

    n_lin: int  # columns 0..n_lin-1: linear Jacobian entries (Evaluator.lin_vals order)
    named: list[str]  # flat parameters used by nonlinear fluxes, after the linear entries
    n_coef: int  # effect coefficients of nonlinear fluxes, last

    @property
    def width(self) -> int:
        return self.n_lin + len(self.named) + self.n_coef


def _lines(block: list[str], indent: int = 1) -> str:
    pad = "    " * indent
    return "\n".join(pad + s for s in block) if block else pad + "pass"


def generate(model: BodyModel, ev: Evaluator, lu: SparseBatchLU) -> tuple[str, Layout]:
    """Python source of the compiled kernel for this model structure, and its P layout."""
    ix = model.index
    n = len(model.species)
    named: list[str] = []

    def par(name: str) -> str:
        if name not in named:
            named.append(name)
        return f"p[{ev.lin_rows.size + named.index(name)}]"

    # nonlinear fluxes: value code (rhs), partial derivatives (jac), explicit d/dt (dfdt)
    val: list[str] = []  # rhs and jac: compute v_f and helpers
    part: list[str] = []  # jac only: partials
    dtl: list[str] = []  # dfdt: dv_f
    effects: list[tuple[int, int, str]] = []  # (row i, coef slot, value name)
    partials: list[tuple[int, int, int, str]] = []  # (row i, col j, coef slot, partial expr)
    dt_effects: list[tuple[int, int, str]] = []
    coef_slots: list[tuple[int, int]] = []  # (nonlin index, effect index)
    need_effect = False
    rel_used = False
    egenes = list(model.effect_genes)
    for fi, (f, effs) in enumerate(ev.nonlin):
        v = f"v{fi}"
        slots = []
        for ei in range(len(effs)):
            slots.append(len(coef_slots))
            coef_slots.append((fi, ei))
        ps = [par(x) for x in f.params]
        fparts: list[tuple[int, str]] = []
        if f.kind == "mm":
            j = ix[f.on[0]]
            val += [f"x{fi} = y[{j}]", f"den{fi} = {ps[1]} + max(x{fi}, 0.0)",
                    f"{v} = {ps[0]} * x{fi} / den{fi}"]
            part += [f"d{fi} = {ps[0]} * {ps[1]} / (den{fi} * den{fi})"]
            fparts = [(j, f"d{fi}")]
        elif f.kind == "zero":
            val += [f"{v} = {ps[0]}"]
        elif f.kind == "risc_load":
            j = ix[f.on[0]]
            tot = " + ".join(f"y[{ix[s]}]" for s in f.on[1:])
            val += [f"c{fi} = y[{j}]", f"fr{fi} = 1.0 - {ps[1]} * ({tot})",
                    f"{v} = {ps[0]} * c{fi} * fr{fi}"]
            part += [f"d{fi} = {ps[0]} * fr{fi}", f"dr{fi} = -{ps[0]} * c{fi} * {ps[1]}"]
            fparts = [(j, f"d{fi}")] + [(ix[s], f"dr{fi}") for s in f.on[1:]]
        elif f.kind == "sat_mod":
            j, ja = ix[f.on[0]], ix[f.on[1]]
            val += [f"x{fi} = y[{j}]", f"a{fi} = max(y[{ja}], 0.0)",
                    f"q{fi} = a{fi} + 1.0", f"{v} = {ps[0]} * x{fi} * a{fi} / q{fi}"]
            part += [f"d{fi} = {ps[0]} * a{fi} / q{fi}",
                     f"da{fi} = {ps[0]} * x{fi} / (q{fi} * q{fi})"]
            fparts = [(j, f"d{fi}"), (ja, f"da{fi}")]
        elif f.kind == "synth_rep":
            k, kh = ps[0], ps[1]
            names = []
            for a, (s, rp) in enumerate(zip(f.on, ps[2:], strict=True)):
                val += [f"r{fi}_{a} = max(y[{ix[s]}], 0.0)", f"h{fi}_{a} = r{fi}_{a} + {kh}",
                        f"g{fi}_{a} = 1.0 - {rp} * r{fi}_{a} / h{fi}_{a}"]
                part += [f"dg{fi}_{a} = -{rp} * {kh} / (h{fi}_{a} * h{fi}_{a})"]
                names.append(f"g{fi}_{a}")
            val += [f"{v} = {k} * " + " * ".join(names)]
            for a, s in enumerate(f.on):
                others = [nm for b, nm in enumerate(names) if b != a]
                part += [f"d{fi}_{a} = {k} * dg{fi}_{a}" + "".join(f" * {o}" for o in others)]
                fparts.append((ix[s], f"d{fi}_{a}"))
        elif f.kind == "release":
            rel_used = True
            # aux[0] keeps the release rate at the last evaluated time; _dfdt runs right
            # after the evaluation at the step's start, so it reuses it
            val += [f"{v} = _rel(t, p, DT)", f"aux[0] = {v}"]
            dtl += [f"dd{fi} = max(1e-7, 1e-6 * abs(t))",
                    f"dv{fi} = (_rel(t + dd{fi}, p, DT) - aux[0]) / dd{fi}"]
        elif f.kind in ("wound", "pain_drive"):
            need_effect = True
            if f.kind == "wound":
                j0 = ix[f.on[0]]
                gated = f.on[-1] == "wound_granulation"
                gate = f" * y[{ix[f.on[-1]]}]" if gated else ""
                val += [f"w{fi} = y[{j0}]", f"ex{fi} = {ps[0]} * xE",
                        f"base{fi} = ex{fi}{gate}", f"{v} = base{fi} * ({ps[1]} - w{fi})"]
                fparts = [(j0, f"(-base{fi})"), (ix[f.on[1]], f"{v} * dE_de")]
                fparts += [(ix[f"protein_{g}"], f"{v} * dE_{g}") for g in egenes]
                if gated:
                    fparts.append((ix[f.on[-1]], f"ex{fi} * ({ps[1]} - w{fi})"))
            else:
                ks, t50, hill = par("k_sensitization"), par("injury_t50"), par("injury_hill")
                val += [f"inj{fi} = 1.0 / (1.0 + (t / {t50}) ** {hill})",
                        f"{v} = {ks} * inj{fi} / xE"]
                fparts = [(ix[f.on[0]], f"(-{v} * dE_de)")]
                fparts += [(ix[f"protein_{g}"], f"(-{v} * dE_{g})") for g in egenes]
                dtl += [f"tt{fi} = max(t, 1e-12)", f"u{fi} = (tt{fi} / {t50}) ** {hill}",
                        f"ij{fi} = 1.0 / (1.0 + u{fi})",
                        f"dij{fi} = -ij{fi} * ij{fi} * {hill} * u{fi} / tt{fi}",
                        f"dv{fi} = {ks} * dij{fi} / xE"]
        else:  # pragma: no cover - structure is built by build_model
            raise KernelUnavailable(f"flux kind {f.kind}")
        for ei, (i, _c) in enumerate(effs):
            effects.append((i, slots[ei], v))
            for j, dv in fparts:
                partials.append((i, j, slots[ei], dv))
            if f.kind in ("release", "pain_drive"):
                dt_effects.append((i, slots[ei], f"dv{fi}"))

    eff_code: list[str] = []
    if need_effect:
        e = ix[f"{model.target}_ev_effect"]
        emax, ec50, ev0 = par("emax_eff"), par("ec50_ev"), par("E_vehicle")
        eff_code = [f"e_ = y[{e}]", f"den_e = e_ + {ec50}", f"E = {ev0} + {emax} * e_ / den_e",
                    f"dE_de = {emax} * {ec50} / (den_e * den_e)"]
        for g in egenes:
            w = par(f"wg_{g}")
            eff_code += [f"pg_{g} = max(y[{ix[f'protein_{g}']}], 1e-12)",
                         f"E = E + {w} * math.log(pg_{g})", f"dE_{g} = {w} / pg_{g}"]
        eff_code += ["xE = math.exp(E)"]
    n_lin = ev.lin_rows.size
    coef0 = n_lin + len(named)

    def cf(slot: int) -> str:
        return f"p[{coef0 + slot}]"

    # rhs
    rows: dict[int, list[str]] = {i: [] for i in range(n)}
    for a, (r, c) in enumerate(zip(ev.lin_rows, ev.lin_cols, strict=True)):
        rows[int(r)].append(f"p[{a}] * y[{int(c)}]")
    for i, slot, v in effects:
        rows[i].append(f"{cf(slot)} * {v}")
    dy_code = [f"dy[{i}] = " + (" + ".join(t) if t else "0.0") for i, t in rows.items()]
    rhs = [*eff_code, *val, *dy_code]
    # jacobian in LU value positions
    jpos: dict[int, list[str]] = {q: [] for q in range(lu.nnz)}
    for a, (r, c) in enumerate(zip(ev.lin_rows, ev.lin_cols, strict=True)):
        jpos[lu.orig_pos[(int(r), int(c))]].append(f"p[{a}]")
    for i, j, slot, dv in partials:
        jpos[lu.orig_pos[(i, j)]].append(f"{cf(slot)} * {dv}")
    jac = [*eff_code, *val, *part, *dy_code] + [
        f"J[{q}] = " + (" + ".join(t) if t else "0.0") for q, t in jpos.items()]
    # dfdt
    drows: dict[int, list[str]] = {}
    for i, slot, dv in dt_effects:
        drows.setdefault(i, []).append(f"{cf(slot)} * {dv}")
    # the effect E enters d/dt only through the injury drive (pain)
    pain = any(f.kind == "pain_drive" for f, _ in ev.nonlin)
    dfdt = ([*(eff_code if pain else []), *dtl] if dtl else []) + [
        f"out[{i}] = 0.0" for i in range(n)]
    dfdt += [f"out[{i}] = " + " + ".join(t) for i, t in drows.items()]
    # LU and solve, straight-line
    # pivots are stored as reciprocals: the solves then multiply instead of divide (the
    # back substitution is a dependency chain, and a division's latency is ~5x a multiply's)
    lu_code: list[str] = []
    by_pivot = {pkk: (pik, pkj, pij) for pkk, pik, pkj, pij in lu.steps}
    for kk in range(n):
        pkk = int(lu.diag[kk])
        lu_code.append(f"V[{pkk}] = 1.0 / V[{pkk}]")
        if pkk not in by_pivot:
            continue
        pik, pkj, pij = by_pivot[pkk]
        for a in pik:
            lu_code.append(f"V[{a}] *= V[{pkk}]")
        for ai, a in enumerate(pik):
            for bi, b in enumerate(pkj):
                lu_code.append(f"V[{pij[ai, bi]}] -= V[{a}] * V[{b}]")
    sol = [f"z{a} = b[{int(lu.perm[a])}]" for a in range(n)]
    for i, pp, jj in lu.fwd:
        if pp.size:
            sol.append(f"z{i} -= " + " + ".join(f"V[{q}] * z{j}" for q, j in zip(pp, jj,
                                                                              strict=True)))
    for i, pp, jj, d in reversed(lu.bwd):
        if pp.size:
            sol.append(f"z{i} -= " + " + ".join(f"V[{q}] * z{j}" for q, j in zip(pp, jj,
                                                                              strict=True)))
        sol.append(f"z{i} *= V[{d}]")
    sol += [f"x[{int(lu.perm[a])}] = z{a}" for a in range(n)]

    rel_src = "def _F(x, p):\n    return 0.0\n"
    if rel_used:
        assert model.release is not None
        expr = translate_infix(model.release.sbml_infix("tau_x"), "tau_x")
        rel_src = f"def _F(x, p):\n    return {expr}\n"
    kl = par("k_depot_loss") if rel_used else "0.0"
    dose = par("dose") if rel_used else "0.0"
    header = _HEADER.format(n=n, nnz=lu.nnz, diag=tuple(int(d) for d in lu.diag),
                            version=KERNEL_VERSION, h=repr(RELEASE_FD_STEP_DAYS),
                            consts=_CONSTS)
    blocks = {"RHS": (rhs, ("t", "y", "dy")), "RHSJAC": (jac, ("t", "y", "dy")),
              "DFDT": (dfdt, ("t", "y", "out")), "LU": (lu_code, ()),
              "SOLVE": (sol, ("b", "x"))}
    term = ("lo = max(tau - FD_H, 0.0)\n            hi = tau + FD_H\n"
            f"            r += math.exp(-{kl} * tau) * (_F(hi, p) - _F(lo, p)) / (hi - lo)")
    src = (header + "\n@njit(**_OPTS)\n" + rel_src
           + f"\n\n@njit(**_OPTS)\ndef _rel(t, p, DT):\n    r = 0.0\n"
           f"    for i in range(DT.size):\n        tau = t - DT[i]\n        if tau >= 0.0:\n"
           f"            {term}\n"
           f"    return {dose} * r\n"
           + _expand(_DRIVER, blocks))
    return src, Layout(n_lin=n_lin, named=named, n_coef=len(coef_slots))


def _rename(pat: re.Pattern[str], ren: dict[str, str], line: str) -> str:
    return pat.sub(lambda mm: ren[mm.group(1)], line)


def _expand(template: str, blocks: dict[str, tuple[list[str], tuple[str, ...]]]) -> str:
    """Replace marker lines ``@NAME(arg, ...)`` by the block's lines, its formal names
    renamed to the arguments (textual inlining: numba then sees one straight-line body)."""
    out: list[str] = []
    for line in template.splitlines():
        m = re.match(r"^(\s*)@([A-Z]+)\((.*)\)\s*$", line)
        if not m or m.group(2) not in blocks:
            out.append(line)
            continue
        pad, name, args = m.group(1), m.group(2), [a.strip() for a in m.group(3).split(",")]
        lines, formals = blocks[name]
        ren: dict[str, str] = dict(zip(formals, args, strict=True)) if formals else {}
        pat = re.compile(r"\b(" + "|".join(map(re.escape, ren)) + r")\b") if ren else None
        for ln in lines or ["pass"]:
            out.append(pad + (_rename(pat, ren, ln) if pat else ln))
    return "\n".join(out) + "\n"


_CONSTS = "\n".join(f"{k} = {float(v)!r}" for k, v in dict(
    GAM=GAM, A21=A21, A31=A31, A32=A32, C21=C21, C31=C31, C32=C32, C41=C41, C42=C42, C43=C43,
    B1=B1, B2=B2, B3=B3, B4=B4, E1=E1, E2=E2, E3=E3, E4=E4, C1X=C1X, C2X=C2X, C3X=C3X,
    C4X=C4X, A2X=A2X, A3X=A3X).items())

_HEADER = '''"""Generated by exomir.body.kernel (version {version}); do not edit."""
import math

import numpy as np
from numba import njit

# fastmath without nnan/ninf (the step control tests isfinite); reassociation and FMA only
_OPTS = dict(cache=True, error_model="numpy", nogil=True,
             fastmath={{"nsz", "arcp", "contract", "reassoc"}})
NS = {n}
NNZ = {nnz}
DIAG = {diag}
FD_H = {h}
{consts}
'''

_DRIVER = '''

@njit(**_OPTS)
def _rhsjac(t, y, p, DT, dy, J, aux):
    @RHSJAC(t, y, dy)


@njit(**_OPTS)
def _one(p, y0, jump, atol, DT, JT, BR, TE, rtol, h0, out, st):
    # one subject; every model block (right-hand side, LU, solve) appears once in the text so
    # numba types it once; the four Rosenbrock stages run as a loop
    n = NS
    y = y0.copy()
    f0 = np.empty(n)
    fn = np.empty(n)
    fs = np.empty(n)
    fdt = np.empty(n)
    G = np.empty((4, n))
    b = np.empty(n)
    yt = np.empty(n)
    yn = np.empty(n)
    J = np.empty(NNZ)
    V = np.empty(NNZ)
    aux = np.zeros(1)
    t = TE[0]
    nt = TE.size
    nj = JT.size
    ji = 0
    oi = 0
    h = h0
    steps = 0
    rej = 0
    nrhs = 1
    while ji < nj and JT[ji] <= t + 1e-12:
        for i in range(n):
            y[i] += jump[i]
        ji += 1
    while oi < nt and TE[oi] <= t + 1e-12:
        for i in range(n):
            out[i, oi] = y[i]
        oi += 1
    _rhsjac(t, y, p, DT, f0, J, aux)
    for bi in range(BR.size):
        tb = BR[bi]
        if tb <= t:
            continue
        while t < tb - 1e-12:
            h_try = min(h, tb - t)
            last = h_try >= tb - t - 1e-14
            @DFDT(t, y, fdt)
            errmax = 0.0
            while True:
                c = 1.0 / (GAM * h_try)
                for q in range(NNZ):
                    V[q] = -J[q]
                for i in range(n):
                    V[DIAG[i]] += c
                @LU()
                for stg in range(4):
                    if stg == 0:
                        for i in range(n):
                            b[i] = f0[i] + h_try * C1X * fdt[i]
                    else:
                        if stg < 3:
                            if stg == 1:
                                ts_ = t + A2X * h_try
                                for i in range(n):
                                    yt[i] = y[i] + A21 * G[0, i]
                            else:
                                ts_ = t + A3X * h_try
                                for i in range(n):
                                    yt[i] = y[i] + A31 * G[0, i] + A32 * G[1, i]
                            @RHS(ts_, yt, fs)
                            nrhs += 1
                        if stg == 1:
                            for i in range(n):
                                b[i] = fs[i] + h_try * C2X * fdt[i] + C21 * G[0, i] / h_try
                        elif stg == 2:
                            for i in range(n):
                                b[i] = (fs[i] + h_try * C3X * fdt[i]
                                        + (C31 * G[0, i] + C32 * G[1, i]) / h_try)
                        else:
                            for i in range(n):
                                b[i] = (fs[i] + h_try * C4X * fdt[i]
                                        + (C41 * G[0, i] + C42 * G[1, i] + C43 * G[2, i])
                                        / h_try)
                    gs = G[stg]
                    @SOLVE(b, gs)
                acc = 0.0
                for i in range(n):
                    yn[i] = y[i] + B1 * G[0, i] + B2 * G[1, i] + B3 * G[2, i] + B4 * G[3, i]
                    er = E1 * G[0, i] + E2 * G[1, i] + E3 * G[2, i] + E4 * G[3, i]
                    sc = atol[i] + rtol * max(abs(y[i]), abs(yn[i]))
                    acc += (er / sc) ** 2
                errmax = math.sqrt(acc / n)
                if math.isfinite(errmax) and errmax <= 1.0:
                    break
                rej += 1
                if not math.isfinite(errmax):
                    shrink = 0.2
                else:
                    shrink = max(0.2, 0.9 * errmax ** (-1.0 / 3.0))
                h_try *= shrink
                last = False
                if h_try < 1e-14:
                    st[0] = steps
                    st[1] = rej
                    st[2] = nrhs
                    return 1
            steps += 1
            t_new = tb if last else t + h_try
            _rhsjac(t_new, yn, p, DT, fn, J, aux)
            nrhs += 1
            while oi < nt and TE[oi] <= t_new + 1e-12:
                te = TE[oi]
                if abs(te - t_new) <= 1e-12:
                    for i in range(n):
                        out[i, oi] = yn[i]
                else:
                    hh = t_new - t
                    s = (te - t) / hh
                    h00 = 2 * s ** 3 - 3 * s ** 2 + 1
                    h10 = s ** 3 - 2 * s ** 2 + s
                    h01 = -2 * s ** 3 + 3 * s ** 2
                    h11 = s ** 3 - s ** 2
                    for i in range(n):
                        out[i, oi] = (h00 * y[i] + h10 * hh * f0[i] + h01 * yn[i]
                                      + h11 * hh * fn[i])
                oi += 1
            t = t_new
            for i in range(n):
                y[i] = yn[i]
                f0[i] = fn[i]
            if errmax == 0.0:
                grow = 5.0
            else:
                grow = min(5.0, 0.9 / math.sqrt(math.sqrt(errmax)))  # errmax^(-1/4)
            if (not last) or h_try * grow > h:
                h = h_try * grow
            if abs(t - tb) < 1e-12:
                t = tb
                hit = 0
                while ji < nj and JT[ji] <= t + 1e-12:
                    for i in range(n):
                        y[i] += jump[i]
                    ji += 1
                    hit += 1
                if hit > 0:
                    h = h0
                    _rhsjac(t, y, p, DT, f0, J, aux)
                    nrhs += 1
                    if oi > 0 and abs(TE[oi - 1] - t) <= 1e-12:
                        for i in range(n):
                            out[i, oi - 1] = y[i]
    while oi < nt:
        for i in range(n):
            out[i, oi] = y[i]
        oi += 1
    st[0] = steps
    st[1] = rej
    st[2] = nrhs
    return 0


@njit(**_OPTS)
def integrate(P, Y0, JUMP, ATOL, DT, JT, BR, TE, rtol, h0, OUT, ST, FAIL):
    for k in range(P.shape[0]):
        FAIL[k] = _one(P[k], Y0[k], JUMP[k], ATOL[k], DT, JT, BR, TE, rtol, h0, OUT[k], ST[k])
'''


# ----------------------------------------------------------------------------- loading

_LOCK = threading.Lock()
_MODULES: dict[str, ModuleType] = {}


def cache_dir() -> Path:
    """Where generated kernels (and numba's compiled cache) live: ``$EXOMIR_CACHE_DIR`` or the
    user cache directory; a temporary directory if neither is writable."""
    env = os.environ.get("EXOMIR_CACHE_DIR")
    if env:
        base = Path(env)
    else:
        from platformdirs import user_cache_dir

        base = Path(user_cache_dir("exomir"))
    d = base / "kernels"
    try:
        d.mkdir(parents=True, exist_ok=True)
        probe = d / f".probe{os.getpid()}"
        probe.write_text("")
        probe.unlink()
    except OSError:
        d = _private_tmp_dir(Path(tempfile.gettempdir()) / f"exomir-kernels-{os.getuid()}")
    return d


# Code that numba JIT-compiles in a process and the same code loaded from numba's on-disk
# cache can differ in the last bits (measured: up to 2e-13 in the outputs), so every process
# runs the cached code: a cold cache is filled by a child process first. A subject's result
# is then the same in every process (local threads, Dask workers), not only within one.
_PRIME = """
import importlib.util, sys
import numpy as np
spec = importlib.util.spec_from_file_location({name!r}, {path!r})
mod = importlib.util.module_from_spec(spec)
sys.modules[{name!r}] = mod
spec.loader.exec_module(mod)
a = lambda *s: np.empty(s)
i = lambda *s: np.empty(s, dtype=np.int64)
atol = a(0, 1)
atol.setflags(write=False)  # run() passes a read-only broadcast view
mod.integrate(a(0, 1), a(0, 1), a(0, 1), atol, a(1), a(1), a(1), a(1), 1e-6, 1e-5,
              a(0, 1, 1), i(0, 3), i(0))
mod._F(0.0, a(1))
"""


def _cached(path: Path) -> bool:
    """Whether numba's cache holds the kernel's entry points (index files next to it)."""
    pyc = path.parent / "__pycache__"
    return all(any(pyc.glob(f"{path.stem}.{fn}-*.nbi")) for fn in ("integrate", "_F"))


def _prime(path: Path, name: str) -> None:
    """Compile the kernel into numba's on-disk cache in a child process (signatures of
    :func:`run` and :func:`_check_release`; zero subjects, so nothing is integrated)."""
    import subprocess

    code = _PRIME.format(name=name, path=str(path))
    try:
        subprocess.run([sys.executable, "-c", code], check=True, capture_output=True,
                       timeout=900)
    except (OSError, subprocess.SubprocessError):  # compile here instead (still correct)
        return


def _private_tmp_dir(d: Path) -> Path:
    """``d`` if it is (or can be made) a real directory owned by this user and closed to
    others (mode 0700); else a fresh private ``mkdtemp`` folder. Kernels are imported as
    Python code, so a shared, predictable folder another user could create first is refused."""
    try:
        d.mkdir(mode=0o700, exist_ok=True)
        st = os.lstat(d)
        import stat

        if (stat.S_ISDIR(st.st_mode) and not stat.S_ISLNK(st.st_mode)
                and st.st_uid == os.getuid() and not st.st_mode & (stat.S_IWGRP | stat.S_IWOTH)):
            if st.st_mode & 0o077:
                os.chmod(d, 0o700)
            return d
    except OSError:
        pass
    return Path(tempfile.mkdtemp(prefix="exomir-kernels-"))


def _load(src: str) -> ModuleType:
    key = hashlib.sha256(src.encode()).hexdigest()[:20]
    with _LOCK:
        if key in _MODULES:
            return _MODULES[key]
        try:
            import numba  # noqa: F401
        except ImportError as exc:  # pragma: no cover - numba is a dependency
            raise KernelUnavailable("numba is not installed") from exc
        path = cache_dir() / f"exomir_body_{key}.py"
        if not path.exists() or path.read_text() != src:
            tmp = path.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_text(src)
            os.replace(tmp, path)
        name = f"exomir_body_kernel_{key}"
        if not _cached(path):
            _prime(path, name)
        spec = importlib.util.spec_from_file_location(name, path)
        assert spec is not None and spec.loader is not None
        mod = importlib.util.module_from_spec(spec)
        sys.modules[name] = mod
        spec.loader.exec_module(mod)
        _MODULES[key] = mod
        return mod


@dataclass
class Kernel:
    """A compiled model structure: the module and how to pack parameters for it."""

    module: ModuleType
    layout: Layout

    def pack(self, ev: Evaluator) -> np.ndarray:
        """Per-subject parameter rows P (N, width)."""
        N = ev.N
        P = np.empty((N, self.layout.width))
        P[:, :self.layout.n_lin] = ev.lin_vals.T
        for k, name in enumerate(self.layout.named):
            P[:, self.layout.n_lin + k] = np.broadcast_to(ev.flat[name], (N,))
        c0 = self.layout.n_lin + len(self.layout.named)
        slot = 0
        for _f, effs in ev.nonlin:
            for _i, c in effs:
                P[:, c0 + slot] = np.broadcast_to(np.asarray(c, dtype=float), (N,))
                slot += 1
        return P


def compile_model(model: BodyModel, ev: Evaluator, order: list[int]) -> Kernel:
    """Generate, load (numba-compile or read from cache) and check the kernel of a model."""
    lu = SparseBatchLU(len(model.species), ev.pattern, order)
    src, layout = generate(model, ev, lu)
    mod = _load(src)
    if any(f.kind == "release" for f in model.fluxes):
        _check_release(mod, model, layout)
    return Kernel(module=mod, layout=layout)


def _check_release(mod: ModuleType, model: BodyModel, layout: Layout) -> None:
    """The compiled F(τ) must equal the profile's own ``fraction_released``."""
    rel = model.release
    assert rel is not None
    tau = np.concatenate([[0.0, 1e-4, 2e-4], np.linspace(0.0, model.days + 1.0, 211)[1:]])
    ref = np.asarray(rel.fraction_released(tau), dtype=float)
    p = np.zeros(layout.width)
    got = np.array([mod._F(float(x), p) for x in tau])
    if not np.allclose(got, ref, rtol=1e-9, atol=1e-12):
        worst = float(np.max(np.abs(got - ref)))
        raise KernelUnavailable(f"compiled release formula differs from fraction_released "
                                f"(max abs diff {worst:.2e})")


def run(
    kernel: Kernel,
    ev: Evaluator,
    y0: np.ndarray,
    jump: np.ndarray,
    atol: np.ndarray,
    t_eval: np.ndarray,
    dose_times: list[float],
    *,
    rtol: float,
    h0: float = 1e-5,
    threads: int | None = None,
    progress: Callable[[float], None] | None = None,
) -> tuple[np.ndarray, SolverStats]:
    """Integrate every subject; returns Y (N, n, len(t_eval)) and step statistics.

    ``y0``, ``jump`` and ``atol`` are (N, n); ``progress`` receives the fraction of subjects
    done (0-1). ``threads``: worker threads (default: all CPUs; 1 = serial). A subject's
    result does not depend on the number of threads or on the other subjects.
    """
    P = kernel.pack(ev)
    N, n = y0.shape
    t_eval = np.ascontiguousarray(t_eval, dtype=float)
    # dose times: release forcing (DT) and state jumps (JT) read the same sorted array
    dt = np.asarray(sorted(dose_times), dtype=float)
    br = np.asarray(sorted({float(t) for t in dt} | {float(t_eval[-1])}), dtype=float)
    out = np.empty((N, n, t_eval.size))
    st = np.zeros((N, 3), dtype=np.int64)
    fail = np.zeros(N, dtype=np.int64)
    y0 = np.ascontiguousarray(y0, dtype=float)
    jump = np.ascontiguousarray(jump, dtype=float)
    atol = np.ascontiguousarray(np.broadcast_to(atol, (N, n)), dtype=float)
    fn = kernel.module.integrate
    workers = max(1, min(threads or os.cpu_count() or 1, N))
    # chunks small enough for progress and load balance, large enough to amortise the call
    size = max(1, min(256, -(-N // (4 * workers))))
    chunks = [(a, min(N, a + size)) for a in range(0, N, size)]

    def work(ab: tuple[int, int]) -> int:
        a, b = ab
        fn(P[a:b], y0[a:b], jump[a:b], atol[a:b], dt, dt, br, t_eval, float(rtol),
           float(h0), out[a:b], st[a:b], fail[a:b])
        return b - a

    done = 0
    if workers == 1:
        for ab in chunks:
            done += work(ab)
            if progress is not None:
                progress(done / N)
    else:
        # the compiled function releases the GIL (nogil), so threads run in parallel
        with ThreadPoolExecutor(max_workers=workers) as pool:
            for k in pool.map(work, chunks):
                done += k
                if progress is not None:
                    progress(done / N)
    if fail.any():
        k = int(np.flatnonzero(fail)[0])
        raise StepSizeUnderflow(float("nan"), k)
    stats = SolverStats(steps=int(st[:, 0].max()), rejected=int(st[:, 1].max()),
                        rhs_evals=int(st[:, 2].sum()))
    stats.mean_steps = float(st[:, 0].mean())
    return out, stats
