"""SBML Level 3 export of one subject's model (python-libsbml).

Species ids equal the trajectory columns of :meth:`exomir.body.simulate.Result.to_frame`;
model time unit is the day, as in the trajectories. Every species has a rate rule built from
the same flux list the numpy evaluator uses; doses after t = 0 are SBML events; a vehicle's
release enters through its ``ReleaseProfile.sbml_infix`` (with the same central difference
for F'(τ) as the simulator, step ``RELEASE_FD_STEP_DAYS``). Parameters carry units and their
source (or "assumption" with range) in their notes.
"""

from __future__ import annotations

from collections.abc import Mapping
from html import escape
from typing import TYPE_CHECKING

import numpy as np

from exomir.body.model import RELEASE_FD_STEP_DAYS, BodyModel, Flux, endogenous_infix
from exomir.body.simulate import UNCERTAINTY_NOTE

_UNIT_IDS = {"1/day": "per_day", "particle": "item", "copy/cell": "item", "particle/cell": "item",
             "dimensionless": "dimensionless", "day": "day", "cell": "item", "g": "gram",
             "s": "second", "particle/cell/day": "item_per_day", "particle/day": "item_per_day",
             "copy/cell/day": "item_per_day", "copy/particle": "dimensionless"}

if TYPE_CHECKING:
    import libsbml


def _check(code: int, what: str) -> None:
    import libsbml  # lazily: observables() (read by calibration) needs no SBML library

    if code != libsbml.LIBSBML_OPERATION_SUCCESS:
        raise RuntimeError(f"libsbml failed: {what} ({libsbml.OperationReturnValue_toString(code)})")


def _notes(text: str) -> str:
    return f'<body xmlns="http://www.w3.org/1999/xhtml"><p>{escape(text)}</p></body>'


def _math(infix: str) -> libsbml.ASTNode:
    import libsbml

    ast = libsbml.parseL3Formula(infix)
    if ast is None:
        raise RuntimeError(f"cannot parse formula {infix!r}: {libsbml.getLastParseL3Error()}")
    return ast


def _effect_expr(model: BodyModel) -> str:
    t = model.target
    terms = ["E_vehicle", f"emax_eff * {t}_ev_effect / ({t}_ev_effect + ec50_ev)"]
    terms += [f"wg_{g} * ln(protein_{g})" for g in model.effect_genes]
    return " + ".join(terms)


def flux_infix(model: BodyModel, f: Flux) -> str:
    """The flux as an SBML infix formula (time symbol ``time``, in days)."""
    p = f.params
    if f.kind == "lin":
        return f"{p[0]} * {f.on[0]}"
    if f.kind == "mm":
        return f"{p[0]} * {f.on[0]} / ({p[1]} + {f.on[0]})"
    if f.kind == "zero":
        return p[0]
    if f.kind == "risc_load":
        return f"{p[0]} * {f.on[0]} * (1 - {p[1]} * ({' + '.join(f.on[1:])}))"
    if f.kind == "sat_mod":
        return f"{p[0]} * {f.on[0]} * {f.on[1]} / ({f.on[1]} + 1)"
    if f.kind == "synth_rep":
        facs = [f"(1 - {rm} * {r} / ({r} + {p[1]}))" for r, rm in zip(f.on, p[2:], strict=True)]
        return f"{p[0]} * " + " * ".join(facs)
    if f.kind == "release":
        rel = model.release
        assert rel is not None
        h = repr(RELEASE_FD_STEP_DAYS)
        parts = []
        for ti in model.dose_times:
            tau = f"(time - {ti!r})"
            lo = f"piecewise({tau} - {h}, {tau} - {h} > 0, 0)"
            hi = f"({tau} + {h})"
            rate = (f"exp(-k_depot_loss * {tau}) * ({rel.sbml_infix(hi)} - "
                    f"{rel.sbml_infix(lo)}) / ({hi} - {lo})")
            parts.append(f"piecewise({rate}, {tau} >= 0, 0)")
        return "dose * (" + " + ".join(parts or ["0"]) + ")"
    if f.kind == "wound":
        gate = f" * {f.on[-1]}" if f.on[-1] == "wound_granulation" else ""
        return f"{p[0]} * exp({_effect_expr(model)}){gate} * ({p[1]} - {f.on[0]})"
    if f.kind == "pain_drive":
        return (f"k_sensitization / (1 + (time / injury_t50)^injury_hill) * "
                f"exp(-({_effect_expr(model)}))")
    raise AssertionError(f.kind)


def observables(model: BodyModel) -> dict[str, tuple[str, str]]:
    """Read-outs as SBML assignment rules: id -> (infix, unit id)."""
    obs: dict[str, tuple[str, str]] = {}
    if model.outcome == "wound_closure":
        obs["wound_closure"] = ("wound_contraction + wound_reepithelialisation",
                                "dimensionless")
    else:
        pwt = "pwt_baseline * exp(-sensitization_depth * sensitization)"
        pwl = "pwl_baseline * exp(-sensitization_depth_thermal * sensitization)"
        obs["paw_withdrawal_threshold"] = (f"piecewise({pwt}, {pwt} < pwt_cutoff, pwt_cutoff)",
                                           "gram")
        obs["paw_withdrawal_latency"] = (f"piecewise({pwl}, {pwl} < pwl_cutoff, pwl_cutoff)",
                                         "second")
    return obs


