"""Non-compartmental analysis (NCA) of simulated plasma curves, for the out-of-sample PK check.

For an i.v. bolus of dose D at t = 0 with plasma amount P(t) (particles) and plasma volume
V_p (mL), the concentration is C = P/V_p and, in %ID/mL, c = 100·C/D. With the log-linear
terminal slope λz fitted over the last ``terminal_fraction`` of the sampled curve
(Gabrielsson & Weiner, Pharmacokinetic and Pharmacodynamic Data Analysis, 5th ed., ch. 2):

* AUC_0-inf = ∫ c dt (trapezoid on the grid) + c_last/λz   [%ID·h/mL]
* AUMC_0-inf = ∫ t·c dt + t_last·c_last/λz + c_last/λz²
* MRT = AUMC/AUC [h];  CL = 100/AUC [mL/h] (= D / AUC in dose units);  Vss = CL·MRT [mL].

V1 rows 2-3 of ``validation_cases.md`` are never used for fitting; ``docs/validation.md``
(calibration package) reports these numbers next to the published ones.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from exomir.body.params import species_table
from exomir.body.simulate import Result
from exomir.core import InputError


@dataclass(frozen=True)
class NCA:
    """NCA of one subject's plasma curve (units in the field names)."""

    auc_pct_id_h_per_ml: float
    aumc_pct_id_h2_per_ml: float
    mrt_h: float
    cl_ml_per_h: float
    vss_ml: float
    lambda_z_per_h: float
    t_half_terminal_h: float
    auc_extrapolated_fraction: float

    def to_dict(self) -> dict[str, float]:
        return asdict(self)


def nca(result: Result, subject: int = 0, *, terminal_fraction: float = 0.3,
        plasma_volume_ml: float | None = None) -> NCA:
    """NCA of the plasma curve of one subject of an i.v. bolus :class:`Result` (single dose
    at t = 0; the output grid should be dense over the first hours)."""
    m = result.model
    if m.dose_times[:1] != [0.0] or len(m.dose_times) != 1 or m.dose_dest != "plasma":
        raise InputError("NCA needs a single i.v. bolus at t = 0", field="regimen",
                         value=m.dose_times, accepted="route intravenous, times_days [0]")
    if not 0 < terminal_fraction < 1:
        raise InputError("terminal fraction out of range", field="terminal_fraction",
                         value=terminal_fraction, accepted="0 < fraction < 1")
    vp = plasma_volume_ml or float(species_table()[m.spec.species]["plasma_volume_ml"])
    t = result.times * 24.0  # h
    dose = float(result.params["dose"][subject])
    c = 100.0 * result.state("plasma")[subject] / dose / vp  # %ID/mL
    keep = c > 0
    t, c = t[keep], c[keep]
    k0 = int(len(t) * (1 - terminal_fraction))
    slope = np.polyfit(t[k0:], np.log(c[k0:]), 1)[0]
    lz = -float(slope)
    if not lz > 0:
        raise InputError("no terminal decline in the sampled window", field="times",
                         accepted="a longer sampling window")
    auc = float(np.trapezoid(c, t)) + c[-1] / lz
    aumc = float(np.trapezoid(t * c, t)) + t[-1] * c[-1] / lz + c[-1] / lz**2
    mrt = aumc / auc
    cl = 100.0 / auc
    return NCA(auc_pct_id_h_per_ml=auc, aumc_pct_id_h2_per_ml=aumc, mrt_h=mrt,
               cl_ml_per_h=cl, vss_ml=cl * mrt, lambda_z_per_h=lz,
               t_half_terminal_h=float(np.log(2) / lz),
               auc_extrapolated_fraction=float(c[-1] / lz / auc))


def v1_out_of_sample(n_subjects: int = 1) -> dict[str, dict[str, float]]:
    """exomir's NCA for the conditions of V1 rows 2-3 (held out, never fitted):

    * row 2: gLuc-lactadherin B16BL6 exosomes, 5 ug i.v., macrophage-depleted mice
      (``mps_factor`` = 0; 5 ug at the default particles per ug) - published AUC 160 ± 33
      %ID·h/mL, MRT 3.57 ± 0.68 h, CL 0.651 ± 0.157 mL/h;
    * row 3: 125I-exosomes, tracer dose i.v., PD mouse model (normal MPS; tracer: 1e8
      particles, linear regime) - published CL 0.016 mL/min (0.96 mL/h), Vss 3.15 mL,
      MRTinf 3.40 h.
    """
    from exomir.body.simulate import simulate
    from exomir.body.spec import parse_spec

    hours = np.concatenate([np.linspace(0, 0.25, 31), np.linspace(0.3, 72, 400)])
    out = {}
    for key, dose, over in (("row2_macrophage_depleted", {"value": 5, "unit": "ug"},
                             {"mps_factor": 0.0}),
                            ("row3_125I_tracer", {"value": 1e8, "unit": "particles"}, {})):
        spec = parse_spec({"indication": "diabetic_wound", "delivery": {"route": "intravenous"},
                           "regimen": {"dose": dose, "times_days": [0]},
                           "subject": {"species": "mouse"}, "days": 3.0,
                           "body": {"parameters": over}})
        r = simulate(spec, n_subjects, variability=n_subjects > 1, times=hours / 24.0,
                     rtol=1e-8, atol=1e-12)
        out[key] = nca(r).to_dict()
    return out
