"""One pint unit registry for the whole package, with the counts exomir needs.

``particle`` (an extracellular vesicle) and ``copy`` (one miRNA molecule) are base dimensions
of their own, so that a dose in particles can never be silently added to a dose in
micrograms of protein or in miRNA copies: converting between them needs an explicit
characterisation (particles per microgram, copies per particle) and shows that assumption.
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING

from exomir.core.errors import InputError


def _import_pint() -> ModuleType:
    """pint, without its optional dask integration unless dask is already loaded.

    pint 0.25's ``pint.compat`` imports ``dask.base`` whenever dask is installed (it is, for
    ``exomir sensitivity --scheduler``): about 0.15 s of every command's start-up, for a
    feature exomir never uses (quantities wrapping dask arrays). ``sys.modules["dask"] = None``
    makes ``find_spec("dask")`` answer None while pint loads; the entry is removed right after,
    so dask itself stays importable.
    """
    if "pint" in sys.modules or "dask" in sys.modules:
        import pint
    else:
        sys.modules["dask"] = None  # type: ignore[assignment]
        try:
            import pint
        finally:
            del sys.modules["dask"]
    return pint


if TYPE_CHECKING:
    import pint
else:
    pint = _import_pint()


def _definitions() -> list[str]:
    """pint's default definition lines without its ``particle = 1 / N_A`` line."""
    here = Path(pint.__file__).parent
    lines: list[str] = []
    for ln in (here / "default_en.txt").read_text(encoding="utf-8").splitlines():
        if ln.startswith("@import"):
            lines.extend((here / ln.split()[1]).read_text(encoding="utf-8").splitlines())
        elif not ln.startswith("particle ="):
            lines.append(ln)
    return lines


def _cache_dir() -> Path | None:
    """``$EXOMIR_CACHE_DIR`` or the user cache directory (None if neither is writable)."""
    base = os.environ.get("EXOMIR_CACHE_DIR")
    if not base:
        try:
            from platformdirs import user_cache_dir
        except ImportError:  # pragma: no cover - platformdirs is a dependency
            return None
        base = user_cache_dir("exomir")
    path = Path(base) / f"pint-{pint.__version__}"
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    return path if os.access(path, os.W_OK) else None


def _build_registry() -> pint.UnitRegistry:
    """pint's default definitions, except that ``particle`` means one vesicle, not 1/N_A mol.

    pint defines ``particle = 1 / N_A`` (an amount of substance); exomir counts vesicles, so the
    default line is dropped before loading and ``particle`` becomes a base dimension. The
    edited definitions are written once to the cache directory and loaded with pint's parse
    cache there (start-up: about 10 ms instead of 100 ms).
    """
    lines = _definitions()
    cache = _cache_dir()
    reg: pint.UnitRegistry
    if cache is None:
        reg = pint.UnitRegistry(None)
        reg.load_definitions(lines)
    else:
        text = "\n".join(lines) + "\n"
        path = cache / "exomir_units.txt"
        try:
            if not path.is_file() or path.read_text(encoding="utf-8") != text:
                tmp = path.with_suffix(f".{os.getpid()}.tmp")
                tmp.write_text(text, encoding="utf-8")
                tmp.replace(path)  # atomic: concurrent first runs see a whole file
            reg = pint.UnitRegistry(None, cache_folder=cache / "parsed")
            reg.load_definitions(str(path))
        except OSError:
            reg = pint.UnitRegistry(None)
            reg.load_definitions(lines)
    reg.define("particle = [particle] = particles = EV = EVs = vesicle = vesicles")
    return reg


ureg = _build_registry()
ureg.define("mirna_copy = [mirna_copy] = copies = copy")
ureg.define("cell = [cell] = cells")
Q_ = ureg.Quantity

# Spellings seen in curated tables that pint does not read directly.
_UNIT_ALIASES = {
    "ug": "microgram",
    "µg": "microgram",
    "μg": "microgram",
    "ul": "microliter",
    "µl": "microliter",
    "μl": "microliter",
    "ml": "milliliter",
    "mL": "milliliter",
    "uL": "microliter",
}


UNIT_ACCEPTED = "e.g. particles, ug, mg/kg, particles/kg, copies, mL, h, day, 1/h, cm^2"
_MAX_EXPONENT = 6
_UNIT_TOKEN = re.compile(r"\s*(?:(?P<name>[A-Za-z_µμ%][A-Za-z0-9_µμ]*)|(?P<num>\d+)"
                         r"|(?P<pow>\*\*|\^)|(?P<op>[*/])|(?P<lp>\()|(?P<rp>\)))")


