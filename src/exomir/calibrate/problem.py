"""A calibration problem: exomir's body model for a spec, arms, observables, data, parameters.

The problem *is* a PEtab v1 problem held in memory: ``observables`` are PEtab observable rows
(formula over SBML ids, transformation lin|log, noise formula), ``measurements`` the PEtab
measurement table, ``parameters`` the PEtab parameter table (plus unit and note). With several
arms (PEtab conditions) the exported SBML holds one block per arm whose ids carry the arm's
prefix ``<arm>__`` (body-model parameters are shared, unprefixed), and each observable row
belongs to one arm: user-facing observable ``wound_closure_pct`` in arm ``gel`` is PEtab
observable ``wound_closure_pct__gel``. Two ways in: :func:`load_problem` (the short exomir YAML,
see docs/calibration.md) and :func:`exomir.calibrate.petab_io.read_petab`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from exomir.body.model import BodyModel, build_model
from exomir.body.params import species_table
from exomir.body.spec import BodySpec, parse_spec
from exomir.calibrate.formula import parse_formula
from exomir.core import InputError
from exomir.core.calibrated import from_scale, to_scale
from exomir.core.files import MAX_MAGNITUDE, read_mapping

SCALES = ("lin", "log", "log10")
NOISE = {"normal": ("lin", "normal"), "lognormal": ("log", "normal"),
         "log-normal": ("log", "normal"), "laplace": ("lin", "laplace")}
SEP = "__"


# ----------------------------------------------------------------------------- pieces

@dataclass
class Condition:
    """One arm: a therapy spec (dose, route, vehicle, cargo) and fixed parameter values."""

    id: str
    spec: BodySpec
    label: str = ""
    fixed: dict[str, float] = field(default_factory=dict)
    prefix: str = ""
    _model: BodyModel | None = None

    @property
    def model(self) -> BodyModel:
        if self._model is None:
            self._model = build_model(self.spec)
        return self._model


@dataclass
class Observable:
    """A PEtab observable row, tied to one arm (``condition``; "" = shared by all arms)."""

    id: str
    name: str
    formula: str
    condition: str
    unit: str
    transformation: str = "lin"  # lin | log
    noise_distribution: str = "normal"
    noise_formula: str = "1"
    label: str = ""


@dataclass
class ParameterSpec:
    """A PEtab parameter row (bounds and nominal value on the linear scale)."""

    id: str
    scale: str
    lower: float
    upper: float
    nominal: float
    estimate: bool = True
    unit: str = "dimensionless"
    kind: str = "model"  # model | noise
    note: str = ""

    def to_x(self, value: float) -> float:
        return float(to_scale(value, self.scale))

    def from_x(self, x: float | np.ndarray) -> Any:
        return from_scale(x, self.scale)

    @property
    def x_bounds(self) -> tuple[float, float]:
        return self.to_x(self.lower), self.to_x(self.upper)


@dataclass
class CalibrationProblem:
    """Everything a fit needs; see the module docstring."""

    id: str
    title: str
    conditions: dict[str, Condition]
    observables: dict[str, Observable]
    measurements: pd.DataFrame
    parameters: list[ParameterSpec]
    sources: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    file: str | None = None
    held_out: pd.DataFrame | None = None
    raw: dict[str, Any] = field(default_factory=dict)
    data_files: list[dict[str, str]] = field(default_factory=list)  # file, sha256

    # ---- parameters ----------------------------------------------------------------
    @property
    def estimated(self) -> list[ParameterSpec]:
        return [p for p in self.parameters if p.estimate]

    @property
    def names(self) -> list[str]:
        return [p.id for p in self.estimated]

    def param(self, name: str) -> ParameterSpec:
        for p in self.parameters:
            if p.id == name:
                return p
        raise KeyError(name)

    def x_nominal(self) -> np.ndarray:
        return np.array([p.to_x(p.nominal) for p in self.estimated])

    def x_bounds(self) -> tuple[np.ndarray, np.ndarray]:
        b = [p.x_bounds for p in self.estimated]
        return np.array([a for a, _ in b]), np.array([c for _, c in b])

    def linear(self, x: np.ndarray) -> dict[str, float]:
        """All parameter values (linear scale) for an estimation-scale vector ``x``."""
        out = {p.id: float(p.nominal) for p in self.parameters}
        for p, xi in zip(self.estimated, np.asarray(x, dtype=float), strict=True):
            out[p.id] = float(p.from_x(xi))
        return out

    @property
    def indication(self) -> str:
        return next(iter(self.conditions.values())).spec.therapy.indication.value

    @property
    def species(self) -> str:
        sp = next(iter(self.conditions.values())).spec.therapy.subject.species
        return sp.value if sp else "mouse"

    def sha256(self) -> str:
        h = hashlib.sha256()
        h.update(self.measurements.to_csv(index=False).encode())
        for p in self.parameters:
            h.update(repr((p.id, p.scale, p.lower, p.upper, p.nominal, p.estimate)).encode())
        for o in self.observables.values():
            h.update(repr((o.id, o.formula, o.transformation, o.noise_formula)).encode())
        return h.hexdigest()

    def with_estimated(self, names: Sequence[str]) -> CalibrationProblem:
        """A copy that estimates only ``names`` (others fixed at their nominal value)."""
        unknown = set(names) - {p.id for p in self.parameters}
        if unknown:
            raise InputError("unknown parameter", field="parameters", value=sorted(unknown)[0],
                             accepted=[p.id for p in self.parameters])
        params = [ParameterSpec(**{**p.__dict__, "estimate": p.id in names})
                  for p in self.parameters]
        return CalibrationProblem(**{**self.__dict__, "parameters": params})

    def with_measurements(self, values: np.ndarray) -> CalibrationProblem:
        """A copy with other measured values (same rows): synthetic data sets."""
        m = self.measurements.copy()
        m["measurement"] = np.asarray(values, dtype=float)
        return CalibrationProblem(**{**self.__dict__, "measurements": m})


# ----------------------------------------------------------------------------- observables

#: observable kinds of the short form: (unit, formula template). {P} = the arm's SBML prefix.
KINDS: dict[str, tuple[str, str]] = {
    "plasma_pct_id": ("%ID", "100 * {P}plasma / {P}dose"),
    "plasma_conc_pct_id_per_ml": ("%ID/mL", "100 * {P}plasma / {P}dose / {vplasma}"),
    "plasma_conc_particles_per_ml": ("particle/mL", "{P}plasma / {vplasma}"),
    "organ_pct_id": ("%ID", "100 * {P}{tissue} / {P}dose"),
    "organ_pct_id_per_g": ("%ID/g", "100 * {P}{tissue} / {P}dose / {mass}"),
    "plasma_local_half_life": ("min", "-ln(2) * {P}plasma / {P}d_plasma * 1440"),
    # read-outs the body's SBML defines as assignment rules (exomir.body.sbml.observables)
    "wound_closure_pct": ("%", "100 * {P}wound_closure"),
    "paw_withdrawal_threshold_g": ("g", "{P}paw_withdrawal_threshold"),
    "paw_withdrawal_latency_s": ("s", "{P}paw_withdrawal_latency"),
    "knockdown": ("dimensionless", "1 - {P}protein_{gene}"),
}
_ORGAN_KEY = {"skin_wound": "skin"}


def _unit_key(unit: str) -> str:
    return unit.replace("%ID", "percent").replace("%", "percent")


def convert_factor(from_unit: str, to_unit: str, where: str, source: str | None = None,
                   line: int | None = None) -> float:
    """Multiplicative factor from one unit to another (pint; %ID reads as percent)."""
    if from_unit.strip() == to_unit.strip():
        return 1.0
    from exomir.core.units import parse_unit, ureg

    try:
        a = parse_unit(_unit_key(from_unit), field=where)
        b = parse_unit(_unit_key(to_unit), field=where)
        return float(ureg.Quantity(1.0, a).to(b).magnitude)
    except InputError:
        raise InputError("unit pint cannot read", source=source, line=line, field=where,
                         value=from_unit, accepted=f"a unit convertible to {to_unit}") from None
    except Exception:
        raise InputError(f"unit cannot be converted to {to_unit}", source=source, line=line,
                         field=where, value=from_unit,
                         accepted=f"a unit convertible to {to_unit}") from None


def _observable_formula(spec: Mapping[str, Any], cond: Condition, where: str) -> tuple[str, str]:
    """(formula with the arm prefix, unit) for one observable definition of the short form."""
    kind = spec.get("kind", "formula" if "formula" in spec else None)
    P = cond.prefix
    model = cond.model
    if kind == "formula":
        if "formula" not in spec or "unit" not in spec:
            raise InputError("a formula observable needs 'formula' and 'unit'", field=where)
        f = parse_formula(spec["formula"], where)
        local = block_symbols(model)
        from exomir.calibrate.formula import rename_symbols

        text = rename_symbols(f.text, {s: P + s for s in f.symbols if s in local}) if P \
            else f.text
        return text, str(spec["unit"])
    if kind not in KINDS:
        raise InputError("unknown observable kind", field=f"{where}.kind", value=kind,
                         accepted=[*KINDS, "formula"])
    unit, tmpl = KINDS[kind]
    sub: dict[str, str] = {"P": P}
    sp = species_table()[cond.spec.therapy.subject.species.value
                         if cond.spec.therapy.subject.species else "mouse"]
    if "{vplasma}" in tmpl:
        sub["vplasma"] = repr(float(sp["plasma_volume_ml"]))
    if "{tissue}" in tmpl:
        tissue = spec.get("tissue")
        if tissue not in model.species:
            raise InputError("unknown tissue", field=f"{where}.tissue", value=tissue,
                             accepted=[s for s in model.species if s not in ("depot", "site")])
        sub["tissue"] = str(tissue)
        if "{mass}" in tmpl:
            key = _ORGAN_KEY.get(str(tissue), str(tissue))
            pct = sp["organ_percent_bw"].get(key)
            if pct is None:
                raise InputError("no organ mass for this tissue", field=f"{where}.tissue",
                                 value=tissue, accepted=sorted(sp["organ_percent_bw"]))
            sub["mass"] = repr(float(pct) / 100.0 * float(sp["body_weight_kg"]) * 1000.0)
    if "{gene}" in tmpl:
        gene = str(spec.get("gene", "")).upper().replace("-", "_").replace(".", "_")
        if gene not in model.genes:
            raise InputError("gene is not a target of this arm's spec", field=f"{where}.gene",
                             value=spec.get("gene"), accepted=model.genes or "body.targets")
        sub["gene"] = gene
    if (kind == "wound_closure_pct" and model.outcome != "wound_closure") or \
            (kind == "paw_withdrawal_threshold_g" and model.outcome != "pain_threshold"):
        raise InputError(f"observable kind {kind} does not exist for indication "
                         f"{cond.spec.therapy.indication.value}", field=f"{where}.kind",
                         value=kind)
    return tmpl.format(**sub), unit


def structure_key(model: BodyModel) -> tuple[Any, ...]:
    """What must agree for two arms to share one SBML block (all but the dose)."""
    flat = {k: float(np.asarray(v)[0]) for k, v in model.flat_params().items()
            if k != "dose"}
    rel = None if model.release is None else model.release.sbml_infix("t")
    fl = [(f.name, f.kind, f.on, f.params, f.effects) for f in model.fluxes]
    return (tuple(model.species), tuple(fl), tuple(model.dose_times), rel,
            tuple(sorted(flat.items())), model.dose_dest)


def same_structure(conds: Sequence[Condition]) -> bool:
    """Arms whose models differ only in the dose (and per-arm fixed table values) share one
    SBML block; the dose becomes a PEtab condition-table column."""
    keys = [structure_key(c.model) for c in conds]
    return all(k == keys[0] for k in keys[1:])


def block_symbols(model: BodyModel) -> set[str]:
    """Ids that belong to one arm's SBML block (states, their rates d_<state>, and the flat
    parameters that are not body-table parameters)."""
    from exomir.body.sbml import observables

    table = {p.name for p in model.table}
    flat = set(model.flat_params())
    return (set(model.species) | {f"d_{s}" for s in model.species} | (flat - table)
            | set(observables(model)))


# ----------------------------------------------------------------------------- data

_NUM_COLS = ("time", "mean", "sd", "se", "n", "low", "high", "median", "q1", "q3")


def _num(row: Mapping[str, Any], col: str, src: str, line: int) -> float | None:
    v = row.get(col)
    if v is None or (isinstance(v, float) and np.isnan(v)) or str(v).strip() == "":
        return None
    try:
        x = float(v)
    except (TypeError, ValueError):
        raise InputError("not a number", source=src, line=line, field=col, value=v) from None
    if not np.isfinite(x):
        raise InputError("not a finite number", source=src, line=line, field=col, value=v)
    if abs(x) > MAX_MAGNITUDE:
        raise InputError("implausibly large number", source=src, line=line, field=col, value=v,
                         accepted=f"numbers within +-{MAX_MAGNITUDE:g}")
    return x


def measurement_rows(frame: pd.DataFrame, src: str, observables: Mapping[str, dict[str, Any]],
                     conditions: Mapping[str, Condition], *, time_unit: str = "day",
                     range_level: float = 0.95, days: Mapping[str, float] | None = None,
                     lines: Sequence[int] | None = None) -> list[dict[str, Any]]:
    """Plain-layout rows (arm, time, observable, mean, sd|se, n, unit, ...) -> measurement dicts
    with the value in the observable's unit, time in days and sigma (None = from the model).

    Value and sigma (docs/calibration.md): normal noise: mean, sigma = se, or sd/sqrt(n) (sd
    alone if n is missing); a range low-high read as a ``range_level`` interval: midpoint and
    half-width/z; median with q1-q3: the median and IQR/1.349/sqrt(n). Log-normal noise: the
    same on the log scale (geometric midpoint, ln(high/low)/(2z), ln(q3/q1)/1.349/sqrt(n);
    sd/se: sqrt(ln(1 + (se/mean)^2)))."""
    from scipy import stats

    required = {"arm", "time", "observable", "unit"}
    missing = required - set(frame.columns)
    if missing:
        raise InputError("missing column", source=src, line=1, field=sorted(missing)[0],
                         accepted="arm, time, observable, mean|low+high|median+q1+q3, "
                                  "sd|se, n, unit")
    z = float(stats.norm.ppf(0.5 + range_level / 2.0))
    out: list[dict[str, Any]] = []
    records: list[dict[str, Any]] = [{str(k): v for k, v in r.items()}
                                     for r in frame.to_dict("records")]
    for i, row in enumerate(records):
        line = lines[i] if lines is not None and i < len(lines) else i + 2
        arm = str(row["arm"]).strip()
        if arm not in conditions:
            raise InputError("unknown arm", source=src, line=line, field="arm", value=arm,
                             accepted=list(conditions))
        obs = str(row["observable"]).strip()
        if obs not in observables:
            raise InputError("unknown observable", source=src, line=line, field="observable",
                             value=obs, accepted=list(observables))
        ospec = observables[obs]
        t = _num(row, "time", src, line)
        if t is None:
            raise InputError("missing time", source=src, line=line, field="time")
        tu = str(row.get("time_unit") or time_unit)
        t_days = t * convert_factor(tu, "day", "time_unit", src, line)
        horizon = (days or {}).get(arm, conditions[arm].spec.therapy.days)
        if not 0.0 <= t_days <= horizon + 1e-12:
            raise InputError(f"time outside the simulated window 0-{horizon:g} days", source=src,
                             line=line, field="time", value=row["time"],
                             accepted=f"0 to {horizon:g} days (spec days)")
        vals = {c: _num(row, c, src, line) for c in _NUM_COLS if c != "time"}
        for c in ("sd", "se", "n"):
            v = vals[c]
            if v is not None and v < 0:
                raise InputError("must not be negative", source=src, line=line, field=c,
                                 value=row[c], accepted="a number >= 0")
        n = vals["n"]
        if n is not None and n < 1:
            raise InputError("must be >= 1", source=src, line=line, field="n", value=row["n"])
        log = NOISE[str(ospec.get("noise", "normal"))][0] == "log"
        unit_to = ospec["_unit"]
        fac = convert_factor(str(row["unit"]), unit_to, "unit", src, line)
        sigma: float | None
        if vals["mean"] is not None:
            value = vals["mean"] * fac
            se = vals["se"] if vals["se"] is not None else (
                None if vals["sd"] is None else vals["sd"] / np.sqrt(n or 1.0))
            if se is None:
                sigma = None
            elif log:
                if vals["mean"] <= 0:
                    raise InputError("log-normal noise needs a positive mean", source=src,
                                     line=line, field="mean", value=row["mean"])
                sigma = float(np.sqrt(np.log1p((se / vals["mean"]) ** 2)))
            else:
                sigma = se * fac
            how = "mean"
        elif vals["low"] is not None and vals["high"] is not None:
            lo, hi = vals["low"], vals["high"]
            if hi < lo:
                raise InputError("high < low", source=src, line=line, field="high",
                                 value=row["high"])
            if log:
                if lo <= 0:
                    raise InputError("log-normal noise needs a positive range", source=src,
                                     line=line, field="low", value=row["low"])
                value = float(np.sqrt(lo * hi)) * fac
                sigma = float(np.log(hi / lo) / (2 * z))
            else:
                value = 0.5 * (lo + hi) * fac
                sigma = (hi - lo) / (2 * z) * fac
            how = f"range as {100 * range_level:g} % interval"
        elif vals["median"] is not None:
            q1, q3 = vals["q1"], vals["q3"]
            value = vals["median"] * fac
            if q1 is None or q3 is None:
                sigma = None
            elif log:
                sigma = float(np.log(q3 / q1) / 1.349 / np.sqrt(n or 1.0))
            else:
                sigma = (q3 - q1) / 1.349 / np.sqrt(n or 1.0) * fac
            how = "median, IQR/1.349"
        else:
            raise InputError("no value: give mean, low and high, or median", source=src,
                             line=line, field="mean")
        if log and value <= 0:
            raise InputError("log-normal noise needs a positive value", source=src, line=line,
                             field="mean", value=value)
        out.append({"observable": obs, "arm": arm, "time": t_days, "measurement": value,
                    "sigma": sigma, "how": how, "source": str(row.get("source") or ""),
                    "note": str(row.get("note") or ""), "where": f"{src}:{line}",
                    "held_out": str(row.get("role", "")).strip().lower() in
                    ("held_out", "held-out", "validation")})
    return out


PLAIN_ACCEPTED = ("a CSV with columns arm, time, observable, unit and mean (sd|se, n) or "
                  "low+high or median+q1+q3")


def read_plain_csv(path: Path) -> pd.DataFrame:
    """A plain-layout data CSV as a frame of strings indexed by file line (1-based), read
    through :mod:`exomir.core.files` (size and line limits, encodings, binary/NUL refused,
    strict quoting; every error names file and line)."""
    from exomir.core.files import read_table, table_frame

    table = read_table(path, delimiter=",", comment="#", field="data",
                       required=("arm", "time", "observable", "unit"),
                       accepted=PLAIN_ACCEPTED)
    frame = table_frame(table)
    frame.columns = [str(c).strip() for c in frame.columns]
    return frame


def data_lines(frame: pd.DataFrame) -> list[int]:
    """1-based file line of each data row of :func:`read_plain_csv`'s frame."""
    return [int(i) for i in frame.index]


