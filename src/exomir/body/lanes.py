"""Straight-line model code compiled to LLVM IR over ``LANES`` subjects at once (llvmlite).

Why: the compiled engine's model blocks (right-hand side, Jacobian, sparse LU, the
Rosenbrock stages) are long straight-line double arithmetic. Typing them through numba took
~6 s per model structure, and numba compiled them for one subject at a time. Here the same
Python statement lines that :mod:`exomir.body.kernel` generates are translated, statement by
statement, into LLVM IR whose every value is a vector ``<LANES x double>``: lane ``l`` holds
subject ``l`` of a group, so one instruction advances ``LANES`` subjects and each subject's
arithmetic is exactly the same whichever lane (or group) it sits in. llvmlite compiles the IR
in a fraction of a second; the object code is cached on disk.

Supported statement forms (all that the generator writes): ``name = expr``,
``arr[k] = expr`` and ``arr[k] op= expr`` with integer constants ``k``; expressions with
``+ - * / **``, unary minus, comparisons, ``and``/``or``/``not``, ``a if c else b``
(evaluated as a select: both sides are computed, the unused one is discarded), ``max``,
``min``, ``abs``, ``math.<fn>`` (exp, log, log10, sqrt, floor, ceil, trigonometric and
hyperbolic), ``math.pi``/``math.e``/``math.nan`` and the release call ``_rel(t, k_loss,
dose)``. Anything else raises :class:`IRUnsupported`.

Arrays live in memory as ``rows x LANES`` doubles (row ``k`` at offset ``k·LANES``); a
function's parameters are the arrays' addresses as 64-bit integers (and integers such as the
number of doses) in the order the caller declares. Inside a function every array element is an SSA value; inputs are
loaded on first use and outputs stored once at the end.
"""

from __future__ import annotations

import ast
import hashlib
import math
import struct
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

LANES = 8
FLAGS = "nsz arcp contract"  # like the numba engine's fastmath set, without reassociation

# math functions with an LLVM vector intrinsic; every other one is called lane by lane
_INTRINSICS = {"exp": "exp", "log": "log", "log10": "log10", "sqrt": "sqrt", "sin": "sin",
               "cos": "cos", "floor": "floor", "ceil": "ceil", "fabs": "fabs"}
_LIBM = {"tan", "asin", "acos", "atan", "sinh", "cosh", "tanh"}
_CMP = {ast.Lt: "olt", ast.Gt: "ogt", ast.LtE: "ole", ast.GtE: "oge", ast.Eq: "oeq",
        ast.NotEq: "une"}
_BIN = {ast.Add: "fadd", ast.Sub: "fsub", ast.Mult: "fmul", ast.Div: "fdiv"}


class IRUnsupported(RuntimeError):
    """A statement or expression the lane compiler does not translate."""


def hexd(x: float) -> str:
    """A double as an LLVM hexadecimal literal (exact)."""
    return "0x" + struct.pack(">d", float(x)).hex().upper()


@dataclass
class Arr:
    """An array of ``rows x LANES`` doubles: ``ptr`` its base address (SSA name) or None for
    a scratch array that exists only as SSA values; ``out``: stored at the end."""

    name: str
    ptr: str | None = None
    out: bool = False
    vals: dict[int, str] = field(default_factory=dict)
    dirty: set[int] = field(default_factory=set)


@dataclass
class _Val:
    ssa: str
    kind: str  # "d": vector of double, "b": vector of i1


