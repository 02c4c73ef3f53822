"""PEtab v1 files for a calibration problem; the only module that imports ``petab``.

``write_petab(problem, out)`` writes ``problem.yaml``, ``model.xml`` (the SBML of
:mod:`exomir.calibrate.sbml_export`), ``observables.tsv``, ``conditions.tsv``,
``measurements.tsv`` and ``parameters.tsv``. The YAML carries an ``extensions: exomir`` section
naming each condition's therapy spec and SBML prefix, so exomir can simulate the same model
with its own engine. ``read_petab`` reads such a problem back, validates it with
``petab.v1.lint_problem`` and turns any finding into one InputError naming the file.

PEtab v1 is read and written through ``petab.v1`` (PyPI ``petab``: the v1 API moved to
``petab.v1`` in 0.4; pinned to >= 0.8.1, < 0.9 in pyproject.toml, 0.8.1 being what pypesto 0.7
needs).
"""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from exomir.body.spec import parse_spec
from exomir.calibrate.formula import parse_formula
from exomir.calibrate.problem import (
    SEP,
    CalibrationProblem,
    Condition,
    Observable,
    ParameterSpec,
)
from exomir.core import InputError

EXTENSION = "exomir"
INSTALL_HINT = "pip install 'petab>=0.8.1,<0.9'"


def _petab() -> Any:
    try:
        import petab.v1 as petab
    except ImportError:  # pragma: no cover - petab is a core dependency
        raise InputError("PEtab support needs the petab package", field="petab",
                         accepted=INSTALL_HINT) from None
    return petab


def spec_dict(cond: Condition) -> dict[str, Any]:
    """The arm's therapy spec as a plain mapping (parse_spec reads it back)."""
    th = cond.spec.therapy.model_dump(mode="json", exclude_none=True)
    body = cond.spec.body.model_dump(mode="json", exclude_none=True, exclude_defaults=True)
    if body:
        th["body"] = body
    return dict(th)


def rates_needed(problem: CalibrationProblem, cond: Condition) -> set[str]:
    out: set[str] = set()
    pre = f"{cond.prefix}d_"
    for ob in problem.observables.values():
        if ob.condition not in (cond.id, ""):
            continue
        for s in parse_formula(ob.formula).symbols:
            if s.startswith(pre) and s[len(pre):] in cond.model.species:
                out.add(s[len(pre):])
    return out


def sbml_string(problem: CalibrationProblem) -> str:
    from exomir.calibrate.sbml_export import problem_sbml

    conds = list(problem.conditions.values())
    if all(not c.prefix for c in conds):  # one block shared by all arms; dose per condition
        rates = set().union(*(rates_needed(problem, c) for c in conds))
        blocks = [("", conds[0].model, rates)]
    else:
        blocks = [(c.prefix, c.model, rates_needed(problem, c)) for c in conds]
    mid = "exomir_" + "".join(ch if ch.isalnum() else "_" for ch in problem.id)
    return problem_sbml(blocks, mid)


def _shared(problem: CalibrationProblem) -> bool:
    return len(problem.conditions) > 1 and all(not c.prefix for c in
                                               problem.conditions.values())


def split_noise(problem: CalibrationProblem) -> CalibrationProblem:
    """An equivalent problem in which no observable has per-row noise parameters: rows with
    the same SD share a copy ``<observable>__sd<k>`` whose noise formula is that number (for
    tools that accept only constant or single-parameter noise formulas, e.g. pyPESTO's
    roadrunner objective). The likelihood is unchanged."""
    obs = dict(problem.observables)
    meas = problem.measurements.copy()
    for oid in list(dict.fromkeys(meas["observableId"])):
        ob = obs[oid]
        if not ob.noise_formula.startswith("noiseParameter1_"):
            continue
        sel = meas["observableId"] == oid
        for k, sd in enumerate(dict.fromkeys(meas.loc[sel, "noiseParameters"])):
            new = f"{oid}{SEP}sd{k}"
            obs[new] = Observable(new, ob.name, ob.formula, ob.condition, ob.unit,
                                  ob.transformation, ob.noise_distribution, repr(float(sd)),
                                  ob.label)
            rows = sel & (meas["noiseParameters"] == sd)
            meas.loc[rows, "observableId"] = new
            meas.loc[rows, "noiseParameters"] = np.nan
        del obs[oid]
    return CalibrationProblem(**{**problem.__dict__, "observables": obs,
                                 "measurements": meas})


