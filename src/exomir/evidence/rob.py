"""Risk of bias for animal studies: SYRCLE's tool (Hooijmans et al. 2014, BMC Med Res Methodol
14:43, doi:10.1186/1471-2288-14-43), ten items judged low / high / unclear.

Judgements live in ``Study.risk_of_bias`` keyed by the item ids below (numbers "1".."10" and
the short names are accepted on input and normalised).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import pandas as pd

from exomir.core.errors import InputError
from exomir.core.models import Study

#: (id, domain, question) for SYRCLE's 10 items, in the tool's order.
SYRCLE_ITEMS: tuple[tuple[str, str, str], ...] = (
    ("sequence_generation", "selection", "Was the allocation sequence adequately generated "
     "and applied?"),
    ("baseline_characteristics", "selection", "Were the groups similar at baseline or were "
     "they adjusted for confounders?"),
    ("allocation_concealment", "selection", "Was the allocation adequately concealed?"),
    ("random_housing", "performance", "Were the animals randomly housed during the "
     "experiment?"),
    ("blinding_caregivers", "performance", "Were caregivers and investigators blinded to the "
     "intervention each animal received?"),
    ("random_outcome_assessment", "detection", "Were animals selected at random for outcome "
     "assessment?"),
    ("blinding_assessor", "detection", "Was the outcome assessor blinded?"),
    ("incomplete_outcome_data", "attrition", "Were incomplete outcome data adequately "
     "addressed?"),
    ("selective_reporting", "reporting", "Are reports of the study free of selective outcome "
     "reporting?"),
    ("other_bias", "other", "Was the study apparently free of other problems that could "
     "result in high risk of bias?"),
)
ITEM_IDS: tuple[str, ...] = tuple(i for i, _, _ in SYRCLE_ITEMS)
JUDGEMENTS = ("low", "high", "unclear")
_ALIASES = {str(n + 1): item for n, item in enumerate(ITEM_IDS)}
_ALIASES.update({f"item{n + 1}": item for n, item in enumerate(ITEM_IDS)})


def normalise_item(key: str) -> str:
    """Canonical SYRCLE item id for ``key`` ("1", "item1" or the id itself)."""
    k = key.strip().lower().replace(" ", "_").replace("-", "_")
    if k.startswith("rob_"):
        k = k[4:]
    k = _ALIASES.get(k, k)
    if k not in ITEM_IDS:
        raise InputError("unknown SYRCLE item", field="risk_of_bias", value=key,
                         accepted=ITEM_IDS)
    return k


def normalise(judgements: Mapping[str, str]) -> dict[str, str]:
    """Validate a study's judgements: canonical item ids, values low/high/unclear."""
    out: dict[str, str] = {}
    for key, val in judgements.items():
        v = str(val).strip().lower()
        if v in ("", "nan", "none"):
            continue
        if v not in JUDGEMENTS:
            raise InputError("risk-of-bias judgement must be low, high or unclear",
                             field=f"risk_of_bias.{key}", value=val, accepted=JUDGEMENTS)
        out[normalise_item(key)] = v
    return out


def traffic_light(studies: Iterable[Study]) -> pd.DataFrame:
    """One row per study, one column per SYRCLE item; ``not assessed`` where missing."""
    rows = []
    for s in studies:
        j = normalise(s.risk_of_bias)
        rows.append({"study": s.id, "citation": s.citation,
                     **{i: j.get(i, "not assessed") for i in ITEM_IDS}})
    return pd.DataFrame(rows, columns=["study", "citation", *ITEM_IDS])


def summary(table: pd.DataFrame) -> pd.DataFrame:
    """Percent of studies judged low / high / unclear / not assessed per item."""
    n = max(len(table), 1)
    out = []
    for item, domain, _ in SYRCLE_ITEMS:
        col = table[item] if item in table else pd.Series(dtype=str)
        out.append({"item": item, "domain": domain,
                    **{j: 100.0 * float((col == j).sum()) / n
                       for j in (*JUDGEMENTS, "not assessed")}})
    return pd.DataFrame(out)
