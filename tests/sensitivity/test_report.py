"""Report sections and saved results are built from finished results only."""

from __future__ import annotations

from pathlib import Path

from exomir.report import Figure, Report, TableBlock, Warning_, render_html
from exomir.sensitivity.analysis import run_sensitivity
from exomir.sensitivity.evaluate import FunctionEvaluator
from exomir.sensitivity.report import sensitivity_section, uncertainty_section
from exomir.sensitivity.result import SensitivityResult
from exomir.sensitivity.testfunctions import ishigami, ishigami_problem
from exomir.sensitivity.uncertainty import uncertainty_bands

from .helpers import WOUND, model


def test_sensitivity_section_and_round_trip(tmp_path: Path) -> None:
    prob = ishigami_problem()
    res = run_sensitivity(prob, FunctionEvaluator(ishigami, prob.names), n=64, seed=1,
                          screen_inert=False)
    again = SensitivityResult.load(res.save(tmp_path / "r.json"))
    assert again.indices.round(12).equals(res.indices.round(12))
    assert again.problem.names == res.problem.names
    for r in (res, again):
        sec = sensitivity_section(r)
        tables = [b for b in sec.blocks if isinstance(b, TableBlock)]
        figs = [b for b in sec.blocks if isinstance(b, Figure)]
        assert tables[0].rows[0][0] == r.top("y", 1)["label"][0]
        assert figs and figs[0].svg.lstrip().startswith("<?xml")
        assert sec.data["method"] == "sobol"
    html = render_html(Report("t", sections=[sensitivity_section(res)]))
    assert "S1 [95 % CI]" in html


def test_uncertainty_section_leads_with_the_statement() -> None:
    unc = uncertainty_bands(model(WOUND), n_draws=10, n_subjects=4, outputs=("outcome",))
    sec = uncertainty_section(unc)
    assert isinstance(sec.blocks[0], Warning_)
    assert "percentile of parameter uncertainty" in sec.blocks[0].message
    assert sec.data["bands"][0]["output"] == "wound_closure_pct_day14"
