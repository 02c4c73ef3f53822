"""Report section "Assumptions and provenance": every parameter used (value, unit, source or
assumption with its range). Which of them drive the answer is the global sensitivity section
(:mod:`exomir.design.uncertainty_part`)."""

from __future__ import annotations

from typing import Any

from exomir.core import Parameter
from exomir.design.cargo_part import (
    VALIDATED_MAX_REPRESSION,
    VALIDATED_MAX_REPRESSION_RANGE,
    CargoPlan,
)
from exomir.design.simulate_part import CandidateRun
from exomir.design.spec import DesignSpec
from exomir.report import Section, TableBlock, TextBlock


def _param_rows(origin: str, params: Any) -> list[list[Any]]:
    rows = []
    for p in params:
        assert isinstance(p, Parameter)
        src = p.source or (f"calibrated: {p.calibrated}" if p.calibrated else "assumption")
        rows.append([origin, p.name, p.value, p.unit, src,
                     p.low, p.high, p.description, p.assumption])
    return rows


def provenance_section(spec: DesignSpec, plan: CargoPlan, runs: list[CandidateRun]
                       ) -> Section:
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
    return sec
