"""The design report: numbers traceable to the modules, arms that mean what they say, ties
called ties, the decision first, a bad spec fails early, the HTML renders and is escaped.

The measured defects of issue 15 are regression tests here: the untreated arm no longer
depends on the first candidate, a reordered spec gives the same answer, a low-dose injection
never looks harmful, and the demo's identical designs are called indistinguishable.
"""

from __future__ import annotations

import concurrent.futures
import itertools
import json
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from typer.testing import CliRunner

from exomir.cli import app
from exomir.core import InputError
from exomir.design import example_spec, load_design, run_design
from exomir.design.arms import candidate_body_spec, outcome_at, release_for
from exomir.design.spec import example_text, parse_design

runner = CliRunner()
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
REPO = Path(__file__).resolve().parents[2]
HOSTILE = ["<script>alert(1)</script>", '<img src=x onerror="alert(2)">']


SMALL_GLOBAL = {"method": "sobol", "n": 16, "uncertainty_draws": 8, "uncertainty_subjects": 4}


def _small(indication: str, **update: Any) -> Any:
    """The bundled spec at a size that keeps the suite fast (same code paths)."""
    from exomir.design.spec import GlobalSettings

    return example_spec(indication).model_copy(update={
        "subjects": 12, "dose_response_points": 3, "dose_response_subjects": 4,
        "sensitivity_settings": GlobalSettings(**SMALL_GLOBAL), **update})


def _example_data(indication: str = "diabetic_wound") -> dict[str, Any]:
    return dict(yaml.safe_load(example_text(indication)))


