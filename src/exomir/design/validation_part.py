"""Report section "Calibration and validation": which body-model numbers behind this design
were fitted by ``exomir calibrate`` (problem and 95 % profile CI), which are sourced, which
are assumptions, and how the model fares on the validation cases of the indication, with
calibration targets (agreement only shows the fit worked) kept apart from held-out checks
(the evidence). The checks are those of :func:`exomir.calibrate.validate.run_cases`, the same as
``exomir validate`` and ``docs/validation.md``."""

from __future__ import annotations

from typing import Any

from exomir.core import Parameter
from exomir.design.simulate_part import CandidateRun
from exomir.design.spec import DesignSpec
from exomir.report import Section, TableBlock, TextBlock

#: validation cases (first word of ``Check.case``; lower-cased, the name of the case's function
#: in :mod:`exomir.calibrate.validate`) that speak to each indication: the PK cases (V1, V2)
#: and the knockdown ceiling (V6) to both; wound closure (V3, human DFU) and vehicle release
#: (V5) to wounds; the pain read-outs (V4) to neuropathic pain. Only these cases are run.
CASES_BY_INDICATION: dict[str, tuple[str, ...]] = {
    "diabetic_wound": ("V1", "V2", "V3", "human", "V5", "V6"),
    "neuropathic_pain": ("V1", "V2", "V4", "V6"),
}


def _kind(p: Parameter) -> str:
    if p.calibrated:
        return "calibrated"
    return "assumption" if p.assumption else "sourced"


def parameter_counts(params: list[Parameter]) -> dict[str, int]:
    """How many parameters are calibrated, sourced and assumed (switches included)."""
    out = {"calibrated": 0, "sourced": 0, "assumption": 0}
    for p in params:
        out[_kind(p)] += 1
    return out


def validation_section(spec: DesignSpec, runs: list[CandidateRun]) -> Section:
    from exomir.calibrate import validate
    from exomir.calibrate.validate import HELD_OUT

    sec = Section("Calibration and validation")
    params = [p for p in runs[0].result.model.table if isinstance(p, Parameter)]
    counts = parameter_counts(params)
    cal = [p for p in params if p.calibrated]
    problems = sorted({(p.calibrated or "").split(" ")[0] for p in cal})
    cases = CASES_BY_INDICATION.get(spec.indication.value, ())
    checks = validate.run_cases([getattr(validate, case.lower()) for case in cases])
    fitted = [c for c in checks if c.role != HELD_OUT]
    held = [c for c in checks if c.role == HELD_OUT]

    def n(cs: list[Any], status: str) -> int:
        return sum(c.status == status for c in cs)

    held_fail = [c for c in held if c.status == "fail"]
    text = (
        f"Of the {len(params)} body-model parameters behind these numbers, {counts['calibrated']}"
        f" were fitted by `exomir calibrate` ({', '.join(problems) or 'none'}; values and 95 % "
        f"profile CIs below), {counts['sourced']} are read from a source and "
        f"{counts['assumption']} are assumptions with a range (parameters the calibration could "
        "not identify stay assumptions). A check that re-tests a number the parameters were "
        f"fitted to is calibration, not validation: of the {len(checks)} validation checks that "
        f"speak to this indication, {len(fitted)} are calibration targets ({n(fitted, 'pass')} "
        f"reproduced) and {len(held)} are held out, never used for fitting: {n(held, 'pass')} "
        f"pass, {len(held_fail)} fail, {len(held) - n(held, 'pass') - len(held_fail)} cannot be "
        "tested with this model.")
    if held_fail:
        text += " Held-out failures: " + "; ".join(
            f"{c.case} {c.quantity} ({c.exomir_text} vs {c.published})" for c in held_fail) + "."
    if spec.calibration:
        text += (f" This design runs on the calibration file {spec.calibration}; the checks "
                 "below are of the shipped defaults.")
    sec.blocks.append(TextBlock(text))
    rows = [[p.name, p.value, p.unit, p.calibrated, p.low, p.high] for p in cal]
    sec.blocks.append(TableBlock(
        "Calibrated parameters", ["parameter", "value", "unit", "problem and 95 % CI", "low",
                                  "high"], rows,
        provenance="ParameterTable.calibrated; reproduced by exomir calibrate --builtin all "
                   "--check"))
    cols = ["case", "quantity", "role", "exomir", "published", "band", "result"]
    sec.blocks.append(TableBlock(
        "Validation checks (held out first)", cols,
        [[c.case, c.quantity, c.role, c.exomir_text, c.published, c.band, c.status]
         for c in held + fitted],
        provenance="exomir.calibrate.validate.run_cases (= exomir validate, docs/validation.md)",
        collapsed=True))
    sec.data["parameter_counts"] = counts
    sec.data["calibration_problems"] = problems
    sec.data["checks"] = [c.to_dict() for c in held + fitted]
    sec.data["held_out"] = {"total": len(held), "pass": n(held, "pass"),
                            "fail": len(held_fail)}
    sec.data["calibration_targets"] = {"total": len(fitted), "pass": n(fitted, "pass")}
    return sec
