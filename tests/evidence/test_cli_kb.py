"""CLI, knowledge-base route, extraction sheets, SYRCLE and plots."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from exomir.cli import app
from exomir.core import Arm, ArmOutcome, Indication, InputError, Study
from exomir.evidence import rob
from exomir.evidence.arms import arm_table, read_extraction_sheet
from exomir.evidence.effects import escalc
from exomir.evidence.meta import rma

runner = CliRunner()

BCG = pd.DataFrame({  # dat.bcg (Colditz 1994), re-typed from the paper's table
    "study": [f"t{i}" for i in range(1, 14)],
    "ai": [4, 6, 3, 62, 33, 180, 8, 505, 29, 17, 186, 5, 27],
    "bi": [119, 300, 228, 13536, 5036, 1361, 2537, 87886, 7470, 1699, 50448, 2493, 16886],
    "ci": [11, 29, 11, 248, 47, 372, 10, 499, 45, 65, 141, 3, 29],
    "di": [128, 274, 209, 12619, 5761, 1079, 619, 87892, 7232, 1600, 27197, 2338, 17825],
    "alloc": ["random", "random", "random", "random", "alternate", "alternate", "random",
              "random", "random", "systematic", "systematic", "systematic", "systematic"],
    "ablat": [44, 55, 42, 52, 13, 44, 19, 13, 27, 42, 18, 33, 33],
})


def _csv(tmp_path: Path) -> Path:
    p = tmp_path / "bcg.csv"
    BCG.to_csv(p, index=False)
    return p


def test_cli_json_has_issue_keys_and_matches_library(tmp_path: Path) -> None:
    res = runner.invoke(app, ["evidence", "meta", "--data", str(_csv(tmp_path)), "--measure",
                              "RR", "--method", "REML", "--format", "json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    for key in ("k", "estimate", "se", "zval", "pval", "ci_lb", "ci_ub", "pi_lb", "pi_ub",
                "tau2", "tau2_ci_lb", "tau2_ci_ub", "i2", "h2", "q", "q_df", "q_pval",
                "studies"):
        assert key in out, key
    assert set(out["studies"][0]) == {"study", "yi", "vi", "weight"}
    es = escalc("RR", BCG)
    r = rma(es["yi"], es["vi"])
    assert out["estimate"] == pytest.approx(r.estimate, rel=1e-12)
    assert sum(s["weight"] for s in out["studies"]) == pytest.approx(100)


def test_cli_knha_reports_tval_and_subgroups_and_plot(tmp_path: Path) -> None:
    svg = tmp_path / "forest.svg"
    res = runner.invoke(app, ["evidence", "meta", "--data", str(_csv(tmp_path)), "--measure",
                              "RR", "--knha", "--by", "alloc", "--format", "json",
                              "--plot", str(svg)])
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    assert "tval" in out and "zval" not in out and out["df"] == 12
    sub = out["subgroups"]["subgroups"]
    assert set(sub) == {"alternate", "random", "systematic"}
    assert svg.read_text().lstrip().startswith(("<?xml", "<svg"))
    png = tmp_path / "funnel.png"
    res = runner.invoke(app, ["evidence", "meta", "--data", str(_csv(tmp_path)), "--measure",
                              "OR", "--bias", "--funnel", str(png)])
    assert res.exit_code == 0, res.output
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "Egger" in res.output and "trim-and-fill" in res.output


def test_cli_meta_regression_and_bubble(tmp_path: Path) -> None:
    png = tmp_path / "bubble.png"
    res = runner.invoke(app, ["evidence", "meta", "--data", str(_csv(tmp_path)), "--measure",
                              "RR", "--mods", "ablat", "--format", "json", "--bubble", str(png)])
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    assert out["coefficients"][1]["name"] == "ablat" and out["qm_df"] == [1]
    assert png.exists()


def test_cli_bad_input_is_one_line_exit_2(tmp_path: Path) -> None:
    p = tmp_path / "bad.csv"
    pd.DataFrame({"study": ["a"], "m1i": [1]}).to_csv(p, index=False)
    res = runner.invoke(app, ["evidence", "meta", "--data", str(p), "--measure", "SMD"])
    assert res.exit_code == 2
    msg = res.output if isinstance(res.exception, SystemExit) else str(res.exception)
    assert "sd1i" in msg and len(msg.strip().splitlines()) == 1


def _study(sid: str, arms: list[Arm], year: int = 2020) -> Study:
    return Study(id=sid, indication=Indication.DIABETIC_WOUND, first_author=sid, year=year,
                 arms=arms)


def _arm(label: str, role: str, **kw: float | int | None) -> Arm:
    return Arm(label=label, role=role,  # type: ignore[arg-type]
               outcomes=[ArmOutcome(measure="wound_closure", timepoint_days=14, **kw)])  # type: ignore[arg-type]


def test_arm_table_pools_reports_and_never_fills_silently() -> None:
    studies = [
        _study("A", [_arm("exo", "treatment", n=6, mean=80, sd=5),
                     _arm("pbs", "control", n=6, mean=60, sd=6)]),
        _study("B", [_arm("exo", "treatment", n=8, median=75, q1=70, q3=80),
                     _arm("pbs", "control", n=8, median=55, q1=50, q3=61)]),
        _study("C", [_arm("exo", "treatment", n=5, mean=70),
                     _arm("pbs", "control", n=5, mean=50, sd=4)]),
        _study("D", [_arm("exo", "treatment", mean=70, sd=3),
                     _arm("pbs", "control", mean=50, sd=4)]),
        _study("E", []),
        _study("F", [_arm("lo", "treatment", n=6, mean=70, se=2),
                     _arm("hi", "treatment", n=6, mean=80, sd=4),
                     _arm("pbs", "control", n=10, mean=50, sd=5)]),
    ]
    t = arm_table(studies, "Wound closure")
    rep = t.report()
    assert rep["studies_pooled"] == 3 and set(t.data["study_id"]) == {"A", "B", "F"}
    reasons = dict(t.excluded)
    assert "n not reported" in reasons["D"]
    assert "no arm-level data" in reasons["E"]
    assert "SD not reported" in reasons["C:exo"]
    b = t.data[t.data.study_id == "B"].iloc[0]
    assert b.m1i == pytest.approx((70 + 75 + 80) / 3)  # Wan 2014 C3 mean
    f = t.data[t.data.study_id == "F"]
    assert sorted(f.n2i) == [5, 5]  # shared control split between the two arms
    assert f[f.treatment == "lo"].sd1i.iloc[0] == pytest.approx(2 * np.sqrt(6))  # SE -> SD
    assert any("Wan 2014" in n for n in t.notes) and not any("IMPUTED" in n for n in t.notes)
    t2 = arm_table(studies, "wound_closure", impute_sd=True)
    assert "C" in set(t2.data["study_id"])
    assert any(n.startswith("IMPUTED SD for C:exo") for n in t2.notes)


def test_kb_route_through_cli_counts_left_out(monkeypatch: pytest.MonkeyPatch) -> None:
    from exomir.kb import open_kb

    kb = open_kb()
    kb.upsert_studies([
        _study("ZZ1", [_arm("exo", "treatment", n=6, mean=80, sd=5),
                       _arm("pbs", "control", n=6, mean=60, sd=6)], 2019),
        _study("ZZ2", [_arm("exo", "treatment", n=7, mean=85, sd=4),
                       _arm("pbs", "control", n=7, mean=62, sd=5)], 2021),
    ])
    n_total = len(kb.studies(indication="diabetic_wound"))
    res = runner.invoke(app, ["evidence", "meta", "--indication", "diabetic_wound", "--outcome",
                              "wound_closure", "--format", "json", "--timepoint", "14"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    src = out["source"]
    assert src["studies_considered"] == n_total
    assert src["studies_pooled"] == out["k"] == 2
    assert src["studies_left_out"] == n_total - 2
    assert all(x["reason"] for x in src["left_out"])


def test_extraction_sheet_roundtrip_to_kb(tmp_path: Path) -> None:
    p = tmp_path / "sheet.csv"
    pd.DataFrame({
        "study": ["U1", "U1", "U2"], "indication": ["diabetic_wound"] * 3,
        "outcome": ["wound_closure", "wound_closure", "wound_closure"],
        "treatment": ["exo", "exo+gel", "exo"], "timepoint_days": [14, 14, 10],
        "m1i": [80, 90, 70], "sd1i": [5, 4, ""], "se1i": ["", "", 1.5], "n1i": [6, 6, 8],
        "m2i": [60, 60, 55], "sd2i": [6, 6, 5], "n2i": [12, 12, 8],
        "year": [2022, 2022, 2023], "rob_1": ["low", "low", "unclear"],
        "rob_blinding_assessor": ["high", "high", ""],
    }).to_csv(p, index=False)
    studies = read_extraction_sheet(p)
    assert [s.id for s in studies] == ["U1", "U2"]
    assert {a.label for a in studies[0].arms} == {"exo", "exo+gel", "control"}
    assert studies[0].risk_of_bias == {"sequence_generation": "low", "blinding_assessor": "high"}
    res = runner.invoke(app, ["evidence", "import-sheet", str(p)])
    assert res.exit_code == 0, res.output
    from exomir.kb import open_kb

    got = open_kb().get_study("U1")
    assert len(got.arms) == 3
    t = arm_table([got, open_kb().get_study("U2")], "wound_closure")
    assert len(t.data) == 3 and sorted(t.data[t.data.study_id == "U1"].n2i) == [6, 6]
    res = runner.invoke(app, ["evidence", "rob", "--sheet", str(p), "--format", "json",
                              "--plot", str(tmp_path / "rob.svg")])
    assert res.exit_code == 0, res.output
    js = json.loads(res.output)
    assert js["studies"][0]["blinding_assessor"] == "high"
    assert (tmp_path / "rob.svg").exists()


def test_sheet_errors_name_line(tmp_path: Path) -> None:
    p = tmp_path / "sheet.csv"
    pd.DataFrame({"study": ["U1"], "indication": ["burns"], "outcome": ["x"], "n1i": [5],
                  "n2i": [5]}).to_csv(p, index=False)
    with pytest.raises(InputError) as ei:
        read_extraction_sheet(p)
    assert ei.value.line == 2 and "indication" in str(ei.value)


def test_rob_items_and_validation() -> None:
    assert len(rob.SYRCLE_ITEMS) == 10
    assert rob.normalise({"7": "High"}) == {"blinding_assessor": "high"}
    with pytest.raises(InputError):
        rob.normalise({"1": "maybe"})
    with pytest.raises(InputError):
        rob.normalise({"item11": "low"})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        s = Study(id="R1", indication=Indication.NEUROPATHIC_PAIN,
                  risk_of_bias={"sequence_generation": "low"})
    table = rob.traffic_light([s])
    assert table.loc[0, "sequence_generation"] == "low"
    assert table.loc[0, "other_bias"] == "not assessed"
    summ = rob.summary(table)
    assert summ.loc[0, "low"] == 100.0
