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


def test_simulate_presets_are_package_data(client: Any) -> None:
    """The simulate form's presets come from the installed package (exomir/body/examples),
    not from a checkout's examples/ folder; the repository's examples/ are links to them."""
    from importlib import resources

    import yaml

    from exomir.body.presets import example_names, example_path, example_specs
    from exomir.body.spec import load_spec
    from exomir.core.errors import InputError

    got = client.get("/api/v1/examples/simulate").json()
    assert sorted(got) == example_names() == ["diabetic_wound_hydrogel",
                                              "neuropathic_pain_intrathecal"]
    assert got == example_specs()
    pkg = resources.files("exomir.body") / "examples"
    for name in got:
        repo = REPO / "examples" / f"{name}.yaml"
        assert repo.resolve() == Path(str(pkg / f"{name}.yaml")).resolve()
        assert yaml.safe_load(repo.read_text()) == got[name]
        with example_path(name) as path:
            assert load_spec(path).therapy.indication.value == got[name]["indication"]
        assert client.post("/api/v1/validate/simulate", json=got[name]).json()["valid"]
    with pytest.raises(InputError) as e:
        example_path("nope")
    assert e.value.field == "example" and "diabetic_wound_hydrogel" in str(e.value.accepted)


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
    bad["candidates"][1]["delivery"]["route"] = "teleport"  # candidates are simulate specs
    errs = client.post("/api/v1/validate/design", json=bad).json()["errors"]
    fields = {e["field"] for e in errs}
    assert {"subjects", "candidates.1.delivery.route"} <= fields
    route = next(e for e in errs if e["field"] == "candidates.1.delivery.route")
    assert "hydrogel" in route["accepted"] and route["value"] == "teleport"
    r = client.post("/api/v1/jobs", json={"kind": "design", "spec": bad})
    assert r.status_code == 400 and r.json()["error"]["field"] in fields
    schema = client.get("/api/v1/schema/design").json()
    assert "candidates" in schema["properties"]


def test_specs_may_not_name_server_files(client: Any, tmp_path: Path) -> None:
    """A spec posted to the server may not make it read its own files (a calibrated-parameter
    file or a fitted release profile): 400 naming the field, before anything is parsed."""
    ex = client.get("/api/v1/examples/design").json()["diabetic_wound"]
    ex.update(subjects=5, dose_response_subjects=5)
    secret = tmp_path / "calibrated.json"
    secret.write_text("{}")
    bad = json.loads(json.dumps(ex))
    bad["calibration"] = str(secret)
    bad["candidates"][1].setdefault("body", {})["release_profile"] = "/etc/passwd"
    errs = client.post("/api/v1/validate/design", json=bad).json()["errors"]
    assert {e["field"] for e in errs} == {"calibration", "candidates.1.body.release_profile"}
    r = client.post("/api/v1/jobs", json={"kind": "design", "spec": bad})
    assert r.status_code == 400 and r.json()["error"]["field"] in {e["field"] for e in errs}
    sim = client.get("/api/v1/examples/simulate").json()["diabetic_wound_hydrogel"]
    sim.setdefault("body", {})["calibration"] = str(secret)
    errs = client.post("/api/v1/validate/simulate", json=sim).json()["errors"]
    assert [e["field"] for e in errs] == ["body.calibration"]
    sim["body"]["calibration"] = None  # an explicit null names no file
    assert client.post("/api/v1/validate/simulate", json=sim).json()["valid"]


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
    r = client.post("/api/v1/release/fit", files={"file": ("x.csv", b"time,released\n1,abc\n")},
                    data={"time_unit": "h"})
    assert r.status_code == 400
    e = r.json()["error"]
    assert e["source"] == "x.csv" and e["line"] == 2 and e["field"] == "released"


