"""The SBML of a calibration problem: one block per arm, body-model parameters shared.

Starts from :func:`exomir.body.sbml.to_sbml` for each arm's model. Changed and added here:

* derived parameters (initial assignments over the table parameters in ``body.sbml``) become
  assignment rules, so any tool that sets an estimated parameter changes them;
* the t = 0 dose as initial assignments over ``dose`` (so a PEtab condition can set the dose
  of arms that share one block);
* rates of states ``d_<state>`` (assignment rules copied from the state's rate rule) for
  observables such as the local half-life -ln2 * P / (dP/dt).

With several arms of different structure, every id of an arm's block except the body-table
parameters is prefixed ``<arm>__``; the table parameters (estimated or fixed) exist once.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from exomir.body.model import BodyModel
from exomir.core import InputError

RATE_PREFIX = "d_"


def block_document(model: BodyModel, rates: Iterable[str] = ()) -> object:
    """One arm's SBML document (libsbml) with derived rules and state rates."""
    import libsbml

    from exomir.body.sbml import to_sbml

    doc = libsbml.readSBMLFromString(to_sbml(model))
    m = doc.getModel()
    # derived parameters: initial assignments -> assignment rules (same value, the table
    # parameters are constant). libRoadRunner (and so pyPESTO's roadrunner objective) sets a
    # parameter's current value and resets, which does not re-run parameter initial
    # assignments: an estimated k_liver_uptake would leave vmax_liver unchanged.
    for i in reversed(range(m.getNumInitialAssignments())):
        ia = m.getInitialAssignment(i)
        par = m.getParameter(ia.getSymbol())
        if par is None:
            continue  # species initial amounts: reset re-evaluates these
        par.setConstant(False)
        ar = m.createAssignmentRule()
        ar.setVariable(par.getId())
        ar.setMath(ia.getMath().deepCopy())
        m.removeInitialAssignment(i)
    # the t = 0 dose as initial assignments over ``dose`` (so a PEtab condition can set it)
    if model.dose_times and model.dose_times[0] == 0.0:
        one = {k: np.asarray(v)[:1] for k, v in model.flat_params().items()}
        y0 = model.initial_state(one)[0]
        jump = model.dose_jump(one)[0]
        dose = float(one["dose"][0])
        for i, sid in enumerate(model.species):
            if jump[i] != 0.0 and dose > 0 and m.getInitialAssignmentBySymbol(sid) is None:
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
        for i in range(m.getNumInitialAssignments()):
            ia = m.getInitialAssignment(i)
            if ia.getSymbol() in idset:
                ia.setSymbol(prefix + ia.getSymbol())
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
                if pid in shared:  # per-arm values are PEtab condition-table entries
                    continue
                shared[pid] = par.getValue()
            else:
                par.setId(prefix + pid)
            um.addParameter(par)
        for i in range(m.getNumRules()):
            um.addRule(m.getRule(i))
        for i in range(m.getNumInitialAssignments()):
            um.addInitialAssignment(m.getInitialAssignment(i))
        for i in range(m.getNumEvents()):
            ev = m.getEvent(i)
            if ev.isSetId():
                ev.setId(prefix + ev.getId())
            um.addEvent(ev)
    return str(libsbml.writeSBMLToString(out))
