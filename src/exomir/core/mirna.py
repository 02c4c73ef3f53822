"""miRNA names: parsing and species-aware matching.

miRBase names look like ``hsa-miR-146a-5p``: an optional three-letter species prefix, ``miR``
(or ``let``/``lin``), a number with an optional paralog letter and suffix (``146a``, ``21a``,
``199a``), and an optional arm (``-5p``/``-3p``). Curated text also uses bare names such as
``miR-146a`` or ``miRNA-221-3p``.

Matching rules (documented in docs/knowledge_base.md):

* a species prefix in the query restricts matches to that species or to names without a
  prefix (a study reporting ``miR-146a`` may be about any species);
* an arm in the query matches the same arm or names without an arm;
* a paralog letter in the query (``146a``) must match exactly; a query without one (``miR-21``)
  matches every paralog of that number (``mmu-miR-21a-5p``), the miRBase family level.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from exomir.core.errors import InputError

_NAME_RE = re.compile(
    r"""^(?:(?P<prefix>[a-z]{3})-)?
        (?P<kind>mir|mirna|microrna|let|lin)-?
        (?P<number>\d+)
        (?P<letter>[a-z])?
        (?:-(?P<paralog>\d+))?
        (?:-(?P<arm>[35]p))?
        (?:\*)?$""",
    re.IGNORECASE | re.VERBOSE,
)

# Finds miRNA-like tokens inside free text ("miR-21; miR-27a; miR-146a (miR-146a-5p)").
_TOKEN_RE = re.compile(
    r"(?:\b[a-z]{3}-)?(?:miR|miRNA|microRNA|let|lin)-?\d+[a-z]?(?:-\d+(?![0-9p]))?(?:-[35]p)?",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class MirnaName:
    """A parsed miRNA name. ``kind`` is ``miR``, ``let`` or ``lin``."""

    prefix: str | None
    kind: str
    number: int
    letter: str | None
    paralog: int | None
    arm: str | None

    @property
    def base(self) -> str:
        """Name without prefix and arm, e.g. ``miR-146a`` or ``let-7b``."""
        s = f"{self.kind}-{self.number}{self.letter or ''}"
        if self.paralog is not None:
            s += f"-{self.paralog}"
        return s

    def __str__(self) -> str:
        s = (f"{self.prefix}-" if self.prefix else "") + self.base
        return s + (f"-{self.arm}" if self.arm else "")


def parse_mirna_name(text: str, *, field: str = "mirna") -> MirnaName:
    """Parse one miRNA name or raise :class:`InputError` naming the accepted forms."""
    m = _NAME_RE.match(text.strip())
    if not m:
        raise InputError(
            "not a miRNA name",
            field=field,
            value=text,
            accepted="names like miR-146a, hsa-miR-146a-5p, mmu-let-7b-5p",
        )
    kind = m.group("kind").lower()
    kind = {"mir": "miR", "mirna": "miR", "microrna": "miR"}.get(kind, kind)
    return MirnaName(
        prefix=m.group("prefix").lower() if m.group("prefix") else None,
        kind=kind,
        number=int(m.group("number")),
        letter=m.group("letter").lower() if m.group("letter") else None,
        paralog=int(m.group("paralog")) if m.group("paralog") else None,
        arm=m.group("arm").lower() if m.group("arm") else None,
    )


def find_mirna_names(text: str) -> list[MirnaName]:
    """All miRNA names mentioned in free text, in order, without duplicates."""
    seen: dict[str, MirnaName] = {}
    for tok in _TOKEN_RE.findall(text):
        try:
            name = parse_mirna_name(tok)
        except InputError:
            continue
        seen.setdefault(str(name), name)
    return list(seen.values())


def mirna_matches(query: MirnaName, candidate: MirnaName) -> bool:
    """True when ``candidate`` (a stored name) answers ``query`` under the rules above."""
    if query.kind != candidate.kind or query.number != candidate.number:
        return False
    if query.prefix and candidate.prefix and query.prefix != candidate.prefix:
        return False
    if query.letter is not None and candidate.letter != query.letter:
        return False
    if query.paralog is not None and candidate.paralog not in (None, query.paralog):
        return False
    return not (query.arm and candidate.arm and query.arm != candidate.arm)
