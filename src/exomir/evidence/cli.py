"""``exomir evidence ...``: meta-analysis from a CSV or the knowledge base, risk of bias, sheets."""

from __future__ import annotations

import json
import math
import warnings
from enum import Enum
from pathlib import Path
from typing import Annotated, Any

import pandas as pd
import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from exomir.core.errors import InputError
from exomir.evidence import analysis, plots, rob
from exomir.evidence.arms import read_extraction_sheet
from exomir.evidence.effects import MEASURES, describe_measure, is_log_scale
from exomir.evidence.meta import METHODS, MetaResult
from exomir.evidence.run import KbMeta, kb_meta, meta_analysis

console = Console()
#: Study rows printed in the table layout (rendering 50k rows took minutes; JSON has all).
MAX_STUDY_ROWS = 200
evidence_app = typer.Typer(help="Evidence synthesis: effect sizes, meta-analysis (metafor "
                           "conventions), small-study effects, risk of bias, plots.",
                           no_args_is_help=True)


class Fmt(str, Enum):
    table = "table"
    json = "json"


def register(app: typer.Typer) -> None:
    app.add_typer(evidence_app, name="evidence")


def _read_csv(path: Path, numeric: list[str] | None = None) -> pd.DataFrame:
    """The --data CSV through the one input layer (see :func:`exomir.evidence.run.read_meta_csv`)."""
    from exomir.evidence.run import read_meta_csv

    return read_meta_csv(path, numeric=numeric)


def _count(n: int, one: str, many: str) -> str:
    """``1 study``, ``2 studies``."""
    return f"{n} {one if n == 1 else many}"


def _fmt(x: float | None, d: int = 4) -> str:
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "NA"
    return f"{x:.{d}f}"


def _pfmt(p: float | None) -> str:
    if p is None:
        return "NA"
    return "<.0001" if p < 1e-4 else f"{p:.4f}"


def _print_model(r: MetaResult, measure: str, title: str | Text) -> None:
    t = Table(title=title, show_header=True)
    t.add_column("quantity")
    t.add_column("value", justify="right")
    stat = "t" if r.test == "knha" else "z"
    rows: list[tuple[str, str]] = [
        ("k (studies pooled)", str(r.k)),
        ("model", f"{r.method}{' + Knapp-Hartung' if r.test == 'knha' else ''}"),
        ("estimate", _fmt(r.estimate)),
        ("se", _fmt(r.se)),
        (f"{stat}val{f' (df={r.ddf})' if r.ddf else ''}", _fmt(r.zval)),
        ("pval", _pfmt(r.pval)),
        (f"{r.level:g}% CI", f"[{_fmt(r.ci_lb)}, {_fmt(r.ci_ub)}]"),
        ("prediction interval", f"[{_fmt(r.pi_lb)}, {_fmt(r.pi_ub)}]"),
    ]
    if is_log_scale(measure):
        rows.append(("exp(estimate) [CI]", f"{_fmt(math.exp(r.estimate))} "
                     f"[{_fmt(math.exp(r.ci_lb))}, {_fmt(math.exp(r.ci_ub))}]"))
    if r.method not in ("FE", "EE"):
        rows += [("tau^2", f"{_fmt(r.tau2)} [{_fmt(r.tau2_ci_lb)}, {_fmt(r.tau2_ci_ub)}]")]
    rows += [("I^2 (%)", _fmt(r.i2, 2)), ("H^2", _fmt(r.h2)),
             (f"Q (df={r.q_df})", f"{_fmt(r.q)}, p = {_pfmt(r.q_pval)}")]
    if r.p > 1:
        for n, b, s, pv in zip(r.coef_names, r.beta, r.se_beta, r.pvals, strict=True):
            rows.append((f"coef {n}", f"{_fmt(float(b))} (se {_fmt(float(s))}, p {_pfmt(float(pv))})"))
        rows.append((f"QM (df={','.join(map(str, r.qm_df))})",
                     f"{_fmt(r.qm)}, p = {_pfmt(r.qm_pval)}"))
    for a, b in rows:
        t.add_row(Text(a), b)
    console.print(t)


