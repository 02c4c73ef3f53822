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
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from exomir.body import lanes
from exomir.body.driver import KernelUnavailable, cache_dir, driver
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

KERNEL_VERSION = 6  # bump when the generated code changes (part of the keys)


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


_AST_NAMES: dict[int, str] = {}


def _ast_names(lib: Any) -> dict[int, str]:
    """libsbml's AST type codes -> names (built once: ``dir(libsbml)`` is large)."""
    if not _AST_NAMES:
        _AST_NAMES.update({getattr(lib, k): k for k in dir(lib) if k.startswith("AST_")})
    return _AST_NAMES


def _py(node: Any, var: str, lib: Any, extra: dict[str, str] | None = None) -> str:
    kind = _ast_names(lib).get(node.getType(), str(node.getType()))
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


def generate(model: BodyModel, ev: Evaluator, lu: SparseBatchLU) -> Blocks:
    """The straight-line code of this model structure (one subject) and its P layout."""
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
            # _rel(t, k_loss, dose): the summed release of every application so far
            val += [f"{v} = _rel(t, {ps[1]}, {ps[0]})", f"aux[0] = {v}"]
            dtl += [f"dd{fi} = max(1e-7, 1e-6 * abs(t))",
                    f"dv{fi} = (_rel(t + dd{fi}, {ps[1]}, {ps[0]}) - aux[0]) / dd{fi}"]
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

    rel_expr = None
    if rel_used:
        assert model.release is not None
        rel_expr = translate_infix(model.release.sbml_infix("tau_x"), "tau_x")
    layout = Layout(n_lin=n_lin, named=named, n_coef=len(coef_slots))
    return Blocks(n=n, nnz=lu.nnz, diag=[int(d) for d in lu.diag], rhs=rhs, jac=jac,
                  dfdt=dfdt if (dtl or drows) else [], lu=lu_code, solve=sol,
                  release=rel_expr, layout=layout)


@dataclass
class Blocks:
    """The model's straight-line code (Python statement lines, one subject) and P layout.

    ``rhs``: dy = f(t, y); ``jac``: f and the Jacobian J in LU value order; ``dfdt``:
    ∂f/∂t into ``out`` (empty when f does not depend on t explicitly); ``lu``: in-place LU
    of V (pivots stored as reciprocals); ``solve``: x = V⁻¹ b; ``release``: the release
    fraction F as a Python expression of ``x`` (None without a release flux)."""

    n: int
    nnz: int
    diag: list[int]
    rhs: list[str]
    jac: list[str]
    dfdt: list[str]
    lu: list[str]
    solve: list[str]
    release: str | None
    layout: Layout

    def code(self) -> str:
        """All of the model's code as text (release formula, rhs, Jacobian, d/dt, LU,
        solve), e.g. to check that it reads no number from outside the tables."""
        return "\n".join([f"F = {self.release or 0.0}", *self.rhs, *self.jac, *self.dfdt,
                          *self.lu, *self.solve])


def _f(x: float) -> str:
    return repr(float(x))


