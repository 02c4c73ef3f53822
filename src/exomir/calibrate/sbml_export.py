"""The SBML of a calibration problem: one block per arm, body-model parameters shared.

Starts from :func:`exomir.body.sbml.to_sbml` for each arm's model. Two additions make the file a
PEtab model whose parameters can be changed by any tool:

* **derived parameters as assignment rules.** ``body.sbml`` writes derived flat parameters
  (``vmax_liver = k_liver_uptake * km_mps * mps_factor``, ``k_heal_eff`` ...) as numbers;
  here each becomes an assignment rule over the table parameters (:func:`derived_formulas`),
  so setting ``k_liver_uptake`` changes ``vmax_liver``. Every export checks the formulas
  against ``BodyModel.flat_params`` at two random parameter draws and refuses to write a file
  that disagrees (rel. 1e-12), so a change of the body model cannot silently break them.
* **rates of states** ``d_<state>`` (assignment rules copied from the state's rate rule) for
  observables such as the local half-life -ln2 * P / (dP/dt).

With several arms, every id of an arm's block except the body-table parameters is prefixed
``<arm>__``; the table parameters (estimated or fixed) exist once.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from exomir.body.model import BodyModel
from exomir.body.params import profile
from exomir.core import InputError

RATE_PREFIX = "d_"


def derived_formulas(model: BodyModel) -> dict[str, str]:
    """SBML infix of every derived flat parameter that depends on table parameters."""
    spec = model.spec
    inj = profile(spec.therapy.indication.value).get("injured_tissue")
    rvg = (spec.therapy.delivery.targeting_ligand or "").strip().lower().startswith("rvg")
    lig = "rvg_factor" if rvg else "ligand_factor"
    f = {
        "vmax_liver": "k_liver_uptake * km_mps * mps_factor",
        "vmax_spleen": "k_spleen_uptake * km_mps * mps_factor",
        "k_brain_in": f"k_brain_uptake * {lig}" + (" * homing_factor" if inj == "brain" else ""),
        "k_spinal_in": f"k_spinal_uptake * {lig}"
                       + (" * homing_factor" if inj == "spinal_cord_drg" else ""),
        "k_skin_in": "k_skin_uptake" + (" * homing_factor" if inj == "skin_wound" else ""),
        "vmax_cells": "vmax_cell_uptake * n_target_cells",
        "inv_n_cells": "1 / n_target_cells",
        "escape_per_cell": "cpv * f_escape / n_target_cells",
    }
    for t in ("liver", "spleen", "lung", "kidney", "rest"):
        f[f"k_{t}_in"] = f"k_{t}_uptake"
    if model.outcome == "wound_closure":
        k = "k_heal"
        if spec.diabetic:
            k += " * diabetic_heal_factor"
        if spec.route.is_vehicle:
            k += " * (1 + vehicle_heal_gain)"
        f["k_heal_eff"] = k
    return f


def check_derived(model: BodyModel, formulas: dict[str, str], seed: int = 0) -> None:
    """The formulas must reproduce ``flat_params`` at random table values (else refuse)."""
    from exomir.calibrate.formula import parse_formula

    rng = np.random.default_rng(seed)
    table = {p.name: p.value for p in model.table}
    for _ in range(2):
        vals = {k: v * float(np.exp(rng.normal(0.0, 0.3))) if v != 0 else v
                for k, v in table.items()}
        flat = {k: float(np.asarray(v)[0]) for k, v in model.flat_params(vals).items()}
        base = {k: float(np.asarray(v)[0]) for k, v in model.flat_params().items()}
        for name, v in flat.items():
            if name in table:
                continue
            if name in formulas:
                got = float(parse_formula(formulas[name])(flat))
                if not np.isclose(got, v, rtol=1e-12, atol=0.0):
                    raise RuntimeError(f"derived parameter {name}: formula "
                                       f"{formulas[name]!r} gives {got!r}, body gives {v!r}")
            elif not np.isclose(v, base[name], rtol=1e-12, atol=0.0):
                raise RuntimeError(f"derived parameter {name} depends on table parameters but "
                                   "has no formula in calibrate.sbml_export.derived_formulas")


def block_document(model: BodyModel, rates: Iterable[str] = ()) -> object:
    """One arm's SBML document (libsbml) with derived rules and state rates."""
    import libsbml

    from exomir.body.sbml import to_sbml

    doc = libsbml.readSBMLFromString(to_sbml(model))
    m = doc.getModel()
    formulas = derived_formulas(model)
    check_derived(model, formulas)
    present = {m.getParameter(i).getId() for i in range(m.getNumParameters())}
    for name, infix in formulas.items():
        if name not in present:
            continue
        m.getParameter(name).setConstant(False)
        ar = m.createAssignmentRule()
        ar.setVariable(name)
        ar.setMath(libsbml.parseL3Formula(infix))
    # the t = 0 dose as initial assignments over ``dose`` (so a PEtab condition can set it)
    if model.dose_times and model.dose_times[0] == 0.0:
        one = {k: np.asarray(v)[:1] for k, v in model.flat_params().items()}
        y0 = model.initial_state(one)[0]
        jump = model.dose_jump(one)[0]
        dose = float(one["dose"][0])
        for i, sid in enumerate(model.species):
            if jump[i] != 0.0 and dose > 0:
                ia = m.createInitialAssignment()
                ia.setSymbol(sid)
                ia.setMath(libsbml.parseL3Formula(f"{float(y0[i])!r} + "
                                                  f"{float(jump[i] / dose)!r} * dose"))
    for s in rates:
        rr = m.getRateRule(s)
        if rr is None:
            raise InputError("no such state", field="observable formula", value=f"d_{s}",
                             accepted=sorted(model.species))
        par = m.createParameter()
        par.setId(f"{RATE_PREFIX}{s}")
        par.setConstant(False)
        par.setValue(0.0)
        ar = m.createAssignmentRule()
        ar.setVariable(f"{RATE_PREFIX}{s}")
        ar.setMath(rr.getMath().deepCopy())
    return doc


