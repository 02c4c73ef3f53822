"""One pint unit registry for the whole package, with the counts exomir needs.

``particle`` (an extracellular vesicle) and ``copy`` (one miRNA molecule) are base dimensions
of their own, so that a dose in particles can never be silently added to a dose in
micrograms of protein or in miRNA copies: converting between them needs an explicit
characterisation (particles per microgram, copies per particle) and shows that assumption.
"""

from __future__ import annotations

from pathlib import Path

import pint

from exomir.core.errors import InputError


def _build_registry() -> pint.UnitRegistry:
    """pint's default definitions, except that ``particle`` means one vesicle, not 1/N_A mol.

    pint defines ``particle = 1 / N_A`` (an amount of substance); exomir counts vesicles, so the
    default line is dropped before loading and ``particle`` becomes a base dimension.
    """
    here = Path(pint.__file__).parent
    lines: list[str] = []
    for ln in (here / "default_en.txt").read_text(encoding="utf-8").splitlines():
        if ln.startswith("@import"):
            lines.extend((here / ln.split()[1]).read_text(encoding="utf-8").splitlines())
        elif not ln.startswith("particle ="):
            lines.append(ln)
    reg: pint.UnitRegistry = pint.UnitRegistry(None)
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


def parse_unit(text: str, *, field: str | None = None) -> pint.Unit:
    """Parse a unit string (``"particles"``, ``"ug"``, ``"particles/kg"``) or raise InputError."""
    raw = text.strip()
    if not raw:
        raise InputError("empty unit", field=field, value=text, accepted="pint unit strings")
    tokens = [_UNIT_ALIASES.get(tok, tok) for tok in _split_unit(raw)]
    try:
        return ureg.Unit("".join(tokens))
    except Exception as exc:  # pint raises many kinds (TokenError, AssertionError, ...) on bad text
        raise InputError(
            f"unknown unit ({exc.__class__.__name__})",
            field=field,
            value=text,
            accepted="e.g. particles, ug, mg/kg, particles/kg, copies, mL, h, day",
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
) -> pint.Quantity:
    """Build a Quantity from a number and unit (or ``"1e9 particles"``) with checks.

    Raises :class:`InputError` for non-numeric values, unknown units, negative values (when
    ``nonnegative``) and, when ``dimension`` is given (e.g. ``"[particle]"``), a unit of another
    dimensionality. Nothing is converted silently between particles, mass and copies.
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
