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


def seed(sequence: str) -> str:
    """The seed, nucleotides 2-8 of a mature miRNA (RNA letters)."""
    return sequence.strip().upper().replace("T", "U")[1:8]


def family_key(name: MirnaName) -> str:
    """``kind-number[letter]`` without species, locus number and arm (``miR-16``)."""
    return f"{name.kind}-{name.number}{name.letter or ''}"


# Minimum number of single-product species in miRBase for the cross-species vote to call a
# dominant arm (below it the arm stays unresolved). A documented rule, not a fitted value.
MIN_ARM_VOTES = 3


@dataclass(frozen=True)
class ArmCall:
    """Which arm of a miRNA family is the dominant (guide) strand in one species.

    ``rule``: ``single arm`` (the species has one annotated arm), ``loci`` (one arm is the
    product of several loci under one name, the other only locus-specific, e.g.
    hsa-miR-16-5p vs hsa-miR-16-1-3p/-2-3p), ``species vote`` (miRBase species that annotate
    a single product for the family: whose seed it carries), or ``unresolved``.
    """

    family: str
    dominant: str | None
    rule: str
    votes: tuple[tuple[str, int], ...] = ()
    note: str = ""

    def to_dict(self) -> dict[str, object]:
        return {"family": self.family, "dominant": self.dominant, "rule": self.rule,
                "votes": dict(self.votes), "note": self.note}


def dominant_arms(mature: dict[str, str], prefix: str = "hsa",
                  min_votes: int = MIN_ARM_VOTES) -> dict[str, ArmCall]:
    """Dominant-arm calls for every family of species ``prefix`` that has an armed name.

    ``mature``: miRBase names -> sequences, all species (miRBase 22 ``mature.fa``). The rules
    are tried in order (see :class:`ArmCall`); the vote counts, for every species whose only
    annotated product of the family carries no arm suffix, which of the ``prefix`` arms has
    the same seed (nt 2-8), and calls the arm with more votes when it has at least
    ``min_votes`` (ties and thinner evidence stay unresolved).
    """
    parsed: list[tuple[str, MirnaName, str]] = []
    for full, sq in mature.items():
        try:
            parsed.append((full, parse_mirna_name(full), sq))
        except InputError:
            continue
    own: dict[str, list[tuple[MirnaName, str]]] = {}
    single: dict[str, list[tuple[str, str]]] = {}
    for full, n, sq in parsed:
        key = family_key(n)
        if n.prefix == prefix and n.arm:
            own.setdefault(key, []).append((n, sq))
        elif n.prefix and n.prefix != prefix and n.arm is None and n.paralog is None:
            single.setdefault(key, []).append((full, sq))
    out: dict[str, ArmCall] = {}
    for key, names in sorted(own.items()):
        arms = {n.arm for n, _ in names}
        shared = {n.arm for n, _ in names if n.paralog is None}
        if len(arms) == 1:
            arm = next(iter(arms))
            out[key] = ArmCall(key, arm, "single arm",
                               note=f"{prefix} annotates only the -{arm} arm in miRBase")
            continue
        if len(shared) == 1:
            arm = next(iter(shared))
            other = sorted(str(n) for n, _ in names if n.arm != arm)
            out[key] = ArmCall(key, arm, "loci",
                               note=f"{prefix}-{key}-{arm} is one name for the product of "
                               f"every locus; the other arm is locus-specific only "
                               f"({', '.join(other)})")
            continue
        seeds: dict[str, str] = {}
        for n, sq in sorted(names, key=lambda t: t[0].paralog or 0):
            seeds.setdefault(str(n.arm), seed(sq))
        votes = {a: 0 for a in sorted(seeds)}
        for _full, sq in single.get(key, []):
            for a, s in seeds.items():
                if seed(sq) == s:
                    votes[a] += 1
        ranked = sorted(votes.items(), key=lambda kv: -kv[1])
        top, second = ranked[0], ranked[1] if len(ranked) > 1 else (None, 0)
        text = ", ".join(f"{v} match -{a}" for a, v in ranked)
        if top[1] >= min_votes and top[1] > second[1]:
            out[key] = ArmCall(key, top[0], "species vote", tuple(ranked),
                               note=f"miRBase species annotating a single {key} product: "
                               f"{text}")
        else:
            out[key] = ArmCall(key, None, "unresolved", tuple(ranked),
                               note=f"miRBase species annotating a single {key} product: "
                               f"{text or 'none'}; fewer than {min_votes} or tied")
    return out