def attempt_lines(b: Blocks) -> list[tuple[str, list[str]]]:
    """One Rosenbrock attempt (Shampine's 4(3) pair, :mod:`exomir.body.solver`) as statement
    lines: f0 and J at (t, y), V = I/(γh) − J, its LU, four stages (two more right-hand
    sides), y_new and the error norm. Items are (block kind, lines); kinds "jac", "top",
    "dfdt", "lu", "rhs", "solve:<g>"."""
    n = b.n
    dt = bool(b.dfdt)

    def fdt(c: float) -> str:
        return f" + h__ * {_f(c)} * fdt[{{i}}]" if dt else ""

    out: list[tuple[str, list[str]]] = [("jac", b.jac)]
    if dt:
        out.append(("dfdt", b.dfdt))
    top = [f"c__ = 1.0 / ({_f(GAM)} * h__)"] + [f"V[{q}] = -J[{q}]" for q in range(b.nnz)]
    top += [f"V[{d}] = V[{d}] + c__" for d in b.diag]
    out += [("top", top), ("lu", b.lu)]
    out.append(("top", [f"bb[{i}] = f0[{i}]" + fdt(C1X).format(i=i) for i in range(n)]))
    out.append(("solve:g0", b.solve))
    out.append(("top", [f"ts__ = t__ + {_f(A2X)} * h__"]
                + [f"yt[{i}] = y[{i}] + {_f(A21)} * g0[{i}]" for i in range(n)]))
    out.append(("rhs", b.rhs))
    out.append(("top", [f"bb[{i}] = fs[{i}]" + fdt(C2X).format(i=i)
                        + f" + {_f(C21)} * g0[{i}] / h__" for i in range(n)]))
    out.append(("solve:g1", b.solve))
    out.append(("top", [f"ts__ = t__ + {_f(A3X)} * h__"]
                + [f"yt[{i}] = y[{i}] + {_f(A31)} * g0[{i}] + {_f(A32)} * g1[{i}]"
                   for i in range(n)]))
    out.append(("rhs", b.rhs))
    out.append(("top", [f"bb[{i}] = fs[{i}]" + fdt(C3X).format(i=i)
                        + f" + ({_f(C31)} * g0[{i}] + {_f(C32)} * g1[{i}]) / h__"
                        for i in range(n)]))
    out.append(("solve:g2", b.solve))
    out.append(("top", [f"bb[{i}] = fs[{i}]" + fdt(C4X).format(i=i)
                        + f" + ({_f(C41)} * g0[{i}] + {_f(C42)} * g1[{i}]"
                        f" + {_f(C43)} * g2[{i}]) / h__" for i in range(n)]))
    out.append(("solve:g3", b.solve))
    fin = ["acc__ = 0.0"]
    for i in range(n):
        fin += [f"yn[{i}] = y[{i}] + {_f(B1)} * g0[{i}] + {_f(B2)} * g1[{i}] + {_f(B3)} * "
                f"g2[{i}] + {_f(B4)} * g3[{i}]",
                f"er__ = {_f(E1)} * g0[{i}] + {_f(E2)} * g1[{i}] + {_f(E3)} * g2[{i}] + "
                f"{_f(E4)} * g3[{i}]",
                f"sc__ = at[{i}] + rtol__ * max(abs(y[{i}]), abs(yn[{i}]))",
                "q__ = er__ / sc__", "acc__ = acc__ + q__ * q__"]
    fin.append(f"err[0] = math.sqrt(acc__ / {_f(n)})")
    out.append(("top", fin))
    return out


# argument tables of the IR functions (the driver passes them in this order)
ATTEMPT_ARGS = ("T", "H", "Y", "P", "AT", "RT", "DT", "ndt", "F0", "YN", "ERR")
RHS_ARGS = ("T", "Y", "P", "DT", "ndt", "DY")
COMMIT_ARGS = ("M", "YN", "Y", "F0", "YP", "FP")
INTERP_ARGS = ("HC", "Y", "F0", "YN", "FN", "OB")
FUNCTIONS = ("attempt", "rhs", "commit", "interp")


def _args(fn: lanes.Function, names: tuple[str, ...], outs: set[str]) -> dict[str, Any]:
    got: dict[str, Any] = {}
    for a in names:
        if a == "ndt":
            fn.int_arg("ndt")
        elif a == "DT":
            fn.raw_ptr_arg("DT")
        else:
            got[a] = fn.array_arg(a, out=a in outs)
    return got


