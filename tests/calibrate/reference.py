"""Independent reference for the NLL: libRoadRunner simulates the exported SBML, petab
computes the log-likelihood from the simulated table (nothing of exomir's objective used)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd


def roadrunner_simulation_df(yaml_path: Path, values: dict[str, float], rtol: float = 1e-11,
                             atol: float = 1e-13) -> tuple[Any, pd.DataFrame]:
    """(petab problem, simulation table) with the given linear parameter values."""
    import petab.v1 as petab
    import roadrunner

    prob = petab.Problem.from_yaml(str(yaml_path))
    sbml = (Path(yaml_path).parent / "model.xml").read_text()
    rr = roadrunner.RoadRunner(sbml)
    obs_ids = list(prob.observable_df.index)
    for oid in obs_ids:  # observables as assignment rules, evaluated by roadrunner itself
        rr.addParameter(oid, 0.0, False)
        rr.addAssignmentRule(oid, str(prob.observable_df.loc[oid, "observableFormula"]),
                             forceRegenerate=False)
    rr.regenerateModel()
    rr.integrator.relative_tolerance = rtol
    rr.integrator.absolute_tolerance = atol
    rr.integrator.maximum_num_steps = 200000
    meas = prob.measurement_df
    cdf = prob.condition_df
    rows = []
    known = set(rr.model.getGlobalParameterIds())
    for cid in dict.fromkeys(meas["simulationConditionId"]):
        rr.resetAll()
        for k, v in values.items():
            if k in known:  # noise parameters are not model entities
                rr[k] = float(v)
        for col in cdf.columns:
            if col != "conditionName":
                rr[col] = float(cdf.loc[cid, col])
        rr.reset()  # re-evaluates initial assignments (the t = 0 dose) with the new values
        sel = meas[meas["simulationConditionId"] == cid]
        times = sorted({0.0, *sel["time"].astype(float)})
        if len(times) == 1:
            times = [0.0, 1e-9]
        out = rr.simulate(times=times, selections=["time", *obs_ids])
        tt = np.asarray(out[:, 0])
        for _, r in sel.iterrows():
            j = int(np.argmin(np.abs(tt - float(r["time"]))))
            k = obs_ids.index(r["observableId"])
            rows.append({**r.to_dict(), "simulation": float(out[j, k + 1])})
    return prob, pd.DataFrame(rows)


def petab_nll(yaml_path: Path, values: dict[str, float]) -> float:
    """-log-likelihood by petab.v1.calculate_llh on roadrunner's simulation."""
    import petab.v1 as petab

    prob, sim = roadrunner_simulation_df(yaml_path, values)
    par = prob.parameter_df.copy()
    for k, v in values.items():
        if k in par.index:
            par.loc[k, "nominalValue"] = float(v)
    sim = sim.drop(columns=["measurement"]).rename(columns={"simulation": "simulation"})
    return -float(petab.calculate_llh(prob.measurement_df, sim, prob.observable_df, par))