class Function:
    """One IR function ``void name(i64 a0, i64 a1, ...)`` (array addresses and counts)
    built from statement blocks."""

    def __init__(self, name: str, lanes: int = LANES, *, internal: bool = False) -> None:
        self.name = name
        self.L = lanes
        self.V = f"<{lanes} x double>"
        self.B = f"<{lanes} x i1>"
        self.body: list[str] = []
        self.k = 0
        self.arrays: list[Arr] = []
        self.ints: dict[str, str] = {}
        self.ptrs: dict[str, str] = {}
        self.internal = internal
        self.uses: set[str] = set()  # declarations needed (intrinsics, libm, @rel)
        self.params: list[str] = []

    # ---- plumbing ------------------------------------------------------------------
    def tmp(self) -> str:
        self.k += 1
        return f"%v{self.k}"

    def emit(self, s: str) -> None:
        self.body.append("  " + s)

    def _param(self, ty: str) -> str:
        name = f"%a{len(self.params)}"
        self.params.append(f"{ty} {name}")
        return name

    def _ptr_param(self) -> str:
        v = self._param("i64")
        p = self.tmp()
        self.emit(f"{p} = inttoptr i64 {v} to ptr")
        return p

    def array_arg(self, name: str, out: bool = False) -> Arr:
        """The next parameter is the address of array ``name`` (an integer)."""
        p = self._ptr_param()
        a = Arr(name, ptr=p, out=out)
        self.arrays.append(a)
        self.ptrs[name] = p
        return a

    def int_arg(self, name: str) -> str:
        """The next parameter is an integer (e.g. the number of doses)."""
        v = self._param("i64")
        self.ints[name] = v
        return v

    def raw_ptr_arg(self, name: str) -> str:
        """The next parameter is the address of a plain double array (e.g. dose times)."""
        p = self._ptr_param()
        self.ptrs[name] = p
        return p

    def scratch(self, name: str) -> Arr:
        return Arr(name)

    def const(self, x: float) -> _Val:
        return _Val(f"splat (double {hexd(x)})", "d")

    def load(self, a: Arr, k: int) -> _Val:
        if k in a.vals:
            return _Val(a.vals[k], "d")
        if a.ptr is None:
            raise IRUnsupported(f"{a.name}[{k}] read before it is written")
        g, v = self.tmp(), self.tmp()
        self.emit(f"{g} = getelementptr double, ptr {a.ptr}, i64 {k * self.L}")
        self.emit(f"{v} = load {self.V}, ptr {g}, align 8")
        a.vals[k] = v
        return _Val(v, "d")

    def store(self, a: Arr, k: int, v: _Val) -> None:
        a.vals[k] = self._as_d(v).ssa
        if a.out:
            a.dirty.add(k)

    def flush(self) -> None:
        """Store every written element of the output arrays."""
        for a in self.arrays:
            if not a.out:
                continue
            for k in sorted(a.dirty):
                g = self.tmp()
                self.emit(f"{g} = getelementptr double, ptr {a.ptr}, i64 {k * self.L}")
                self.emit(f"store {self.V} {a.vals[k]}, ptr {g}, align 8")
            a.dirty.clear()

    def text(self) -> str:
        link = "internal " if self.internal else ""
        return (f"define {link}void @{self.name}({', '.join(self.params)}) nounwind {{\n"
                f"entry:\n"
                + "\n".join(self.body) + "\n  ret void\n}\n")

    # ---- values ---------------------------------------------------------------------
    def _as_d(self, v: _Val) -> _Val:
        if v.kind == "d":
            return v
        r = self.tmp()
        self.emit(f"{r} = uitofp {self.B} {v.ssa} to {self.V}")
        return _Val(r, "d")

    def _as_b(self, v: _Val) -> _Val:
        if v.kind == "b":
            return v
        r = self.tmp()
        self.emit(f"{r} = fcmp une {self.V} {v.ssa}, zeroinitializer")
        return _Val(r, "b")

    def binop(self, op: str, a: _Val, b: _Val) -> _Val:
        r = self.tmp()
        self.emit(f"{r} = {op} {FLAGS} {self.V} {self._as_d(a).ssa}, {self._as_d(b).ssa}")
        return _Val(r, "d")

    def fcmp(self, pred: str, a: _Val, b: _Val) -> _Val:
        r = self.tmp()
        self.emit(f"{r} = fcmp {pred} {self.V} {self._as_d(a).ssa}, {self._as_d(b).ssa}")
        return _Val(r, "b")

    def select(self, c: _Val, a: _Val, b: _Val) -> _Val:
        c = self._as_b(c)
        if a.kind == "b" and b.kind == "b":
            r = self.tmp()
            self.emit(f"{r} = select {self.B} {c.ssa}, {self.B} {a.ssa}, {self.B} {b.ssa}")
            return _Val(r, "b")
        r = self.tmp()
        self.emit(f"{r} = select {self.B} {c.ssa}, {self.V} {self._as_d(a).ssa}, "
                  f"{self.V} {self._as_d(b).ssa}")
        return _Val(r, "d")

    def call(self, fn: str, *args: _Val) -> _Val:
        """A math function of vector arguments: exp and log in vector form
        (:func:`vector_math`), another LLVM intrinsic, or libm lane by lane."""
        if fn in ("exp", "log"):
            self.uses.add("vmath")
            r = self.tmp()
            self.emit(f"{r} = call {self.V} @v{fn}({self.V} {self._as_d(args[0]).ssa})")
            return _Val(r, "d")
        if fn in _INTRINSICS or fn == "pow":
            name = f"llvm.{_INTRINSICS.get(fn, fn)}.v{self.L}f64"
            self.uses.add(f"declare {self.V} @{name}(" + ", ".join([self.V] * len(args))
                          + ")")
            r = self.tmp()
            self.emit(f"{r} = call {FLAGS} {self.V} @{name}("
                      + ", ".join(f"{self.V} {self._as_d(a).ssa}" for a in args) + ")")
            return _Val(r, "d")
        if fn not in _LIBM:
            raise IRUnsupported(f"math.{fn}")
        self.uses.add(f"declare double @{fn}(double) nounwind readnone")
        acc = "poison"
        x = self._as_d(args[0]).ssa
        for i in range(self.L):
            e, c, n = self.tmp(), self.tmp(), self.tmp()
            self.emit(f"{e} = extractelement {self.V} {x}, i64 {i}")
            self.emit(f"{c} = call double @{fn}(double {e})")
            self.emit(f"{n} = insertelement {self.V} {acc}, double {c}, i64 {i}")
            acc = n
        return _Val(acc, "d")

    # ---- statements -------------------------------------------------------------------
    def block(self, lines: Iterable[str], binds: Mapping[str, Any]) -> dict[str, Any]:
        """Compile statement lines; ``binds`` maps names to arrays (:class:`Arr`) or values.
        Names assigned in the block are local to it; returns the final local scope."""
        scope: dict[str, Any] = dict(binds)
        for line in lines:
            s = line.strip()
            if not s or s == "pass":
                continue
            try:
                tree = ast.parse(s, mode="exec")
            except SyntaxError as exc:  # pragma: no cover - generated text
                raise IRUnsupported(f"cannot parse {s!r}") from exc
            for st in tree.body:
                self._stmt(st, scope)
        return scope

    def _target(self, node: ast.expr, scope: Mapping[str, Any]) -> tuple[Arr, int]:
        if not (isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name)):
            raise IRUnsupported(ast.unparse(node))
        a = scope.get(node.value.id)
        if not isinstance(a, Arr):
            raise IRUnsupported(f"{node.value.id} is not an array")
        idx = node.slice
        if not (isinstance(idx, ast.Constant) and isinstance(idx.value, int)):
            raise IRUnsupported(f"index {ast.unparse(idx)} is not an integer constant")
        return a, idx.value

    def _stmt(self, st: ast.stmt, scope: dict[str, Any]) -> None:
        if isinstance(st, ast.Assign) and len(st.targets) == 1:
            v = self.expr(st.value, scope)
            tg = st.targets[0]
            if isinstance(tg, ast.Name):
                scope[tg.id] = v
            else:
                a, k = self._target(tg, scope)
                self.store(a, k, v)
        elif isinstance(st, ast.AugAssign) and type(st.op) in _BIN:
            op = _BIN[type(st.op)]
            v = self.expr(st.value, scope)
            if isinstance(st.target, ast.Name):
                scope[st.target.id] = self.binop(op, scope[st.target.id], v)
            else:
                a, k = self._target(st.target, scope)
                self.store(a, k, self.binop(op, self.load(a, k), v))
        elif isinstance(st, ast.Pass):
            return
        else:
            raise IRUnsupported(ast.unparse(st))

    def expr(self, node: ast.expr, scope: Mapping[str, Any]) -> _Val:
        if isinstance(node, ast.Constant):
            if isinstance(node.value, bool):
                return _Val(f"splat (i1 {'true' if node.value else 'false'})", "b")
            if isinstance(node.value, int | float):
                return self.const(float(node.value))
            raise IRUnsupported(repr(node.value))
        if isinstance(node, ast.Name):
            v = scope.get(node.id)
            if isinstance(v, _Val):
                return v
            if isinstance(v, int | float):
                return self.const(float(v))
            raise IRUnsupported(f"name {node.id}")
        if isinstance(node, ast.Subscript):
            arr, k = self._target(node, scope)
            return self.load(arr, k)
        if isinstance(node, ast.BinOp):
            lhs, rhs = self.expr(node.left, scope), self.expr(node.right, scope)
            if type(node.op) in _BIN:
                return self.binop(_BIN[type(node.op)], lhs, rhs)
            if isinstance(node.op, ast.Pow):
                e = node.right
                lit = e.value if isinstance(e, ast.Constant) and isinstance(
                    e.value, int | float) and not isinstance(e.value, bool) else None
                if lit == 1.0:
                    return self._as_d(lhs)
                if lit == 2.0:  # exact: pow(x, 2) is the rounded x·x
                    return self.binop("fmul", lhs, lhs)
                return self.call("pow", lhs, rhs)
            raise IRUnsupported(ast.unparse(node))
        if isinstance(node, ast.UnaryOp):
            v = self.expr(node.operand, scope)
            if isinstance(node.op, ast.USub):
                r = self.tmp()
                self.emit(f"{r} = fneg {FLAGS} {self.V} {self._as_d(v).ssa}")
                return _Val(r, "d")
            if isinstance(node.op, ast.UAdd):
                return v
            if isinstance(node.op, ast.Not):
                r = self.tmp()
                self.emit(f"{r} = xor {self.B} {self._as_b(v).ssa}, splat (i1 true)")
                return _Val(r, "b")
            raise IRUnsupported(ast.unparse(node))
        if isinstance(node, ast.Compare):
            out: _Val | None = None
            left = self.expr(node.left, scope)
            for op, comp in zip(node.ops, node.comparators, strict=True):
                if type(op) not in _CMP:
                    raise IRUnsupported(ast.unparse(node))
                right = self.expr(comp, scope)
                c = self.fcmp(_CMP[type(op)], left, right)
                out = c if out is None else self._bool("and", out, c)
                left = right
            assert out is not None
            return out
        if isinstance(node, ast.BoolOp):
            vals = [self._as_b(self.expr(v, scope)) for v in node.values]
            bop = "and" if isinstance(node.op, ast.And) else "or"
            acc = vals[0]
            for v in vals[1:]:
                acc = self._bool(bop, acc, v)
            return acc
        if isinstance(node, ast.IfExp):
            c = self.expr(node.test, scope)
            return self.select(c, self.expr(node.body, scope), self.expr(node.orelse, scope))
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) \
                and node.value.id == "math":
            consts = {"pi": 3.141592653589793, "e": 2.718281828459045, "nan": float("nan"),
                      "inf": float("inf")}
            if node.attr in consts:
                return self.const(consts[node.attr])
            raise IRUnsupported(f"math.{node.attr}")
        if isinstance(node, ast.Call):
            args = [self.expr(a, scope) for a in node.args]
            f = node.func
            if isinstance(f, ast.Attribute) and isinstance(f.value, ast.Name) \
                    and f.value.id == "math":
                return self.call(f.attr, *args)
            if isinstance(f, ast.Name):
                if f.id == "max" and len(args) == 2:  # Python: b if b > a else a
                    return self.select(self.fcmp("ogt", args[1], args[0]), args[1], args[0])
                if f.id == "min" and len(args) == 2:  # b if b < a else a
                    return self.select(self.fcmp("olt", args[1], args[0]), args[1], args[0])
                if f.id == "abs" and len(args) == 1:
                    return self.call("fabs", args[0])
                if f.id == "_rel" and len(args) == 3:
                    return self._rel(args)
            raise IRUnsupported(ast.unparse(node))
        raise IRUnsupported(ast.unparse(node))

    def _bool(self, op: str, a: _Val, b: _Val) -> _Val:
        r = self.tmp()
        self.emit(f"{r} = {op} {self.B} {self._as_b(a).ssa}, {self._as_b(b).ssa}")
        return _Val(r, "b")

    def _rel(self, args: Sequence[_Val]) -> _Val:
        if "DT" not in self.ptrs or "ndt" not in self.ints:
            raise IRUnsupported("_rel needs the dose times (DT, ndt) as arguments")
        self.uses.add("rel")
        r = self.tmp()
        a = ", ".join(f"{self.V} {self._as_d(x).ssa}" for x in args)
        self.emit(f"{r} = call {self.V} @rel({a}, ptr {self.ptrs['DT']}, "
                  f"i64 {self.ints['ndt']})")
        return _Val(r, "d")