def test_release_fit_never_assumes_a_time_unit(client: Any) -> None:
    """A CSV without a time_unit column needs the unit from the form (the CLI's --time-unit):
    the web app refuses rather than assuming hours (issue 17), and uses the unit it is given."""
    body = b"time,released\n" + b"".join(f"{t},{100 * (1 - 0.5 ** (t / 3)):.3f}\n".encode()
                                         for t in range(1, 11))
    r = client.post("/api/v1/release/fit", files={"file": ("nounit.csv", body)},
                    data={"plot": "false"})
    assert r.status_code == 400
    assert r.json()["error"]["field"] == "time_unit"
    hours = client.post("/api/v1/release/fit", files={"file": ("nounit.csv", body)},
                        data={"plot": "false", "time_unit": "h"})
    days = client.post("/api/v1/release/fit", files={"file": ("nounit.csv", body)},
                       data={"plot": "false", "time_unit": "day"})
    assert hours.status_code == 200 and days.status_code == 200
    assert hours.json()["result"]["fits"] != days.json()["result"]["fits"]


def test_release_compare(client: Any) -> None:
    a = REPO / "examples" / "release" / "gelma_synthetic.csv"
    b = REPO / "examples" / "release" / "chitosan_synthetic.csv"
    want = _cli("release", "compare", str(a), str(b), "--format", "json")
    r = client.post("/api/v1/release/compare", files={"reference": (a.name, a.read_bytes()),
                                                      "test": (b.name, b.read_bytes())})
    assert r.status_code == 200
    got = r.json()["result"]
    assert got["f2"] == want["f2"] and got["bootstrap_f2_ci90"] == want["bootstrap_f2_ci90"]


def _roundtrip(x: Any) -> Any:
    return json.loads(json.dumps(x, default=float))


def _table(out: dict[str, Any], starts: str) -> dict[str, Any]:
    (hit,) = [t for name, t in out["tables"].items() if name.startswith(starts)]
    return hit


def test_meta_from_kb_equals_cli(client: Any) -> None:
    """The shipped wound evidence: no study passing the gates has arm-level data, DW037 (not
    diabetic) is a labelled single-study subgroup, DW002 is kept out as RETRACTED; the web
    answers exactly what `exomir evidence meta --indication` answers, and pools nothing."""
    outs = client.get("/api/v1/meta/outcomes", params={"indication": "diabetic_wound"}).json()
    (wc,) = [o for o in outs["outcomes"] if o["measure"] == "wound_closure"]
    assert wc["main"] == 0 and wc["subgroup"] == 1  # DW037 only; DW002 has no arm data
    assert wc["studies"] == wc["main"] + wc["subgroup"] + wc["kept_out"]
    want = _cli("evidence", "meta", "--indication", "diabetic_wound", "--outcome",
                "wound_closure", "--format", "json")
    r = client.post("/api/v1/meta", data={"indication": "diabetic_wound",
                                          "outcome": "wound_closure", "plots": "false"})
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["result"] == _roundtrip(want)
    assert out["pooled"] is None and out["kind"] == "none" and out["figures"] == {}
    assert out["headline"] == want["headline"] and out["warnings"] == want["warnings"]
    kept = _table(out, "kept out")
    rows = {row[0]: dict(zip(kept["columns"], row, strict=True)) for row in kept["rows"]}
    assert rows["DW002"]["label"] == "RETRACTED" and rows["DW002"]["gate"] == "kept out"
    assert rows["DW037"]["gate"] == "labelled subgroup only"
    sub = _table(out, "subgroup: population mismatch")
    assert [row[0] for row in sub["rows"]] == ["DW037"]
    assert sub["rows"][0][4] == pytest.approx(want["subgroups"][0]["comparisons"][0]["yi"])
    pub = _table(out, "published syntheses")
    assert len(pub["rows"]) == len(want["published"]) >= 1
    # the form's small-study box is ticked by default: said, not an error, on the web
    r = client.post("/api/v1/meta", data={"indication": "diabetic_wound",
                                          "outcome": "wound_closure", "bias": "true"})
    assert r.status_code == 200 and r.json()["result"] == _roundtrip(want)
    assert any(n.startswith("not run: --bias") for n in r.json()["notes"])
    csv_r = client.post("/api/v1/meta?format=csv", data={"indication": "diabetic_wound",
                                                         "outcome": "wound_closure"})
    assert csv_r.headers["content-type"].startswith("text/csv")
    (row,) = list(csv.DictReader(io.StringIO(csv_r.text)))
    assert row["study"] == "DW037" and row["kind"] == "single study"
    assert float(row["yi"]) == pytest.approx(want["subgroups"][0]["comparisons"][0]["yi"])