# ----------------------------------------------------------------------------- short form

_ARM_KEYS = {"id", "label", "dose", "route", "vehicle", "cargo", "parameters", "times_days",
             "body", "diabetic", "targets", "copies_per_vesicle", "days", "mechanisms",
             "vehicle_type", "release_preset", "description"}
_OBS_KEYS = {"id", "kind", "formula", "unit", "noise", "sigma", "sigma_note", "model_error",
             "tissue", "gene", "label", "sigma_bounds"}
_PAR_KEYS = {"id", "scale", "lower", "upper", "nominal", "estimate", "note", "unit"}
_TOP_KEYS = {"id", "title", "spec", "conditions", "arms", "observables", "data", "parameters",
             "sources", "notes", "time_unit", "range_level", "format"}


def _check_keys(d: Mapping[str, Any], allowed: set[str], src: str, where: str) -> None:
    if not isinstance(d, Mapping):
        raise InputError("expected a mapping", source=src, field=where)
    extra = set(d) - allowed
    if extra:
        raise InputError("unknown key", source=src, field=f"{where}.{sorted(extra)[0]}",
                         value=sorted(extra)[0], accepted=sorted(allowed))


def _arm_spec(base: dict[str, Any], arm: Mapping[str, Any], src: str, where: str) -> BodySpec:
    d = {k: (dict(v) if isinstance(v, dict) else v) for k, v in base.items()}
    body = dict(d.get("body") or {})
    if "dose" in arm:
        dose = arm["dose"]
        reg = dict(d.get("regimen") or {})
        reg["dose"] = dose if isinstance(dose, Mapping) else {"value": dose, "unit": "particles"}
        d["regimen"] = reg
    if "times_days" in arm:
        reg = dict(d.get("regimen") or {})
        reg["times_days"] = arm["times_days"]
        d["regimen"] = reg
    if "route" in arm:
        d["delivery"] = {**dict(d.get("delivery") or {}), "route": arm["route"]}
    if "cargo" in arm:
        d["cargo"] = arm["cargo"]
    if "days" in arm:
        d["days"] = arm["days"]
    if "description" in arm:
        d["delivery"] = {**dict(d.get("delivery") or {}), "description": arm["description"]}
    for k in ("vehicle", "diabetic", "targets", "copies_per_vesicle", "mechanisms",
              "vehicle_type", "release_preset"):
        if k in arm:
            body[k] = arm[k]
    body.update(arm.get("body") or {})
    d["body"] = body
    try:
        return parse_spec(d, source=src)
    except InputError as exc:
        raise InputError(exc.message, source=src, field=f"{where}.{exc.field or ''}".rstrip("."),
                         value=exc.value, accepted=exc.accepted) from None