def release_functions(expr: str | None, fd_h: float, lanes: int = LANES) -> str:
    """IR of ``F(x)`` (the release formula, a Python expression of ``x``) and of
    ``rel(t, k_loss, dose, DT, ndt) = dose·Σ_{i: t ≥ DT_i} exp(−k_loss·τ)·(F(τ+h) −
    F(max(τ−h, 0)))/(τ+h − max(τ−h, 0))``, τ = t − DT_i, summed in dose order (the numpy
    engine's central difference, :data:`exomir.body.model.RELEASE_FD_STEP_DAYS`), and of
    ``Fcheck(args)`` (F over one array row, for the check against ``fraction_released``)."""
    V = f"<{lanes} x double>"
    f = Function("F", lanes)
    if expr is None:
        res = f.const(0.0)
    else:
        res = f.expr(ast.parse(expr, mode="eval").body, {"x": _Val("%x", "d")})
    decl = {u for u in f.uses if u.startswith("declare")}
    F_ir = (f"define internal {V} @F({V} %x) nounwind readnone {{\nentry:\n"
            + "\n".join(f.body) + f"\n  ret {V} {f._as_d(res).ssa}\n}}\n")
    g = Function("Fcheck", lanes)
    xa = g.array_arg("X")
    oa = g.array_arg("OUT", out=True)
    r = g.tmp()
    g.emit(f"{r} = call {V} @F({V} {g.load(xa, 0).ssa})")
    g.store(oa, 0, _Val(r, "d"))
    g.flush()
    h = hexd(fd_h)
    z = "zeroinitializer"
    rel = f"""define internal {V} @rel({V} %t, {V} %kl, {V} %dose, ptr %DT, i64 %ndt) nounwind {{
entry:
  %any = icmp sgt i64 %ndt, 0
  br i1 %any, label %loop, label %exit
loop:
  %i = phi i64 [0, %entry], [%inext, %loop]
  %r = phi {V} [{z}, %entry], [%rnext, %loop]
  %dp = getelementptr double, ptr %DT, i64 %i
  %d = load double, ptr %dp, align 8
  %d0 = insertelement {V} poison, double %d, i64 0
  %dv = shufflevector {V} %d0, {V} poison, <{lanes} x i32> zeroinitializer
  %tau = fsub {FLAGS} {V} %t, %dv
  %on = fcmp oge {V} %tau, {z}
  %lo0 = fsub {FLAGS} {V} %tau, splat (double {h})
  %neg = fcmp ogt {V} {z}, %lo0
  %lo = select <{lanes} x i1> %neg, {V} {z}, {V} %lo0
  %hi = fadd {FLAGS} {V} %tau, splat (double {h})
  %fh = call {V} @F({V} %hi)
  %fl = call {V} @F({V} %lo)
  %nk = fneg {FLAGS} {V} %kl
  %a = fmul {FLAGS} {V} %nk, %tau
  %ex = call {V} @vexp({V} %a)
  %df = fsub {FLAGS} {V} %fh, %fl
  %num = fmul {FLAGS} {V} %ex, %df
  %den = fsub {FLAGS} {V} %hi, %lo
  %term = fdiv {FLAGS} {V} %num, %den
  %sum = fadd {FLAGS} {V} %r, %term
  %rnext = select <{lanes} x i1> %on, {V} %sum, {V} %r
  %inext = add i64 %i, 1
  %done = icmp eq i64 %inext, %ndt
  br i1 %done, label %exit, label %loop
exit:
  %rf = phi {V} [{z}, %entry], [%rnext, %loop]
  %out = fmul {FLAGS} {V} %dose, %rf
  ret {V} %out
}}
"""
    return "\n".join(sorted(decl)) + "\n\n" + F_ir + "\n" + rel + "\n" + g.text()