def _check_unit_syntax(raw: str) -> None:
    """A unit expression: names joined by ``*``, ``/`` or spaces, integer powers (``^2``,
    ``**-1``, at most 6), parentheses, and ``1`` as a numerator (``1/h``). Raises ValueError
    otherwise, before pint's parser (which crashes on ``h--``, ``1/``, ``h**`` or ``(``)."""
    pos, depth, expect_operand = 0, 0, True
    prev = ""
    while pos < len(raw):
        m = _UNIT_TOKEN.match(raw, pos)
        if m is None or m.end() == pos:
            raise ValueError(f"unexpected character {raw[pos]!r} at position {pos + 1}")
        pos = m.end()
        kind = m.lastgroup
        if kind == "name" or kind == "num":
            if kind == "num" and (m.group("num") != "1" or not expect_operand):
                raise ValueError("a number in a unit is only allowed as '1' in '1/unit' or as "
                                 "a power after ^")
            if not expect_operand and prev not in ("name", "rp"):
                raise ValueError("missing operator")
            expect_operand = False
        elif kind == "pow":
            if expect_operand:
                raise ValueError("a power needs a unit before it")
            e = re.compile(r"\s*(-?\d+)(?![\w.])").match(raw, pos)
            if e is None:
                raise ValueError("a power needs an integer exponent (e.g. ^2 or **-1)")
            if not 0 < abs(int(e.group(1))) <= _MAX_EXPONENT:
                raise ValueError(f"exponent must be a non-zero integer up to {_MAX_EXPONENT}")
            pos = e.end()
            kind = "rp"  # a completed factor
        elif kind == "op":
            if expect_operand:
                raise ValueError(f"'{m.group('op')}' needs a unit on both sides")
            expect_operand = True
        elif kind == "lp":
            if not expect_operand and prev not in ("name", "rp"):
                raise ValueError("missing operator before '('")
            depth += 1
            expect_operand = True
        else:  # rp
            if expect_operand or depth == 0:
                raise ValueError("unbalanced or empty parentheses")
            depth -= 1
        prev = kind or ""
    if expect_operand:
        raise ValueError("the expression ends with an operator")
    if depth:
        raise ValueError("unbalanced parentheses")


#: Largest magnitude of any quantity a user gives (in its own unit): 1e20 is beyond every
#: dose, count, concentration or body weight in this domain (an EV preparation holds ~1e13
#: particles) and far from float overflow; it refuses typos such as 1e300.
MAX_QUANTITY = 1e20


def parse_unit(text: str, *, field: str | None = None) -> pint.Unit:
    """Parse a unit string (``"particles"``, ``"ug"``, ``"particles/kg"``) or raise InputError."""
    raw = text.strip() if isinstance(text, str) else ""
    if not raw:
        raise InputError("empty unit", field=field, value=text, accepted=UNIT_ACCEPTED)
    if len(raw) > 100:
        raise InputError("unit string too long", field=field, value=raw,
                         accepted=UNIT_ACCEPTED)
    try:
        _check_unit_syntax(raw)
    except ValueError as exc:
        raise InputError(f"not a unit expression ({exc})", field=field, value=text,
                         accepted=UNIT_ACCEPTED) from None
    tokens = [_UNIT_ALIASES.get(tok, tok) for tok in _split_unit(raw)]
    try:
        return ureg.Unit("".join(tokens))
    except Exception as exc:  # pint raises many types (incl. AssertionError, KeyError)
        raise InputError(
            f"unknown unit ({exc.__class__.__name__})",
            field=field,
            value=text,
            accepted=UNIT_ACCEPTED,
        ) from None


def _split_unit(text: str) -> list[str]:
    """Split a unit expression into identifier tokens and operator tokens."""
    out: list[str] = []
    word = ""
    for ch in text:
        if ch.isalnum() or ch in "_µμ":
            word += ch
        else:
            if word:
                out.append(word)
                word = ""
            out.append(ch)
    if word:
        out.append(word)
    return out


def parse_quantity(
    value: object,
    unit: str | None = None,
    *,
    field: str | None = None,
    dimension: str | None = None,
    nonnegative: bool = True,
    positive: bool = False,
    max_magnitude: float = MAX_QUANTITY,
) -> pint.Quantity:
    """Build a Quantity from a number and unit (or ``"1e9 particles"``) with checks.

    Raises :class:`InputError` for non-numeric or non-finite values, values beyond
    ``max_magnitude`` (of the given unit), unknown units, negative values (when
    ``nonnegative``), zero (when ``positive``) and, when ``dimension`` is given (e.g.
    ``"[particle]"``), a unit of another dimensionality. Nothing is converted silently between
    particles, mass and copies.
    """
    if isinstance(value, str) and unit is None:
        parts = value.strip().split(None, 1)
        value, unit = parts[0], (parts[1] if len(parts) > 1 else "dimensionless")
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise InputError("not a number", field=field, value=value,
                         accepted="a decimal number such as 1e9") from None
    if number != number or number in (float("inf"), float("-inf")):
        raise InputError("not a finite number", field=field, value=value,
                         accepted="a finite decimal number")
    if nonnegative and number < 0:
        raise InputError("must not be negative", field=field, value=value,
                         accepted="a number >= 0")
    if positive and number <= 0:
        raise InputError("must be positive", field=field, value=value, accepted="a number > 0")
    if abs(number) > max_magnitude:
        raise InputError("implausibly large value", field=field, value=value,
                         accepted=f"at most {max_magnitude:g} (in the unit given)")
    u = parse_unit(unit or "dimensionless", field=field)
    q = Q_(number, u)
    if dimension is not None and not q.check(dimension):
        raise InputError(
            f"unit has dimension {q.dimensionality}, expected {dimension}",
            field=field,
            value=unit,
            accepted=f"a unit of dimension {dimension}",
        )
    return q