def _arm_study(sid: str, t: float, c: float, n: int, *reasons: Any) -> Any:
    from exomir.core import Arm, ArmOutcome, Exclusion, Indication, Study

    arms = [Arm(label="exo", role="treatment", outcomes=[ArmOutcome(
                measure="wound_closure", timepoint_days=14, n=n, mean=t, sd=5)]),
            Arm(label="pbs", role="control", outcomes=[ArmOutcome(
                measure="wound_closure", timepoint_days=14, n=n, mean=c, sd=6)])]
    return Study(id=sid, indication=Indication.DIABETIC_WOUND, first_author=sid, year=2020,
                 arms=arms, exclusions=[Exclusion(reason=x, detail="test") for x in reasons])


def test_meta_kb_pool_equals_cli_with_gates(tmp_path: Path) -> None:
    """A knowledge base where three studies pass the gates: the web pools them with the CLI's
    numbers (one code path), keeps the retracted one out and reports the mismatch apart."""
    import os

    from fastapi.testclient import TestClient

    from exomir.core import ExclusionReason
    from exomir.kb import open_kb
    from exomir.web.app import create_app
    from exomir.web.settings import Settings

    kb = open_kb()  # the test's own EXOMIR_DB, which the CLI below reads too
    kb.upsert_studies([_arm_study("ZA", 80, 60, 6), _arm_study("ZB", 85, 62, 6),
                       _arm_study("ZC", 83, 70, 8),
                       _arm_study("ZR", 99, 40, 6, ExclusionReason.RETRACTED),
                       _arm_study("ZN", 95, 50, 6, ExclusionReason.POPULATION_MISMATCH)])
    application = create_app(Settings(db=os.environ["EXOMIR_DB"], data_dir=tmp_path / "d"))
    try:
        client = TestClient(application, raise_server_exceptions=False)
        want = _cli("evidence", "meta", "--indication", "diabetic_wound", "--outcome",
                    "wound_closure", "--bias", "--format", "json")
        r = client.post("/api/v1/meta", data={"indication": "diabetic_wound",
                                              "outcome": "wound_closure", "bias": "true"})
        assert r.status_code == 200, r.text
        out = r.json()
        assert out["result"] == _roundtrip(want)
        assert out["pooled"]["estimate"] == want["estimate"] and out["pooled"]["k"] == 3
        assert out["kind"] == "meta-analysis" and "forest" in out["figures"]
        assert [row[0] for row in out["tables"]["studies"]["rows"]] == ["ZA 2020", "ZB 2020",
                                                                    "ZC 2020"]
        kept = {row[0]: row for row in _table(out, "kept out")["rows"]}
        assert kept["ZR"][2] == "RETRACTED" and "ZN" in kept
        sub = _table(out, "subgroup: population mismatch")  # with the curated DW037
        assert [row[0] for row in sub["rows"]] == ["DW037", "ZN", "pooled"]
        assert sub["rows"][-1][4] == pytest.approx(want["gates"]["subgroups"][0]["result"][
            "estimate"])
        assert any(w.startswith("subgroup") and "k = 2 < 3" in w for w in out["warnings"])
        assert "small-study tests" in out["tables"]
    finally:
        application.state.exomir.jobs.shutdown()


def test_syntheses_equal_cli(client: Any) -> None:
    want = _cli("kb", "syntheses", "--format", "json")["syntheses"]
    got = client.get("/api/v1/syntheses").json()
    assert got["syntheses"] == want and got["count"] == len(want) >= 1
    wound = client.get("/api/v1/syntheses", params={"indication": "diabetic_wound"}).json()
    assert wound["count"] == sum(x["indication"] == "diabetic_wound" for x in want)
    pain = client.get("/api/v1/syntheses", params={"indication": "neuropathic_pain"}).json()
    assert pain["count"] == 0 and "could be sourced" in pain["none_for"]["neuropathic_pain"]
    from exomir.cli import app as cli_app

    res = CliRunner().invoke(cli_app, ["kb", "syntheses", "--format", "csv"])
    assert client.get("/api/v1/syntheses", params={"format": "csv"}).text == res.output
    assert client.get("/syntheses.csv").text == res.output
    page = client.get("/syntheses").text
    for x in want:
        assert x["source"]["doi"] in page
    assert "could be sourced" in page