def vector_math(lanes: int = LANES) -> str:
    """IR of ``vexp`` and ``vlog``: exp and log over a vector of lanes, written out so that
    they vectorise (libm would be called lane by lane).

    exp: x = k·ln2 + r with k = rint(x/ln2), |r| <= ln2/2 (Cody-Waite with fdlibm's split
    of ln2, exact products), exp(r) by its Taylor series to r^13 (truncation < 1e-17),
    scaled by 2^k as two exact powers of two; x > 709.78 gives inf, x < -745.13 gives 0.
    log: x = 2^k·m with m in [sqrt(2)/2, sqrt(2)), log(m) = f − (f²/2 − s·(f²/2 + R(s²)))
    with f = m − 1, s = f/(2 + f) and fdlibm's minimax polynomial R (e_log.c; error < 1
    ulp there); subnormals are rescaled; log(0) = −inf, log(x < 0) = nan, log(inf) = inf.
    Both agree with libm to 1-2 units in the last place (tests/body/test_lanes.py)."""
    L = lanes
    V = f"<{L} x double>"
    VI = f"<{L} x i64>"
    B = f"<{L} x i1>"

    def c(x: float) -> str:
        return f"splat (double {hexd(x)})"

    def ci(x: int) -> str:
        return f"splat (i64 {x})"

    taylor = [1.0 / math.factorial(k) for k in range(13, -1, -1)]
    lines = [f"define internal {V} @vexp({V} %x) nounwind readnone {{", "entry:",
             f"  %t = fmul {V} %x, {c(1.4426950408889634)}",
             f"  %k = call {V} @llvm.rint.v{L}f64({V} %t)",
             f"  %hi = fmul {V} %k, {c(6.93147180369123816490e-01)}",
             f"  %r0 = fsub {V} %x, %hi",
             f"  %lo = fmul {V} %k, {c(1.90821492927058770002e-10)}",
             f"  %r = fsub {V} %r0, %lo",
             f"  %p0 = fadd {V} {c(0.0)}, {c(taylor[0])}"]
    for i, coef in enumerate(taylor[1:], start=1):
        lines.append(f"  %p{i} = call {V} @llvm.fmuladd.v{L}f64({V} %p{i - 1}, {V} %r, "
                     f"{V} {c(coef)})")
    last = f"%p{len(taylor) - 1}"
    lines += [
        f"  %kc0 = call {V} @llvm.maxnum.v{L}f64({V} %k, {V} {c(-2044.0)})",
        f"  %kc = call {V} @llvm.minnum.v{L}f64({V} %kc0, {V} {c(2044.0)})",
        f"  %ki = fptosi {V} %kc to {VI}",
        f"  %k1 = ashr {VI} %ki, {ci(1)}",
        f"  %k2 = sub {VI} %ki, %k1",
        f"  %e1 = add {VI} %k1, {ci(1023)}",
        f"  %e2 = add {VI} %k2, {ci(1023)}",
        f"  %b1 = shl {VI} %e1, {ci(52)}",
        f"  %b2 = shl {VI} %e2, {ci(52)}",
        f"  %s1 = bitcast {VI} %b1 to {V}",
        f"  %s2 = bitcast {VI} %b2 to {V}",
        f"  %y1 = fmul {V} {last}, %s1",
        f"  %y = fmul {V} %y1, %s2",
        f"  %big = fcmp ogt {V} %x, {c(709.782712893384)}",
        f"  %y2 = select {B} %big, {V} {c(math.inf)}, {V} %y",
        f"  %small = fcmp olt {V} %x, {c(-745.1332191019411)}",
        f"  %y3 = select {B} %small, {V} {c(0.0)}, {V} %y2",
        f"  %nan = fcmp uno {V} %x, %x",
        f"  %y4 = select {B} %nan, {V} %x, {V} %y3",
        f"  ret {V} %y4", "}", ""]
    lg = [6.666666666666735130e-01, 3.999999999940941908e-01, 2.857142874366239149e-01,
          2.222219843214978396e-01, 1.818357216161805012e-01, 1.531383769920937332e-01,
          1.479819860511658591e-01]
    lines += [
        f"define internal {V} @vlog({V} %x) nounwind readnone {{", "entry:",
        f"  %sub = fcmp olt {V} %x, {c(2.2250738585072014e-308)}",
        f"  %xs0 = fmul {V} %x, {c(2.0 ** 54)}",
        f"  %xs = select {B} %sub, {V} %xs0, {V} %x",
        f"  %ea = select {B} %sub, {VI} {ci(-54)}, {VI} {ci(0)}",
        f"  %bits = bitcast {V} %xs to {VI}",
        f"  %eb = lshr {VI} %bits, {ci(52)}",
        f"  %eb2 = and {VI} %eb, {ci(2047)}",
        f"  %e0 = sub {VI} %eb2, {ci(1023)}",
        f"  %e1 = add {VI} %e0, %ea",
        f"  %mb = and {VI} %bits, {ci(0x000FFFFFFFFFFFFF)}",
        f"  %mb1 = or {VI} %mb, {ci(0x3FF0000000000000)}",
        f"  %m0 = bitcast {VI} %mb1 to {V}",
        f"  %gt = fcmp ogt {V} %m0, {c(1.4142135623730951)}",
        f"  %mh = fmul {V} %m0, {c(0.5)}",
        f"  %m = select {B} %gt, {V} %mh, {V} %m0",
        f"  %ep = add {VI} %e1, {ci(1)}",
        f"  %e = select {B} %gt, {VI} %ep, {VI} %e1",
        f"  %dk = sitofp {VI} %e to {V}",
        f"  %f = fsub {V} %m, {c(1.0)}",
        f"  %den = fadd {V} %f, {c(2.0)}",
        f"  %s = fdiv {V} %f, %den",
        f"  %z = fmul {V} %s, %s",
        f"  %w = fmul {V} %z, %z",
        f"  %a6 = call {V} @llvm.fmuladd.v{L}f64({V} %w, {V} {c(lg[5])}, {V} {c(lg[3])})",
        f"  %a4 = call {V} @llvm.fmuladd.v{L}f64({V} %w, {V} %a6, {V} {c(lg[1])})",
        f"  %t1 = fmul {V} %w, %a4",
        f"  %b7 = call {V} @llvm.fmuladd.v{L}f64({V} %w, {V} {c(lg[6])}, {V} {c(lg[4])})",
        f"  %b5 = call {V} @llvm.fmuladd.v{L}f64({V} %w, {V} %b7, {V} {c(lg[2])})",
        f"  %b3 = call {V} @llvm.fmuladd.v{L}f64({V} %w, {V} %b5, {V} {c(lg[0])})",
        f"  %t2 = fmul {V} %z, %b3",
        f"  %R = fadd {V} %t2, %t1",
        f"  %ff = fmul {V} %f, %f",
        f"  %hfsq = fmul {V} %ff, {c(0.5)}",
        f"  %hr = fadd {V} %hfsq, %R",
        f"  %shr = fmul {V} %s, %hr",
        f"  %klo = fmul {V} %dk, {c(1.90821492927058770002e-10)}",
        f"  %q1 = fadd {V} %shr, %klo",
        f"  %q2 = fsub {V} %hfsq, %q1",
        f"  %q3 = fsub {V} %q2, %f",
        f"  %khi = fmul {V} %dk, {c(6.93147180369123816490e-01)}",
        f"  %y = fsub {V} %khi, %q3",
        f"  %zero = fcmp oeq {V} %x, {c(0.0)}",
        f"  %y1 = select {B} %zero, {V} {c(-math.inf)}, {V} %y",
        f"  %neg = fcmp olt {V} %x, {c(0.0)}",
        f"  %y2 = select {B} %neg, {V} {c(math.nan)}, {V} %y1",
        f"  %inf = fcmp oeq {V} %x, {c(math.inf)}",
        f"  %y3 = select {B} %inf, {V} %x, {V} %y2",
        f"  %nan = fcmp uno {V} %x, %x",
        f"  %y4 = select {B} %nan, {V} %x, {V} %y3",
        f"  ret {V} %y4", "}", ""]
    decl = [f"declare {V} @llvm.{f}.v{L}f64({', '.join([V] * k)})"
            for f, k in (("rint", 1), ("fmuladd", 3), ("maxnum", 2), ("minnum", 2))]
    return "\n".join(decl) + "\n\n" + "\n".join(lines)