def problem_sbml(blocks: list[tuple[str, BodyModel, set[str]]], model_id: str) -> str:
    """The SBML string of a problem: (prefix, model, states whose rates are needed) per arm."""
    import libsbml

    if len(blocks) == 1 and not blocks[0][0]:
        _, model, rates = blocks[0]
        doc = block_document(model, rates)
        doc.getModel().setId(model_id)  # type: ignore[attr-defined]
        return str(libsbml.writeSBMLToString(doc))
    out = libsbml.SBMLDocument(3, 2)
    um = out.createModel()
    um.setId(model_id)
    um.setName(f"exomir calibration problem {model_id}: one block per arm")
    shared: dict[str, float] = {}
    for k, (prefix, model, rates) in enumerate(blocks):
        doc = block_document(model, rates)
        m = doc.getModel()  # type: ignore[attr-defined]
        table = {p.name for p in model.table}
        if k == 0:
            for i in range(m.getNumUnitDefinitions()):
                um.addUnitDefinition(m.getUnitDefinition(i))
            for i in range(m.getNumCompartments()):
                um.addCompartment(m.getCompartment(i))
            um.setTimeUnits(m.getTimeUnits())
            um.setSubstanceUnits(m.getSubstanceUnits())
            um.setExtentUnits(m.getExtentUnits())
            um.setNotes(m.getNotesString())
        ids = [m.getSpecies(i).getId() for i in range(m.getNumSpecies())]
        ids += [m.getParameter(i).getId() for i in range(m.getNumParameters())
                if m.getParameter(i).getId() not in table]
        ids += [m.getEvent(i).getId() for i in range(m.getNumEvents()) if m.getEvent(i).isSetId()]
        elements = m.getListOfAllElements()
        for j in range(elements.getSize()):
            el = elements.get(j)
            for old in ids:
                el.renameSIdRefs(old, prefix + old)
        idset = set(ids)
        for i in range(m.getNumRules()):  # rule targets are not SIdRefs renamed above
            r = m.getRule(i)
            if r.getVariable() in idset:
                r.setVariable(prefix + r.getVariable())
        for i in range(m.getNumEvents()):
            ev = m.getEvent(i)
            for j in range(ev.getNumEventAssignments()):
                ea = ev.getEventAssignment(j)
                if ea.getVariable() in idset:
                    ea.setVariable(prefix + ea.getVariable())
        for i in range(m.getNumSpecies()):
            sp = m.getSpecies(i)
            sp.setId(prefix + sp.getId())
            um.addSpecies(sp)
        for i in range(m.getNumParameters()):
            par = m.getParameter(i)
            pid = par.getId()
            if pid in table:
                if pid in shared:
                    if not np.isclose(shared[pid], par.getValue(), rtol=1e-12):
                        raise InputError("arms differ in a body parameter; set it per arm in "
                                         "conditions[].parameters instead", field="spec.body."
                                         "parameters", value=pid)
                    continue
                shared[pid] = par.getValue()
            else:
                par.setId(prefix + pid)
            um.addParameter(par)
        for i in range(m.getNumRules()):
            um.addRule(m.getRule(i))
        for i in range(m.getNumEvents()):
            ev = m.getEvent(i)
            if ev.isSetId():
                ev.setId(prefix + ev.getId())
            um.addEvent(ev)
    return str(libsbml.writeSBMLToString(out))
