"""Global sensitivity and parameter uncertainty of the design's answer (``exomir.sensitivity``).

* **Uncertainty bands** per candidate: :func:`exomir.sensitivity.uncertainty_bands` with one
  shared :class:`~exomir.sensitivity.SensitivityProblem` (every uncertain parameter of the body
  table), one seed and one cohort, so the parameter draws are the same for every candidate and
  the *paired* difference of two candidates' cohort medians can be read draw by draw: its 5-95 %
  band over draws is the uncertainty band of the difference that
  :func:`exomir.design.compare.rank` requires to exclude zero before it separates two designs.
* **Global sensitivity** (Sobol' by default) of the headline gain of one recommended candidate,
  and of the difference between the two recommended candidates that differ most, with
  :func:`exomir.sensitivity.analyze_spec`; the report's "dominant assumptions" and "next
  experiment" read its total indices.

The body models are the arms' own (``Arm.result.model``), so nothing is rebuilt differently.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from exomir.design.arms import ArmSet
from exomir.design.spec import DesignSpec, GlobalSettings
from exomir.report import Section, TableBlock, TextBlock, Warning_

Progress = Callable[[str], None]


@dataclass
class GlobalAnalysis:
    settings: GlobalSettings
    uncertainty: dict[str, Any] = field(default_factory=dict)  # candidate -> UncertaintyResult
    pair_bands: dict[tuple[str, str], dict[str, float]] = field(default_factory=dict)
    gain_bands: dict[str, dict[str, float]] = field(default_factory=dict)  # over draws
    sensitivity: Any = None  # SensitivityResult
    subject: str | None = None  # candidate analysed
    comparator: str | None = None
    table: Any = None  # the analysed model's ParameterTable (descriptions)

    def drivers(self, k: int = 3) -> list[dict[str, Any]]:
        """Leading parameters of the headline gain by total index, with CIs and ranges."""
        if self.sensitivity is None:
            return []
        res = self.sensitivity
        gain = next((c.name for c in res.columns if c.family == "gain"), res.outputs[0])
        out = []
        for r in res.top(gain, k).itertuples():
            if bool(getattr(r, "constant", False)):
                continue
            idx = res.ranking_index
            f = res.problem.factor(str(r.label)) if res.by == "parameter" else None
            table = self.table
            desc = table[str(r.label)].description if table is not None and \
                str(r.label) in table else ""
            out.append({"parameter": str(r.label), "index": idx, "value": float(getattr(r, idx)),
                        "conf": _f(getattr(r, f"{idx}_conf", None)),
                        "distribution": f.describe() if f else "",
                        "origin": f.origin if f else "", "output": gain,
                        "description": desc})
        return out

    def difference_drivers(self, k: int = 3) -> list[dict[str, Any]]:
        if self.sensitivity is None:
            return []
        res = self.sensitivity
        col = next((c.name for c in res.columns if c.family == "difference"), None)
        if col is None:
            return []
        return [{"parameter": str(r.label), "value": float(getattr(r, res.ranking_index)),
                 "conf": _f(getattr(r, f"{res.ranking_index}_conf", None))}
                for r in res.top(col, k).itertuples() if not bool(getattr(r, "constant", False))]


def _f(x: Any) -> float | None:
    try:
        v = float(x)
    except (TypeError, ValueError):
        return None
    return v if np.isfinite(v) else None


def uncertainty(spec: DesignSpec, arms: ArmSet, settings: GlobalSettings,
                progress: Progress) -> GlobalAnalysis:
    """Uncertainty bands of every candidate on shared parameter draws (paired differences)."""
    from exomir.sensitivity import SensitivityProblem, uncertainty_bands

    ga = GlobalAnalysis(settings)
    if settings.uncertainty_draws < 2:
        return ga
    day = spec.headline_day
    first = arms.candidates[0].result.model
    problem = SensitivityProblem.from_table(first.table)
    heads: dict[str, np.ndarray] = {}
    for a in arms.candidates:
        progress(f"uncertainty: {settings.uncertainty_draws} parameter draws of {a.name}")
        u = uncertainty_bands(a.result.model, problem=problem,
                              n_draws=settings.uncertainty_draws,
                              n_subjects=settings.uncertainty_subjects,
                              outputs=("outcome", "gain"), day=day, seed=spec.seed,
                              screen_inert=False)
        ga.uncertainty[a.name] = u
        assert u.headline_draws is not None
        heads[a.name] = u.headline_draws  # (n_draws, 2): cohort median outcome, gain
        g = u.headline_draws[:, 1]
        ga.gain_bands[a.name] = {"median": float(np.median(g)),
                                 "p05": float(np.percentile(g, 5)),
                                 "p95": float(np.percentile(g, 95))}
    for na in heads:
        for nb in heads:
            if na != nb:
                d = heads[na][:, 0] - heads[nb][:, 0]
                ga.pair_bands[(na, nb)] = {"median": float(np.median(d)),
                                         "p05": float(np.percentile(d, 5)),
                                         "p95": float(np.percentile(d, 95))}
    return ga


def sensitivity(spec: DesignSpec, arms: ArmSet, ga: GlobalAnalysis, recommended: list[str],
                progress: Progress) -> GlobalAnalysis:
    """Sobol' (or Morris/eFAST) indices of the headline gain of one recommended candidate and,
    with a second recommended candidate, of their difference."""
    from exomir.sensitivity import analyze_spec

    st = ga.settings
    by = {a.name: a for a in arms.candidates}
    names = sorted(recommended, key=lambda n: (n.lower(), n))
    subject, comparator = names[0], None
    if len(names) > 1:  # the pair that differs most (nominal cohort medians), ties by name
        day = spec.headline_day
        from exomir.design.arms import outcome_at

        med = {n: float(np.median(outcome_at(by[n].result, day))) for n in names}
        pairs = sorted(((-abs(med[a] - med[b]), a.lower(), b.lower(), a, b)
                        for i, a in enumerate(names) for b in names[i + 1:]))
        subject, comparator = pairs[0][3], pairs[0][4]
    ga.subject, ga.comparator = subject, comparator
    ga.table = by[subject].result.model.table
    outputs = ("gain", "difference") if comparator else ("gain",)
    progress(f"global sensitivity ({st.method}, n = {st.n}) of '{subject}'")
    ga.sensitivity = analyze_spec(
        by[subject].result.model, method=st.method, n=st.n, outputs=outputs,
        day=spec.headline_day, comparator=by[comparator].result.model if comparator else None,
        seed=spec.seed, second_order=False, convergence=st.method == "sobol")
    return ga


def global_section(spec: DesignSpec, ga: GlobalAnalysis, unit: str) -> Section:
    """The report section: drivers with indices and CIs, and uncertainty next to variability."""
    from exomir.sensitivity import sensitivity_section

    du = "points" if unit == "%" else unit
    if ga.sensitivity is not None:
        sec = sensitivity_section(ga.sensitivity, title="Global sensitivity and uncertainty")
        for b in sec.blocks:
            if isinstance(b, TableBlock) and b.title.startswith(("Distributions used",
                                                                 "Outputs over")):
                b.collapsed = True
        what = f"'{ga.subject}'" + (f" (and its difference from '{ga.comparator}')"
                                     if ga.comparator else "")
        sec.blocks.insert(0, TextBlock(
            f"Which assumptions drive the answer for {what}: "
            f"{ga.settings.method} indices over every uncertain parameter of the body model "
            "(assumption ranges, sourced ranges), for a typical subject."))
    else:
        sec = Section("Global sensitivity and uncertainty")
    if ga.uncertainty:
        rows = []
        for name, u in ga.uncertainty.items():
            b = u.band(u.columns[1].name)  # gain
            o = u.band(u.columns[0].name)  # outcome
            top = ", ".join(f"{d['parameter']} ({d['spearman']:+.2f})"
                            for d in u.drivers.get(u.columns[1].name, [])[:3]) or "—"
            rows.append([name, f"{o['nominal_median']:.3g}",
                         f"{o['var_p05']:.3g} to {o['var_p95']:.3g}",
                         f"{o['unc_p05']:.3g} to {o['unc_p95']:.3g}",
                         f"{b['unc_p05']:+.3g} to {b['unc_p95']:+.3g}",
                         f"{o['nominal_percentile']:.0f}", top])
        sec.blocks.append(TableBlock(
            f"Uncertainty next to variability (day {spec.headline_day:g}; "
            f"{ga.settings.uncertainty_draws} parameter draws x "
            f"{ga.settings.uncertainty_subjects} subjects, the same draws for every candidate)",
            ["candidate", "nominal median", "between-subject 5-95 %",
             "median at the 5th-95th percentile of uncertainty",
             f"gain over untreated ({du}) over uncertainty", "nominal at percentile",
             "dominant parameters (Spearman rho)"], rows,
            provenance="exomir.sensitivity.uncertainty_bands (shared problem and seed)"))
        hi = [n for n, u in ga.uncertainty.items()
              if u.band(u.columns[0].name)["nominal_percentile"] >= 75]
        if hi:
            sec.blocks.append(Warning_(
                "The nominal parameter values are optimistic for " + ", ".join(hi)
                + ": the nominal headline sits at or above the 75th percentile of parameter "
                "uncertainty.", severity="caution"))
    sec.data["global"] = {"subject": ga.subject, "comparator": ga.comparator,
                          "drivers": ga.drivers(5), "difference_drivers": ga.difference_drivers(5),
                          "gain_bands": ga.gain_bands,
                          "pair_bands": {f"{a} | {b}": v for (a, b), v in ga.pair_bands.items()},
                          "settings": ga.settings.model_dump()}
    return sec