def module_text(functions: Sequence[Function], release_ir: str,
                lanes: int = LANES) -> str:
    """One IR module: the declarations every part uses (once), the release helpers, the
    vector math functions and the model's functions."""
    parts = [release_ir, vector_math(lanes), *(fn.text() for fn in functions)]
    decl: set[str] = set()
    for fn in functions:
        decl |= {u for u in fn.uses if u.startswith("declare")}
    bodies = []
    for text in parts:
        keep = []
        for ln in text.splitlines():
            if ln.startswith("declare"):
                decl.add(ln)
            elif not ln.startswith(";"):
                keep.append(ln)
        bodies.append("\n".join(keep))
    return "\n".join(sorted(decl)) + "\n\n" + "\n\n".join(bodies) + "\n"


# ----------------------------------------------------------------------------- compiling

_LOCK = threading.Lock()
_ENGINES: list[Any] = []  # keep every engine (and its code) alive for the process


def _target_machine() -> Any:
    import llvmlite.binding as llvm

    llvm.initialize_native_target()
    llvm.initialize_native_asmprinter()
    target = llvm.Target.from_default_triple()
    return target.create_target_machine(cpu=llvm.get_host_cpu_name(),
                                        features=llvm.get_host_cpu_features().flatten(),
                                        opt=3, codemodel="jitdefault")


