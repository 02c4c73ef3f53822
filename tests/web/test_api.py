"""The JSON API and the pages' data: same answers as the CLI and the Python API, errors that
name the field, and the security rules (token, same origin, size limits, rate limit)."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from tests.conftest import REPO
from tests.web.conftest import TOKEN

AUTH = {"Authorization": f"Bearer {TOKEN}"}


def _cli(*args: str) -> Any:
    from exomir.cli import app

    res = CliRunner().invoke(app, list(args))
    assert res.exit_code == 0, res.output
    return json.loads(res.output)


@pytest.mark.parametrize("query", [
    {"indication": "neuropathic_pain", "mirna": "miR-146a"}, {"gene": "PTEN"},
    {"pathway": "PI3K/Akt", "species": "mouse"}, {"route": "hydrogel"}, {"source": "MSC"},
])
def test_studies_equal_kb_query(client: Any, query: dict[str, str]) -> None:
    args = [a for k, v in query.items() for a in (f"--{k}", v)]
    want = _cli("kb", "query", *args, "--format", "json")
    got = client.get("/api/v1/studies", params=query).json()
    assert got["count"] == len(want)
    keys = list(want[0]) if want else []
    assert [{k: r[k] for k in keys} for r in got["studies"]] == want
    # the page's .json and .csv carry the same rows with the same filters
    page = client.get("/evidence.json", params=query).json()
    assert page["studies"] == got["studies"]
    rows = list(csv.DictReader(io.StringIO(client.get("/evidence.csv", params=query).text)))
    assert [r["id"] for r in rows] == [r["id"] for r in want]


def test_facets_count_the_filtered_studies(client: Any) -> None:
    d = client.get("/api/v1/studies", params={"indication": "diabetic_wound"}).json()
    counts = {f["value"]: f["count"] for f in d["facets"]["species"]}
    for sp, n in counts.items():
        sub = client.get("/api/v1/studies", params={"indication": "diabetic_wound",
                                                    "species": sp}).json()
        assert sub["count"] == n
    assert sum(f["count"] for f in d["facets"]["indication"]) == d["count"]
    excl = {f["value"]: f["count"] for f in d["facets"]["exclusion"]}
    assert excl.get("included", 0) + sum(n for v, n in excl.items() if v != "included") \
        >= d["count"]  # every study has at least one status
    for value, n in excl.items():
        assert client.get("/api/v1/studies", params={"indication": "diabetic_wound",
                                                     "exclusion": value}).json()["count"] == n


def test_full_text_search(client: Any) -> None:
    d = client.get("/api/v1/studies", params={"q": "microglia"}).json()
    assert d["count"] > 0
    for r in d["studies"]:
        s = client.get(f"/api/v1/studies/{r['id']}").json()["study"]
        assert "microglia" in json.dumps(s).lower()
    assert client.get("/api/v1/studies", params={"q": "zzqqxx-none"}).json()["count"] == 0


def test_study_and_trials(client: Any) -> None:
    s = client.get("/api/v1/studies/NP001").json()
    assert s["link"].startswith("https://doi.org/") and s["study"]["id"] == "NP001"
    page = client.get("/evidence/NP001")
    assert page.status_code == 200 and s["link"] in page.text
    t = client.get("/api/v1/trials", params={"indication": "diabetic_wound"}).json()
    want = _cli("kb", "trials", "--indication", "diabetic_wound", "--format", "json")
    assert [x["registry_id"] for x in t["trials"]] == [x["registry_id"] for x in
                                                         (want.get("trials", want) if
                                                          isinstance(want, dict) else want)]


def test_errors_name_field_value_accepted(client: Any) -> None:
    r = client.get("/api/v1/studies", params={"species": "dog"})
    assert r.status_code == 400
    e = r.json()["error"]
    assert (e["field"], e["value"]) == ("species", "dog") and "mouse" in e["accepted"]
    r = client.get("/api/v1/studies", params={"limit": "many"})
    assert r.status_code == 422 and r.json()["error"]["field"] == "limit"
    r = client.get("/api/v1/studies/NOPE")
    assert r.status_code == 404 and r.json()["error"]["field"] == "study_id"
    r = client.get("/evidence/NOPE", headers={"Accept": "text/html"})
    assert r.status_code == 404 and "no such study" in r.text and "Traceback" not in r.text


def test_security_headers_and_same_origin(client: Any) -> None:
    r = client.get("/")
    for h in ("content-security-policy", "x-content-type-options", "x-frame-options",
              "referrer-policy"):
        assert h in r.headers
    assert "script-src 'self'" in r.headers["content-security-policy"]
    r = client.post("/api/v1/validate/design", json={},
                    headers={"Origin": "http://evil.example"})
    assert r.status_code == 403 and r.json()["error"]["field"] == "Origin"
    r = client.post("/api/v1/validate/design", json={}, headers={"Sec-Fetch-Site": "cross-site"})
    assert r.status_code == 403
    r = client.post("/api/v1/validate/design", json={}, headers={"Origin": "http://testserver"})
    assert r.status_code == 200


def test_upload_limit(client: Any, app: Any) -> None:
    big = b"x" * (app.state.exomir.settings.max_upload_bytes + 10)
    r = client.post("/api/v1/release/fit", files={"file": ("big.csv", big, "text/csv")})
    assert r.status_code == 413 and r.json()["error"]["field"] == "file"


def test_writes_need_the_token(client: Any, app: Any, tmp_path: Path) -> None:
    study = client.get("/api/v1/studies/NP001").json()["study"]
    study["id"] = "WEB001"
    study["title"] = "imported through the web"
    f = json.dumps({"studies": [study]}).encode()
    r = client.post("/api/v1/kb/import", files={"file": ("s.json", f, "application/json")})
    assert r.status_code == 401
    r = client.post("/api/v1/kb/import", files={"file": ("s.json", f, "application/json")},
                    headers={"Authorization": "Bearer wrong"})
    assert r.status_code == 401
    before = app.state.exomir.kb.table_counts()
    bad = json.dumps({"studies": [study, {**study, "id": "WEB002", "year": 1200}]}).encode()
    r = client.post("/api/v1/kb/import", files={"file": ("bad.json", bad, "application/json")},
                    headers=AUTH)
    assert r.status_code == 400 and r.json()["error"]["source"] == "bad.json"
    assert app.state.exomir.kb.table_counts() == before  # all or nothing
    r = client.post("/api/v1/kb/import", files={"file": ("s.json", f, "application/json")},
                    headers=AUTH)
    assert r.status_code == 200 and r.json()["imported"] == {"studies": 1}
    assert client.get("/api/v1/studies", params={"q": "imported through the web"}
                      ).json()["count"] == 1


def test_writes_off_without_a_configured_token(tmp_path: Path) -> None:
    from fastapi.testclient import TestClient

    from exomir.web.app import create_app
    from exomir.web.settings import Settings

    app = create_app(Settings(db=str(tmp_path / "kb.sqlite"), data_dir=tmp_path / "d",
                              token=None, job_rate_per_minute=1, job_rate_burst=1))
    try:
        c = TestClient(app)
        r = c.post("/api/v1/kb/import", files={"file": ("s.json", b"[]", "application/json")},
                   headers=AUTH)
        assert r.status_code == 403 and "EXOMIR_TOKEN" in r.json()["error"]["message"]
        assert c.delete("/api/v1/jobs/" + "0" * 32, headers=AUTH).status_code == 403
        spec = {"kind": "simulate", "spec": _tiny_spec(), "subjects": 1, "days": 1}
        assert c.post("/api/v1/jobs", json=spec).status_code == 202
        r = c.post("/api/v1/jobs", json=spec)
        assert r.status_code == 429 and "Retry-After" in r.headers
    finally:
        app.state.exomir.jobs.shutdown()


def _tiny_spec() -> dict[str, Any]:
    import yaml

    return dict(yaml.safe_load((REPO / "examples" / "diabetic_wound_hydrogel.yaml").read_text()))


def test_validation_names_every_field(client: Any) -> None:
    ex = client.get("/api/v1/examples/design").json()["diabetic_wound"]
    errs = client.post("/api/v1/validate/design", json=ex).json()["errors"]
    assert {e["field"] for e in errs} == {"subjects", "dose_response_subjects"}  # server limit
    assert errs[0]["accepted"] == "<= 20"
    ex.update(subjects=5, dose_response_subjects=5)
    assert client.post("/api/v1/validate/design", json=ex).json() == {"valid": True,
                                                                      "errors": []}
    bad = json.loads(json.dumps(ex))
    bad["subjects"] = 0
    bad["candidates"][1]["route"] = "teleport"
    errs = client.post("/api/v1/validate/design", json=bad).json()["errors"]
    fields = {e["field"] for e in errs}
    assert {"subjects", "candidates.1.route"} <= fields
    route = next(e for e in errs if e["field"] == "candidates.1.route")
    assert "hydrogel" in route["accepted"] and route["value"] == "teleport"
    r = client.post("/api/v1/jobs", json={"kind": "design", "spec": bad})
    assert r.status_code == 400 and r.json()["error"]["field"] in fields
    schema = client.get("/api/v1/schema/design").json()
    assert "candidates" in schema["properties"]


def test_release_fit_equals_python_api(client: Any) -> None:
    from exomir.release.fit import fit_models
    from exomir.release.io import read_release_csv

    path = REPO / "examples" / "release" / "gelma_synthetic.csv"
    r = client.post("/api/v1/release/fit", files={"file": (path.name, path.read_bytes())},
                    data={"plot": "false"})
    assert r.status_code == 200
    want = fit_models(read_release_csv(path), "all").to_dict()
    got = r.json()["result"]
    assert got["recommended"] == want["recommended"]
    assert [(f["model"], f["params"]) for f in got["fits"]] == \
        [(f["model"], f["params"]) for f in json.loads(json.dumps(want["fits"], default=float))]
    assert got["source"] == path.name
    r = client.post("/api/v1/release/fit", files={"file": ("x.csv", b"time,released\n1,abc\n")})
    assert r.status_code == 400
    e = r.json()["error"]
    assert e["source"] == "x.csv" and e["line"] == 2 and e["field"] == "released"


def test_release_compare(client: Any) -> None:
    a = REPO / "examples" / "release" / "gelma_synthetic.csv"
    b = REPO / "examples" / "release" / "chitosan_synthetic.csv"
    want = _cli("release", "compare", str(a), str(b), "--format", "json")
    r = client.post("/api/v1/release/compare", files={"reference": (a.name, a.read_bytes()),
                                                      "test": (b.name, b.read_bytes())})
    assert r.status_code == 200
    got = r.json()["result"]
    assert got["f2"] == want["f2"] and got["bootstrap_f2_ci90"] == want["bootstrap_f2_ci90"]


def test_meta_from_kb_equals_cli(client: Any) -> None:
    outs = client.get("/api/v1/meta/outcomes", params={"indication": "diabetic_wound"}).json()
    assert outs["outcomes"]
    outcome = outs["outcomes"][0]["measure"]
    want = _cli("evidence", "meta", "--indication", "diabetic_wound", "--outcome", outcome,
                "--format", "json")
    r = client.post("/api/v1/meta", data={"indication": "diabetic_wound", "outcome": outcome,
                                          "plots": "false"})
    assert r.status_code == 200, r.text
    assert r.json()["pooled"]["estimate"] == want["estimate"]
    csv_r = client.post("/api/v1/meta?format=csv", data={"indication": "diabetic_wound",
                                                         "outcome": outcome})
    assert csv_r.headers["content-type"].startswith("text/csv")


def test_cargo_rank_equals_cli(client: Any) -> None:
    want = _cli("cargo", "rank", "--indication", "diabetic_wound", "--k", "2", "--format",
                "json")
    r = client.post("/api/v1/cargo/rank", json={"indication": "diabetic_wound", "k": 2})
    assert r.status_code == 200
    assert r.json()["result"]["ranks"] == want
    assert "PTEN" in json.dumps(r.json()["tables"])


def test_cargo_scan_pasted(client: Any) -> None:
    mir = ">hsa-miR-21-5p\nUAGCUUAUCAGACUGAUGUUGA\n"
    utr = ">GENE1\n" + "A" * 30 + "AUAAGCUA" + "C" * 30 + "\n"  # one 8mer site of miR-21
    r = client.post("/api/v1/cargo/scan", data={"mirna_text": mir, "utr_text": utr})
    assert r.status_code == 200, r.text
    sites = r.json()["result"]["sites"]
    assert len(sites) == 1 and sites[0]["site_type"] == "8mer"
    r = client.post("/api/v1/cargo/scan", data={"mirna_text": mir})
    assert r.status_code == 400 and r.json()["error"]["field"] == "utr"


def test_quality_and_dose(client: Any) -> None:
    rec = REPO / "examples" / "quality" / "record_synthetic.yaml"
    want = _cli("quality", "misev", str(rec), "--format", "json")
    r = client.post("/api/v1/quality/misev", files={"file": (rec.name, rec.read_bytes())})
    assert r.status_code == 200 and r.json()["result"] == want
    a = REPO / "examples" / "quality" / "batch_A_nanosight.csv"
    b = REPO / "examples" / "quality" / "batch_B_zetaview.csv"
    r = client.post("/api/v1/quality/nta", files=[("files", (a.name, a.read_bytes())),
                                                  ("files", (b.name, b.read_bytes()))],
                    data={"plot": "false"})
    assert r.status_code == 200, r.text
    assert "comparison" in r.json()["result"]
    want = _cli("dose", "hed", "--dose", "10", "--unit", "mg/kg", "--from", "mouse",
                "--format", "json")
    got = client.get("/api/v1/dose/hed", params={"dose": 10, "unit": "mg/kg",
                                                 "from": "mouse"}).json()
    assert got["result"] == want
    r = client.get("/api/v1/manufacture/plan", params={"subjects": 20, "doses": 4,
                                                       "particles_per_dose": 1e10})
    assert r.status_code == 200 and "central" in r.json()["result"]["scenarios"]


def test_cancel_and_delete_runs(client: Any, app: Any) -> None:
    ex = client.get("/api/v1/examples/design").json()["diabetic_wound"]
    ex.update(subjects=5, dose_response_subjects=5)
    r = client.post("/api/v1/jobs", json={"kind": "design", "spec": ex})
    assert r.status_code == 202
    jid = r.json()["id"]
    assert client.post(f"/api/v1/jobs/{jid}/cancel").status_code == 200
    job = app.state.exomir.jobs.get(jid)
    for _ in range(200):  # a design runs in a child process: cancelling terminates it
        if job.status not in ("queued", "running"):
            break
        import time

        time.sleep(0.05)
    assert job.status == "cancelled"
    assert client.delete(f"/api/v1/jobs/{jid}").status_code == 401
    folder = job.dir
    assert client.delete(f"/api/v1/jobs/{jid}", headers=AUTH).status_code == 200
    assert not folder.exists() and client.get(f"/api/v1/jobs/{jid}").status_code == 404
    assert client.get("/api/v1/jobs/not-an-id").status_code == 422


def test_uploads_leave_nothing_behind(app: Any) -> None:
    """Uploaded files live only while their reader runs, inside the app's data folder."""
    tmp = app.state.exomir.settings.tmp_dir
    assert tmp.is_relative_to(app.state.exomir.settings.data_dir)
    assert list(tmp.iterdir()) == []