@pytest.fixture(scope="module")
def module_kb(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A fresh knowledge base for the module-scoped runs (the autouse per-test isolation in
    conftest is function-scoped and not yet active when a module fixture runs)."""
    db = tmp_path_factory.mktemp("design-kb") / "exomir.sqlite"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("EXOMIR_DB", str(db))
        yield db


@pytest.fixture(scope="module", params=["diabetic_wound", "neuropathic_pain"])
def rendered(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory,
             module_kb: Path) -> tuple[Any, Any, Path, dict[str, Any]]:
    from exomir.kb import embedded

    spec = _small(request.param)
    result = run_design(spec, kb=embedded())  # what 'exomir demo' reads
    out = tmp_path_factory.mktemp(request.param)
    paths = result.write(out)
    data = json.loads(paths["json"].read_text())
    return spec, result, out, data


@pytest.fixture(scope="module")
def reordered(tmp_path_factory: pytest.TempPathFactory, module_kb: Path
              ) -> tuple[Any, Any, Path, dict[str, str]]:
    """The wound demo with its candidates reversed and renamed with HTML in the names."""
    data = _example_data()
    data["name"] = f"reordered {HOSTILE[0]}"
    data["candidates"] = data["candidates"][::-1]
    renamed = {}
    for i, c in enumerate(data["candidates"]):
        new = f"{c['name']} {HOSTILE[i % 2]}"
        renamed[c["name"]] = new
        c["name"] = new
    from exomir.design.spec import GlobalSettings
    from exomir.kb import embedded

    spec = parse_design(data).model_copy(update={
        "subjects": 12, "dose_response_points": 3, "dose_response_subjects": 4,
        "sensitivity_settings": GlobalSettings(**SMALL_GLOBAL)})
    result = run_design(spec, kb=embedded())
    out = tmp_path_factory.mktemp("reordered")
    result.write(out)
    return spec, result, out, renamed


def _section(data: dict[str, Any], title: str) -> dict[str, Any]:
    return next(s for s in data["sections"] if s["title"] == title)


def test_outputs_exist_and_html_is_self_contained(rendered: Any) -> None:
    _, _, out, data = rendered
    html = (out / "report.html").read_text()
    assert not re.search(r"<script|<link[^>]*href=|@import|url\(http", html)
    svgs = sorted(p.name for p in (out / "figures").glob("*.svg"))
    assert {"outcome_time.svg", "dose_knockdown.svg", "dose_outcome.svg",
            "attribution.svg"} <= set(svgs)
    assert any(s.startswith("sensitivity_gain_") for s in svgs)
    assert html.count("<svg") >= len(svgs) - 1  # forest plot may be absent without arm data
    titles = [s["title"] for s in data["sections"]]
    assert titles == ["Decision", "Designs compared", "Global sensitivity and uncertainty",
                      "Cargo", "Evidence", "Product and manufacturing",
                      "Calibration and validation", "Assumptions and provenance", "Warnings"]


def test_json_numbers_match_the_modules(rendered: Any) -> None:
    from exomir.body.simulate import simulate
    from exomir.cargo.rank import rank_for_indication
    from exomir.evidence.synthesis import synthesize_kb
    from exomir.kb import embedded
    from exomir.quality.dose import hed
    from exomir.quality.manufacture import plan
    from exomir.sensitivity import analyze_spec

    spec, result, _, data = rendered
    ev = _section(data, "Evidence")["data"]
    studies = embedded().studies(indication=spec.indication)
    assert ev["studies"] == [s.id for s in studies]
    syn = synthesize_kb(embedded(), spec.indication)
    assert ev["synthesis"]["headline"] == syn.headline()
    assert ev["pooled"] == (syn.main.result.to_dict() if syn.main.result else None)

    ranked = rank_for_indication(spec.indication.value, k=spec.cargo_k, kb=embedded(), top=10)
    cargo = _section(data, "Cargo")["data"]["ranking"]
    assert [c["mirnas"] for c in cargo["1"]] == [list(c.mirnas) for c in ranked.candidates[1]]

    cands = _section(data, "Designs compared")["data"]["candidates"]
    run = result.runs[0]
    again = simulate(run.body_spec, spec.subjects, seed=spec.seed, release=run.release)
    out = outcome_at(again, spec.headline_day)
    assert cands[run.design.name]["outcome"]["median"] == pytest.approx(float(np.median(out)))

    glob = _section(data, "Global sensitivity and uncertainty")["data"]
    g = result.report.sections[2].data["global"]
    subject = next(a for a in result.arms.candidates if a.name == g["subject"])
    comp = next((a for a in result.arms.candidates if a.name == g["comparator"]), None)
    st = spec.global_settings
    again_s = analyze_spec(subject.result.model, method=st.method, n=st.n,
                           outputs=("gain", "difference") if comp else ("gain",),
                           day=spec.headline_day, seed=spec.seed, second_order=False,
                           comparator=comp.result.model if comp else None)
    gain_col = next(c.name for c in again_s.columns if c.family == "gain")
    top = again_s.top(gain_col, 1).iloc[0]
    assert glob["global"]["drivers"][0]["parameter"] == top["label"]
    assert glob["global"]["drivers"][0]["value"] == pytest.approx(float(top["ST"]))

    prod = _section(data, "Product and manufacturing")["data"]
    c0 = spec.candidates[0]
    item = prod["candidates"][c0.name]
    per_kg = c0.dose_particles / prod["body_weight_kg"]
    assert item["hed"]["value"] == pytest.approx(
        hed(per_kg, "particles/kg", spec.species.value, human_weight_kg=60).value)
    assert item["plan_preclinical"]["cells"] == pytest.approx(
        plan(spec.cohort_subjects, len(c0.times_days), c0.dose_particles,
             c0.isolation_method).cells)


# ---- arms that mean what they say ----------------------------------------------------------

def test_untreated_has_no_product_no_vehicle_and_the_same_subjects(rendered: Any) -> None:
    spec, result, _, _ = rendered
    arms = result.arms
    u = arms.untreated.body_spec
    assert u.dose_particles == 0 and not u.therapy.cargo
    assert not any(u.body.mechanisms.model_dump().values())  # every mechanism off
    assert not u.route.is_vehicle and arms.untreated.release is None
    assert arms.untreated.result.model.dose_times == []
    # Every arm holds the same subjects: identical draws of every shared parameter (draws
    # are keyed by name; the mechanism switches are set per arm, not drawn).
    ref = arms.untreated.result.params
    for a in arms.all():
        for p in a.result.model.table:
            if p.name in ref and not p.name.startswith("mech_"):
                assert np.array_equal(ref[p.name], a.result.params[p.name]), (a.name, p.name)
    # Nothing given means nothing changes: untreated is the lowest outcome of every subject.
    y0 = outcome_at(arms.untreated.result, spec.headline_day)
    for a in arms.all():
        assert np.all(outcome_at(a.result, spec.headline_day) >= y0 - 1e-9), a.name


def test_vehicle_only_arm_and_shares_that_add_up(rendered: Any) -> None:
    from exomir.design.arms import attribution

    spec, result, _, data = rendered
    arms = result.arms
    vehicles = {a.vehicle for a in arms.candidates if a.vehicle}
    assert set(arms.vehicles) == vehicles  # one vehicle-only arm per vehicle used
    for v in arms.vehicles.values():
        assert v.body_spec.dose_particles == 0 and v.body_spec.route.is_vehicle
        assert v.body_spec.body.mechanisms.vehicle and not v.body_spec.body.mechanisms.mirna
    cands = _section(data, "Designs compared")["data"]["candidates"]
    for a in arms.candidates:
        parts = attribution(arms, a, spec.headline_day)
        # Shapley shares add up to the attribution's gain exactly, subject by subject ...
        resid = parts["vehicle"] + parts["vesicle"] + parts["mirna"] - parts["shapley_total"]
        assert np.max(np.abs(resid)) < 1e-9
        # ... and that gain is the gain over the true untreated arm (solver tolerance).
        scale = max(1.0, float(np.max(np.abs(parts["total"]))))
        assert np.max(np.abs(parts["shapley_total"] - parts["total"])) < 1e-3 * scale
        if a.vehicle is None:
            assert np.all(parts["vehicle"] == 0)
        assert cands[a.name]["gain_vs_untreated"]["median"] == pytest.approx(
            float(np.median(parts["total"])))


@pytest.mark.parametrize("rendered", ["diabetic_wound"], indirect=True)
def test_reordering_candidates_changes_neither_untreated_nor_any_gain(
        rendered: Any, reordered: Any) -> None:
    """Measured defect: with the s.c. design first, untreated moved from 84.3 to 67.6 % and
    the headline gain from +7.71 to +24.3 points."""
    spec, result, _, data = rendered
    _, rresult, _, renamed = reordered
    day = spec.headline_day
    assert np.array_equal(outcome_at(result.arms.untreated.result, day),
                          outcome_at(rresult.arms.untreated.result, day))
    a = _section(data, "Designs compared")["data"]
    b = rresult.report.sections[1].data
    for old, new in renamed.items():
        assert b["candidates"][new]["gain_vs_untreated"] == a["candidates"][old][
            "gain_vs_untreated"]
    da = _section(data, "Decision")["data"]
    db = rresult.report.sections[0].data
    assert db["answer"] == da["answer"]
    assert sorted(db["recommended"]) == sorted(renamed[n] for n in da["recommended"])


def test_low_dose_never_looks_harmful(rendered: Any) -> None:
    """Measured defect: a low-dose injection gave 75.5 % against an "untreated" 84.2 % that
    was really the hydrogel. Against the true untreated arm no dose is below untreated."""
    _, _, _, data = rendered
    dr = _section(data, "Designs compared")["data"]["dose_response"]
    for name, d in dr.items():
        assert d["min_paired_gain_over_untreated"] >= -1e-9, name


# ---- no false winners ----------------------------------------------------------------------

def test_demo_ties_are_called_ties(rendered: Any) -> None:
    """Measured defect: "miR-146a EVs in hydrogel" won by max() over an identical native
    design (92.1 % both); the pain demo's +12, +11.9, +12 g picked a winner too."""
    spec, _, _, data = rendered
    dec = _section(data, "Decision")
    d = dec["data"]
    # The two designs that differ only in loading (10 copies vs native) give the same outcome:
    # both are recommended or neither is; never one of them by list order.
    same = [c.name for c in spec.candidates if c.route is spec.candidates[-1].route]
    assert len(same) == 2
    assert (set(same) <= set(d["recommended"])) or not (set(same) & set(d["recommended"]))
    assert dec["blocks"][0]["kind"] == "headline"
    if d["tie"]:
        assert d["answer"] == "indistinguishable"
        assert dec["blocks"][0]["text"].startswith("Indistinguishable")
    else:
        assert dec["blocks"][0]["text"].startswith("Recommended")
    pairs = _section(data, "Designs compared")["data"]["ranking"]["pairs"]
    native = [p for p in pairs if "native" in p["a"] + p["b"]
              and {p["a"], p["b"]} <= {c.name for c in spec.candidates
                                       if c.route is spec.candidates[-1].route}]
    assert native and all(p["verdict"] == "indistinguishable" for p in native)


def test_rank_is_order_free_and_separates_only_by_band_and_mid() -> None:
    from hypothesis import given, settings
    from hypothesis import strategies as st

    from exomir.design.compare import paired, rank, verdict

    rng = np.random.default_rng(1)
    base = rng.normal(80, 5, 200)
    arms = {"a": base + 0.01, "b": base.copy(), "c": base + 6 + rng.normal(0, 0.5, 200)}
    r = rank(arms, mid=2.0)
    assert r.recommended == ["c"] and not r.tie
    r2 = rank({"a": arms["a"], "b": arms["b"]}, mid=2.0)
    assert r2.tie and r2.recommended == ["a", "b"]  # a is "better" in every subject, by 0.01
    # Consistently better but below the MID: still indistinguishable.
    assert verdict(paired(arms["a"], arms["b"]), 2.0) == "indistinguishable"
    # Better by more than the MID but the band spans zero: indistinguishable.
    noisy = base + 3 + rng.normal(0, 5, 200)
    assert verdict(paired(noisy, base), 2.0) == "indistinguishable"
    # An uncertainty band that spans zero undoes a separation.
    r3 = rank(arms, mid=2.0, uncertainty={("c", "a"): {"p05": -1.0, "p95": 5.0},
                                          ("c", "b"): {"p05": -1.0, "p95": 5.0}})
    assert r3.tie and "c" in r3.recommended

    for order in itertools.permutations(arms):  # every insertion order, same answer
        assert rank({k: arms[k] for k in order}, mid=2.0).to_dict() == r.to_dict()

    @settings(max_examples=25, deadline=None)
    @given(st.lists(st.floats(-5, 5), min_size=2, max_size=5, unique=True))
    def shifts(offsets: list[float]) -> None:
        named = {f"c{i}": base + off for i, off in enumerate(offsets)}
        got = rank(named, mid=2.0)
        best = max(offsets)
        # the recommended set is everything within the MID of the best (identical subjects)
        assert set(got.recommended) == {f"c{i}" for i, o in enumerate(offsets)
                                        if best - o < 2.0 - 1e-9}
        assert rank(dict(reversed(list(named.items()))), mid=2.0).recommended == \
            got.recommended

    shifts()


def test_dose_separation_reads_the_same_subjects_at_every_dose() -> None:
    from exomir.design.compare import MID
    from exomir.design.decision_part import dose_separation

    rng = np.random.default_rng(3)
    base = rng.normal(60, 4, 50)
    doses = np.array([1e8, 1e10, 1e12])
    by = {"a": [base + 6, base + 0.2, base + 0.1], "b": [base, base, base]}
    mid = MID(2.0, "%", "test", assumption=True)
    out = dose_separation(["a", "b"], {"doses": doses, "by_candidate": by}, mid)
    assert [h["dose"] for h in out[0]["separating_doses"]] == [1e8]
    assert out[0]["separating_doses"][0]["better"] == "a"
    assert dose_separation(["a"], {"doses": doses, "by_candidate": by}, mid) == []


def test_minimal_important_difference_source(rendered: Any) -> None:
    from exomir.design.compare import minimal_important_difference

    spec, result, _, data = rendered
    mid = _section(data, "Designs compared")["data"]["minimal_important_difference"]
    y0 = outcome_at(result.arms.untreated.result, spec.headline_day)
    assert mid["assumption"] is True and "doi:10.1097/01.MLR.0000062554.74615.4C" in mid["source"]
    assert mid["value"] == pytest.approx(0.5 * float(np.std(y0, ddof=1)))
    assert mid["low"] < mid["value"] < mid["high"]
    given = parse_design({**spec.model_dump(mode="json"), "minimal_important_difference": {
        "value": 10.0, "source": "team decision 2025"}})
    m = minimal_important_difference(given, y0, "%")
    assert (m.value, m.assumption, m.source) == (10.0, False, "team decision 2025")


def test_loading_for_goal_reaches_the_goal(rendered: Any) -> None:
    from exomir.design.simulate_part import loading_for_goal, peak_knockdown

    spec, result, _, data = rendered
    dr = _section(data, "Designs compared")["data"]["dose_response"]
    arm = next(a for a in result.arms.candidates if dr[a.name]["loading"]["copies_needed"])
    need = dr[arm.name]["loading"]["copies_needed"]
    n = spec.dose_response_subjects

    f = dr[arm.name]["loading"]["loading_factor"]
    assert need == pytest.approx(f * arm.body_spec.copies_per_vesicle)

    def kd(factor: float) -> float:
        bs, _ = candidate_body_spec(spec, arm.design, result.plan, loading=factor)
        from exomir.design.arms import simulate_arm

        return float(np.median(peak_knockdown(simulate_arm(bs, n, spec))))

    assert kd(f * 1.3) >= spec.knockdown_goal > kd(f / 1.3)
    # A goal above the strongest repression the data allow is unreachable, and says why.
    hi = loading_for_goal(spec, arm, result.plan, 0.9, n)
    assert hi["copies_needed"] is None and "no loading reaches it" in hi["reason"]


def test_decision_comes_first_and_names_the_next_step(rendered: Any) -> None:
    _, _, _, data = rendered
    dec = _section(data, "Decision")
    kinds = [b["kind"] for b in dec["blocks"]]
    assert kinds[:2] == ["headline", "next"]
    steps = dec["data"]["next_steps"]
    assert any("copies per vesicle" in s for s in steps)  # "not reached up to 1e12" -> a step
    # The next experiment is the parameter with the largest total Sobol index of the gain.
    glob = _section(data, "Global sensitivity and uncertainty")["data"]["global"]
    top = max(glob["drivers"], key=lambda d: d["value"])["parameter"]
    assert any(top in s and "Sobol" in s for s in steps)
    assert dec["data"]["dominant_assumptions"][0]["parameter"] == top
    # The miRNA share is stated, and the wording follows the numbers.
    shares = dec["data"]["mirna_share"]
    assert shares and all(abs(s["mirna_fraction"]) < 0.1 for s in shares)
    assert any(b["kind"] == "warning" and "almost nothing" in b["message"]
               for b in dec["blocks"])


# ---- one spec family -----------------------------------------------------------------------

def test_candidate_runs_alone_with_simulate(rendered: Any) -> None:
    from exomir.body.simulate import simulate
    from exomir.body.spec import load_spec

    spec, result, out, _ = rendered
    files = {yaml.safe_load(p.read_text())["name"]: p for p in (out / "candidates").glob("*.yaml")}
    assert set(files) == {c.name for c in spec.candidates}
    for arm in result.arms.candidates:  # depots too: the release preset travels with it
        alone = simulate(load_spec(files[arm.name]), spec.subjects, seed=spec.seed)
        assert np.array_equal(outcome_at(alone, spec.headline_day),
                              outcome_at(arm.result, spec.headline_day)), arm.name
        assert "note:" not in files[arm.name].read_text()
    res = runner.invoke(app, ["simulate", str(files[spec.candidates[0].name]), "-n", "3",
                              "--format", "json"])
    assert res.exit_code == 0, res.output


def test_simulate_spec_pastes_into_a_design(tmp_path: Path) -> None:
    therapy = yaml.safe_load((REPO / "examples" / "diabetic_wound_hydrogel.yaml").read_text())
    data = _example_data()
    data["days"] = therapy["days"]
    data["disease_model"] = therapy["subject"]["disease_model"]
    data["candidates"].append(therapy)
    spec = parse_design(data)
    c = spec.candidates[-1]
    assert c.name == therapy["name"] and not c.legacy_form
    assert c.body == therapy["body"]  # its own targets are kept (PTEN)


def test_older_flat_candidate_form_is_read(tmp_path: Path) -> None:
    from exomir.design.arms import candidate_therapy
    from exomir.design.cargo_part import CargoPlan

    data = _example_data()
    new = data["candidates"][1]
    old = {"name": new["name"], "source_cell": "human umbilical-cord MSC",
           "isolation_method": "tff",
           "cargo": [{"name": "hsa-miR-146a-5p", "mode": "loaded", "copies_per_vesicle": 10}],
           "route": "subcutaneous", "dose_particles": 1e10, "times_days": [0, 7]}
    data2 = _example_data()
    data2["candidates"][1] = old
    a, b = parse_design(data), parse_design(data2)
    assert b.legacy_candidates == [new["name"]] and a.legacy_candidates == []
    plan = CargoPlan(interactions=__import__("pandas").DataFrame(
        columns=["mirna", "gene", "context_score"]), profile={}, best=["hsa-miR-146a-5p"])
    ta, _ = candidate_therapy(a, a.candidates[1], plan)
    tb, _ = candidate_therapy(b, b.candidates[1], plan)
    ta["delivery"].pop("description")
    assert ta == tb
    data2["candidates"][1] = {**old, "delivery": {"route": "subcutaneous"}}
    with pytest.raises(InputError, match="mixes the simulate-spec form"):
        parse_design(data2)


def test_each_command_names_the_other_spec_family(tmp_path: Path) -> None:
    therapy = REPO / "examples" / "diabetic_wound_hydrogel.yaml"
    res = runner.invoke(app, ["design", str(therapy), "--out", str(tmp_path / "o")])
    assert res.exit_code == 2 and "exomir simulate" in res.output
    assert "Field required" not in res.output and not (tmp_path / "o").exists()
    design = tmp_path / "d.yaml"
    design.write_text(example_text("diabetic_wound"))
    res = runner.invoke(app, ["simulate", str(design)])
    assert res.exit_code == 2 and "exomir design" in res.output
    res = runner.invoke(app, ["design", "--help"])
    assert "docs/design.md" in res.output and "--show-spec" in res.output
    res = runner.invoke(app, ["demo", "--show-spec", "--indication", "neuropathic_pain"])
    assert res.exit_code == 0
    assert parse_design(yaml.safe_load(res.output)) == example_spec("neuropathic_pain")


@pytest.mark.parametrize("edit, match", [
    (lambda d: d.update(seed=-1), "greater than or equal to 0"),
    (lambda d: d["candidates"][0]["cargo"][0].update(name="not a mirna"), "not a miRNA name"),
    (lambda d: d["candidates"][0].update(body={"targets": [
        {"gene": "PTEN", "max_repression": 0.3}, {"gene": "pten", "max_repression": 0.3}]}),
     "names gene 'pten' twice"),
    (lambda d: d["candidates"][0]["cargo"].append(dict(d["candidates"][0]["cargo"][0])),
     "twice"),
    (lambda d: d["candidates"][0].update(subject={"species": "rat"}), "differs from the"),
    (lambda d: d["candidates"][0].update(name="Untreated"), "reserved"),
    (lambda d: d["candidates"][1].update(release_preset="ha_hydrogel"), "needs a depot route"),
])
def test_spec_guards(edit: Any, match: str) -> None:
    data = _example_data()
    edit(data)
    with pytest.raises(InputError, match=match):
        parse_design(data)


def test_bad_spec_fails_before_any_computation(tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    import exomir.design.pipeline as pipeline

    def boom(*_a: object, **_k: object) -> None:
        raise AssertionError("computation started")

    monkeypatch.setattr(pipeline, "run_design", boom)
    data = _example_data()
    data["candidates"][0]["delivery"]["route"] = "oral"
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(data))
    res = runner.invoke(app, ["design", str(bad), "--out", str(tmp_path / "out")])
    assert res.exit_code == 2
    assert "candidates.0.delivery.route" in res.output and "intravenous" in res.output
    assert not (tmp_path / "out").exists()
    data = _example_data()
    data["candidates"][0]["cargo"] = [{"kind": "mirna", "name": "hsa-miR-146a-5p",
                                       "mode": "loaded"}]
    bad.write_text(yaml.safe_dump(data))
    with pytest.raises(InputError, match="copies_per_vesicle is required"):
        load_design(bad)
    data = _example_data()
    data["candidates"][0]["regimen"]["times_days"] = [99]
    bad.write_text(yaml.safe_dump(data))
    with pytest.raises(InputError, match="outside the 21-day window"):
        load_design(bad)


def test_depot_candidate_uses_the_release_module() -> None:
    from exomir.body.model import build_model
    from exomir.design.cargo_part import cargo_section

    spec = _small("diabetic_wound")
    depot = next(c for c in spec.candidates if c.route.value == "hydrogel")
    rel = release_for(depot)
    assert rel is not None and rel.fraction_released(np.array([14.0]))[0] == pytest.approx(
        0.10, abs=1e-3)  # ha_hydrogel preset: V5 end-point read as 10 % released at 14 days
    _, plan = cargo_section(spec)
    bs, _ = candidate_body_spec(spec, depot, plan)
    assert bs.body.release_preset == "ha_hydrogel"  # the body model reads the same preset
    model = build_model(bs)
    assert model.release is not None and model.release.fraction_released(
        np.array([14.0]))[0] == pytest.approx(rel.fraction_released(np.array([14.0]))[0])


def test_body_spec_carries_cargo_targets() -> None:
    from exomir.design.cargo_part import cargo_section

    spec = _small("neuropathic_pain")
    _, plan = cargo_section(spec)
    bspec, targets = candidate_body_spec(spec, spec.candidates[0], plan)
    genes = {t["gene"] for t in targets}
    assert {"IRAK1", "TRAF6"} <= genes  # miR-146a's validated targets in the pain profile
    assert bspec.copies_per_vesicle == 10


def test_native_loading_is_flagged_and_assumptions_listed(rendered: Any) -> None:
    _, _, _, data = rendered
    warnings = _section(data, "Warnings")["data"]["warnings"]
    assert any("copies per vesicle" in w["message"] and w["severity"] == "critical"
               for w in warnings)
    prov = _section(data, "Assumptions and provenance")["data"]
    assert prov["n_assumptions"] > 0
    assert all(p["source"] for p in prov["parameters"])
    assert "sensitivity" not in prov  # one-at-a-time swings are gone, the global analysis is in


def test_calibration_is_kept_apart_from_validation(rendered: Any) -> None:
    """The report says which parameters were fitted (problem and CI) and counts held-out checks
    separately from calibration targets, from the same checks as exomir validate; a calibrated
    parameter is never labelled an assumption in the provenance table."""
    from exomir.calibrate.validate import HELD_OUT, run_cases
    from exomir.design.validation_part import CASES_BY_INDICATION

    spec, result, _, data = rendered
    val = _section(data, "Calibration and validation")["data"]
    table = list(result.runs[0].result.model.table)
    cal = [p for p in table if p.calibrated]
    assert cal and val["parameter_counts"]["calibrated"] == len(cal)
    assert sum(val["parameter_counts"].values()) == len(table)
    assert val["calibration_problems"] == sorted({p.calibrated.split(" ")[0] for p in cal})
    want = [c for c in run_cases()
            if c.case.split(" ")[0] in CASES_BY_INDICATION[spec.indication.value]]
    held = [c for c in want if c.role == HELD_OUT]
    assert val["held_out"] == {"total": len(held),
                               "pass": sum(c.status == "pass" for c in held),
                               "fail": sum(c.status == "fail" for c in held)}
    assert val["calibration_targets"]["total"] == len(want) - len(held)
    assert [c["role"] == HELD_OUT for c in val["checks"]] == \
        sorted((c.role == HELD_OUT for c in want), reverse=True)  # held out first
    prov = {p["parameter"]: p for p in _section(data, "Assumptions and provenance")["data"]
            ["parameters"] if p["module"] == "body"}
    for p in cal:
        assert prov[p.name]["source"] != "assumption" and not prov[p.name]["_assumption"]
        assert p.calibrated in prov[p.name]["source"] or prov[p.name]["source"] == p.source
    warn = " ".join(w["message"] for w in _section(data, "Warnings")["data"]["warnings"])
    assert f"of its {len(held)} held-out checks for this indication " \
        f"{val['held_out']['fail']} fail" in warn


# ---- evidence gates and the embedded knowledge base ----------------------------------------

def test_retracted_and_mismatched_studies_are_visibly_kept_out(rendered: Any) -> None:
    """Measured defects: DW037 (not diabetic) shown as a random-effects meta-analysis with
    k = 1 (SMD 17.68); retracted DW002 used as evidence."""
    spec, _, out, data = rendered
    sec = _section(data, "Evidence")
    syn = sec["data"]["synthesis"]
    kept = {x["study"]: x for x in syn["kept_out"]}
    titles = [b.get("title", "") for b in sec["blocks"]]
    assert not any(t.startswith("main") and "meta-analysis" in t and "k = 1 " in t
                   for t in titles)
    if spec.indication.value == "diabetic_wound":
        assert kept["DW002"]["label"] == "RETRACTED" and kept["DW002"]["gate"] == "exclude"
        assert kept["DW037"]["gate"] == "subgroup"
        assert syn["main"]["kind"] != "meta-analysis" or "DW037" not in syn["main"]["studies"]
        assert any("DW037" in t and "not a meta-analysis" in t for t in titles)
        assert sec["data"]["flags"]["DW002"].startswith("RETRACTED")
        html = (out / "report.html").read_text()
        assert "RETRACTED" in html and "Kept out of exomir" in html
        cargo = _section(data, "Cargo")["data"]
        assert all(x["study"] != "DW002" or x["reason"] == "RETRACTED"
                   for x in cargo["interactions_kept_out"])
        used = {b["source"].split(":")[0] for size in cargo["ranking"].values() for c in size
                for x in c["contributions"] for b in x.get("by", [])}
        assert "DW002" not in used
    assert kept, "the gates keep something out for both indications"
    dec = _section(data, "Decision")
    assert any(b["kind"] == "text" and "Kept out of synthesis" in b["text"]
               for b in dec["blocks"])


def test_demo_reads_only_the_embedded_knowledge_base(monkeypatch: pytest.MonkeyPatch,
                                                    tmp_path: Path) -> None:
    import exomir.design.pipeline as pipeline

    seen: dict[str, Any] = {}

    def fake(spec: Any, progress: Any = None, *, kb: Any = None, concurrent: bool = False
             ) -> Any:
        seen["kb"], seen["concurrent"] = kb, concurrent
        raise InputError("stop here")

    monkeypatch.setattr(pipeline, "run_design", fake)
    res = runner.invoke(app, ["demo", "--out", str(tmp_path / "o")])
    assert res.exit_code == 2 and seen["kb"].embedded and seen["kb"].read_only
    assert seen["concurrent"]  # the CLI runs the global sensitivity beside the later sections


def test_demo_is_the_same_after_importing_mirtarbase(rendered: Any, shared_data: Path) -> None:
    """Measured defect: after 'kb import' of miRTarBase and the Hallmark sets the demo picked
    hsa-miR-146a-3p (the passenger strand): the demo depended on the user's database."""
    from exomir.design.cargo_part import cargo_section
    from exomir.design.evidence_part import database_block, evidence_section
    from exomir.kb import embedded, open_kb
    from tests.conftest import import_mirtarbase_and_hallmark

    spec, _, _, data = rendered
    user = open_kb()
    import_mirtarbase_and_hallmark(user, shared_data)
    emb = embedded()
    cargo, plan = cargo_section(spec, emb)
    assert json.loads(json.dumps(cargo.data)) == _section(data, "Cargo")["data"]
    assert plan.best == [_section(data, "Decision")["data"]["best_cargo"]]
    ev = evidence_section(spec, emb.studies(indication=spec.indication), emb)
    assert ev.data["synthesis"] == _section(data, "Evidence")["data"]["synthesis"]
    # A design on the user's own database says which imported sources contributed.
    block, prov = database_block(user)
    assert prov["imports"] and "mirtarbase_v10" in json.dumps(block.rows)


# ---- escaping and rendering ----------------------------------------------------------------

def test_every_template_path_escapes_hostile_text(tmp_path: Path) -> None:
    from exomir.design import figures
    from exomir.report import Figure, Report, Section, TableBlock, TextBlock, Warning_
    from exomir.report.render import render_html

    h = " / ".join(HOSTILE)
    svg = figures.bands(np.linspace(0, 1, 5), {h: np.ones((3, 5))}, ylabel=h, title=h,
                        refs={"untreated": np.zeros((3, 5))})
    rep = Report(title=h, subtitle=h, meta={"version": h, "generated": h}, sections=[
        Section(h, blocks=[TextBlock(h), TextBlock(h, kind="headline"),
                           TextBlock(h, kind="next", items=[h]), Warning_(h, severity="critical"),
                           TableBlock(h, [h, "url", "_assumption"], [[h, "javascript:x", True]],
                                      provenance=h, note=h, links={h: "url"}),
                           TableBlock(h, [h], [[h]], collapsed=True),
                           Figure(h, "f.svg", svg, provenance=h, caption=h)])])
    html = render_html(rep)
    assert "<script" not in html.lower() and "<img" not in html.lower()
    assert 'href="javascript' not in html  # only http(s) links become anchors
    assert html.count("&lt;script&gt;") >= 10


def test_hostile_names_are_escaped_end_to_end(reordered: Any) -> None:
    _, _, out, _ = reordered
    html = (out / "report.html").read_text()
    assert "<script" not in html.lower() and "<img" not in html.lower()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_figures_show_reference_arms_with_distinct_styles(rendered: Any) -> None:
    from exomir.design import figures

    _, result, out, _ = rendered
    for name in ("outcome_time.svg", "dose_outcome.svg"):
        svg = (out / "figures" / name).read_text()
        assert "untreated" in svg
        if result.arms.vehicles:
            assert "vehicle only" in svg
    looks = {(s["ls"] if isinstance(s["ls"], str) else str(s["ls"]), s["marker"])
             for s in (figures.style(i) for i in range(6))}
    assert len(looks) == 6  # six candidates stay apart in greyscale
    assert figures.WIDTH_IN >= 10


def test_report_renders_in_chromium(rendered: Any) -> None:
    from tests.conftest import require_reference

    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    require_reference(chromium is not None, "chromium (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        require_reference(False, "playwright (pip install playwright)")
        return
    spec, _, out, _ = rendered
    ARTIFACTS.mkdir(exist_ok=True)

    def look() -> dict[str, Any]:
        errors: list[str] = []
        requests: list[str] = []
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium, args=[
                "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update",
                "--disable-sync"])
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.on("request", lambda r: requests.append(r.url))
            page.goto((out / "report.html").as_uri())
            seen = {
                "n_fig": page.locator("figure svg").count(),
                "n_tables": page.locator("table").count(),
                "head": page.locator("div.headline").bounding_box(),
                "nxt": page.locator("div.next").bounding_box(),
                "fig_w": page.locator("figure svg").first.bounding_box(),
                "sec_w": page.locator("section").first.bounding_box(),
                "overflow": page.evaluate(
                    "() => [...document.querySelectorAll('section, .tablewrap')].filter("
                    "s => s.scrollWidth > s.clientWidth + 1).length")}
            page.screenshot(path=str(ARTIFACTS / f"report_{spec.indication.value}.png"),
                            full_page=False)
            browser.close()
        return {**seen, "errors": errors, "requests": requests}

    # In a thread of its own: the sync API refuses to run where another test left an event loop.
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        seen = pool.submit(look).result()
    errors, requests = seen["errors"], seen["requests"]
    n_fig, n_tables, overflow = seen["n_fig"], seen["n_tables"], seen["overflow"]
    head, nxt, fig_w, sec_w = seen["head"], seen["nxt"], seen["fig_w"], seen["sec_w"]
    assert errors == []
    assert n_fig >= 6 and n_tables >= 8
    assert all(u.startswith("file://") for u in requests)  # nothing fetched from the network
    # The first screen holds the answer and what to do next.
    assert head is not None and nxt is not None and head["y"] < nxt["y"] < 900
    # Figures use the card's width; every table fits its card (no sideways scrolling).
    assert fig_w is not None and sec_w is not None and fig_w["width"] > 0.85 * sec_w["width"]
    assert overflow == 0