@evidence_app.command("meta")
def meta(
    data: Annotated[Path | None, typer.Option("--data", help="CSV with metafor columns (m1i, "
                    "sd1i, n1i, m2i, sd2i, n2i | ai, bi, ci, di | yi, vi) and a 'study' column.")
                    ] = None,
    indication: Annotated[str | None, typer.Option(help="Pool arm-level outcomes from the "
                          "knowledge base for this indication.")] = None,
    outcome: Annotated[str | None, typer.Option(help="Outcome measure in the knowledge base, "
                       "e.g. wound_closure.")] = None,
    timepoint: Annotated[float | None, typer.Option(help="Time point (days); default the "
                         "latest common one per study.")] = None,
    impute_sd: Annotated[bool, typer.Option("--impute-sd", help="Fill a missing SD with the "
                         "median reported SD (reported in the output).")] = False,
    measure: Annotated[str, typer.Option(help=f"One of {', '.join(MEASURES)}.")] = "SMD",
    method: Annotated[str, typer.Option(help=f"One of {', '.join(METHODS)}.")] = "REML",
    knha: Annotated[bool, typer.Option("--knha", help="Knapp-Hartung adjustment.")] = False,
    by: Annotated[str | None, typer.Option(help="Subgroup column.")] = None,
    mods: Annotated[str | None, typer.Option("--mods", help="Comma-separated moderator "
                    "columns for a meta-regression.")] = None,
    bias: Annotated[bool, typer.Option("--bias", help="Egger, Begg and trim-and-fill.")] = False,
    loo: Annotated[bool, typer.Option("--leave1out", help="Leave-one-out table.")] = False,
    level: Annotated[float, typer.Option(help="Confidence level in percent.")] = 95.0,
    fmt: Annotated[Fmt, typer.Option("--format")] = Fmt.table,
    plot: Annotated[Path | None, typer.Option(help="Forest plot file (.svg/.png).")] = None,
    funnel: Annotated[Path | None, typer.Option(help="Funnel plot file.")] = None,
    bubble: Annotated[Path | None, typer.Option(help="Bubble plot file (with --mods).")] = None,
) -> None:
    """Random-/fixed-effects meta-analysis with metafor's numbers (rma, escalc defaults)."""
    from exomir.core.files import FIGURE_SUFFIXES, check_option, check_output

    measure = measure.upper()
    if (data is None) == (indication is None):
        raise InputError("give either --data FILE.csv or --indication (with --outcome)",
                         field="--data/--indication")
    check_option(level, field="--level", lo=0, hi=100, lo_open=True)
    if level >= 100:
        raise InputError("out of range", field="--level", value=level,
                         accepted="a confidence level in percent, > 0 and < 100")
    if timepoint is not None:
        check_option(timepoint, field="--timepoint", lo=0, hi=36525)
    if plot is not None and mods:
        raise InputError("--plot draws a forest plot; use --bubble with --mods", field="--plot")
    for opt, p in (("--plot", plot), ("--funnel", funnel), ("--bubble", bubble)):
        if p is not None:  # every output checked before anything is computed or written
            check_output(p, field=opt, suffixes=FIGURE_SUFFIXES)
    report: dict[str, Any] | None = None
    syn: Any = None
    caught: list[str] = []
    with warnings.catch_warnings(record=True) as wlist:
        warnings.simplefilter("always")
        if data is not None:
            run = meta_analysis(_read_csv(data, _mods(mods)), measure=measure, method=method, knha=knha,
                                by=by, mods=_mods(mods), bias=bias, loo=loo, level=level)
        else:
            if outcome is None:
                raise InputError("--indication needs --outcome (e.g. wound_closure)",
                                 field="--outcome")
            from exomir.kb import open_kb

            kbm = kb_meta(open_kb(), str(indication), outcome, timepoint=timepoint,
                          impute_sd=impute_sd, measure=measure, method=method, knha=knha,
                          by=by, mods=_mods(mods), bias=bias, loo=loo, level=level,
                          figures=bool(plot or funnel or bubble))
            syn, report = kbm.synthesis, kbm.report
            if kbm.run is None:
                _print_synthesis(kbm, fmt)
                return
            run = kbm.run
        r, res_plot, tf, out = run.result, run.plot_result, run.trimfill, run.data
        sg: Any = res_plot  # the SubgroupResult with --by
        if plot is not None:
            if mods:
                raise InputError("--plot draws a forest plot; use --bubble with --mods",
                                 field="--plot")
            plots.forest(res_plot, plot, measure=measure)
        if funnel is not None:
            plots.funnel(r, funnel, trimfill=tf or (analysis.trimfill(r) if r.int_only
                                                    and r.k >= 3 else None), measure=measure)
        if bubble is not None:
            plots.bubble(r, bubble)
    caught = run.warnings + [str(w.message) for w in wlist]  # then the plots'
    if caught:
        out["warnings"] = caught
    if fmt == Fmt.json:
        typer.echo(json.dumps(out, indent=2, default=_json_default))
        return
    for msg in caught:
        console.print(Text.assemble(("warning: ", "yellow"), msg))
    if report is not None:
        _print_kb_header(syn, report)
    console.print(f"Effect size: {describe_measure(measure)}", highlight=False)
    if by and "subgroups" in out:
        for g, res in sg.groups.items():
            _print_model(res, measure, Text(f"subgroup {by} = {g}"))
        console.print(f"Test of subgroup differences: Q = {_fmt(sg.q_between)}, "
                      f"df = {sg.q_between_df}, p = {_pfmt(sg.q_between_pval)}", highlight=False)
    _print_model(r, measure, "Overall" if not mods else "Meta-regression")
    shown = min(len(r.slab), MAX_STUDY_ROWS)
    st = Table(title="Studies" if shown == len(r.slab) else
               f"Studies (first {shown} of {len(r.slab)}; --format json lists all)")
    for c in ("study", "yi", "vi", "weight %"):
        st.add_column(c, justify="left" if c == "study" else "right",
                      overflow="fold" if c == "study" else "ellipsis")
    for s, y, v, w in list(zip(r.slab, r.yi, r.vi, r.weights, strict=True))[:shown]:
        st.add_row(Text(str(s)), _fmt(float(y)), _fmt(float(v)), _fmt(float(w), 2))
    console.print(st)
    if "small_study" in out:
        ss = out["small_study"]
        console.print(f"Egger: {'t' if r.test == 'knha' else 'z'} = "
                      f"{_fmt(ss['egger']['statistic'])}, p = {_pfmt(ss['egger']['pval'])}; "
                      f"Begg: tau = {_fmt(ss['begg']['statistic'])}, "
                      f"p = {_pfmt(ss['begg']['pval'])}; trim-and-fill: k0 = "
                      f"{ss['trimfill']['k0']} ({ss['trimfill']['side']}), adjusted "
                      f"{_fmt(ss['trimfill']['estimate'])}", highlight=False)
    for p in (plot, funnel, bubble):
        if p is not None:
            console.print(f"wrote {p}", highlight=False, markup=False)
    if syn is not None:
        _print_subgroups_and_published(syn)


