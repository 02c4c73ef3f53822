"""PEtab/SBML infix formulas (observables, noise) parsed safely and evaluated with numpy.

The text is parsed by libsbml's L3 parser (no ``eval``), so a formula means the same here, in
the SBML export and in any PEtab tool. ``log(x)`` is refused because SBML reads it as log10
and PEtab/sympy as ln: write ``ln(x)`` or ``log10(x)``. ``time`` is the model time in days.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

import numpy as np

from exomir.core import InputError

Namespace = Mapping[str, Any]
Compiled = Callable[[Namespace], Any]


def _lib() -> Any:
    import libsbml

    return libsbml


@cache
def _names() -> dict[int, str]:
    lib = _lib()
    return {getattr(lib, k): k for k in dir(lib) if k.startswith("AST_")}


def _parse(infix: str, where: str) -> Any:
    lib = _lib()
    settings = lib.L3ParserSettings()
    settings.setParseLog(lib.L3P_PARSE_LOG_AS_ERROR)
    ast = lib.parseL3FormulaWithSettings(str(infix), settings)
    if ast is None:
        raise InputError(f"cannot parse formula: {lib.getLastParseL3Error().strip()}",
                         field=where, value=infix,
                         accepted="SBML L3 infix, e.g. 100 * plasma / dose; ln(x) or log10(x), "
                                  "not log(x)")
    return ast


_UNARY = {"AST_FUNCTION_EXP": np.exp, "AST_FUNCTION_LN": np.log, "AST_FUNCTION_ABS": np.abs,
          "AST_FUNCTION_FLOOR": np.floor, "AST_FUNCTION_CEILING": np.ceil,
          "AST_FUNCTION_SIN": np.sin, "AST_FUNCTION_COS": np.cos, "AST_FUNCTION_TAN": np.tan,
          "AST_FUNCTION_SINH": np.sinh, "AST_FUNCTION_COSH": np.cosh,
          "AST_FUNCTION_TANH": np.tanh, "AST_FUNCTION_ARCSIN": np.arcsin,
          "AST_FUNCTION_ARCCOS": np.arccos, "AST_FUNCTION_ARCTAN": np.arctan}
_REL = {"AST_RELATIONAL_LT": np.less, "AST_RELATIONAL_GT": np.greater,
        "AST_RELATIONAL_LEQ": np.less_equal, "AST_RELATIONAL_GEQ": np.greater_equal,
        "AST_RELATIONAL_EQ": np.equal, "AST_RELATIONAL_NEQ": np.not_equal}


def _compile(node: Any, where: str, infix: str) -> Compiled:
    kind = _names().get(node.getType(), str(node.getType()))
    kids = [_compile(node.getChild(i), where, infix) for i in range(node.getNumChildren())]
    if kind == "AST_INTEGER":
        c = float(node.getInteger())
        return lambda ns: c
    if kind in ("AST_REAL", "AST_REAL_E", "AST_RATIONAL"):
        c = float(node.getValue())
        return lambda ns: c
    if kind == "AST_NAME":
        name = node.getName()
        return lambda ns: ns[name]
    if kind == "AST_NAME_TIME":
        return lambda ns: ns["time"]
    if kind == "AST_CONSTANT_PI":
        return lambda ns: np.pi
    if kind == "AST_CONSTANT_E":
        return lambda ns: np.e
    if kind == "AST_CONSTANT_TRUE":
        return lambda ns: True
    if kind == "AST_CONSTANT_FALSE":
        return lambda ns: False
    if kind == "AST_PLUS":
        def plus(ns: Namespace) -> Any:
            out = kids[0](ns)
            for k in kids[1:]:
                out = out + k(ns)
            return out
        return plus if kids else (lambda ns: 0.0)
    if kind == "AST_TIMES":
        def times(ns: Namespace) -> Any:
            out = kids[0](ns)
            for k in kids[1:]:
                out = out * k(ns)
            return out
        return times if kids else (lambda ns: 1.0)
    if kind == "AST_MINUS":
        if len(kids) == 1:
            a = kids[0]
            return lambda ns: -a(ns)
        a, b = kids
        return lambda ns: a(ns) - b(ns)
    if kind == "AST_DIVIDE":
        a, b = kids
        return lambda ns: a(ns) / b(ns)
    if kind in ("AST_POWER", "AST_FUNCTION_POWER"):
        a, b = kids
        return lambda ns: np.power(a(ns), b(ns))
    if kind == "AST_FUNCTION_ROOT":
        if len(kids) == 1:
            a = kids[0]
            return lambda ns: np.sqrt(a(ns))
        d, a = kids
        return lambda ns: np.power(a(ns), 1.0 / d(ns))
    if kind == "AST_FUNCTION_LOG":  # log(base, x) in SBML; log10 parses as base 10
        base, a = kids
        return lambda ns: np.log(a(ns)) / np.log(base(ns))
    if kind in _UNARY:
        f = _UNARY[kind]
        a = kids[0]
        return lambda ns: f(a(ns))
    if kind in _REL:
        r = _REL[kind]
        a, b = kids
        return lambda ns: r(a(ns), b(ns))
    if kind == "AST_LOGICAL_AND":
        return lambda ns: np.logical_and.reduce([k(ns) for k in kids])
    if kind == "AST_LOGICAL_OR":
        return lambda ns: np.logical_or.reduce([k(ns) for k in kids])
    if kind == "AST_LOGICAL_NOT":
        a = kids[0]
        return lambda ns: np.logical_not(a(ns))
    if kind == "AST_FUNCTION_PIECEWISE":
        pairs = [(kids[i], kids[i + 1]) for i in range(0, len(kids) - 1, 2)]
        other = kids[-1] if len(kids) % 2 else (lambda ns: np.nan)

        def piecewise(ns: Namespace) -> Any:
            conds = [np.asarray(c(ns), dtype=bool) for _, c in pairs]
            vals = [v(ns) for v, _ in pairs]
            return np.select(conds, [np.broadcast_to(v, np.broadcast(*conds).shape)
                                     for v in vals] if conds else [], default=other(ns))
        return piecewise
    raise InputError(f"unsupported operation {kind.removeprefix('AST_').lower()} in formula",
                     field=where, value=infix,
                     accepted="arithmetic, ^, exp, ln, log10, sqrt, abs, piecewise, "
                              "comparisons")


@dataclass(frozen=True)
class Formula:
    """A parsed infix formula: its free symbols and a numpy evaluator."""

    text: str
    symbols: frozenset[str]
    _fn: Compiled

    def __call__(self, ns: Namespace) -> Any:
        try:
            return self._fn(ns)
        except KeyError as exc:
            raise InputError("unknown symbol in formula", value=str(exc.args[0]),
                             field=self.text) from None


def _symbols(node: Any, out: set[str]) -> None:
    kind = _names().get(node.getType(), "")
    if kind == "AST_NAME":
        out.add(node.getName())
    for i in range(node.getNumChildren()):
        _symbols(node.getChild(i), out)


def parse_formula(infix: str | float | int, where: str = "formula") -> Formula:
    """Parse an infix formula (or a number) into a :class:`Formula`."""
    text = repr(float(infix)) if isinstance(infix, int | float) else str(infix).strip()
    return _parse_cached(text, where)


@cache
def _parse_cached(text: str, where: str) -> Formula:
    ast = _parse(text, where)
    syms: set[str] = set()
    _symbols(ast, syms)
    return Formula(text=text, symbols=frozenset(syms), _fn=_compile(ast, where, text))


def rename_symbols(infix: str, mapping: Mapping[str, str]) -> str:
    """The formula with symbols renamed (used for the per-arm prefixes of the PEtab export)."""
    lib = _lib()
    ast = _parse(infix, "formula")
    for old, new in mapping.items():
        ast.renameSIdRefs(old, new)
    return str(lib.formulaToL3String(ast))
