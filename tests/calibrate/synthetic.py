"""A small synthetic problem with known parameters (exomir's i.v. model, 1 day) for interval
coverage: plasma %ID at 5 min, 1 h, 4 h, 12 h and liver %ID at 4 h, log-normal noise
sigma = 0.1, truth = the body defaults of k_liver_uptake and k_rest_uptake."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from exomir.calibrate.objective import NegLogLikelihood
from exomir.calibrate.problem import CalibrationProblem, load_problem

SIGMA = 0.1
ROWS = [("plasma_pct_id", 5 / 1440), ("plasma_pct_id", 1 / 24), ("plasma_pct_id", 4 / 24),
        ("plasma_pct_id", 0.5), ("liver_pct_id", 4 / 24)]


def write_problem(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    csv = ["arm,time,observable,mean,unit"]
    csv += [f"iv,{t!r},{o},1.0,%ID" for o, t in ROWS]
    (folder / "syn.csv").write_text("\n".join(csv) + "\n")
    (folder / "syn.yaml").write_text(f"""
id: synthetic_pk
spec:
  name: synthetic
  indication: diabetic_wound
  delivery: {{route: intravenous}}
  regimen: {{dose: {{value: 1.0e9, unit: particles}}}}
  subject: {{species: mouse}}
  days: 1
conditions: [{{id: iv}}]
observables:
  - {{id: plasma_pct_id, kind: plasma_pct_id, noise: lognormal, sigma: {SIGMA}}}
  - {{id: liver_pct_id, kind: organ_pct_id, tissue: liver, noise: lognormal, sigma: {SIGMA}}}
data: [syn.csv]
parameters:
  - {{id: k_liver_uptake, scale: log10, lower: 5, upper: 500}}
  - {{id: k_rest_uptake, scale: log10, lower: 4, upper: 400}}
""")
    return folder / "syn.yaml"


def truth_and_clean(problem: CalibrationProblem) -> tuple[np.ndarray, np.ndarray]:
    f = NegLogLikelihood(problem)
    x = problem.x_nominal()
    return x, f.predict(x)


def replicate(problem: CalibrationProblem, clean: np.ndarray, rng: np.random.Generator
              ) -> CalibrationProblem:
    return problem.with_measurements(clean * np.exp(SIGMA * rng.standard_normal(clean.size)))


def load(folder: Path) -> CalibrationProblem:
    return load_problem(write_problem(folder))