def tables(problem: CalibrationProblem) -> dict[str, pd.DataFrame]:
    """The four PEtab tables of a problem (observables only those with measurements)."""
    meas = problem.measurements
    used = list(dict.fromkeys(meas["observableId"]))
    obs = pd.DataFrame([{
        "observableId": o.id, "observableName": o.label or o.name,
        "observableFormula": o.formula, "observableTransformation": o.transformation,
        "noiseFormula": o.noise_formula, "noiseDistribution": o.noise_distribution,
    } for o in (problem.observables[k] for k in used)])
    fixed_names = sorted({k for c in problem.conditions.values() for k in c.fixed})
    doses = {c.spec.dose_particles for c in problem.conditions.values()}
    rows = []
    for c in problem.conditions.values():
        row: dict[str, Any] = {"conditionId": c.id, "conditionName": c.label or c.id}
        if _shared(problem) and len(doses) > 1:
            # the arms share one SBML block: the dose per condition (the t = 0 amounts are
            # initial assignments over it)
            row["dose"] = c.spec.dose_particles
        for k in fixed_names:
            row[k] = c.fixed.get(k, c.model.table[k].value)
        rows.append(row)
    cond = pd.DataFrame(rows).sort_values("conditionId", kind="stable")
    mcols = ["observableId", "simulationConditionId", "time", "measurement"]
    # rows sorted by condition: pyPESTO 0.7's roadrunner objective pairs its per-condition
    # data (first-appearance order) with petab's parameter mapping (sorted order), so an
    # unsorted table silently gives each condition another condition's parameters
    meas = meas.sort_values("simulationConditionId", kind="stable")
    m = meas[mcols].copy()
    if meas["noiseParameters"].notna().any():
        m["noiseParameters"] = meas["noiseParameters"]
    # fixed parameters are written on the lin scale: pyPESTO's roadrunner objective (0.7)
    # fills fixed values scaled but unscales them as lin, so log10 would corrupt them
    par = pd.DataFrame([{
        "parameterId": p.id, "parameterName": p.id,
        "parameterScale": p.scale if p.estimate else "lin",
        "lowerBound": p.lower, "upperBound": p.upper, "nominalValue": p.nominal,
        "estimate": int(p.estimate)} for p in problem.parameters])
    return {"observables": obs, "conditions": cond, "measurements": m, "parameters": par}


def write_petab(problem: CalibrationProblem, out: str | Path, *,
                constant_noise: bool = False) -> Path:
    """Write the PEtab v1 files of ``problem`` into folder ``out``; returns the YAML path.

    ``constant_noise``: write per-row SDs as constant noise formulas (:func:`split_noise`)."""
    if constant_noise:
        problem = split_noise(problem)
    d = Path(out)
    d.mkdir(parents=True, exist_ok=True)
    (d / "model.xml").write_text(sbml_string(problem), encoding="utf-8")
    tabs = tables(problem)
    files = {"observables": "observables.tsv", "conditions": "conditions.tsv",
             "measurements": "measurements.tsv", "parameters": "parameters.tsv"}
    for k, name in files.items():
        tabs[k].to_csv(d / name, sep="\t", index=False)
    ext = {
        "version": 1, "problem_id": problem.id, "title": problem.title,
        "conditions": {c.id: {"prefix": c.prefix, "label": c.label, "spec": spec_dict(c)}
                       for c in problem.conditions.values()},
        "observables": {o.id: {"name": o.name, "unit": o.unit, "label": o.label}
                        for o in problem.observables.values()},
        "parameters": {p.id: {"unit": p.unit, "kind": p.kind, "note": p.note}
                       for p in problem.parameters},
        "sources": problem.sources, "notes": problem.notes,
    }
    doc = {"format_version": 1, "parameter_file": files["parameters"],
           "problems": [{"sbml_files": ["model.xml"],
                         "condition_files": [files["conditions"]],
                         "measurement_files": [files["measurements"]],
                         "observable_files": [files["observables"]]}],
           "extensions": {EXTENSION: ext}}
    y = d / "problem.yaml"
    y.write_text("# PEtab v1 problem written by exomir calibrate --to-petab; the exomir "
                 "extension names\n# each condition's therapy spec (exomir simulates the same "
                 "SBML with its own engine).\n" + yaml.safe_dump(doc, sort_keys=False),
                 encoding="utf-8")
    return y


@contextmanager
def _captured_log() -> Iterator[io.StringIO]:
    buf = io.StringIO()
    h = logging.StreamHandler(buf)
    h.setLevel(logging.ERROR)
    lg = logging.getLogger("petab")
    lg.addHandler(h)
    try:
        yield buf
    finally:
        lg.removeHandler(h)


