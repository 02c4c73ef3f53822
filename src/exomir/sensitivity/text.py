"""Small wording helpers (no heavy imports: the CLI module imports this at start-up)."""

from __future__ import annotations


def ordinal(x: float) -> str:
    """``32nd``, ``71st``, ``11th`` (a percentile in words)."""
    k = round(x)
    suffix = "th" if 10 <= k % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(k % 10, "th")
    return f"{k}{suffix}"
