"""One meta-analysis run as a function: the one code path of ``exomir evidence meta`` and
the web app's meta-analysis page. Same readers, same functions, same JSON.

* ``meta_analysis(frame, ...)`` -> :class:`MetaRun`: a CSV in metafor's columns
  (``--data``); ``data`` is the CLI's ``--format json`` output (tests/evidence/test_run.py).
* ``kb_meta(kb, indication, outcome, ...)`` -> :class:`KbMeta`: the knowledge base's
  arm-level outcomes through the evidence gates (:func:`exomir.evidence.synthesis.
  synthesize_kb`): what was pooled, what was kept out and why, a single study or no pool
  reported as such (never as a meta-analysis), published syntheses alongside; ``data`` is
  the CLI's ``--indication ... --format json`` output.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from exomir.core.errors import InputError
from exomir.evidence import analysis
from exomir.evidence.effects import MEASURES, describe_measure, escalc
from exomir.evidence.meta import METHODS, MetaResult, rma
from exomir.evidence.synthesis import EvidenceSynthesis, synthesize_kb

#: Effect sizes the knowledge base's arm-level (continuous) outcomes allow.
KB_MEASURES = ("SMD", "MD", "ROM")


#: metafor columns read as numbers (with their lower bounds); moderators are numeric too.
NUMERIC_COLUMNS: dict[str, float | None] = {
    "m1i": None, "m2i": None, "sd1i": 0.0, "sd2i": 0.0, "n1i": 0.0, "n2i": 0.0, "ai": 0.0,
    "bi": 0.0, "ci": 0.0, "di": 0.0, "yi": None, "vi": 0.0, "sei": 0.0, "year": None}


def read_meta_csv(path: str | Path, *, name: str | None = None,
                  numeric: list[str] | None = None) -> pd.DataFrame:
    """A CSV in metafor's columns, through the one input layer (:mod:`exomir.core.files`).

    ``NA``, ``NR`` and empty cells are missing; any other cell of a metafor column (or of a
    ``numeric`` moderator column) that is not a finite number in range -- ``eighty``,
    ``TRUE``, ``inf``, ``∞`` -- is an error naming its line and column, never a silently
    dropped row. ``name`` is the file name errors show (default: the path).
    """
    from exomir.core.files import numeric_column, read_table, table_frame

    p = Path(path)
    shown = name or str(p)
    try:
        table = read_table(p, field="--data", comment=None,
                           accepted="a CSV with a header row and one study per row")
        frame = table_frame(table)
        out = frame.copy()
        for col in frame.columns:
            if col in NUMERIC_COLUMNS or col in (numeric or []):
                out[col] = numeric_column(frame, col, source=p, lo=NUMERIC_COLUMNS.get(col))
            else:
                out[col] = frame[col].where(~frame[col].str.strip().str.upper().isin(
                    ["", "NA", "NR"]), None)
    except InputError as exc:
        raise exc.with_source(shown) if name else exc from None
    return out.reset_index(drop=True)


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
    note = few_studies(r.k) if r.int_only else None
    if note:
        caught.insert(0, note)
    if caught:
        out["warnings"] = caught
    return MetaRun(result=r, plot_result=plot_obj, trimfill=tf, data=out, measure=measure,
                   has_mods=bool(mods), warnings=caught)


def few_studies(k: int) -> str | None:
    """The warning a pooled model of ``k`` studies carries (None for k >= 3)."""
    if k == 1:
        return "k = 1: a single study, not a meta-analysis (tau^2, I^2 and Q are undefined)"
    if k < 3:
        return f"k = {k} < 3 studies: tau^2 and I^2 cannot be estimated with any precision"
    return None


@dataclass
class KbMeta:
    """The gated knowledge-base route: the synthesis, the main pool's report (gated studies
    counted as left out), the meta-analysis when the main pool is one (else None), and the
    CLI's JSON (``data``); ``not_run``: what was asked for but needs a meta-analysis."""

    synthesis: EvidenceSynthesis
    report: dict[str, Any]
    run: MetaRun | None
    data: dict[str, Any]
    not_run: list[str] = field(default_factory=list)


def gated_report(syn: EvidenceSynthesis) -> dict[str, Any]:
    """The main pool's arm-table report with the gated studies counted as left out."""
    rep = syn.main.table.report()
    gated = [{"study": x["study"], "reason": x["detail"]} for x in syn.kept_out]
    rep["studies_considered"] = len(syn.considered)
    rep["left_out"] = gated + rep["left_out"]
    rep["studies_left_out"] = len(syn.considered) - rep["studies_pooled"]
    return rep


def kb_meta(kb: Any, indication: str, outcome: str, *, timepoint: float | None = None,
            impute_sd: bool = False, measure: str = "SMD", method: str = "REML",
            knha: bool = False, by: str | None = None, mods: list[str] | None = None,
            bias: bool = False, loo: bool = False, level: float = 95.0,
            figures: bool = False, strict: bool = True) -> KbMeta:
    """Gate, then pool the main population's arm-level outcomes (``--indication``).

    ``kb``: a knowledge base (``open_kb()``, ``embedded()``). When the main pool is a single
    study or empty, ``run`` is None and ``data`` is the synthesis (its comparisons with CIs,
    the kept-out list, subgroups, published syntheses); asking then for ``by``, ``mods``,
    ``bias``, ``loo`` or ``figures`` is an InputError (they need a meta-analysis), or with
    ``strict=False`` (the web form, whose small-study box is ticked by default) a line in
    ``not_run``.
    """
    measure = measure.upper()
    if measure not in KB_MEASURES:
        raise InputError("arm-level outcomes from the knowledge base are continuous",
                         field="--measure", value=measure, accepted=", ".join(KB_MEASURES))
    with warnings.catch_warnings(record=True) as wlist:
        warnings.simplefilter("always")
        syn = synthesize_kb(kb, indication, outcome, timepoint_days=timepoint,
                            impute_sd=impute_sd, measure=measure, method=method,
                            test="knha" if knha else "z", level=level)
    before = [str(w.message) for w in wlist]
    report = gated_report(syn)
    source = {"knowledge_base": True, "indication": syn.indication.value, "outcome": outcome,
              **report}
    if syn.main.kind != "meta-analysis":
        asked = [n for n, on in (("--by", by), ("--mods", mods), ("--bias", bias),
                                 ("--leave1out", loo), ("plots", figures)) if on]
        why = (f"the {syn.indication.value} pool has k = {syn.main.k} ({syn.main.kind})")
        if asked and strict:
            raise InputError(
                f"--by/--mods/--bias/--leave1out and plots need a meta-analysis; {why}",
                field="--indication", value=indication)
        data = syn.to_dict()
        data["source"] = source
        return KbMeta(syn, report, None, data,
                      [f"not run: {', '.join(asked)} (need a meta-analysis; {why})"]
                      if asked else [])
    run = meta_analysis(syn.main.table.data, measure=measure, method=method, knha=knha,
                        by=by, mods=mods, bias=bias, loo=loo, level=level)
    if before:  # after the few-studies note, as the CLI has always listed them
        at = 1 if run.warnings and run.warnings[0] == few_studies(run.result.k) else 0
        run.warnings[at:at] = before
    data = run.data
    data.pop("warnings", None)
    data["source"] = source
    data["gates"] = syn.to_dict()
    if run.warnings:
        data["warnings"] = run.warnings
    return KbMeta(syn, report, run, data)
