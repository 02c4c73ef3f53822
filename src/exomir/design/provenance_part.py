"""Report section 5: every parameter used (value, unit, source or assumption) and how much the
headline result depends on the assumed ones (one-at-a-time sensitivity)."""

from __future__ import annotations

from typing import Any

from exomir.core import Parameter
from exomir.design import figures
from exomir.design.cargo_part import (
    VALIDATED_MAX_REPRESSION,
    VALIDATED_MAX_REPRESSION_RANGE,
    CargoPlan,
)
from exomir.design.simulate_part import CandidateRun, outcome_key
from exomir.design.spec import DesignSpec
from exomir.report import Figure, Section, TableBlock, TextBlock


def _param_rows(origin: str, params: Any) -> list[list[Any]]:
    rows = []
    for p in params:
        assert isinstance(p, Parameter)
        rows.append([origin, p.name, p.value, p.unit, p.source or "assumption",
                     p.low, p.high, p.description, p.assumption])
    return rows


def sensitivity(spec: DesignSpec, run: CandidateRun, progress: Any) -> list[dict[str, Any]]:
    """Headline (median outcome at the headline day, one typical subject) with each assumed
    body parameter at its low and high end, the others nominal
    (:func:`exomir.sensitivity.oat.one_at_a_time`)."""
    from exomir.sensitivity.oat import one_at_a_time

    return one_at_a_time(run.body_spec, spec.headline_day, release=run.release,
                         progress=progress)


def provenance_section(spec: DesignSpec, plan: CargoPlan, runs: list[CandidateRun],
                       progress: Any) -> Section:
    from exomir.quality.manufacture import MANUFACTURING

    sec = Section("Assumptions and provenance")
    sec.blocks.append(TextBlock(
        "Every parameter the computations used, with its unit and source; assumptions are "
        "highlighted and carry a plausible range. Rows come from the modules' own parameter "
        "tables."))
    rows = _param_rows("body", runs[0].result.model.table)
    rows += _param_rows("manufacturing", MANUFACTURING)
    try:
        from exomir.release.depot import DEPOT_PARAMETERS

        rows += _param_rows("release", DEPOT_PARAMETERS)
    except ImportError:  # pragma: no cover
        pass
    rows.append(["cargo", "validated_max_repression", VALIDATED_MAX_REPRESSION, "fraction",
                 "assumption (Selbach 2008 doi:10.1038/nature07228: mostly < 2-fold)",
                 VALIDATED_MAX_REPRESSION_RANGE[0], VALIDATED_MAX_REPRESSION_RANGE[1],
                 "maximal repression of a validated target without a predicted score", True])
    cols = ["module", "parameter", "value", "unit", "source", "low", "high", "description",
            "_assumption"]
    sec.blocks.append(TableBlock("Parameters", cols, rows,
                                 provenance="ParameterTable of exomir.body, exomir.quality, "
                                            "exomir.release"))
    sec.data["parameters"] = [dict(zip(cols, r, strict=True)) for r in rows]
    sec.data["n_assumptions"] = sum(1 for r in rows if r[-1])
    if not spec.sensitivity:
        return sec
    run = runs[0]
    sens = sensitivity(spec, run, progress)
    sec.data["sensitivity"] = {"candidate": run.design.name, "day": spec.headline_day,
                               "rows": sens}
    _, unit, label = outcome_key(run.result)
    top = sens[:12]
    if top:
        sec.blocks.append(TableBlock(
            f"Which assumptions move the headline ({label} at day {spec.headline_day:g}, "
            f"'{run.design.name}', typical subject)",
            ["parameter", "low", "high", "unit", f"headline at low ({unit})",
             f"headline at high ({unit})", "swing"],
            [[o["parameter"], o["low"], o["high"], o["unit"], o["headline_low"],
              o["headline_high"], o["swing"]] for o in top],
            provenance="exomir.sensitivity.oat.one_at_a_time"))
        sec.blocks.append(Figure(
            "One-at-a-time sensitivity of the headline", "sensitivity.svg",
            figures.tornado([o["parameter"] for o in top], [o["headline_low"] for o in top],
                            [o["headline_high"] for o in top], top[0]["base"],
                            xlabel=label, title="blue: low end, red: high end"),
            provenance="exomir.sensitivity.oat.one_at_a_time"))
    return sec
