"""``exomir calibrate`` and ``exomir validate``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from exomir.core import InputError

if TYPE_CHECKING:
    from exomir.calibrate.problem import CalibrationProblem
    from exomir.calibrate.result import CalibrationResult

console = Console()
err = Console(stderr=True)
REPRODUCE_RTOL = 0.005  # a default is reproduced when the refit is within 0.5 % (4 digits)
MAX_STARTS = 10_000  # a multistart beyond this is a typo (each start is a local fit)


def _check_options(starts: int, seed: int, rtol: float, sampler: str, optimizer: str,
                   engine: str, out: Path | None, to_petab: Path | None) -> None:
    """Every option checked before a problem is read or anything is written."""
    from exomir.core.files import check_option, check_output_dir

    check_option(starts, field="--starts", lo=1, hi=MAX_STARTS, integer=True)
    check_option(seed, field="--seed", lo=0, hi=2**32 - 1, integer=True)
    check_option(rtol, field="--rtol", lo=1e-14, hi=1e-3)
    for name, value, allowed in (("--sampler", sampler, ("lhs", "sobol")),
                                 ("--optimizer", optimizer, ("ls_trf", "L-BFGS-B")),
                                 ("--engine", engine, ("auto", "compiled", "numpy"))):
        if value not in allowed:
            raise InputError("unknown value", field=name, value=value,
                             accepted=", ".join(allowed))
    for name, folder in (("--out", out), ("--to-petab", to_petab)):
        if folder is not None:
            check_output_dir(folder, field=name)


def _fmt(v: Any) -> str:
    if v is None or (isinstance(v, float) and v != v):
        return "open"
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)


def _run(problem: CalibrationProblem, out: Path, starts: int, seed: int, sampler: str,
         optimizer: str, profile: bool, rtol: float, engine: str, quiet: bool
         ) -> CalibrationResult:
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from exomir.calibrate import calibrate
    from exomir.calibrate.petab_io import write_petab
    from exomir.calibrate.report import write_fit_report

    with Progress(TextColumn("{task.description}"), BarColumn(),
                  TextColumn("{task.fields[info]}"), TimeElapsedColumn(), console=err,
                  disable=quiet) as prog:
        t_starts = prog.add_task(f"{problem.id}: starts", total=1.0, info="")
        t_prof = prog.add_task(f"{problem.id}: profiles", total=1.0, info="",
                               visible=profile)

        def cb(stage: str, frac: float, text: str) -> None:
            prog.update(t_starts if stage == "starts" else t_prof, completed=frac, info=text)

        res = calibrate(problem, starts, seed=seed, profile=profile,
                        sampler=sampler,  # type: ignore[arg-type]
                        method=optimizer,  # type: ignore[arg-type]
                        rtol=rtol, engine=engine,  # type: ignore[arg-type]
                        progress=cb)
    out.mkdir(parents=True, exist_ok=True)
    res.save(out / "result.json")
    res.to_calibrated().save(out / "calibrated.json")
    write_petab(problem, out / "petab")
    write_fit_report(res, out)
    return res


def _table(res: CalibrationResult) -> Table:
    tab = Table(title=f"{res.problem.id}: NLL {res.nll:.6g}, {res.n_converged}/"
                      f"{len(res.starts)} starts at the optimum")
    for c in ("parameter", "best fit", "95 % CI", "interval", "verdict", "stated"):
        tab.add_column(c)
    for r in res.table().to_dict("records"):
        tab.add_row(str(r["parameter"]), _fmt(r["value"]),
                    f"{_fmt(r['ci_low'])} - {_fmt(r['ci_high'])}", str(r["ci_method"]),
                    str(r["identifiability"]), _fmt(r["nominal"]))
    return tab


def defaults_check(res: CalibrationResult) -> list[dict[str, Any]]:
    """Each estimated model parameter: the body default vs what the problem gives."""
    from exomir.body.params import parameter_table

    pr = res.problem
    table = parameter_table(pr.indication, pr.species)
    cal = {p.name: p for p in res.to_calibrated().parameters}
    rows = []
    for p in pr.estimated:
        if p.kind != "model":
            continue
        default = table[p.id].value
        c = cal[p.id]
        ok = abs(c.value - default) <= REPRODUCE_RTOL * abs(default)
        rows.append({"problem": pr.id, "parameter": p.id, "default": default,
                     "calibrated": c.value, "ci95": list(c.ci95 or (None, None)),
                     "identifiability": c.identifiability, "reproduced": ok})
    return rows


def calibrate_cmd(
    problem: Annotated[Path | None, typer.Argument(help="Problem: exomir YAML or PEtab "
                                                   "problem.yaml.")] = None,
    builtin: Annotated[str | None, typer.Option(help="A built-in problem, or 'all'.")] = None,
    starts: Annotated[int, typer.Option(help="Multistart: number of starts.")] = 50,
    seed: Annotated[int, typer.Option(help="Seed of the start points.")] = 0,
    sampler: Annotated[str, typer.Option(help="Start points: lhs or sobol.")] = "lhs",
    optimizer: Annotated[str, typer.Option(help="ls_trf (least squares) or L-BFGS-B.")] =
        "ls_trf",
    profile: Annotated[bool | None, typer.Option("--profile/--no-profile",
                                                 help="Profile likelihoods (default: on for "
                                                      "--builtin, off otherwise).")] = None,
    estimate: Annotated[str | None, typer.Option(help="Comma-separated parameters to "
                                                 "estimate instead of the problem's, or "
                                                 "'all' (every parameter row).")] = None,
    out: Annotated[Path | None, typer.Option(help="Output folder (default "
                                             "exomir-calibration/<id>).")] = None,
    to_petab: Annotated[Path | None, typer.Option("--to-petab", help="Write the PEtab v1 "
                                                  "files (and SBML) to this folder; no fit.")]
        = None,
    constant_noise: Annotated[bool, typer.Option(
        "--constant-noise", help="With --to-petab: per-row SDs as constant noise formulas "
        "(for pyPESTO's roadrunner objective).")] = False,
    fmt: Annotated[str, typer.Option("--format", help="table or json.")] = "table",
    rtol: Annotated[float, typer.Option(help="Solver relative tolerance.")] = 1e-9,
    engine: Annotated[str, typer.Option(help="auto, compiled or numpy.")] = "auto",
    check: Annotated[bool, typer.Option(help="With --builtin: exit 1 unless every fitted "
                                             "default is reproduced.")] = False,
) -> None:
    """Fit body-model parameters to data: multistart, Fisher SEs, profile likelihoods,
    identifiability; writes the calibrated-parameter file, a fit report and the PEtab files."""
    from exomir.calibrate.problem import builtin_names, load_builtin, load_problem

    if fmt not in ("table", "json"):
        raise InputError("unknown format", field="--format", value=fmt, accepted="table, json")
    _check_options(starts, seed, rtol, sampler, optimizer, engine, out, to_petab)
    if (problem is None) == (builtin is None):
        choices = " | ".join(["all", *builtin_names()])
        raise InputError("give a problem file or --builtin NAME (not both)", field="PROBLEM",
                         accepted=f"a YAML file, or --builtin {choices}")
    if problem is not None:
        problems = [load_problem(problem)]
    else:
        assert builtin is not None
        names = builtin_names() if builtin == "all" else [builtin]
        problems = [load_builtin(n) for n in names]
    if estimate:
        chosen = []
        for pr in problems:
            names_ = [p.id for p in pr.parameters] if estimate == "all" else \
                [s.strip() for s in estimate.split(",") if s.strip()]
            chosen.append(pr.with_estimated(names_))
        problems = chosen
    if to_petab is not None:
        from exomir.calibrate.petab_io import lint, write_petab

        for pr in problems:
            d = to_petab if len(problems) == 1 else to_petab / pr.id
            y = write_petab(pr, d, constant_noise=constant_noise)
            issues = lint(y)
            if issues:
                raise InputError(f"petab rejects the written problem: {issues[0]}", source=y)
            (console.print if fmt == "table" else err.print)(f"PEtab problem: {y}")
        return
    do_profile = profile if profile is not None else builtin is not None
    summary: list[dict[str, Any]] = []
    checks: list[dict[str, Any]] = []
    for pr in problems:
        d = out if out is not None and len(problems) == 1 else \
            (out or Path("exomir-calibration")) / pr.id
        res = _run(pr, d, starts, seed, sampler, optimizer, do_profile, rtol, engine,
                   quiet=fmt == "json")
        if builtin is not None:
            checks += defaults_check(res)
        summary.append({"problem": pr.id, "nll": res.nll, "n_converged": res.n_converged,
                        "n_starts": len(res.starts), "out": str(d),
                        "parameters": json.loads(res.table().to_json(orient="records")),
                        "seconds": res.timings.get("total_s")})
        if fmt == "table":
            console.print(_table(res))
            un = res.to_calibrated().uncertain()
            if un:
                console.print("[yellow]not identified (kept at stated values, flagged "
                              "uncertain):[/] " + ", ".join(p.name for p in un))
            console.print(f"written: {d}/calibrated.json, report.html, result.json, petab/")
    if checks and fmt == "table":
        tab = Table(title="body defaults vs calibration")
        for col in ("problem", "parameter", "default", "calibrated", "95 % CI", "verdict",
                    "reproduced"):
            tab.add_column(col)
        for row in checks:
            tab.add_row(row["problem"], row["parameter"], _fmt(row["default"]),
                        _fmt(row["calibrated"]),
                        f"{_fmt(row['ci95'][0])} - {_fmt(row['ci95'][1])}",
                        row["identifiability"], "yes" if row["reproduced"] else "[red]NO[/]")
        console.print(tab)
    if fmt == "json":
        typer.echo(json.dumps({"problems": summary, "defaults": checks}, indent=1,
                              default=str))
    if check and not all(c["reproduced"] for c in checks):
        raise typer.Exit(1)


def validate_cmd(
    fmt: Annotated[str, typer.Option("--format", help="table, json or markdown.")] = "table",
    out: Annotated[Path | None, typer.Option(help="Write the markdown report here (e.g. "
                                             "docs/validation.md).")] = None,
) -> None:
    """Run every validation case: calibration target or held out, exomir's value, the
    published value, the acceptance band, pass/fail."""
    from exomir.calibrate.validate import run_cases, to_markdown

    if fmt not in ("table", "json", "markdown"):
        raise InputError("unknown format", field="--format", value=fmt,
                         accepted="table, json, markdown")
    if out is not None:
        from exomir.core.files import check_output

        check_output(out, field="--out", suffixes=(".md",))
    cases = run_cases()
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(to_markdown(cases), encoding="utf-8")
    if fmt == "json":
        typer.echo(json.dumps([c.to_dict() for c in cases], indent=1))
        return
    if fmt == "markdown":
        typer.echo(to_markdown(cases))
        return
    tab = Table(title="exomir validation cases")
    for col in ("case", "quantity", "role", "exomir", "published", "band", "result"):
        tab.add_column(col)
    for ch in cases:
        res = {"pass": "[green]pass[/]", "fail": "[red]FAIL[/]"}.get(ch.status, ch.status)
        tab.add_row(ch.case, ch.quantity, ch.role, ch.exomir_text, ch.published, ch.band, res)
    console.print(tab)
    n_fail = sum(c.status == "fail" for c in cases)
    console.print(f"{len(cases)} checks: {sum(c.status == 'pass' for c in cases)} pass, "
                  f"{n_fail} fail, {sum(c.status not in ('pass', 'fail') for c in cases)} "
                  "not testable. Held-out failures are reported, not tuned away.")


def register(app: typer.Typer) -> None:
    """Add ``calibrate`` and ``validate`` to the root app."""
    app.command("calibrate")(calibrate_cmd)
    app.command("validate")(validate_cmd)
