"""From studies with arm-level outcomes (``Study.arms``) to a table metafor's escalc can read,
and from a user's extraction sheet to Study objects for the knowledge base.

Rules (issue 3): only numbers the paper reports are used. SE is converted to SD (SD = SE sqrt n)
and a median with IQR and/or range to mean/SD (Wan 2014) because those are conversions, not
guesses; a missing SD is filled only when the caller asks (``impute_sd=True``, median SD of the
other arms with the same outcome) and every filled value is listed in the notes; a missing n is
never filled. Multi-arm studies sharing one control split the control n among the comparisons
(:func:`exomir.evidence.effects.split_shared_control`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from pydantic import ValidationError

from exomir.core.enums import ExclusionReason, Indication
from exomir.core.errors import InputError, from_validation
from exomir.core.models import Arm, ArmOutcome, Exclusion, Source, Study
from exomir.evidence.effects import split_shared_control, wan_mean_sd
from exomir.evidence.rob import normalise


def _norm(text: str) -> str:
    return "".join(ch for ch in text.lower() if ch.isalnum())


@dataclass
class ArmTable:
    """Pooled-ready rows (metafor columns) plus what was left out and why."""

    data: pd.DataFrame
    excluded: list[tuple[str, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    considered: int = 0

    def report(self) -> dict[str, Any]:
        pooled = int(self.data["study_id"].nunique()) if len(self.data) else 0
        return {"studies_considered": self.considered,
                "studies_pooled": pooled,
                "comparisons": len(self.data),
                # studies with nothing pooled (an arm left out of a pooled study is listed in
                # left_out but does not make its study "left out")
                "studies_left_out": self.considered - pooled,
                "left_out": [{"study": s, "reason": r} for s, r in self.excluded],
                "notes": list(self.notes)}


@dataclass
class _ArmValues:
    mean: float | None
    sd: float | None
    n: int | None
    how: str = ""


def _arm_values(o: ArmOutcome) -> _ArmValues:
    mean, sd, n, how = o.mean, o.sd, o.n, ""
    if mean is None and o.median is not None and n is not None:
        has_spread = (o.q1 is not None and o.q3 is not None) or (o.min is not None
                                                                 and o.max is not None)
        if has_spread:
            mean, sd_w, scen = wan_mean_sd(n, o.median, q1=o.q1, q3=o.q3, min=o.min, max=o.max)
            if sd is None:
                sd = sd_w
            how = f"median/{'IQR' if scen == 'C3' else 'range' if scen == 'C1' else 'IQR+range'}"\
                  f" -> mean/SD (Wan 2014 {scen})"
    if sd is None and o.se is not None and n is not None:
        sd = o.se * float(np.sqrt(n))
        how = (how + "; " if how else "") + "SE -> SD"
    return _ArmValues(mean, sd, n, how)


def _pick_timepoint(arms: Sequence[Arm], key: str, timepoint: float | None) -> float | None:
    times: dict[str, set[float | None]] = {"treatment": set(), "control": set()}
    for a in arms:
        if a.role in times:
            times[a.role].update(o.timepoint_days for o in a.outcomes if _norm(o.measure) == key)
    common = times["treatment"] & times["control"]
    if timepoint is not None:
        return timepoint if timepoint in common else np.nan
    if not common:
        return np.nan
    known = [t for t in common if t is not None]
    return max(known) if known else None


def arm_table(
    studies: Iterable[Study],
    outcome: str,
    *,
    timepoint_days: float | None = None,
    impute_sd: bool = False,
) -> ArmTable:
    """Treatment-vs-control comparisons for one outcome, with metafor's column names.

    Without ``timepoint_days`` the latest time point measured in both a treatment and the
    control arm is used (named in the notes). Columns: ``study`` (label), ``study_id``,
    ``m1i, sd1i, n1i, m2i, sd2i, n2i``, ``year`` and grouping columns ``source_cell``, ``route``,
    ``species``, ``cargo_mode``.
    """
    key = _norm(outcome)
    rows: list[dict[str, Any]] = []
    excluded: list[tuple[str, str]] = []
    notes: list[str] = []
    pending_sd: list[tuple[dict[str, Any], str, str]] = []
    considered = 0
    for s in studies:
        considered += 1
        if not s.arms:
            excluded.append((s.id, "no arm-level data in the knowledge base"))
            continue
        if not any(_norm(o.measure) == key for a in s.arms for o in a.outcomes):
            measures = sorted({o.measure for a in s.arms for o in a.outcomes})
            excluded.append((s.id, f"no arm-level data for outcome {outcome!r} "
                                   f"(has: {', '.join(measures)})"))
            continue
        tp = _pick_timepoint(s.arms, key, timepoint_days)
        if tp is not None and np.isnan(tp):
            excluded.append((s.id, "no time point measured in both a treatment and a control arm"
                             + (f" at day {timepoint_days:g}" if timepoint_days is not None
                                else "")))
            continue

        def at(a: Arm, tp: float | None = tp) -> ArmOutcome | None:
            for o in a.outcomes:
                if _norm(o.measure) == key and o.timepoint_days == tp:
                    return o
            return None

        controls = [(a, at(a)) for a in s.arms if a.role == "control" and at(a) is not None]
        treats = [(a, at(a)) for a in s.arms if a.role == "treatment" and at(a) is not None]
        ctrl_arm, ctrl_o = controls[0]
        if len(controls) > 1:
            notes.append(f"{s.id}: {len(controls)} control arms; used {ctrl_arm.label!r}")
        assert ctrl_o is not None
        cv = _arm_values(ctrl_o)
        if cv.n is None:
            excluded.append((s.id, f"control arm {ctrl_arm.label!r}: n not reported"))
            continue
        if cv.mean is None:
            excluded.append((s.id, f"control arm {ctrl_arm.label!r}: no mean, or median "
                                   "without IQR/range"))
            continue
        if cv.sd is None and not impute_sd:
            excluded.append((s.id, f"control arm {ctrl_arm.label!r}: SD not reported; not "
                             "imputed (use --impute-sd to fill)"))
            continue
        usable = []
        for a, o in treats:
            assert o is not None
            tv = _arm_values(o)
            if tv.n is None:
                excluded.append((f"{s.id}:{a.label}", "n not reported"))
            elif tv.mean is None:
                excluded.append((f"{s.id}:{a.label}", "no mean, or median without IQR/range"))
            elif tv.sd is None and not impute_sd:
                excluded.append((f"{s.id}:{a.label}", "SD not reported (and no SE or "
                                 "IQR/range); not imputed (use --impute-sd to fill)"))
            else:
                usable.append((a, tv))
        if not usable:
            if not any(e[0] == s.id for e in excluded):
                excluded.append((s.id, "no usable treatment arm"))
            continue
        shares = [cv.n] if len(usable) == 1 else split_shared_control(cv.n, len(usable))
        if len(usable) > 1:
            notes.append(f"{s.id}: control n = {cv.n} split {shares} among {len(usable)} "
                         "treatment arms sharing it")
        tp_text = f"day {tp:g}" if tp is not None else "time point not given"
        if timepoint_days is None:
            notes.append(f"{s.id}: {outcome} at {tp_text} (latest common time point)")
        for (a, tv), n2 in zip(usable, shares, strict=True):
            label = s.citation if len(usable) == 1 else f"{s.citation} [{a.label}]"
            row = {
                "study": label, "study_id": s.id, "treatment": a.label,
                "control": ctrl_arm.label, "timepoint_days": tp,
                "m1i": tv.mean, "sd1i": tv.sd, "n1i": tv.n,
                "m2i": cv.mean, "sd2i": cv.sd, "n2i": n2,
                "year": s.year, "source_cell": s.product.source_cell,
                "route": s.delivery.route.value if s.delivery.route else None,
                "species": s.subject.species.value if s.subject.species else None,
                "cargo_mode": (s.cargo[0].mode.value if s.cargo and s.cargo[0].mode else None),
            }
            for how, who in ((tv.how, a.label), (cv.how, ctrl_arm.label)):
                if how:
                    notes.append(f"{s.id} [{who}]: {how}")
            for c in ("sd1i", "sd2i"):
                if row[c] is None:  # only reachable with impute_sd
                    who = a.label if c == "sd1i" else ctrl_arm.label
                    pending_sd.append((row, c, f"{s.id}:{who}"))
            rows.append(row)
    if pending_sd:
        known = [r[c] for r in rows for c in ("sd1i", "sd2i") if r[c] is not None]
        if not known:
            raise InputError("cannot impute SDs: no arm with a reported SD for this outcome",
                             field="impute_sd")
        fill = float(np.median(known))
        for row, col, who in pending_sd:
            row[col] = fill
            notes.append(f"IMPUTED SD for {who}: {fill:.4g} (median of reported SDs), "
                         "at the user's request")
    df = pd.DataFrame(rows, columns=["study", "study_id", "treatment", "control",
                                     "timepoint_days", "m1i", "sd1i", "n1i", "m2i", "sd2i",
                                     "n2i", "year", "source_cell", "route", "species",
                                     "cargo_mode"])
    return ArmTable(df, excluded, notes, considered)


# ----------------------------------------------------------------------------------------------
# extraction sheets
# ----------------------------------------------------------------------------------------------

SHEET_REQUIRED = ("study", "indication", "outcome", "n1i", "n2i")
_ARM_FIELDS = {"m{g}i": "mean", "sd{g}i": "sd", "se{g}i": "se", "med{g}i": "median",
               "q1_{g}i": "q1", "q3_{g}i": "q3", "min{g}i": "min", "max{g}i": "max",
               "n{g}i": "n"}


#: Study-level columns: every row of a study must agree with its first row.
_STUDY_FIELDS = ("indication", "first_author", "year", "journal", "doi", "pmid")


def _sheet_exclusions(rec: Mapping[Any, Any]) -> list[Exclusion]:
    reasons = [r for r in str(rec.get("exclusion") or "").split(";") if r.strip()]
    src = str(rec.get("exclusion_source") or "").strip()
    source = None
    if src:
        source = Source(doi=src.removeprefix("doi:")) if src.lower().startswith(("10.", "doi:")) \
            else Source(url=src)
    return [Exclusion(reason=ExclusionReason.parse(r, field="exclusion"),
                      detail=str(rec.get("exclusion_detail") or "stated in the sheet"),
                      source=source) for r in reasons]


def read_extraction_sheet(path: str | Path) -> list[Study]:
    """Turn an extraction sheet (one row per comparison) into Study objects with arms.

    Columns: ``study`` (id), ``indication``, ``outcome``; per arm (1 = treatment,
    2 = control) ``m1i, sd1i, se1i, n1i, med1i, q1_1i, q3_1i, min1i, max1i`` and the same with 2;
    optional ``treatment``, ``control`` (arm labels), ``timepoint_days``, ``unit``,
    ``higher_is_better``, ``first_author``, ``year``, ``journal``, ``doi``, ``pmid``,
    SYRCLE judgements ``rob_<item>`` (e.g. ``rob_1`` or ``rob_blinding_assessor``) and
    evidence gates ``exclusion`` (reasons separated by ``;``, e.g. ``retracted``),
    ``exclusion_detail``, ``exclusion_source`` (DOI or URL). Several rows with the same study
    id become one study with several arms/outcomes; their study-level columns (indication,
    author, year, journal, doi, pmid) must agree.

    Read through the input layer (:mod:`exomir.core.files`); numbers must be numbers
    (``NA``/``NR``/empty mean not reported; ``inf``, words, ``2.5`` animals and year ``2022.7``
    are errors), and a sheet without data rows is an error. Every error names the line and
    column.
    """
    from exomir.core.files import MISSING, parse_number, read_table

    src = str(path)
    table = read_table(path, comment=None, required=SHEET_REQUIRED, min_rows=1,
                       accepted="an extraction sheet: " + ", ".join(SHEET_REQUIRED)
                       + " and arm columns (docs/evidence.md)")
    studies: dict[str, Study] = {}
    first_rows: dict[str, tuple[int, dict[str, str]]] = {}

    def num(rec: dict[str, str], col: str, line: int, *, integer: bool = False
            ) -> float | None:
        if col not in rec:
            return None
        return parse_number(rec[col], source=src, line=line, field=col, integer=integer,
                            missing=MISSING)

    for line, rec in table.records():
        try:
            sid = rec["study"].strip()
            if not sid:
                raise InputError("empty study id", field="study", accepted="an id per row")
            ind = Indication.parse(rec["indication"], field="indication")
            first = first_rows.get(sid)
            if first is not None:
                for col in _STUDY_FIELDS:
                    a, b = first[1].get(col, "").strip(), rec.get(col, "").strip()
                    if col == "indication":
                        a, b = Indication.parse(a).value, ind.value
                    if a and b and a != b:
                        raise InputError(f"differs from line {first[0]} of the same study "
                                         f"({a!r})", field=col, value=b,
                                         accepted="the same study-level values on every row "
                                         "of a study")
            st = studies.get(sid)
            if st is None:
                rob = normalise({str(k): v for k, v in rec.items()
                                 if str(k).startswith("rob_") and v})
                year = num(rec, "year", line, integer=True)
                st = Study(
                    id=sid, indication=ind,
                    first_author=rec.get("first_author") or None,
                    year=int(year) if year is not None else None,
                    journal=rec.get("journal") or None,
                    source=Source(doi=rec.get("doi") or None, pmid=rec.get("pmid") or None),
                    risk_of_bias=rob,
                    exclusions=_sheet_exclusions(rec),
                )
                studies[sid] = st
                first_rows[sid] = (line, rec)
            tp = num(rec, "timepoint_days", line)
            hib_text = (rec.get("higher_is_better") or "").strip().lower()
            if hib_text and hib_text not in _TRUE + _FALSE:
                raise InputError("not a yes/no value", field="higher_is_better",
                                 value=hib_text, accepted="true/false, yes/no, 1/0")
            hib = None if not hib_text else hib_text in _TRUE
            for g, role, default in ((1, "treatment", "treatment"), (2, "control", "control")):
                label = (rec.get(role) or default).strip()
                vals: dict[str, Any] = {}
                for col, attr in _ARM_FIELDS.items():
                    c = col.format(g=g)
                    if c in rec:
                        v = num(rec, c, line, integer=attr == "n")
                        vals[attr] = int(v) if attr == "n" and v is not None else v
                out = _arm_outcome(rec["outcome"].strip(), tp, rec.get("unit") or None, hib,
                                   vals, g)
                arm = next((a for a in st.arms if a.label == label), None)
                if arm is None:
                    st.arms.append(Arm(label=label, role=role, outcomes=[out]))
                elif not any(o.measure == out.measure and o.timepoint_days == tp
                             for o in arm.outcomes):
                    arm.outcomes.append(out)
        except InputError as exc:
            raise exc.located(src, line) from None
        except ValidationError as exc:  # a Study-level field (id pattern, year range, ...)
            raise from_validation(exc, source=src, line=line) from None
    return list(studies.values())


_TRUE = ("1", "true", "yes", "y")
_FALSE = ("0", "false", "no", "n")
_ATTR_COL = {v: k for k, v in _ARM_FIELDS.items()}


def _arm_outcome(measure: str, tp: float | None, unit: str | None, hib: bool | None,
                 vals: dict[str, Any], g: int) -> ArmOutcome:
    """Validate one arm's numbers (core bounds); errors name the sheet column."""
    try:
        return ArmOutcome(measure=measure, timepoint_days=tp, unit=unit, higher_is_better=hib,
                          **vals)
    except ValidationError as exc:
        err = exc.errors()[0]
        attr = str(err["loc"][0]) if err["loc"] else None
        col = (_ATTR_COL[attr].format(g=g) if attr in _ATTR_COL
               else "timepoint_days" if attr == "timepoint_days" else attr)
        raise InputError(str(err["msg"]), field=col, value=err.get("input")) from None
