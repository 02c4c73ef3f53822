"""Manufacturing plan: from a cohort and regimen to producer cells, culture surface or bioreactor
volume, medium, batches and days, with low/central/high scenarios and a one-at-a-time
sensitivity that shows which assumption dominates.

Formulas (S subjects, D doses each, P particles per dose, parameters from
:data:`exomir.quality.params.MANUFACTURING`):

    N_final    = S * D * P * (1 + overage_fraction)                         [particles]
    N_secreted = N_final / yield_<method>                                   [particles]
    cell_days  = N_secreted / secretion_particles_per_cell_per_day          [cell*day]
    cells      = cell_days / (harvests_per_culture * conditioning_days)     [cells]
    surface    = cells / cells_per_cm2                                      [cm^2]; T175 = ceil(surface/175)
    medium     = surface * medium_ml_per_cm2 * harvests_per_culture         [mL]
    bioreactor = cells / cells_per_ml_bioreactor                            [mL] (alternative to 2D)
    batches    = ceil(surface / max_surface_per_batch_cm2)
    days       = batches * (expansion_days + harvests * conditioning_days + isolation_days)
                 (batches run one after another)
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from exomir.core.errors import InputError
from exomir.core.models import Regimen
from exomir.core.params import Parameter, ParameterTable
from exomir.quality.dose import convert
from exomir.quality.params import ISOLATION_METHODS, MANUFACTURING, METHOD_ALIASES, T175_CM2

#: Plausibility limits of a plan's inputs: a cohort (subjects), doses per subject and particles
#: per dose (1e15 is ~1000 times the largest EV doses given to humans, ~1e12-1e13).
MAX_SUBJECTS = 1e7
MAX_DOSES = 1e4
MAX_PARTICLES_PER_DOSE = 1e15


def parse_method(method: str) -> str:
    key = method.strip().lower().replace("-", "_").replace(" ", "_")
    if key not in METHOD_ALIASES:
        raise InputError("unknown isolation method", field="method", value=method,
                         accepted=", ".join(ISOLATION_METHODS))
    return METHOD_ALIASES[key]


@dataclass(frozen=True)
class Plan:
    method: str
    particles_final: float
    particles_secreted: float
    cell_days: float
    cells: float
    surface_cm2: float
    t175_flasks: int
    medium_l: float
    bioreactor_l: float
    batches: int
    days: float
    steps: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, object]:
        return dict(self.__dict__)


def plan(subjects: int, doses_per_subject: int, particles_per_dose: float, method: str = "tff",
         params: ParameterTable = MANUFACTURING) -> Plan:
    """Production plan for a cohort (see module docstring for the formulas)."""
    for name, v, hi in (("subjects", subjects, MAX_SUBJECTS), ("doses", doses_per_subject,
                                                              MAX_DOSES),
                        ("particles_per_dose", particles_per_dose, MAX_PARTICLES_PER_DOSE)):
        if not (isinstance(v, int | float) and math.isfinite(v) and 1 <= v <= hi):
            raise InputError("out of range", field=name, value=v,
                             accepted=f"a number >= 1 and <= {hi:g}")
    for q in params:
        if not math.isfinite(q.value):
            raise InputError("parameter is not a finite number", field=q.name, value=q.value,
                             accepted="a finite number")
    m = parse_method(method)
    p = params.value
    y = p(f"yield_{m}")
    n_final = subjects * doses_per_subject * particles_per_dose * (1 + p("overage_fraction"))
    n_sec = n_final / y
    cell_days = n_sec / p("secretion_particles_per_cell_per_day")
    cond_days = p("harvests_per_culture") * p("conditioning_days")
    cells = cell_days / cond_days
    surface = cells / p("cells_per_cm2")
    medium_ml = surface * p("medium_ml_per_cm2") * p("harvests_per_culture")
    bio_ml = cells / p("cells_per_ml_bioreactor")
    batches = max(1, math.ceil(surface / p("max_surface_per_batch_cm2")))
    days = batches * (p("expansion_days") + cond_days + p("isolation_days"))
    steps = [
        f"N_final = {subjects} x {doses_per_subject} x {particles_per_dose:.3g} x "
        f"(1 + {p('overage_fraction'):g}) = {n_final:.3g} particles",
        f"N_secreted = N_final / yield_{m} {y:g} = {n_sec:.3g} particles",
        f"cell-days = N_secreted / {p('secretion_particles_per_cell_per_day'):.3g} "
        f"particles/cell/day = {cell_days:.3g}",
        f"cells = cell-days / ({p('harvests_per_culture'):g} harvests x "
        f"{p('conditioning_days'):g} d) = {cells:.3g}",
        f"surface = cells / {p('cells_per_cm2'):.3g} cells/cm^2 = {surface:.3g} cm^2 "
        f"= {math.ceil(surface / T175_CM2)} T175 flasks",
        f"medium = surface x {p('medium_ml_per_cm2'):g} mL/cm^2 x {p('harvests_per_culture'):g}"
        f" = {medium_ml / 1000:.3g} L",
        f"or bioreactor = cells / {p('cells_per_ml_bioreactor'):.3g} cells/mL "
        f"= {bio_ml / 1000:.3g} L",
        f"batches = ceil(surface / {p('max_surface_per_batch_cm2'):g} cm^2) = {batches}; "
        f"days = {batches} x ({p('expansion_days'):g} + {cond_days:g} + "
        f"{p('isolation_days'):g}) = {days:g}",
    ]
    return Plan(method=m, particles_final=n_final, particles_secreted=n_sec, cell_days=cell_days,
                cells=cells, surface_cm2=surface, t175_flasks=math.ceil(surface / T175_CM2),
                medium_l=medium_ml / 1000, bioreactor_l=bio_ml / 1000, batches=batches,
                days=days, steps=steps)


def plan_from_regimen(regimen: Regimen, subjects: int, method: str = "tff", *,
                      particles_per_ug: float | None = None,
                      body_weight_kg: float | None = None,
                      params: ParameterTable = MANUFACTURING) -> Plan:
    """Plan from a :class:`Regimen` (dose x number of administration times)."""
    if regimen.dose is None:
        raise InputError("regimen has no dose", field="regimen.dose",
                         accepted="a dose with value and unit")
    c = convert(regimen.dose.value, regimen.dose.unit, "particles",
                particles_per_ug=particles_per_ug, body_weight_kg=body_weight_kg)
    if not regimen.times_days:
        raise InputError("regimen has no administration times (schedule not reported)",
                         field="regimen.times_days", accepted="a list of dose days, e.g. [0, 7]")
    n_doses = len(regimen.times_days)
    return plan(subjects, n_doses, c.value, method, params)


def relevant_parameters(method: str, params: ParameterTable = MANUFACTURING) -> list[Parameter]:
    m = parse_method(method)
    return [q for q in params if not q.name.startswith("yield_") or q.name == f"yield_{m}"]


@dataclass(frozen=True)
class Sensitivity:
    parameter: str
    low: float
    high: float
    surface_low_cm2: float
    surface_high_cm2: float
    days_low: float
    days_high: float

    @property
    def surface_fold(self) -> float:
        a, b = sorted((self.surface_low_cm2, self.surface_high_cm2))
        return b / a if a > 0 else math.inf

    @property
    def days_fold(self) -> float:
        a, b = sorted((self.days_low, self.days_high))
        return b / a if a > 0 else math.inf


def sensitivity(subjects: int, doses_per_subject: int, particles_per_dose: float,
                method: str = "tff", params: ParameterTable = MANUFACTURING
                ) -> list[Sensitivity]:
    """One-at-a-time: each parameter at its low and high end, others central; sorted by the
    fold change in culture surface (then days), largest first."""
    out = []
    for q in relevant_parameters(method, params):
        if q.low is None or q.high is None or q.low == q.high:
            continue
        lo = plan(subjects, doses_per_subject, particles_per_dose, method,
                  params.replace(**{q.name: q.low}))
        hi = plan(subjects, doses_per_subject, particles_per_dose, method,
                  params.replace(**{q.name: q.high}))
        out.append(Sensitivity(q.name, q.low, q.high, lo.surface_cm2, hi.surface_cm2,
                               lo.days, hi.days))
    out.sort(key=lambda s: (s.surface_fold, s.days_fold), reverse=True)
    return out


def tradeoffs(sens: list[Sensitivity]) -> list[str]:
    """Parameters whose low end needs less culture surface but more days, or the reverse."""
    out = []
    for x in sens:
        ds, dd = x.surface_low_cm2 - x.surface_high_cm2, x.days_low - x.days_high
        if ds * dd < 0:
            out.append(x.parameter)
    return out


def scenarios(subjects: int, doses_per_subject: int, particles_per_dose: float,
              method: str = "tff", params: ParameterTable = MANUFACTURING) -> dict[str, Plan]:
    """'low' (every parameter at the end that needs the least culture and the fewest days),
    'central', 'high' (the most).

    A parameter that trades one against the other (e.g. longer conditioning: fewer cells, more
    days) has no "least" end; it stays central in all three scenarios (listed by
    :func:`tradeoffs`), so that low <= central <= high holds for surface *and* days.
    """
    sens = sensitivity(subjects, doses_per_subject, particles_per_dose, method, params)
    trade = set(tradeoffs(sens))
    best: dict[str, float] = {}
    worst: dict[str, float] = {}
    for x in sens:
        if x.parameter in trade:
            continue
        lo_better = (x.surface_low_cm2, x.days_low) <= (x.surface_high_cm2, x.days_high)
        best[x.parameter] = x.low if lo_better else x.high
        worst[x.parameter] = x.high if lo_better else x.low
    return {
        "low": plan(subjects, doses_per_subject, particles_per_dose, method,
                    params.replace(**best)),
        "central": plan(subjects, doses_per_subject, particles_per_dose, method, params),
        "high": plan(subjects, doses_per_subject, particles_per_dose, method,
                     params.replace(**worst)),
    }