def problem_from_mapping(data: Mapping[str, Any], *, source: str | Path = "<problem>",
                         base_dir: Path | None = None) -> CalibrationProblem:
    """Build a problem from the short exomir form (see docs/calibration.md); every error
    names the problem file when it does not name another one."""
    try:
        return _from_mapping(data, str(source), base_dir)
    except InputError as exc:
        if exc.source is None:
            raise exc.located(source=source) from None
        raise


def _from_mapping(data: Mapping[str, Any], src: str, base_dir: Path | None
                  ) -> CalibrationProblem:
    base_dir = base_dir or Path(".")
    _check_keys(data, _TOP_KEYS, src, "problem")
    pid = str(data.get("id") or Path(src).stem)
    spec_raw = data.get("spec")
    if isinstance(spec_raw, str):
        spec_raw = read_mapping(base_dir / spec_raw, accepted="a therapy spec")
    if not isinstance(spec_raw, Mapping):
        raise InputError("missing therapy spec", source=src, field="spec",
                         accepted="a mapping (therapy spec) or a spec file path")
    base = dict(spec_raw)
    arms_raw = data.get("conditions", data.get("arms")) or [{"id": "default"}]
    if not isinstance(arms_raw, list):
        raise InputError("expected a list of arms", source=src, field="conditions")
    conditions: dict[str, Condition] = {}
    for j, a in enumerate(arms_raw):
        where = f"conditions[{j}]"
        _check_keys(a, _ARM_KEYS, src, where)
        cid = str(a.get("id") or f"arm{j}")
        if not cid.replace("_", "").isalnum() or cid[0].isdigit():
            raise InputError("arm ids must be identifiers (letters, digits, _)", source=src,
                             field=f"{where}.id", value=cid)
        if cid in conditions:
            raise InputError("duplicate arm id", source=src, field=f"{where}.id", value=cid)
        spec = _arm_spec(base, a, src, where)
        fixed = {str(k): float(v) for k, v in (a.get("parameters") or {}).items()}
        conditions[cid] = Condition(cid, spec, str(a.get("label", "")), fixed)
    species = {c.spec.therapy.subject.species for c in conditions.values()}
    ind = {c.spec.therapy.indication for c in conditions.values()}
    if len(species) > 1 or len(ind) > 1:
        raise InputError("all arms of one problem share indication and species", source=src,
                         field="conditions", value=sorted(str(s) for s in species | ind))
    # table values an arm's spec changes (mechanism switches, body.parameters) become that
    # arm's fixed values (PEtab condition-table entries): the SBML blocks share one table
    ref = next(iter(conditions.values())).model.table
    for c in conditions.values():
        for q in c.model.table:
            if q.name not in c.fixed and q.value != ref[q.name].value:
                c.fixed[q.name] = q.value
    shared = len(conditions) == 1 or same_structure(list(conditions.values()))
    for c in conditions.values():
        c.prefix = "" if shared else f"{c.id}{SEP}"
        table = {p.name for p in c.model.table}
        for k in c.fixed:
            if k not in table:
                raise InputError("unknown parameter", source=src,
                                 field=f"conditions.{c.id}.parameters", value=k,
                                 accepted="body-model parameters (exomir simulate --param-table)")

    # observables (user-facing) -----------------------------------------------------
    obs_raw = data.get("observables")
    if not isinstance(obs_raw, list) or not obs_raw:
        raise InputError("no observables", source=src, field="observables",
                         accepted="a list of {id, kind, noise, ...}")
    ospecs: dict[str, dict[str, Any]] = {}
    for j, o in enumerate(obs_raw):
        where = f"observables[{j}]"
        _check_keys(o, _OBS_KEYS, src, where)
        oid = str(o.get("id") or "")
        if not oid or SEP in oid:
            raise InputError("observable ids must be identifiers without '__'", source=src,
                             field=f"{where}.id", value=oid)
        first = next(iter(conditions.values())).model
        if oid in block_symbols(first) or oid in first.table or oid == "time":
            raise InputError("observable id shadows a model entity (PEtab forbids it)",
                             source=src, field=f"{where}.id", value=oid,
                             accepted="a new name, e.g. <tissue>_pct_id")
        noise = str(o.get("noise", "normal"))
        if noise not in NOISE:
            raise InputError("unknown noise model", source=src, field=f"{where}.noise",
                             value=noise, accepted=list(NOISE))
        # unit from the first arm (same for all arms)
        _, unit = _observable_formula(o, next(iter(conditions.values())), where)
        ospecs[oid] = {**o, "_unit": str(o.get("unit") or unit), "_where": where}
        if o.get("unit") and str(o["unit"]) != unit:
            convert_factor(str(o["unit"]), unit, f"{where}.unit", src)
            if o.get("kind", "formula") != "formula":
                raise InputError("a built-in observable kind has a fixed unit", source=src,
                                 field=f"{where}.unit", value=o["unit"], accepted=unit)

    # data ----------------------------------------------------------------------------
    rows: list[dict[str, Any]] = []
    data_files: list[dict[str, str]] = []
    sources: list[str] = [str(s) for s in data.get("sources") or []]
    files = data.get("data")
    if not isinstance(files, list) or not files:
        raise InputError("no data", source=src, field="data",
                         accepted="a list of {file: CSV, source: ...}")
    for j, entry in enumerate(files):
        ent = {"file": entry} if isinstance(entry, str) else dict(entry)
        if "file" not in ent:
            raise InputError("missing file", source=src, field=f"data[{j}].file")
        path = Path(ent["file"])
        if not path.is_absolute():
            path = base_dir / path
        frame = read_plain_csv(path)
        from exomir.core.files import read_input_bytes

        data_files.append({"file": str(path),
                           "sha256": hashlib.sha256(read_input_bytes(path)).hexdigest()})
        rows += measurement_rows(frame, str(path), ospecs, conditions,
                                 time_unit=str(data.get("time_unit", "day")),
                                 range_level=float(data.get("range_level", 0.95)),
                                 lines=data_lines(frame))
        if ent.get("source"):
            sources.append(str(ent["source"]))
    for r in rows:
        if r["source"] and r["source"] not in sources:
            sources.append(r["source"])

    # parameters ------------------------------------------------------------------------
    table0 = next(iter(conditions.values())).model.table
    params: list[ParameterSpec] = []
    par_raw = data.get("parameters") or []
    if not isinstance(par_raw, list):
        raise InputError("expected a list", source=src, field="parameters")
    for j, p in enumerate(par_raw):
        where = f"parameters[{j}]"
        _check_keys(p, _PAR_KEYS, src, where)
        pid_ = str(p.get("id", ""))
        if pid_ not in table0:
            raise InputError("unknown parameter", source=src, field=f"{where}.id", value=pid_,
                             accepted="body-model parameters (exomir simulate --param-table)")
        tp = table0[pid_]
        scale = str(p.get("scale", "log10"))
        if scale not in SCALES:
            raise InputError("unknown scale", source=src, field=f"{where}.scale", value=scale,
                             accepted=list(SCALES))
        lo = float(p.get("lower", tp.low if tp.low is not None else tp.value / 10))
        hi = float(p.get("upper", tp.high if tp.high is not None else tp.value * 10))
        nom = float(p.get("nominal", tp.value))
        if not lo < hi:
            raise InputError("lower must be < upper", source=src, field=f"{where}.lower",
                             value=lo, accepted=f"< {hi:g}")
        if scale != "lin" and lo <= 0:
            raise InputError("log scale needs a positive lower bound", source=src,
                             field=f"{where}.lower", value=lo, accepted="> 0")
        if not lo <= nom <= hi:
            raise InputError("nominal value outside the bounds", source=src,
                             field=f"{where}.nominal", value=nom, accepted=f"{lo:g} to {hi:g}")
        params.append(ParameterSpec(pid_, scale, lo, hi, nom, bool(p.get("estimate", True)),
                                    tp.unit, "model", str(p.get("note", ""))))
    if len({p.id for p in params}) != len(params):
        raise InputError("duplicate parameter", source=src, field="parameters")

    # PEtab observables per arm, noise formulas, noise parameters --------------------------
    observables: dict[str, Observable] = {}
    meas: list[dict[str, Any]] = []
    held: list[dict[str, Any]] = []
    for oid, o in ospecs.items():
        noise = str(o.get("noise", "normal"))
        transf, dist = NOISE[noise]
        sig = o.get("sigma")
        merr = o.get("model_error")
        noise_par: str | None = None
        sb = o.get("sigma_bounds") or ([1e-3, 10.0] if transf == "log" else None)
        if sig == "estimate" or merr == "estimate":
            noise_par = f"sigma_{oid}"
            lo_s, hi_s = sb if sb else (1e-3 * _scale_of(rows, oid), 10 * _scale_of(rows, oid))
            params.append(ParameterSpec(noise_par, "log10", float(lo_s), float(hi_s),
                                        float(np.sqrt(float(lo_s) * float(hi_s))), True,
                                        o["_unit"] if transf == "lin" else "dimensionless",
                                        "noise", "estimated noise SD" if sig == "estimate"
                                        else "estimated model-error SD (added in quadrature)"))
        obs_rows = [r for r in rows if r["observable"] == oid]
        for r in obs_rows:
            if r["sigma"] is None and sig is None:
                raise InputError("no SD/SE for this row and no sigma for the observable",
                                 source=r["where"].rsplit(":", 1)[0],
                                 line=int(r["where"].rsplit(":", 1)[1]), field="sd",
                                 accepted="sd or se (with n), or observables[].sigma in the "
                                          "problem")
        # one PEtab observable per arm (one SBML block per arm), or one shared by all arms
        groups = [("", list(conditions.values()))] if shared else \
            [(c.id, [c]) for c in conditions.values()]
        for cid, conds in groups:
            ids = {c.id for c in conds}
            crow = [r for r in obs_rows if r["arm"] in ids]
            formula, _ = _observable_formula(o, conds[0], str(o["_where"]))
            poid = oid if shared else f"{oid}{SEP}{cid}"
            sig_rows = [r["sigma"] for r in crow if not r["held_out"]]
            per_row = False
            if isinstance(sig, int | float) and not isinstance(sig, bool):
                nf = repr(float(sig))  # stated noise SD (an assumption of the problem)
            elif sig == "estimate":
                nf = str(noise_par)
            elif merr == "estimate":
                nf, per_row = f"sqrt(noiseParameter1_{poid}^2 + {noise_par}^2)", True
            elif sig_rows and len(set(sig_rows)) == 1 and sig_rows[0] is not None \
                    and sig_rows[0] > 0:
                nf = repr(float(sig_rows[0]))  # one SD for all rows: a plain number
            else:
                nf, per_row = f"noiseParameter1_{poid}", True
                for r in crow:
                    if r["sigma"] is not None and r["sigma"] <= 0:
                        f_, ln_ = r["where"].rsplit(":", 1)
                        raise InputError("SD must be > 0 (or estimate a model error)",
                                         source=f_, line=int(ln_), field="sd",
                                         value=r["sigma"], accepted="a positive SD/SE")
            observables[poid] = Observable(
                poid, oid, formula, cid, o["_unit"], transf, dist, nf, str(o.get("label", "")))
            for r in crow:
                rec = {"observableId": poid, "simulationConditionId": r["arm"],
                       "time": r["time"],
                       "measurement": r["measurement"],
                       "noiseParameters": r["sigma"] if per_row else np.nan,
                       "observable": oid, "how": r["how"], "source": r["source"],
                       "note": r["note"], "where": r["where"]}
                (held if r["held_out"] else meas).append(rec)
    cols = ["observableId", "simulationConditionId", "time", "measurement", "noiseParameters",
            "observable", "how", "source", "note", "where"]
    frame = pd.DataFrame(meas, columns=cols)
    for poid, ob in observables.items():
        if ob.noise_formula.startswith("noiseParameter") or "noiseParameter1_" in ob.noise_formula:
            sel = frame["observableId"] == poid
            if frame.loc[sel, "noiseParameters"].isna().any():
                bad = frame.loc[sel & frame["noiseParameters"].isna(), "where"].iloc[0]
                f_, ln_ = bad.rsplit(":", 1)
                raise InputError("missing SD/SE", source=f_, line=int(ln_), field="sd",
                                 accepted="sd or se for every row of this observable")
    if frame.empty:
        raise InputError("no measurements to fit (all rows held out?)", source=src,
                         field="data")
    # drop observables without calibration data (kept only for held-out rows)
    used = set(frame["observableId"])
    held_frame = pd.DataFrame(held, columns=cols)
    keep = used | set(held_frame["observableId"])
    observables = {k: v for k, v in observables.items() if k in keep}
    if not any(p.estimate for p in params):
        raise InputError("nothing to estimate", source=src, field="parameters",
                         accepted="at least one parameter with estimate: true")
    return CalibrationProblem(
        id=pid, title=str(data.get("title", pid)), conditions=conditions,
        observables=observables, measurements=frame, parameters=params, sources=sources,
        notes=[str(n) for n in data.get("notes") or []], file=src,
        held_out=held_frame if not held_frame.empty else None, raw=dict(data),
        data_files=data_files)