def _mods(mods: str | None) -> list[str] | None:
    return [m.strip() for m in mods.split(",")] if mods else None


def _print_kb_header(syn: Any, report: dict[str, Any]) -> None:
    considered = report["studies_considered"]
    console.print(Text(
        f"Knowledge base, {syn.indication.value}, outcome {syn.outcome!r}: "
        f"{_count(report['studies_pooled'], 'study', 'studies')} pooled in the main analysis "
        f"({_count(report['comparisons'], 'comparison', 'comparisons')}), "
        f"{report['studies_left_out']} of {considered} "
        f"{'study' if considered == 1 else 'studies'} left out."))
    for x in syn.kept_out:
        what = "kept out" if x["gate"] == "exclude" else "subgroup only"
        console.print(f"  {what}: {x['study']}: {x['detail']}", highlight=False, markup=False)
    reasons: dict[str, int] = {}
    for _, why in syn.main.table.excluded:
        reasons[why] = reasons.get(why, 0) + 1
    for why, n in sorted(reasons.items(), key=lambda kv: -kv[1]):
        console.print(f"  left out: {n} x {why}", highlight=False, markup=False)
    for note in syn.main.table.notes:
        console.print(f"  note: {note}", highlight=False, markup=False)


def _print_subgroups_and_published(syn: Any) -> None:
    for sg in syn.subgroups:
        if not sg.k:
            continue
        t = Table(title=Text(f"{sg.label} ({sg.kind}, k = {sg.k}; not in the main estimate)"))
        for c in ("study", "treatment vs control", "day", "yi", "95% CI"):
            t.add_column(c)
        for c in sg.comparisons:
            t.add_row(Text(str(c["study"])), Text(f"{c['treatment']} vs {c['control']}"),
                      _fmt(c["timepoint_days"], 0) if c["timepoint_days"] is not None else "NR",
                      _fmt(c["yi"]), f"[{_fmt(c['ci_lb'])}, {_fmt(c['ci_ub'])}]")
        if sg.result is not None:
            t.add_row("pooled", "", "", _fmt(sg.result.estimate),
                      f"[{_fmt(sg.result.ci_lb)}, {_fmt(sg.result.ci_ub)}]")
        console.print(t)
        for w in sg.warnings:
            console.print(Text.assemble(("warning: ", "yellow"), w))
    if syn.published:
        t = Table(title="Published syntheses (systematic reviews; not pooled with the above)")
        for c in ("review", "intervention", "outcome", "estimate [CI]", "k", "I^2 %", "DOI"):
            t.add_column(c, overflow="fold")
        for x in syn.published:
            t.add_row(x.citation.split(":")[0], x.intervention, x.outcome,
                      f"{x.measure} {x.estimate:g} [{_fmt(x.ci_lb, 2)}, {_fmt(x.ci_ub, 2)}]",
                      str(x.k) if x.k else "NR", _fmt(x.i2, 0) if x.i2 is not None else "NR",
                      x.source.doi or x.source.key or "")
        console.print(t)
    elif syn.published_note:
        console.print(f"Published syntheses: {syn.published_note}", highlight=False)


