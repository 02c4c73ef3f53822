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
function's parameters are the arrays' addresses (and integers such as the number of doses)
in the order the caller declares, so the compiler of the caller sees every array that the
call reads or writes. Inside a function every array element is an SSA value; inputs are
loaded on first use and outputs stored once at the end.
"""

from __future__ import annotations

import ast
import hashlib
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
    """One IR function ``void name(ptr a0, ptr a1, ..., i64 ...)`` built from statement
    blocks."""

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

    def array_arg(self, name: str, out: bool = False) -> Arr:
        """The next parameter is the address of array ``name``."""
        p = self._param("ptr")
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
        p = self._param("ptr")
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
        """A math function of vector arguments: an LLVM intrinsic, or libm lane by lane."""
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
    decl = set(f.uses)
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
  %ex = call {FLAGS} {V} @llvm.exp.v{lanes}f64({V} %a)
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
    decl.add(f"declare {V} @llvm.exp.v{lanes}f64({V})")
    return "\n".join(sorted(decl)) + "\n\n" + F_ir + "\n" + rel + "\n" + g.text()


def module_text(functions: Sequence[Function], release_ir: str) -> str:
    """One IR module: the declarations the functions use, the release helpers, the functions."""
    decl: set[str] = set()
    for fn in functions:
        decl |= {u for u in fn.uses if u != "rel"}
    rel_decl = {ln for ln in release_ir.splitlines() if ln.startswith("declare")}
    decl -= rel_decl
    body = "\n".join(fn.text() for fn in functions)
    return "\n".join(sorted(decl)) + "\n\n" + release_ir + "\n" + body


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