def check_files(path: str | Path) -> None:
    """Read a PEtab YAML and every file it names through :mod:`exomir.core.files` before petab
    (pandas, libsbml) sees them: size and line limits, binary/NUL, encodings, strict TSV
    quoting, a directory or a missing file -- each an InputError naming the file and line."""
    from exomir.core.files import (
        numeric_column,
        read_input_bytes,
        read_mapping,
        read_table,
        table_frame,
    )

    p = Path(path)
    doc = read_mapping(p, accepted="a PEtab v1 problem YAML")
    problems = doc.get("problems")
    if not isinstance(problems, list) or not problems or \
            not all(isinstance(q, dict) for q in problems):
        raise InputError("a PEtab YAML needs a list 'problems' of file mappings", source=p,
                         field="problems", accepted="problems: [{sbml_files: [...], "
                                                    "measurement_files: [...], ...}]")
    named: list[tuple[str, Any]] = [("parameter_file", doc.get("parameter_file"))]
    for q in problems:
        for key in ("measurement_files", "condition_files", "observable_files", "sbml_files",
                    "visualization_files"):
            named += [(key, v) for v in (q.get(key) or [])] if isinstance(
                q.get(key) or [], list) else [(key, q.get(key))]
    for key, name in named:
        if name is None and key != "parameter_file":
            continue
        if not isinstance(name, str) or not name.strip():
            raise InputError("expected a file name", source=p, field=key, value=name,
                             accepted="a path relative to the YAML")
        f = Path(name) if Path(name).is_absolute() else p.parent / name
        if key == "sbml_files":
            read_input_bytes(f, field=key)
            continue
        table = read_table(f, delimiter="\t", comment=None, field=key,
                           accepted=f"a PEtab v1 {key.removesuffix('s').replace('_', ' ')} "
                                    "(TSV)")
        numeric = _NUMERIC.get(key, {})
        if numeric:
            frame = table_frame(table)
            for col, (lo, integer) in numeric.items():
                if col in frame.columns:
                    numeric_column(frame, col, source=f, lo=lo, integer=integer)


# PEtab columns exomir reads as numbers: column -> (lower limit, whole number)
_NUMERIC: dict[str, dict[str, tuple[float | None, bool]]] = {
    "measurement_files": {"time": (0.0, False), "measurement": (None, False)},
    "parameter_file": {"lowerBound": (None, False), "upperBound": (None, False),
                       "nominalValue": (None, False), "estimate": (0.0, True)},
}


def lint(path: str | Path) -> list[str]:
    """petab's own validation of a PEtab YAML: the error messages (empty = valid)."""
    petab = _petab()
    with _captured_log() as buf:
        try:
            prob = petab.Problem.from_yaml(str(path))
        except Exception as exc:  # petab raises several types for unreadable files
            return [f"{exc.__class__.__name__}: {exc}"]
        try:
            failed = petab.lint_problem(prob)
        except Exception as exc:  # lint itself raises on some malformed entries
            return [f"{exc.__class__.__name__}: {exc}"]
    msgs = [ln for ln in buf.getvalue().splitlines() if ln.strip()]
    if failed and not msgs:
        msgs = ["petab lint reported errors"]
    return msgs if failed else []


def spec_model_table(spec: Any) -> Any:
    from exomir.body.model import build_model

    return build_model(spec).table


def read_petab(path: str | Path) -> CalibrationProblem:
    """A PEtab v1 problem (with the exomir extension) as a :class:`CalibrationProblem`."""
    petab = _petab()
    p = Path(path)
    check_files(p)
    errors = lint(p)
    if errors:
        raise InputError(f"petab rejects the problem: {errors[0]}", source=p,
                         accepted="a PEtab v1 problem that petablint accepts")
    prob = petab.Problem.from_yaml(str(p))
    try:
        return _from_petab(prob, p)
    except InputError:
        raise
    except (KeyError, IndexError, TypeError, ValueError, AttributeError) as exc:
        # petab lint accepts some content exomir's extension cannot use (a missing key, text
        # where a number goes): name the problem file and what failed rather than crash
        raise InputError(f"PEtab problem exomir cannot read ({exc.__class__.__name__}: "
                         f"{str(exc)[:200]})", source=p,
                         accepted="the files written by exomir calibrate --to-petab, with "
                                  "numbers where numbers go") from None


