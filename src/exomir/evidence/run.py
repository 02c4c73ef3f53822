"""One meta-analysis run as a function: what ``exomir evidence meta`` computes, for callers
that are not the CLI (the web app). Same readers, same functions, same JSON.

``meta_analysis(frame, ...)`` -> :class:`MetaRun` whose ``data`` equals the CLI's
``--format json`` output for the same inputs (tests/evidence/test_run.py holds them equal).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from exomir.core import Study
from exomir.core.errors import InputError
from exomir.evidence import analysis
from exomir.evidence.arms import ArmTable, arm_table
from exomir.evidence.effects import MEASURES, describe_measure, escalc
from exomir.evidence.meta import METHODS, MetaResult, rma


def read_meta_csv(path: str | Path, *, name: str | None = None) -> pd.DataFrame:
    """A CSV in metafor's columns, read as the CLI reads ``--data`` (NA, NR and empty = NA).
    ``name`` is the file name errors show (default: the path)."""
    p = Path(path)
    shown = name or str(p)
    if not p.is_file():
        raise InputError("file not found", source=shown, field="--data")
    try:
        return pd.read_csv(p, na_values=["NA", "NR", ""], keep_default_na=True)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read CSV: {exc}", source=shown) from exc


@dataclass
class MetaRun:
    """The overall model, what the forest plot draws, trim-and-fill, and the JSON data."""

    result: MetaResult
    plot_result: Any  # MetaResult or SubgroupResult (forest plot input)
    trimfill: analysis.TrimFillResult | None
    data: dict[str, Any]
    measure: str
    has_mods: bool = False
    warnings: list[str] = field(default_factory=list)


def kb_arm_table(studies: list[Study], outcome: str, *, timepoint: float | None = None,
                 impute_sd: bool = False, measure: str = "SMD") -> ArmTable:
    """Arm-level rows of the knowledge base for one outcome, as ``--indication --outcome``;
    an InputError when no study has usable data or the measure is not continuous."""
    table = arm_table(studies, outcome, timepoint_days=timepoint, impute_sd=impute_sd)
    if table.data.empty:
        counts: dict[str, int] = {}
        for _, reason in table.excluded:
            counts[reason] = counts.get(reason, 0) + 1
        summary = "; ".join(f"{n} x {w}" for w, n in counts.items())
        raise InputError(f"no study has usable arm-level data for {outcome!r}: "
                         f"{len(table.excluded)} left out ({summary})",
                         field="--outcome", value=outcome)
    if measure.upper() not in ("SMD", "MD", "ROM"):
        raise InputError("arm-level outcomes from the knowledge base are continuous",
                         field="--measure", value=measure, accepted="SMD, MD, ROM")
    return table


def meta_analysis(frame: pd.DataFrame, *, measure: str = "SMD", method: str = "REML",
                  knha: bool = False, by: str | None = None, mods: list[str] | None = None,
                  bias: bool = False, loo: bool = False, level: float = 95.0) -> MetaRun:
    """escalc -> rma (or subgroups, or meta-regression) -> small-study tests, as the CLI."""
    measure = measure.upper()
    if measure not in MEASURES:
        raise InputError("unknown effect-size measure", field="--measure", value=measure,
                         accepted=MEASURES)
    if method.upper() not in METHODS:
        raise InputError("unknown estimator", field="--method", value=method, accepted=METHODS)
    method = method.upper()
    with warnings.catch_warnings(record=True) as wlist:
        warnings.simplefilter("always")
        es = escalc(measure, frame)
        test = "knha" if knha else "z"
        if "study" not in es.columns:
            raise InputError("the CSV needs a 'study' column (study labels)", field="study",
                             accepted="a column named study")
        slab = es["study"].astype(str).tolist()
        out: dict[str, Any]
        if mods:
            r = analysis.meta_regression(es, list(mods), method=method, test=test)
            plot_obj: Any = r
            out = r.to_dict()
        elif by:
            if by not in es.columns:
                raise InputError("subgroup column not found", field="--by", value=by,
                                 accepted=list(map(str, es.columns)))
            groups = es[by].fillna("NR").astype(str).tolist()
            sg = analysis.subgroups(es["yi"], es["vi"], groups, method=method, test=test,
                                    slab=slab, by=by, level=level)
            r = sg.overall
            plot_obj = sg
            out = sg.overall.to_dict()
            out["subgroups"] = sg.to_dict()
        else:
            r = rma(es["yi"], es["vi"], method=method, test=test, slab=slab, level=level)
            plot_obj = r
            out = r.to_dict()
        out["measure"] = measure
        out["measure_description"] = describe_measure(measure)
        tf = None
        if bias and r.int_only:
            eg, bg, tf = analysis.egger(r), analysis.begg(r), analysis.trimfill(r)
            out["small_study"] = {"egger": eg.to_dict(), "begg": bg.to_dict(),
                                  "trimfill": {"k0": tf.k0, "side": tf.side,
                                               "estimate": tf.fit.estimate,
                                               "ci_lb": tf.fit.ci_lb, "ci_ub": tf.fit.ci_ub}}
        if loo and r.int_only:
            out["leave1out"] = analysis.leave1out(r).to_dict("records")
    caught = [str(w.message) for w in wlist]
    if caught:
        out["warnings"] = caught
    return MetaRun(result=r, plot_result=plot_obj, trimfill=tf, data=out, measure=measure,
                   has_mods=bool(mods), warnings=caught)