def _print_synthesis(kbm: KbMeta, fmt: Fmt) -> None:
    """The knowledge-base route when the main pool is not a meta-analysis (k <= 1)."""
    syn: Any = kbm.synthesis
    report = kbm.report
    if fmt == Fmt.json:
        typer.echo(json.dumps(kbm.data, indent=2, default=_json_default))
        return
    _print_kb_header(syn, report)
    m = syn.main
    if m.kind == "single study":
        t = Table(title=f"{m.label}: single study {m.studies[0]} (not a meta-analysis)")
        for c in ("comparison", "day", "yi", "95% CI"):
            t.add_column(c)
        for c in m.comparisons:
            t.add_row(f"{c['treatment']} vs {c['control']}", str(c["timepoint_days"]),
                      _fmt(c["yi"]), f"[{_fmt(c['ci_lb'])}, {_fmt(c['ci_ub'])}]")
        console.print(t)
    for w in syn.warnings:
        if not w.startswith("subgroup:"):  # subgroup warnings print with their table
            console.print(Text.assemble(("warning: ", "yellow"), w))
    _print_subgroups_and_published(syn)


def _json_default(o: object) -> Any:
    if hasattr(o, "item"):
        return o.item()
    return str(o)


@evidence_app.command("rob")
def rob_cmd(
    indication: Annotated[str | None, typer.Option(help="Studies of this indication.")] = None,
    sheet: Annotated[Path | None, typer.Option("--sheet", help="Extraction sheet with "
                     "rob_<item> columns instead of the knowledge base.")] = None,
    fmt: Annotated[Fmt, typer.Option("--format")] = Fmt.table,
    plot: Annotated[Path | None, typer.Option(help="Traffic-light plot (.svg/.png).")] = None,
    assessed_only: Annotated[bool, typer.Option("--assessed-only", help="Only studies with "
                             "at least one judgement.")] = True,
) -> None:
    """SYRCLE risk-of-bias traffic-light table (Hooijmans 2014)."""
    if plot is not None:
        from exomir.core.files import FIGURE_SUFFIXES, check_output

        check_output(plot, field="--plot", suffixes=FIGURE_SUFFIXES)
    if sheet is not None:
        studies = read_extraction_sheet(sheet)
    else:
        from exomir.kb import open_kb

        studies = open_kb().studies(indication=indication)
    if assessed_only:
        studies = [s for s in studies if s.risk_of_bias]
    table = rob.traffic_light(studies)
    if plot is not None and len(table):
        plots.traffic_light(table, plot)
    if fmt == Fmt.json:
        typer.echo(json.dumps({"items": [i for i, _, _ in rob.SYRCLE_ITEMS],
                               "studies": table.to_dict("records"),
                               "summary": rob.summary(table).to_dict("records")}, indent=2))
        return
    if table.empty:
        console.print("No study has SYRCLE judgements yet (add rob_<item> columns to an "
                      "extraction sheet and run 'exomir evidence import-sheet').")
        return
    t = Table(title="SYRCLE risk of bias (items 1-10)")
    t.add_column("study")
    for n in range(1, 11):
        t.add_column(str(n), justify="center")
    mark = {"low": "[green]+[/]", "high": "[red]-[/]", "unclear": "[yellow]?[/]",
            "not assessed": " "}
    for _, row in table.iterrows():
        t.add_row(Text(str(row["study"])), *[mark[str(row[i])] for i in rob.ITEM_IDS])
    console.print(t)
    for i, (item, _, q) in enumerate(rob.SYRCLE_ITEMS, start=1):
        console.print(f"  {i}. {item}: {q}", highlight=False)
    if plot is not None:
        console.print(f"wrote {plot}", highlight=False, markup=False)


@evidence_app.command("import-sheet")
def import_sheet(
    sheet: Annotated[Path, typer.Argument(help="Extraction sheet CSV (see docs/evidence.md).")],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Validate only.")] = False,
) -> None:
    """Add a user's extraction sheet (arm-level outcomes, SYRCLE) to the knowledge base."""
    studies = read_extraction_sheet(sheet)
    n_out = sum(len(a.outcomes) for s in studies for a in s.arms)
    if dry_run:
        console.print(f"{len(studies)} studies, {n_out} arm outcomes valid (not written)",
                      highlight=False)
        return
    from exomir.kb import open_kb

    n = open_kb().upsert_studies(studies)
    console.print(f"{n} studies with {n_out} arm outcomes written to the knowledge base",
                  highlight=False)