def test_listing_and_study_page_show_flags(client: Any) -> None:
    """RETRACTED and every other curated exclusion are shown in listings and on the study
    page, never hidden; the exclusion facet filters by reason and counts what it shows."""
    from exomir.core.gates import flags
    from exomir.kb import open_kb

    studies = {s.id: s for s in open_kb().studies()}
    retracted = sorted(i for i, s in studies.items() if flags(s)[:1] == ["RETRACTED"])
    assert retracted  # the curated data has one (DW002)
    page = client.get("/evidence").text
    assert 'id="retracted"' in page and all(f'href="/evidence/{i}"' in page for i in retracted)
    for s in studies.values():
        if s.exclusions:
            assert f'data-flags="{"; ".join(flags(s))}"' in page
    d = client.get("/api/v1/studies").json()
    facet = {f["value"]: f for f in d["facets"]["exclusion"]}
    assert facet["retracted"]["label"] == "RETRACTED"
    assert facet["retracted"]["count"] == len(retracted)
    assert 'data-value="retracted">RETRACTED</a>' in page
    only = client.get("/api/v1/studies", params={"exclusion": "retracted"}).json()
    assert [r["id"] for r in only["studies"]] == retracted
    assert all(r["flags"].startswith("RETRACTED") for r in only["studies"])
    sp = client.get(f"/evidence/{retracted[0]}").text
    assert 'id="exclusions"' in sp and "<strong>RETRACTED</strong>" in sp
    assert "Kept out of: interactions, pooling, ranking." in sp
    sj = client.get(f"/api/v1/studies/{retracted[0]}").json()
    assert sj["exclusions"][0]["label"] == "RETRACTED"
    assert sj["exclusions"][0]["uses"] == {"pooling": "exclude", "interactions": "exclude",
                                           "ranking": "exclude"}
    mism = next(i for i, s in studies.items()
                if [e.reason.value for e in s.exclusions] == ["population_mismatch"])
    assert "pooling (labelled subgroup only)" in client.get(f"/evidence/{mism}").text


def test_cargo_rank_equals_cli(client: Any) -> None:
    """The web ranks from the same gated, name-unified evidence as `exomir cargo rank`:
    mimic/inhibitor labels, merged name forms, what was kept out and why."""
    want = _cli("cargo", "rank", "--indication", "diabetic_wound", "--k", "2", "--format",
                "json")
    r = client.post("/api/v1/cargo/rank", json={"indication": "diabetic_wound", "k": 2})
    assert r.status_code == 200, r.text
    got = r.json()["result"]
    # two database files (the CLI's and the app's, where an import test added a study):
    # the same curated dataset, the same ranking
    prov, want_prov = got.pop("provenance"), want.pop("provenance")
    assert prov["curated_sha256"] == want_prov["curated_sha256"]
    assert got == _roundtrip(want)
    tables = r.json()["tables"]
    best = tables["best cargo of 1 miRNA(s)"]
    assert [row[1] for row in best["rows"]] == [c["label"] for c in want["candidates"]["1"]]
    assert any(lab.endswith(" mimic") for lab in (row[1] for row in best["rows"]))
    mod = {row[0]: row for row in
           tables["modality (direction of effect from the indication's studies)"]["rows"]}
    assert {m: row[1] for m, row in mod.items()} == want["modality"]
    assert "inhibitor" in want["modality"].values()
    for m, forms in want["names"]["merged"].items():
        if m in mod:
            assert mod[m][4] == ", ".join(forms)
    kept = tables["not ranked (kept out, with the reason)"]["rows"]
    assert kept == [[x["mirna"], x["reason"]] for x in want["kept_out"]]
    gated = tables["interactions left out (gated studies)"]["rows"]
    assert ["hsa-miR-126", "PTEN", "DW002"] in [row[:3] for row in gated]
    assert "DW002" not in json.dumps(got["candidates"])  # the retracted study is no evidence
    r = client.post("/api/v1/cargo/rank", json={"indication": "diabetic_wound",
                                                "any_direction": True})
    want_any = _cli("cargo", "rank", "--indication", "diabetic_wound", "--any-direction",
                    "--format", "json")
    assert r.json()["result"]["modality"] == want_any["modality"]


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
