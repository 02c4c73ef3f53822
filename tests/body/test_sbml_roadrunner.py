"""SBML export against libRoadRunner (independent CVODE integrator of the exported file).

Cases cover every structure: per-miRNA RISC pools with the endogenous pool (initial assignment
of its steady state), a gene repressed by two miRNAs, accelerated clearance on repeat i.v.
dosing, CSF (intrathecal), nose-to-brain, depots (parameter-driven first order and a release
preset), the wound (contraction + gated re-epithelialisation) and pain (injury drive)
outcomes, and the mechanism switches (exported as parameters). Derived parameters are SBML
initial assignments over table parameters, so roadrunner recomputes them from the table values.

Both sides run with tight tolerances (exomir rtol 1e-9, roadrunner rtol 1e-10 / atol 1e-12).
Compared: every species wherever its value exceeds 1e-6 of that species' maximum (the floor
avoids relative errors of numbers that are numerically zero); required: relative error
< 1e-4. Output times avoid the dosing instants (roadrunner may report pre- or post-event).
"""

from __future__ import annotations

import numpy as np
import pytest

from exomir.body import build_model, simulate
from exomir.body.sbml import to_sbml

from .helpers import make_spec

roadrunner = pytest.importorskip("roadrunner")

CASES = [
    ("iv_repeat_two_mirnas", dict(route="intravenous", dose=5e11, days=9.0, times=[0, 7],
                                  cargo=[{"kind": "mirna", "name": "hsa-miR-146a-5p",
                                          "copies_per_vesicle": 300},
                                         {"kind": "mirna", "name": "hsa-miR-21-5p"}],
                                  body={"targets": [
                                      {"gene": "IRAK1", "mirna": "hsa-miR-146a-5p",
                                       "log2fc": -0.7},
                                      {"gene": "PTEN", "mirna": "hsa-miR-21-5p",
                                       "max_repression": 0.4},
                                      {"gene": "PTEN", "mirna": "hsa-miR-146a-5p",
                                       "max_repression": 0.2}]})),
    ("hydrogel_repeated", dict(route="hydrogel", dose=1e10, times=[0, 7, 14],
                               description="GelMA hydrogel",
                               body={"targets": [{"gene": "PTEN", "log2fc": -0.8}],
                                     "copies_per_vesicle": 50})),
    ("hydrogel_switches_off", dict(route="hydrogel", dose=1e10, times=[0, 7, 14],
                                   description="GelMA hydrogel",
                                   body={"targets": [{"gene": "PTEN", "log2fc": -0.8}],
                                         "copies_per_vesicle": 50,
                                         "mechanisms": {"vesicle": False, "vehicle": False}})),
    ("ha_preset_human", dict(route="hydrogel", dose=1e12, times=[0, 7], species="human",
                             disease="diabetic foot ulcer",
                             body={"release_preset": "ha_hydrogel",
                                   "targets": [{"gene": "TGFBR1", "max_repression": 0.3}]})),
    ("intrathecal_rat_pain", dict(indication="neuropathic_pain", route="intrathecal",
                                  dose=1e10, times=[1, 8], species="rat",
                                  body={"targets": [{"gene": "IRAK1", "max_repression": 0.4},
                                                    {"gene": "TLR4", "log2fc": -0.5}]})),
    ("intranasal_rvg", dict(indication="neuropathic_pain", route="intranasal", dose=1e10,
                            ligand="RVG", times=[0, 3])),
    ("topical_diabetic", dict(route="topical", dose=2e10, disease="db/db diabetic",
                              times=[0.5, 2.5], body={"targets": [{"gene": "IRAK1",
                                                                   "max_repression": 0.3}]})),
]


@pytest.mark.reference
@pytest.mark.parametrize("engine", ["compiled", "numpy"])
@pytest.mark.parametrize(("name", "kw"), CASES, ids=[c[0] for c in CASES])
def test_export_agrees_with_roadrunner(name: str, kw: dict, engine: str) -> None:  # type: ignore[type-arg]
    spec = make_spec(**kw)
    model = build_model(spec)
    days = spec.therapy.days
    ts = np.concatenate([[0.0], np.linspace(0.013, days - 0.013, 60)])
    rng = np.random.default_rng(len(name))
    # two parameter sets: nominal and a random population draw
    res = simulate(model, 2, times=ts, rtol=1e-9, atol=1e-13, seed=int(rng.integers(1000)),
                   engine=engine)  # type: ignore[arg-type]
    assert res.stats.engine == engine
    for k in range(2):
        flat = {p: float(v[k]) for p, v in res.params.items()}
        xml = to_sbml(model, flat)
        for sw in ("mech_mirna", "mech_vesicle", "mech_vehicle"):
            assert f'id="{sw}"' in xml
        rr = roadrunner.RoadRunner(xml)
        rr.integrator.relative_tolerance = 1e-10
        rr.integrator.absolute_tolerance = 1e-12
        out = rr.simulate(times=list(ts), selections=["time", *model.species])
        for i, s in enumerate(model.species):
            a = np.asarray(out[:, i + 1])
            b = res.Y[k, i]
            floor = 1e-6 * np.abs(b).max()
            mask = np.abs(b) > max(floor, 1e-300)
            if not mask.any():
                assert np.allclose(a, 0.0, atol=1e-9 * max(1.0, np.abs(a).max()))
                continue
            rel = np.abs(a[mask] - b[mask]) / np.abs(b[mask])
            assert rel.max() < 1e-4, (name, k, s, rel.max())