def _scale_of(rows: list[dict[str, Any]], oid: str) -> float:
    v = [abs(r["measurement"]) for r in rows if r["observable"] == oid]
    return float(np.median(v)) if v else 1.0


def load_problem(path: str | Path) -> CalibrationProblem:
    """Read a calibration problem: the short exomir YAML, or a PEtab YAML (``format_version``)."""
    p = Path(path)
    data = read_mapping(p, accepted="a calibration problem (docs/calibration.md) or a PEtab "
                                    "v1 YAML")
    if "format_version" in data and "problems" in data:
        from exomir.calibrate.petab_io import read_petab

        return read_petab(p)
    return problem_from_mapping(data, source=p, base_dir=p.parent)


# ----------------------------------------------------------------------------- built-ins

def builtin_names() -> list[str]:
    ref = resources.files("exomir.calibrate").joinpath("problems")
    return sorted(f.name.removesuffix(".yaml") for f in ref.iterdir()
                  if f.name.endswith(".yaml"))


def builtin_path(name: str) -> Path:
    names = builtin_names()
    if name not in names:
        raise InputError("unknown built-in problem", field="--builtin", value=name,
                         accepted=["all", *names])
    return Path(str(resources.files("exomir.calibrate").joinpath("problems", f"{name}.yaml")))


def load_builtin(name: str) -> CalibrationProblem:
    return load_problem(builtin_path(name))