def build_ir(b: Blocks, lanes_: int = lanes.LANES) -> str:
    """The model's IR module, every value a vector over ``lanes_`` subjects:

    * ``attempt``: f0 = f(t, y) and J, then one Rosenbrock attempt with step h: y_new and
      the error norm (and f0, for the dense output);
    * ``rhs``: f(t, y) (at a step's end, for the dense output);
    * ``commit``: (y_prev, f_prev) <- (y, f0) and y <- y_new in the lanes whose mask is set;
    * ``interp``: cubic Hermite values from per-lane coefficients (dense output);
    * ``F``/``rel``/``Fcheck``: the release fraction, the summed release rate, F over a row.
    """
    g = lanes.Function("attempt", lanes_)
    a = _args(g, ATTEMPT_ARGS, {"F0", "YN", "ERR"})
    arrays = {k: lanes.Arr(k) for k in ("J", "aux", "V", "bb", "yt", "fs", "fdt", "g0", "g1",
                                        "g2", "g3", "auxs")}
    top: dict[str, Any] = {"y": a["Y"], "f0": a["F0"], "at": a["AT"], "yn": a["YN"],
                           "err": a["ERR"], **arrays, "t__": g.load(a["T"], 0),
                           "h__": g.load(a["H"], 0), "rtol__": g.load(a["RT"], 0)}
    ts: dict[str, Any] = {}
    for kind, lines in attempt_lines(b):
        if kind == "top":
            top.update({k: v for k, v in g.block(lines, top).items()
                        if k.endswith("__")})
            ts = top
        elif kind == "jac":
            g.block(lines, {"t": top["t__"], "y": a["Y"], "p": a["P"], "dy": a["F0"],
                            "J": arrays["J"], "aux": arrays["aux"]})
        elif kind == "dfdt":
            g.block(lines, {"t": top["t__"], "y": a["Y"], "p": a["P"], "aux": arrays["aux"],
                            "out": arrays["fdt"]})
        elif kind == "lu":
            g.block(lines, {"V": arrays["V"]})
        elif kind == "rhs":
            g.block(lines, {"t": ts["ts__"], "y": arrays["yt"], "p": a["P"],
                            "dy": arrays["fs"], "aux": arrays["auxs"]})
        else:
            g.block(lines, {"b": arrays["bb"], "V": arrays["V"],
                            "x": arrays[kind.split(":")[1]]})
    g.flush()
    f = lanes.Function("rhs", lanes_)
    a = _args(f, RHS_ARGS, {"DY"})
    f.block(b.rhs, {"t": f.load(a["T"], 0), "y": a["Y"], "p": a["P"], "dy": a["DY"],
                    "aux": lanes.Arr("aux")})
    f.flush()
    c = lanes.Function("commit", lanes_)
    a = _args(c, COMMIT_ARGS, {"Y", "YP", "FP"})
    c.block(["m__ = M[0] > 0.5"]
            + [f"YP[{i}] = Y[{i}] if m__ else YP[{i}]" for i in range(b.n)]
            + [f"FP[{i}] = F0[{i}] if m__ else FP[{i}]" for i in range(b.n)]
            + [f"Y[{i}] = YN[{i}] if m__ else Y[{i}]" for i in range(b.n)], a)
    c.flush()
    h = lanes.Function("interp", lanes_)
    a = _args(h, INTERP_ARGS, {"OB"})
    h.block([f"OB[{i}] = HC[0] * Y[{i}] + HC[1] * F0[{i}] + HC[2] * YN[{i}] + HC[3] * FN[{i}]"
             for i in range(b.n)], a)
    h.flush()
    rel = lanes.release_functions(b.release, RELEASE_FD_STEP_DAYS, lanes_)
    return lanes.module_text([g, f, c, h], rel)