def _from_petab(prob: Any, p: Path) -> CalibrationProblem:
    ext = (prob.extensions_config or {}).get(EXTENSION)
    if not isinstance(ext, dict) or "conditions" not in ext:
        raise InputError("PEtab problem without an 'extensions: exomir' section naming each "
                         "condition's therapy spec", source=p, field="extensions.exomir",
                         accepted="the files written by exomir calibrate --to-petab")
    cdf = prob.condition_df
    conditions: dict[str, Condition] = {}
    for cid, c in ext["conditions"].items():
        spec = parse_spec(dict(c["spec"]), source=f"{p}:extensions.exomir.conditions.{cid}")
        fixed: dict[str, float] = {}
        if cid not in cdf.index:
            raise InputError("condition of the exomir extension missing from the condition "
                             "table", source=p, field="conditionId", value=cid)
        table_names = {q.name for q in spec_model_table(spec)}
        for col in cdf.columns:
            if col == "conditionName":
                continue
            v = cdf.loc[cid, col]
            if col == "dose" and col not in table_names:
                if not np.isclose(float(v), spec.dose_particles, rtol=1e-12):
                    raise InputError("condition-table dose differs from the spec's dose in the "
                                     "exomir extension", source=p, field=f"{cid}.dose",
                                     value=v, accepted=str(spec.dose_particles))
                continue
            try:
                fixed[col] = float(v)
            except (TypeError, ValueError):
                raise InputError("condition-table entries must be numbers here", source=p,
                                 field=col, value=v) from None
        conditions[cid] = Condition(cid, spec, str(c.get("label", "")), fixed,
                                    str(c.get("prefix", "")))
    table = next(iter(conditions.values())).model.table
    meas = prob.measurement_df.copy()
    if "observableParameters" in meas.columns and meas["observableParameters"].notna().any():
        raise InputError("observableParameters are not supported", source=p,
                         field="observableParameters",
                         value=meas["observableParameters"].dropna().iloc[0])
    odf = prob.observable_df
    eo = ext.get("observables", {})
    observables: dict[str, Observable] = {}
    for oid, row in odf.iterrows():
        cids = set(meas.loc[meas["observableId"] == oid, "simulationConditionId"])
        syms = parse_formula(str(row["observableFormula"])).symbols
        owners = {c.id for c in conditions.values() if c.prefix and
                  any(s.startswith(c.prefix) for s in syms)}
        cid = next(iter(owners)) if len(owners) == 1 else (
            next(iter(cids)) if len(cids) == 1 else next(iter(conditions)))
        if len(owners) > 1 or (owners and cids - owners):
            raise InputError("an observable must belong to one condition's SBML block",
                             source=p, field="observableFormula", value=row["observableFormula"])
        info = eo.get(str(oid), {})
        observables[str(oid)] = Observable(
            str(oid), str(info.get("name", str(oid).split(SEP)[0])),
            str(row["observableFormula"]), cid, str(info.get("unit", "")),
            str(row.get("observableTransformation", "lin") or "lin"),
            str(row.get("noiseDistribution", "normal") or "normal"),
            str(row["noiseFormula"]), str(info.get("label", row.get("observableName", ""))))
    for o in observables.values():
        if o.noise_distribution != "normal" or o.transformation not in ("lin", "log"):
            raise InputError("only normal noise on lin or log scale is supported", source=p,
                             field="noiseDistribution", value=f"{o.transformation} "
                             f"{o.noise_distribution}", accepted="normal with lin or log")
    npar = meas["noiseParameters"] if "noiseParameters" in meas.columns else \
        pd.Series(np.nan, index=meas.index)
    try:
        npar = pd.to_numeric(npar)
    except (TypeError, ValueError):
        raise InputError("noiseParameters must be numbers here", source=p,
                         field="noiseParameters") from None
    frame = pd.DataFrame({
        "observableId": meas["observableId"].astype(str),
        "simulationConditionId": meas["simulationConditionId"].astype(str),
        "time": meas["time"].astype(float), "measurement": meas["measurement"].astype(float),
        "noiseParameters": npar.astype(float),
        "observable": [observables[o].name for o in meas["observableId"]],
        "how": "PEtab", "source": "", "note": "",
        "where": [f"{p.parent / 'measurements'}:{i + 2}" for i in range(len(meas))]})
    ep = ext.get("parameters", {})
    params = []
    for pid, row in prob.parameter_df.iterrows():
        info = ep.get(str(pid), {})
        kind = "model" if str(pid) in table else "noise"
        params.append(ParameterSpec(
            str(pid), str(row["parameterScale"]), float(row["lowerBound"]),
            float(row["upperBound"]), float(row.get("nominalValue", np.nan)),
            bool(int(row["estimate"])), str(info.get("unit", table[str(pid)].unit
                                                      if kind == "model" else "dimensionless")),
            kind, str(info.get("note", ""))))
    return CalibrationProblem(
        id=str(ext.get("problem_id", p.parent.name)), title=str(ext.get("title", "")),
        conditions=conditions, observables=observables, measurements=frame,
        parameters=params, sources=list(ext.get("sources", [])),
        notes=list(ext.get("notes", [])), file=str(p))