def host_key() -> str:
    """The host CPU, its features and the llvmlite version: part of every object's key, so an
    object is only reused on the machine (type) it was built for."""
    import llvmlite
    import llvmlite.binding as llvm

    return "\n".join([llvm.get_host_cpu_name(), llvm.get_host_cpu_features().flatten(),
                      llvmlite.__version__])


def object_key(ir_text: str) -> str:
    """The cache key of the object compiled from ``ir_text`` on this host."""
    return hashlib.sha256("\n".join([ir_text, host_key()]).encode()).hexdigest()[:24]


def compile_module(ir_text: str, names: Sequence[str], cache: Path | None) -> dict[str, int]:
    """Compile (or load from ``cache``) an IR module; returns the functions' addresses.

    The cache file name is :func:`object_key` (a hash of the IR and :func:`host_key`)."""
    import llvmlite.binding as llvm

    with _LOCK:
        tm = _target_machine()
        key = object_key(ir_text)
        path = None if cache is None else cache / f"exomir_body_{key}.o"
        obj = None
        if path is not None and path.exists():
            obj = path.read_bytes()
        if obj is None:
            mod = llvm.parse_assembly(ir_text)
            mod.verify()
            pto = llvm.create_pipeline_tuning_options(speed_level=3)
            pb = llvm.create_pass_builder(tm, pto)
            pb.getModulePassManager().run(mod, pb)
            obj = tm.emit_object(mod)
            if path is not None:
                import os

                tmp = path.with_suffix(f".{os.getpid()}.tmp")
                tmp.write_bytes(obj)
                os.replace(tmp, path)
        return _link(tm, obj, names)


def load_object(key: str, names: Sequence[str], cache: Path) -> dict[str, int] | None:
    """The functions' addresses from the cached object ``key`` (None if it is not there)."""
    path = cache / f"exomir_body_{key}.o"
    try:
        obj = path.read_bytes()
    except OSError:
        return None
    with _LOCK:
        return _link(_target_machine(), obj, names)


def _link(tm: Any, obj: bytes, names: Sequence[str]) -> dict[str, int]:
    import llvmlite.binding as llvm

    engine = llvm.create_mcjit_compiler(llvm.parse_assembly(""), tm)
    engine.add_object_file(llvm.ObjectFileRef.from_data(obj))
    engine.finalize_object()
    _ENGINES.append(engine)
    return {n: int(engine.get_function_address(n)) for n in names}