@dataclass
class Kernel:
    """A compiled model structure: its functions' addresses and how to pack parameters."""

    fns: np.ndarray  # int64 addresses of the FUNCTIONS (attempt, rhs, commit, interp)
    fcheck: int  # address of Fcheck (the compiled release fraction over one lane row)
    layout: Layout
    n: int
    nnz: int
    lanes: int

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

    def release_fraction(self, tau: np.ndarray) -> np.ndarray:
        """The compiled F(τ) (for the check against the profile's ``fraction_released``)."""
        import ctypes

        L = self.lanes
        x = np.asarray(tau, dtype=float)
        pad = np.zeros(-(-x.size // L) * L)
        pad[:x.size] = x
        out = np.empty_like(pad)
        fn = ctypes.CFUNCTYPE(None, ctypes.c_int64, ctypes.c_int64)(self.fcheck)
        for a in range(0, pad.size, L):
            fn(pad[a:].ctypes.data, out[a:].ctypes.data)
        return out[:x.size]


_KERNELS: dict[tuple[object, ...], Kernel] = {}


def structure_key(model: BodyModel, order: list[int]) -> tuple[object, ...]:
    """Everything the generated code depends on: states, fluxes (kinds, operands, parameter
    names, effects), effect genes, elimination order and the release formula. Parameter
    values are not part of it (they travel in P)."""
    rel = None
    if any(f.kind == "release" for f in model.fluxes):
        assert model.release is not None
        rel = model.release.sbml_infix("tau_x")
    return (KERNEL_VERSION, tuple(model.species), tuple(model.fluxes), model.target,
            tuple(model.effect_genes), tuple(int(i) for i in order), rel)


def _source_hash() -> str:
    """A hash of the generator's own source (this module and :mod:`lanes`): a change to the
    code generation invalidates every structure index entry, not only a KERNEL_VERSION bump."""
    global _SRC_HASH
    if _SRC_HASH is None:
        h = hashlib.sha256()
        for mod_file in (__file__, lanes.__file__):
            h.update(Path(mod_file).read_bytes())
        _SRC_HASH = h.hexdigest()
    return _SRC_HASH


_SRC_HASH: str | None = None


def _index_path(key: tuple[object, ...]) -> Path:
    """Where the structure index entry of ``key`` lives: it names the compiled object and
    holds the layout, so that a cached structure needs neither code generation nor IR."""
    h = hashlib.sha256("\n".join([repr(key), _source_hash(), lanes.host_key()]).encode())
    return cache_dir() / f"exomir_body_structure_{h.hexdigest()[:24]}.json"


def _from_index(path: Path) -> Kernel | None:
    """The kernel an index entry points at (None if absent, unreadable or its object is gone)."""
    import json

    try:
        meta = json.loads(path.read_text())
        lay = Layout(n_lin=int(meta["n_lin"]), named=[str(x) for x in meta["named"]],
                     n_coef=int(meta["n_coef"]))
        n, nnz, obj = int(meta["n"]), int(meta["nnz"]), str(meta["object"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    addr = lanes.load_object(obj, [*FUNCTIONS, "Fcheck"], cache_dir())
    if addr is None:
        return None
    return Kernel(fns=np.array([addr[f] for f in FUNCTIONS], dtype=np.int64),
                  fcheck=addr["Fcheck"], layout=lay, n=n, nnz=nnz, lanes=lanes.LANES)


def compile_model(model: BodyModel, ev: Evaluator, order: list[int]) -> Kernel:
    """Generate, compile (or load from the disk cache) and check the kernel of a model.

    Kernels are kept per model structure (:func:`structure_key`) for the process, so calls
    in a loop (calibration, sensitivity, dose-response) generate the code once; on disk a
    structure index entry (keyed by the structure, the generator's source and the host)
    points at the compiled object, so a later process skips code generation as well."""
    key = structure_key(model, order)
    kern = _KERNELS.get(key)
    if kern is None:
        index = _index_path(key)
        kern = _from_index(index)
        if kern is not None and not _fits(kern, model, ev):
            kern = None  # (cannot happen for a complete structure key) generate afresh
    if kern is None:
        lu = SparseBatchLU(len(model.species), ev.pattern, order)
        blocks = generate(model, ev, lu)
        try:
            text = build_ir(blocks)
        except lanes.IRUnsupported as exc:
            raise KernelUnavailable(f"model code not supported by the compiled engine: "
                                    f"{exc}") from exc
        try:
            addr = lanes.compile_module(text, [*FUNCTIONS, "Fcheck"], cache_dir())
        except ImportError as exc:  # pragma: no cover - llvmlite comes with numba
            raise KernelUnavailable("llvmlite is not installed") from exc
        except RuntimeError as exc:  # pragma: no cover - an LLVM error is a bug here
            raise KernelUnavailable(f"LLVM could not compile the model: {exc}") from exc
        kern = Kernel(fns=np.array([addr[f] for f in FUNCTIONS], dtype=np.int64),
                      fcheck=addr["Fcheck"], layout=blocks.layout, n=blocks.n,
                      nnz=blocks.nnz, lanes=lanes.LANES)
        _write_index(index, kern, lanes.object_key(text))
    if key[-1] is not None:
        _check_release(kern, model)
    _KERNELS[key] = kern
    return kern


def _fits(kern: Kernel, model: BodyModel, ev: Evaluator) -> bool:
    """Whether a kernel's sizes match the model's (states, packed parameter columns)."""
    lay = kern.layout
    return (kern.n == len(model.species) and lay.n_lin == len(ev.lin_vals)
            and lay.n_coef == sum(len(effs) for _f, effs in ev.nonlin)
            and all(name in ev.flat for name in lay.named))


def _write_index(path: Path, kern: Kernel, obj: str) -> None:
    import json

    lay = kern.layout
    meta = {"n_lin": lay.n_lin, "named": list(lay.named), "n_coef": lay.n_coef, "n": kern.n,
            "nnz": kern.nnz, "object": obj}
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    try:
        tmp.write_text(json.dumps(meta))
        os.replace(tmp, path)
    except OSError:  # a read-only cache: the next process generates the code again
        pass


def _check_release(kern: Kernel, model: BodyModel) -> None:
    """The compiled F(τ) must equal the profile's own ``fraction_released``."""
    rel = model.release
    assert rel is not None
    tau = np.concatenate([[0.0, 1e-4, 2e-4], np.linspace(0.0, model.days + 1.0, 211)[1:]])
    ref = np.asarray(rel.fraction_released(tau), dtype=float)
    got = kern.release_fraction(tau)
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
    result does not depend on the number of threads or on the other subjects: every
    subject runs in a lane of its own, with its own step size, and the lanes of a group
    execute the same instructions.
    """
    P = kernel.pack(ev)
    N, n = y0.shape
    # fresh writable C arrays throughout: one numba signature (the one _prime compiles)
    t_eval = np.array(t_eval, dtype=float, order="C")
    # dose times: release forcing (DT) and state jumps (JT) read the same sorted array
    dt = np.asarray(sorted(dose_times), dtype=float)
    br = np.asarray(sorted({float(t) for t in dt} | {float(t_eval[-1])}), dtype=float)
    out = np.empty((N, n, t_eval.size))
    st = np.zeros((N, 3), dtype=np.int64)
    fail = np.zeros(N, dtype=np.int64)
    y0 = np.array(y0, dtype=float, order="C")
    jump = np.array(jump, dtype=float, order="C")
    atol = np.array(np.broadcast_to(atol, (N, n)), dtype=float, order="C")
    fn = driver().integrate
    L = kernel.lanes
    workers = max(1, min(threads or os.cpu_count() or 1, -(-N // L)))
    # chunks: whole lane groups, small enough for progress and load balance, large enough
    # that the lanes seldom idle at a chunk's end
    size = L * max(4, min(64, -(-N // (4 * workers * L))))
    chunks = [(a, min(N, a + size)) for a in range(0, N, size)]
    dt_pad = dt if dt.size else np.zeros(1)

    def work(ab: tuple[int, int]) -> int:
        a, b = ab
        z = np.zeros
        first = min(a, N - 1)  # idle lanes compute on a copy of a real subject
        PL = np.ascontiguousarray(np.repeat(P[first][:, None], L, axis=1))
        Y = np.ascontiguousarray(np.repeat(y0[first][:, None], L, axis=1))
        AT = np.ascontiguousarray(np.repeat(atol[first][:, None], L, axis=1))
        fn(kernel.fns, P[a:b], y0[a:b], jump[a:b], atol[a:b], dt_pad, dt.size, dt, br,
           t_eval, float(h0), out[a:b], st[a:b], fail[a:b],
           PL, Y, z((n, L)), Y.copy(), z((n, L)), Y.copy(), z((n, L)), z((n, L)), z((4, L)),
           AT, np.full((1, L), float(rtol)), z((1, L)), z((1, L)), z((1, L)), z((1, L)),
           z((1, L)), z((1, L)), z(L), np.zeros((11, L), np.int64), np.zeros(L, np.bool_))
        return b - a

    done = 0
    if workers == 1 or len(chunks) == 1:
        for ab in chunks:
            done += work(ab)
            if progress is not None:
                progress(done / N)
    else:
        # the compiled driver releases the GIL (nogil), so threads run in parallel
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
