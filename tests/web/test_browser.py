"""A person's paths through the workbench in headless Chromium (Debian's), on loopback only:
no console errors, no request leaves 127.0.0.1, a screenshot of each step in test-artifacts/."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from tests.conftest import REPO
from tests.web.conftest import Page

pytestmark = pytest.mark.reference


def test_evidence_search_mir146a_neuropathic_pain(page: Page) -> None:
    p = page.page
    p.goto(page.base + "/")
    p.click("nav >> text=Evidence")
    p.click("[data-facet=indication] >> text=neuropathic_pain")
    p.fill("input[name=q]", "")
    # choose the miRNA through the URL the facet links build (same filter as kb query)
    p.goto(page.base + "/evidence?indication=neuropathic_pain&mirna=miR-146a")
    ids = p.locator("#studies tbody td:first-child a").all_inner_texts()
    assert ids, "no study for miR-146a in neuropathic pain"
    from exomir.kb import open_kb

    expected = [s.id for s in open_kb().studies(indication="neuropathic_pain", mirna="miR-146a")]
    assert ids == expected
    assert "miR-146a" in p.inner_text("main")
    page.shot("evidence-mir146a")
    p.click(f"#studies >> text={ids[0]}")
    assert p.url.endswith(f"/evidence/{ids[0]}")
    link = p.get_attribute("#source-link", "href")
    assert link and link.startswith("https://")
    assert "target genes" in p.inner_text("#fields")
    page.shot("study")
    csv = p.request.get(page.base + "/evidence.csv?indication=neuropathic_pain&mirna=miR-146a")
    assert csv.ok and csv.text().splitlines()[1].startswith(ids[0] + ",")
    page.check_clean()


def test_design_from_form_with_progress_and_report(page: Page) -> None:
    p = page.page
    p.goto(page.base + "/design")
    p.wait_for_selector("#spec-app[data-ready='1']")
    p.select_option("#preset", "diabetic_wound")
    p.click("#load-preset")
    # a bad value first: the message names the field, inline
    p.fill("input[data-path='subjects']", "0")
    p.click("#validate")
    msg = p.wait_for_selector(".field-error[data-for='subjects']")
    assert "subjects" in msg.inner_text() and ">= 2" in msg.inner_text()  # paired bands
    page.shot("design-invalid")
    # few subjects, no sensitivity sweep: cheap
    p.fill("input[data-path='subjects']", "4")
    p.fill("input[data-path='dose_response_subjects']", "2")
    p.fill("input[data-path='dose_response_points']", "3")
    p.uncheck("input[data-path='sensitivity']")
    p.click("#submit")
    p.wait_for_url("**/jobs/*")
    p.wait_for_selector("#job[data-status='running'], #job[data-status='done']", timeout=60000)
    page.shot("design-progress")
    p.wait_for_selector("#job[data-status='done']", timeout=120000)
    assert float(p.get_attribute("#job-progress", "value") or 0) == 1.0
    # progress arrived live (server-sent events), not only the final state
    assert int(p.get_attribute("#job", "data-updates") or 0) >= 3
    assert p.get_attribute("#job", "data-saw-progress") == "1"
    frame = p.frame_locator("#report")
    assert "exomir design report" in frame.locator("h1").first.inner_text()
    page.shot("design-report")
    p.goto(page.base + "/jobs")
    assert "Diabetic wound" in p.inner_text("#jobs")
    page.check_clean()


def test_release_upload_shows_fit(page: Page) -> None:
    p = page.page
    p.goto(page.base + "/release")
    p.set_input_files("#fit-form input[name=file]",
                      str(REPO / "examples" / "release" / "gelma_synthetic.csv"))
    p.click("#fit-form button[type=submit]")
    p.wait_for_selector("#fit-out img[data-figure=fit]", timeout=60000)
    rows = p.locator("#fit-out table.data tbody tr")
    assert rows.count() >= 5
    assert "(recommended)" in p.inner_text("#fit-out")
    page.shot("release-fit")
    page.check_clean()


def _metafor_csv(path: Path) -> Path:
    """A small synthetic two-arm continuous data set (not measurements)."""
    rows = [("A 2019", 5.1, 1.2, 10, 3.9, 1.1, 10, "mouse"),
            ("B 2020", 4.8, 1.5, 8, 4.1, 1.4, 8, "rat"),
            ("C 2021", 6.0, 1.0, 12, 4.0, 1.3, 12, "mouse"),
            ("D 2021", 5.5, 2.0, 6, 5.2, 1.8, 6, "rat"),
            ("E 2022", 4.9, 1.1, 15, 3.5, 1.2, 14, "mouse")]
    path.write_text("study,m1i,sd1i,n1i,m2i,sd2i,n2i,species\n" + "".join(
        ",".join(map(str, r)) + "\n" for r in rows))
    return path


def test_meta_upload_forest_equals_cli(page: Page, tmp_path: Path) -> None:
    from exomir.cli import app as cli

    csv = _metafor_csv(tmp_path / "smd.csv")
    res = CliRunner().invoke(cli, ["evidence", "meta", "--data", str(csv), "--measure", "SMD",
                                   "--method", "REML", "--format", "json"])
    assert res.exit_code == 0, res.output
    want: dict[str, Any] = json.loads(res.output)
    p = page.page
    p.goto(page.base + "/meta")
    p.set_input_files("#meta-form input[name=file]", str(csv))
    p.click("#meta-form button[type=submit]")
    p.wait_for_selector("#meta-out img[data-figure=forest]", timeout=60000)
    got = p.locator("#pooled-estimate")
    assert float(got.get_attribute("data-estimate") or "nan") == want["estimate"]
    assert float(got.get_attribute("data-ci-lb") or "nan") == want["ci_lb"]
    assert float(got.get_attribute("data-ci-ub") or "nan") == want["ci_ub"]
    assert p.locator("#meta-out img[data-figure=funnel]").count() == 1
    page.shot("meta-forest")
    page.check_clean()


def test_meta_from_kb_shows_gates(page: Page) -> None:
    """Pooling the shipped wound evidence from the page: nothing pooled (said so), the
    kept-out studies with their reasons (RETRACTED among them), DW037 as a labelled single
    study, the published syntheses alongside; then the listing of those syntheses."""
    p = page.page
    p.goto(page.base + "/meta")
    p.select_option("#meta-indication", "diabetic_wound")
    p.wait_for_selector("#meta-outcome option[value=wound_closure]", state="attached")
    p.select_option("#meta-outcome", "wound_closure")
    p.click("#meta-form button[type=submit]")
    p.wait_for_selector("#meta-out #no-pool", timeout=60000)
    out = p.inner_text("#meta-out")
    assert p.locator("#pooled-estimate").count() == 0
    assert "RETRACTED" in out and "DW002" in out and "DW037" in out
    assert "single study" in p.inner_text("#headline")
    assert "10.3389/fendo.2024.1375632" in out  # a published synthesis, shown alongside
    assert "not run: --bias" in out  # the ticked small-study box needs a meta-analysis
    page.shot("meta-kb-gates")
    p.click("nav >> text=Published syntheses")
    assert p.locator("#syntheses tbody tr").count() >= 1
    assert "could be sourced" in p.inner_text("main")
    page.check_clean()


def test_api_docs_load_locally(page: Page) -> None:
    p = page.page
    p.goto(page.base + "/api/docs")
    p.wait_for_selector(".swagger-ui .opblock", timeout=30000)
    assert p.locator(".opblock").count() > 20
    page.shot("api-docs")
    page.check_clean()