def to_sbml(model: BodyModel, params: Mapping[str, float] | None = None) -> str:
    """The SBML L3V2 document (string) for one subject (nominal values unless ``params``)."""
    flat = {k: float(v[0]) for k, v in model.flat_params().items()}
    for k, v in (params or {}).items():
        flat[k] = float(v)
    import libsbml

    doc = libsbml.SBMLDocument(3, 2)
    m = doc.createModel()
    th = model.spec.therapy
    m.setId("exomir_body_" + "".join(c if c.isalnum() else "_" for c in th.name)[:40])
    m.setName(f"exomir body model: {th.name}")
    _check(m.setNotes(_notes(
        f"Generated by exomir.body for indication {th.indication.value}, route "
        f"{model.spec.route.value}. Time in days; vesicles in particles (item); miRNA in "
        f"copies per target cell; mRNA/protein relative to baseline. {UNCERTAINTY_NOTE}.")),
        "notes")
    for uid, kind, exp_, mult in [("day", libsbml.UNIT_KIND_SECOND, 1, 86400.0),
                                  ("per_day", libsbml.UNIT_KIND_SECOND, -1, 1 / 86400.0),
                                  ("item_per_day", libsbml.UNIT_KIND_ITEM, 1, 1.0)]:
        ud = m.createUnitDefinition()
        ud.setId(uid)
        u = ud.createUnit()
        u.setKind(kind)
        u.setExponent(exp_)
        u.setScale(0)
        u.setMultiplier(mult)
        if uid == "item_per_day":
            u2 = ud.createUnit()
            u2.setKind(libsbml.UNIT_KIND_SECOND)
            u2.setExponent(-1)
            u2.setScale(0)
            u2.setMultiplier(1 / 86400.0)
    m.setTimeUnits("day")
    m.setSubstanceUnits("item")
    m.setExtentUnits("item")
    comp = m.createCompartment()
    comp.setId("body")
    comp.setConstant(True)
    comp.setSize(1.0)
    comp.setSpatialDimensions(3)
    comp.setUnits("dimensionless")
    tab = {p.name: p for p in model.table}
    for name, value in flat.items():
        par = m.createParameter()
        par.setId(name)
        par.setValue(value)
        par.setConstant(True)
        if name in tab:
            p = tab[name]
            par.setUnits(_UNIT_IDS.get(p.unit, "dimensionless"))
            prov = p.source or ""
            if p.calibrated:
                prov = f"calibrated to {p.calibrated}" + (f" ({p.source})" if p.source else "")
            if p.assumption:
                prov = f"assumption (plausible range {p.low:g}-{p.high:g})" + (
                    f"; {p.source}" if p.source else "")
            par.setNotes(_notes(f"[{p.group}] {p.description} [{p.unit}]; {prov}"
                                + (f"; {p.note}" if p.note else "")))
        elif name in model.derived:
            par.setNotes(_notes(f"derived: {name} = {model.derived[name]}"))
            ia = m.createInitialAssignment()
            ia.setSymbol(name)
            _check(ia.setMath(_math(model.derived[name])), f"initial assignment {name}")
        else:
            par.setNotes(_notes(f"from the spec: {model.constants.get(name, name)}"))
    ix = model.index
    y0 = model.initial_state({k: np.array([v]) for k, v in flat.items()})[0]
    if model.dose_times and model.dose_times[0] == 0.0:
        y0 = y0 + model.dose_jump({k: np.array([v]) for k, v in flat.items()})[0]
    for s in model.species:
        sp = m.createSpecies()
        sp.setId(s)
        sp.setCompartment("body")
        sp.setInitialAmount(float(y0[ix[s]]))
        sp.setHasOnlySubstanceUnits(True)
        sp.setBoundaryCondition(False)
        sp.setConstant(False)
        sp.setSubstanceUnits("item" if model.units.get(s, "dimensionless") != "dimensionless"
                             else "dimensionless")
        sp.setNotes(_notes(f"unit: {model.units.get(s, 'dimensionless')}"))
    terms: dict[str, list[str]] = {s: [] for s in model.species}
    for f in model.fluxes:
        rate = flux_infix(model, f)
        for s, sign, coef in f.effects:
            c = " * ".join(coef)
            pre = ("-" if sign < 0 else "+") + (f" {c} *" if c else "")
            terms[s].append(f"{pre} ({rate})")
    for s in model.species:
        rr = m.createRateRule()
        rr.setVariable(s)
        body = " ".join(terms[s]) if terms[s] else "0"
        if body.startswith("+"):
            body = body[1:]
        elif body.startswith("-"):
            body = "0 " + body
        _check(rr.setMath(_math(body)), f"rate rule {s}")
    for oid, (infix, unit) in observables(model).items():
        obs = m.createParameter()
        obs.setId(oid)
        obs.setConstant(False)
        obs.setUnits(unit)
        ar = m.createAssignmentRule()
        ar.setVariable(oid)
        _check(ar.setMath(_math(infix)), f"observable {oid}")
    c0, r0 = endogenous_infix()
    for sid_, expr in ((model.cyt_state("endo"), c0), (model.risc_state("endo"), r0)):
        ia = m.createInitialAssignment()
        ia.setSymbol(sid_)
        _check(ia.setMath(_math(expr)), f"initial assignment {sid_}")
    jump = model.dose_jump({k: np.array([v]) for k, v in flat.items()})[0]
    for n_, ti in enumerate(model.dose_times):
        if ti == 0.0:
            continue
        ev = m.createEvent()
        ev.setId(f"dose_{n_}")
        ev.setUseValuesFromTriggerTime(True)
        trig = ev.createTrigger()
        trig.setInitialValue(False)
        trig.setPersistent(True)
        trig.setMath(_math(f"time >= {ti!r}"))
        for s in model.species:
            if jump[ix[s]] == 0.0:
                continue
            ea = ev.createEventAssignment()
            ea.setVariable(s)
            frac = float(jump[ix[s]] / flat["dose"])
            ea.setMath(_math(f"{s} + {frac!r} * dose"))
    return str(libsbml.writeSBMLToString(doc))
