"""docs/validation.md is what ``exomir validate`` prints now (regenerate with
``exomir validate --out docs/validation.md``), and the roles are honest."""

from __future__ import annotations

from pathlib import Path

from exomir.calibrate.problem import builtin_names
from exomir.calibrate.validate import HELD_OUT, run_cases, to_markdown

DOC = Path(__file__).resolve().parents[2] / "docs" / "validation.md"


def test_validation_doc_is_current_and_roles_are_named() -> None:
    cases = run_cases()
    assert DOC.read_text(encoding="utf-8") == to_markdown(cases), \
        "docs/validation.md is stale: run exomir validate --out docs/validation.md"
    held = {c.quantity for c in cases if c.role == HELD_OUT}
    # the hold-outs the issue names are present and never fitted
    for q in ("CL by NCA, 125I-exosomes (normal MPS, tracer dose)",
              "Vss by NCA, 125I-exosomes (normal MPS, tracer dose)",
              "MRT by NCA, macrophage-depleted (mps_factor = 0, 5 µg)",
              "vehicle gain over free sEV: day 8 > day 12",
              "EV scaffold: thermal latency day 21 (Hargreaves)",
              "release-curve shapes beyond the end-points"):
        assert q in held
    assert any(c.case == "V6" and c.role == HELD_OUT for c in cases)
    for c in cases:  # every calibration target names a problem that exists
        if c.role.startswith("calibration target (") and "_" in c.role:
            name = c.role.split("(")[1].split(")")[0].split(",")[0]
            if name.islower() and "by construction" not in c.role and "pending" not in name:
                assert name in builtin_names(), c.role
        assert c.status in ("pass", "fail", "not testable", "not modelled")
