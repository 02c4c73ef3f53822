"""Regression tests: each finding of issue 17 (input layer, printer, numeric guards, silent
acceptance, messages, usability) asserts the corrected behaviour. The simulator's guards,
design-spec guards and report escaping are tested by their owners (body, design engineers);
knowledge-base concurrency and PostgreSQL in tests/kb/test_concurrency.py."""

from __future__ import annotations

import json
import os
import warnings
from pathlib import Path

import numpy as np
import pytest

from exomir.core.errors import InputError, short
from exomir.core.files import (
    MAX_DEPTH,
    load_json,
    load_yaml,
    parse_number,
    parse_table,
    read_mapping,
    read_text,
)
from tests.fuzz.commands import EQ, ER, GMT, MIRNA_FA, SHEET, UTR_FA
from tests.fuzz.harness import BILLION_LAUGHS, EXAMPLES, Outcome, assert_ok, run_cli


def _err(o: Outcome) -> str:
    """The one error line (and nothing on stdout), after the contract checks."""
    assert_ok(o)
    assert o.exit_code == 2, o.text
    return o.stderr.splitlines()[0]


# --- the input layer --------------------------------------------------------------------------


def test_binary_and_non_utf8_files_are_refused_by_name(tmp_path: Path) -> None:
    latin = tmp_path / "latin.csv"
    latin.write_bytes("study,m1i\ncaf\xe9,1\n".encode("latin-1"))
    png = tmp_path / "img.csv"
    png.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(256))
    (tmp_path / "sets.gmt").write_text(GMT)
    for f in (latin, png):
        for args in (["evidence", "import-sheet", str(f)], ["evidence", "rob", "--sheet", str(f)],
                     ["release", "fit", "--data", str(f), "--time-unit", "h"],
                     ["release", "compare", str(f), str(ER / "gelma_synthetic.csv")],
                     ["cargo", "enrich", "--gmt", str(tmp_path / "sets.gmt"), "--genes", str(f)],
                     ["evidence", "meta", "--data", str(f)]):
            line = _err(run_cli(args))
            assert str(f) in line
            assert ("not UTF-8" in line and "save the file as UTF-8" in line) if f is latin \
                else "binary file (a PNG image)" in line


def test_utf8_bom_and_utf16_are_accepted(tmp_path: Path) -> None:
    fa = tmp_path / "mirs.fa"
    fa.write_bytes(b"\xef\xbb\xbf" + MIRNA_FA.encode())
    utr = tmp_path / "utr.fa"
    utr.write_text(UTR_FA)
    o = run_cli(["cargo", "scan", "--mirna", str(fa), "--utr", str(utr)])
    assert o.exit_code == 0 and "hsa-miR-21-5p" in o.output, o.text
    rec = tmp_path / "s.csv"
    rec.write_bytes(b"\xef\xbb\xbfid,indication\nBOM1,diabetic_wound\n")
    assert run_cli(["kb", "import", str(rec)]).exit_code == 0
    from exomir.kb import open_kb

    assert open_kb().get_study("BOM1").indication.value == "diabetic_wound"
    u16 = tmp_path / "u16.csv"
    u16.write_bytes("id,indication\nU16,neuropathic_pain\n".encode("utf-16"))
    assert run_cli(["kb", "import", str(u16)]).exit_code == 0


def test_empty_files_and_directories(tmp_path: Path) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    for args in (["evidence", "meta", "--data", str(empty)],
                 ["evidence", "import-sheet", str(empty)],
                 ["evidence", "rob", "--sheet", str(empty)]):
        assert "file is empty" in _err(run_cli(args))
    d = tmp_path / "folder.json"
    d.mkdir()
    (tmp_path / "sets.gmt").write_text(GMT)
    for args in (["kb", "import", str(d)],
                 ["cargo", "scan", "--mirna", str(d), "--utr", str(d)],
                 ["cargo", "enrich", "--gmt", str(tmp_path / "sets.gmt"), "--genes", str(d)]):
        assert "is a directory" in _err(run_cli(args))


def test_deep_nesting_is_refused_without_recursion(tmp_path: Path) -> None:
    deep_json = tmp_path / "deep.json"
    deep_json.write_text("[" * 100_000 + "]" * 100_000)
    assert f"nested more than {MAX_DEPTH} levels" in _err(run_cli(["kb", "import",
                                                                     str(deep_json)]))
    deep_yaml = tmp_path / "deep.yaml"
    deep_yaml.write_text("a: " + "[" * 5000 + "]" * 5000 + "\n")
    for args in (["simulate", str(deep_yaml)], ["design", str(deep_yaml)],
                 ["quality", "misev", str(deep_yaml)],
                 ["quality", "release", str(deep_yaml), str(deep_yaml)]):
        line = _err(run_cli(args))
        assert "nested more than" in line and f"{deep_yaml}:1" in line


def test_billion_laughs_is_refused_before_expansion() -> None:
    with pytest.raises(InputError, match="expands to more than"):
        load_yaml(BILLION_LAUGHS, source="laughs.yaml")
    with pytest.raises(InputError, match="recursive alias"):
        load_yaml("a: &a [*a]\n", source="r.yaml")
    with pytest.raises(InputError, match=r"duplicate key \(first on line 1\)"):
        load_yaml("dose: 1\ndose: 2\n", source="d.yaml")


def test_error_value_is_truncated_and_never_fully_stringified() -> None:
    big = list(range(1_000_000))
    text = short(big)
    assert len(text) <= 80
    err = InputError("bad", value=[[big] * 10] * 10)
    assert len(str(err)) < 400


def test_json_infinity_nan_and_overflow_are_refused(tmp_path: Path) -> None:
    for text in ('[{"id": "X", "indication": "diabetic_wound", "year": Infinity}]',
                 '[{"id": "X", "indication": "diabetic_wound", "year": NaN}]',
                 '[{"id": "X", "indication": "diabetic_wound", "year": 1e400}]'):
        with pytest.raises(InputError, match="invalid JSON number"):
            load_json(text, source="x.json")
    p = tmp_path / "inf.json"
    p.write_text('{"studies": [{"id": "INF1", "indication": "diabetic_wound", "arms": '
                 '[{"label": "a", "outcomes": [{"measure": "m", "mean": Infinity}]}]}]}')
    assert "invalid JSON number" in _err(run_cli(["kb", "import", str(p)]))


def test_csv_unbalanced_quote_long_cell_and_extra_cells_name_the_line() -> None:
    with pytest.raises(InputError, match=r"t.csv:2.*unbalanced quote"):
        parse_table('a,b\n"open,1\n2,3\n', source="t.csv")
    with pytest.raises(InputError, match=r"t.csv:2.*longer than"):
        parse_table("a,b\n" + "x" * 200_000 + ",1\n", source="t.csv")
    with pytest.raises(InputError, match=r"t.csv:3.*3 cells, the header has 2"):
        parse_table("a,b\n1,2\n1,2,3\n", source="t.csv")
    with pytest.raises(InputError, match=r"header only"):
        parse_table("a,b\n", source="t.csv")
    with pytest.raises(InputError, match=r"duplicate column name"):
        parse_table("a,a\n1,2\n", source="t.csv")


def test_dev_zero_and_endless_lines_are_bounded() -> None:
    with pytest.raises(InputError, match="binary data"):
        read_text("/dev/zero")
    from exomir.formats import read_lines

    with pytest.raises(InputError, match="binary data"):
        list(read_lines("/dev/zero"))


@pytest.mark.parametrize(("text", "kw", "msg"), [
    ("eighty", {}, "not a number"), ("TRUE", {}, "not a number"), ("∞", {}, "not a number"),
    ("inf", {}, "not a finite number"), ("nan", {}, "not a finite number"),
    ("2.5", {"integer": True}, "not a whole number"), ("-1", {"lo": 0}, "out of range"),
    ("", {}, "empty cell"),
])
def test_parse_number_refuses_what_is_not_a_number(text: str, kw: dict[str, object],
                                                   msg: str) -> None:
    with pytest.raises(InputError, match=msg):
        parse_number(text, source="f.csv", line=3, field="n1i", **kw)  # type: ignore[arg-type]
    assert parse_number("NA", missing=frozenset({"NA"})) is None


def test_yaml_validation_errors_name_the_line(tmp_path: Path) -> None:
    rec = tmp_path / "rec.yaml"
    rec.write_text((EQ / "record_synthetic.yaml").read_text().replace(
        "particles_per_ml: 2.5e11", "particles_per_ml: -5"))
    line = _err(run_cli(["quality", "misev", str(rec)]))
    n = next(i for i, t in enumerate(rec.read_text().splitlines(), 1) if "-5" in t)
    assert f"{rec}:{n}:" in line and "quantification.particles_per_ml" in line
    assert read_mapping(EQ / "record_synthetic.yaml")["id"] == "batch_A-synthetic"


# --- the error printer ------------------------------------------------------------------------


@pytest.mark.parametrize("hostile", ["[/x]", "[red]boom[/red]", ":x:", "[bold]"])
def test_printer_shows_values_as_typed(hostile: str) -> None:
    o = run_cli(["kb", "show", hostile])
    line = _err(o)
    assert hostile in line and "no such study" in line


def test_usage_errors_are_one_line() -> None:
    o = run_cli(["release", "simulate", "--days", "abc"])
    lines = [ln for ln in o.stderr.splitlines() if ln.strip()]
    assert o.exit_code == 2 and lines[0].startswith("error: ") and len(lines) == 2
    assert "Invalid value for '--days'" in lines[0] and lines[1].startswith("hint: see")


# --- extraction sheets and evidence meta ------------------------------------------------------


@pytest.mark.parametrize(("edit", "expect"), [
    (("n1i", "6", "2.5"), "field 'n1i': value '2.5': not a whole number"),
    (("year", "2022", "2022.7"), "field 'year': value '2022.7': not a whole number"),
    (("sd1i", "5", "inf"), "field 'sd1i': value 'inf': not a finite number"),
    (("timepoint_days", "14", "inf"), "field 'timepoint_days': value 'inf': not a finite"),
    (("m1i", "80", "1e300"), "field 'm1i'"),
])
def test_import_sheet_refuses_instead_of_storing(tmp_path: Path, edit: tuple[str, str, str],
                                                 expect: str) -> None:
    col, old, new = edit
    lines = SHEET.splitlines()
    header = lines[0].split(",")
    cells = lines[1].split(",")
    j = header.index(col)
    assert cells[j] == old
    cells[j] = new
    p = tmp_path / "sheet.csv"
    p.write_text("\n".join([lines[0], ",".join(cells), *lines[2:]]) + "\n")
    from tests.fuzz.harness import kb_counts

    before = kb_counts()
    line = _err(run_cli(["evidence", "import-sheet", str(p)]))
    assert f"{p}:2:" in line and expect in line
    assert kb_counts() == before


def test_import_sheet_conflicting_study_rows_and_header_only(tmp_path: Path) -> None:
    p = tmp_path / "sheet.csv"
    p.write_text(SHEET.replace("FZ1,diabetic_wound,wound_closure,exo+gel",
                               "FZ1,martian,wound_closure,exo+gel"))
    assert "field 'indication': value 'martian'" in _err(run_cli(["evidence", "import-sheet",
                                                                  str(p)]))
    p.write_text(SHEET.replace("FZ1,diabetic_wound,wound_closure,exo+gel",
                               "FZ1,neuropathic_pain,wound_closure,exo+gel"))
    line = _err(run_cli(["evidence", "import-sheet", str(p)]))
    assert f"{p}:3:" in line and "differs from line 2 of the same study" in line
    p.write_text(SHEET.splitlines()[0] + "\n")
    assert "header only" in _err(run_cli(["evidence", "import-sheet", str(p)]))


@pytest.mark.parametrize("word", ["eighty", "inf", "TRUE", "∞"])
def test_evidence_meta_words_in_numeric_columns_are_errors(tmp_path: Path, word: str) -> None:
    from tests.fuzz.commands import META_CSV

    p = tmp_path / "meta.csv"
    p.write_text(META_CSV.replace("B 2020,85,", f"B 2020,{word},"))
    line = _err(run_cli(["evidence", "meta", "--data", str(p)]))
    assert f"{p}:3:" in line and "field 'm1i'" in line and word in line


def test_evidence_meta_checks_outputs_before_writing(tmp_path: Path) -> None:
    from tests.fuzz.commands import META_CSV

    p = tmp_path / "meta.csv"
    p.write_text(META_CSV)
    forest = tmp_path / "forest.svg"
    line = _err(run_cli(["evidence", "meta", "--data", str(p), "--plot", str(forest),
                         "--funnel", str(tmp_path / "missing" / "funnel.svg")]))
    assert "--funnel" in line and "does not exist" in line
    assert not forest.exists()


def test_evidence_meta_prints_at_most_200_study_rows_and_json_has_all(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    rows = ["study,m1i,sd1i,n1i,m2i,sd2i,n2i"]
    for i in range(450):
        rows.append(f"S{i},{rng.normal(10, 2):.3f},2,8,{rng.normal(9, 2):.3f},2,8")
    p = tmp_path / "many.csv"
    p.write_text("\n".join(rows) + "\n")
    o = run_cli(["evidence", "meta", "--data", str(p)])
    assert o.exit_code == 0 and "first 200 of 450" in o.output
    assert "S199" in o.output and "S200 " not in o.output
    o = run_cli(["evidence", "meta", "--data", str(p), "--format", "json"])
    assert json.loads(o.output)["k"] == 450


def test_kb_meta_grammar_one_study_pooled(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "200")
    from exomir.core import Study
    from exomir.kb import open_kb

    arms = [{"label": "exo", "role": "treatment", "outcomes": [
        {"measure": "grammar_check", "timepoint_days": 7, "n": 6, "mean": 5, "sd": 1}]},
            {"label": "pbs", "role": "control", "outcomes": [
                {"measure": "grammar_check", "timepoint_days": 7, "n": 6, "mean": 3, "sd": 1}]}]
    open_kb().upsert_studies([Study.model_validate({"id": "GR1", "indication": "diabetic_wound",
                                                    "arms": arms})])
    o = run_cli(["evidence", "meta", "--indication", "diabetic_wound", "--outcome",
                 "grammar_check", "--method", "FE"])
    assert o.exit_code == 0, o.text
    n = len(open_kb().studies(indication="diabetic_wound"))
    assert (f"1 study pooled in the main analysis (1 comparison), {n - 1} of {n} studies "
            "left out.") in o.output


# --- release ----------------------------------------------------------------------------------


def test_release_csv_bad_quote_long_field_huge_times_and_units(tmp_path: Path) -> None:
    p = tmp_path / "r.csv"
    for body, msg in [('time,released,time_unit\n0,0,h\n"2,10,h\n4,20,h\n', "unbalanced quote"),
                      ("time,released\n" + "1" * 200_000 + ",5\n", "longer than"),
                      ("time,released,time_unit\n0,0,h\n1e300,10,h\n", "out of range"),
                      ("time,released,time_unit\n0,0,h\n1,10,h--\n", "not a unit expression"),
                      ("time,released,time_unit\n0,0,h\n1,10,1/\n", "not a unit expression"),
                      ("time,released,time_unit\n0,0,h\n1,10,h**\n", "not a unit expression"),
                      ("time,released,time_unit\n0,0,h\n1,10,(\n", "not a unit expression")]:
        p.write_text(body)
        line = _err(run_cli(["release", "fit", "--data", str(p)]))
        assert msg in line and f"{p}:" in line
    assert "not a unit expression" in _err(run_cli(["dose", "hed", "--dose", "1", "--unit",
                                                    "h**"]))


def test_release_fit_requires_the_time_unit(tmp_path: Path) -> None:
    p = tmp_path / "days.csv"
    p.write_text("time,released\n0,0\n1,20\n2,40\n4,60\n7,80\n14,95\n")
    o = run_cli(["release", "fit", "--data", str(p)])
    line = _err(o)
    assert "the time unit is not given" in line and "hint: add --time-unit" in o.stderr
    o = run_cli(["release", "fit", "--data", str(p), "--time-unit", "day", "--models", "base"])
    assert o.exit_code == 0, o.text
    assert "note:" in o.output and "read as percent" in o.output
    assert "Warning" not in o.stderr  # the percent guess is a note, not a Python warning


def test_release_compare_refuses_a_one_row_profile(tmp_path: Path) -> None:
    p = tmp_path / "one.csv"
    p.write_text("time,released,time_unit\n24,50,h\n")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no numpy RuntimeWarning leaks
        line = _err(run_cli(["release", "compare", str(p), str(ER / "gelma_synthetic.csv")]))
    assert "at least 3 time points after zero" in line and str(p) in line


def test_release_simulate_refuses_huge_grids_before_allocating() -> None:
    for args, msg in ([["--days", "1e300"], "out of range"],
                      [["--days", "36525", "--step", "1e-9"], "more than 100,000 output times"],
                      [["--days", "nan"], "not a finite number"]):
        o = run_cli(["release", "simulate", "--preset", "ha_hydrogel", *args])
        assert msg in _err(o)


# --- quality, dose, manufacture ---------------------------------------------------------------


def test_nta_non_numeric_cell_mid_table_is_an_error_not_the_end(tmp_path: Path) -> None:
    src = (EQ / "batch_B_zetaview.csv").read_text().splitlines()
    i = next(k for k, ln in enumerate(src) if ln.startswith("Size / nm")) + 5
    src[i] = "abc" + src[i][src[i].index(","):]
    p = tmp_path / "b.csv"
    p.write_text("\n".join(src) + "\n")
    line = _err(run_cli(["quality", "nta", str(p)]))
    assert f"{p}:{i + 1}:" in line and "in the middle of the table" in line


def test_quality_release_refuses_negative_and_huge_values(tmp_path: Path) -> None:
    for value, msg in (("-1e300", "beyond any measured value"), ("-0.5", "must not be negative")):
        batch = tmp_path / "batch.yaml"
        batch.write_text((EQ / "batch_A_record_synthetic.yaml").read_text().replace(
            "endotoxin_eu_per_ml: 0.08", f"endotoxin_eu_per_ml: {value}"))
        (tmp_path / "batch_A_nanosight.csv").write_bytes(
            (EQ / "batch_A_nanosight.csv").read_bytes())
        line = _err(run_cli(["quality", "release", str(EQ / "release_spec_synthetic.yaml"),
                             str(batch)]))
        assert msg in line and "endotoxin_eu_per_ml" in line


def test_quality_compare_many_tracks_binned_ks_matches_scipy() -> None:
    from scipy import stats

    from exomir.quality.nta import _binned_ks, quantize, read_size_file

    a = read_size_file(EQ / "batch_A_nanosight.csv")
    b = read_size_file(EQ / "batch_B_zetaview.csv")
    ca, cb = quantize(a.concentration, 20_000), quantize(b.concentration, 30_000)  # type: ignore[union-attr]
    ref = stats.ks_2samp(np.repeat(a.size_nm, ca), np.repeat(b.size_nm, cb),  # type: ignore[union-attr]
                         method="asymp")
    d, p = _binned_ks(a.size_nm, ca, b.size_nm, cb)  # type: ignore[union-attr]
    assert d == pytest.approx(ref.statistic, abs=1e-12)
    assert p == pytest.approx(ref.pvalue, rel=1e-9, abs=1e-300)
    o = run_cli(["quality", "compare", str(EQ / "batch_A_nanosight.csv"),
                 str(EQ / "batch_B_zetaview.csv"), "--n-tracks", "100000000", "--format",
                 "json"])
    assert o.exit_code == 0 and json.loads(o.output)["n_tracks"] == [100_000_000] * 2


def test_dose_hed_and_manufacture_refuse_implausible_values() -> None:
    assert "implausibly large" in _err(run_cli(["dose", "hed", "--dose", "1e300"]))
    assert "must be positive" in _err(run_cli(["dose", "hed", "--dose", "10",
                                               "--human-weight-kg", "0"]))
    assert "out of range" in _err(run_cli(["manufacture", "plan", "--subjects", "2",
                                           "--doses", "1", "--particles-per-dose", "1e300"]))
    assert "not a finite number" in _err(run_cli([
        "manufacture", "plan", "--subjects", "2", "--doses", "1", "--particles-per-dose",
        "1e10", "--set", "overage_fraction=inf"]))


def test_manufacture_low_scenario_never_needs_more_than_central() -> None:
    from exomir.quality.manufacture import scenarios, sensitivity, tradeoffs

    for subjects, doses, ppd in ((20, 4, 1e10), (200, 6, 1e11), (5, 1, 1e9)):
        sc = scenarios(subjects, doses, ppd)
        for attr in ("surface_cm2", "days", "cells", "batches"):
            assert getattr(sc["low"], attr) <= getattr(sc["central"], attr) <= \
                getattr(sc["high"], attr), (attr, subjects)
    assert "conditioning_days" in tradeoffs(sensitivity(20, 4, 1e10))


# --- cargo and kb reference files -------------------------------------------------------------


def test_cargo_scan_targetscan_sample_without_species(shared_data: Path) -> None:
    d = shared_data / "targetscan_sample" / "input"
    args = ["cargo", "scan", "--mirna", str(d / "miR_Family_info_sample.txt"), "--utr",
            str(d / "UTR_Sequences_sample.txt")]
    o = run_cli(args)
    line = _err(o)
    assert "holds 5 species" in line and "--species" in line and "hint: add --species 9606" \
        in o.stderr
    o = run_cli([*args, "--species", "9606"])
    assert o.exit_code == 0 and o.output.count("\n") > 10


def test_cargo_enrich_empty_or_unknown_genes(tmp_path: Path) -> None:
    sets = tmp_path / "sets.gmt"
    sets.write_text(GMT)
    genes = tmp_path / "genes.txt"
    genes.write_text("\n\n")
    assert "file is empty" in _err(run_cli(["cargo", "enrich", "--gmt", str(sets), "--genes",
                                            str(genes)]))
    genes.write_text("NOTAGENE1 NOTAGENE2\n")
    line = _err(run_cli(["cargo", "enrich", "--gmt", str(sets), "--genes", str(genes)]))
    assert "none of the 2 genes" in line and "nan" not in line.lower()


def test_header_only_mirtarbase_imports_nothing_with_an_error(tmp_path: Path) -> None:
    p = tmp_path / "x_mirtarbase.tsv"
    p.write_text("\tmiRNA\tGene\tGene ID\tEnsembl.ID\n")
    assert "no interactions to import (header only)" in _err(run_cli(["kb", "import", str(p)]))


# --- usability --------------------------------------------------------------------------------


def test_tables_fit_80_columns(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    for args in (["kb", "query", "--indication", "diabetic_wound"], ["kb", "trials"],
                 ["cargo", "rank", "--indication", "diabetic_wound", "--top", "3"],
                 ["quality", "nta", str(EQ / "batch_A_nanosight.csv")], ["data", "list"]):
        o = run_cli(args)
        assert o.exit_code == 0, o.text
        assert all(len(ln.rstrip()) <= 80 for ln in o.output.splitlines()), args
        # no column squeezed to one character: every header shows whole on its own line
        assert "┃ ci ┃" not in o.output and "│ n  │" not in o.output


def test_print_table_switches_layout_by_width() -> None:
    from rich.console import Console

    from exomir.terminal import Column, fits, print_table

    cols = [Column("name"), Column("description")]
    rows = [["mirbase-mature", "miRBase mature miRNA sequences, all species"]]
    assert fits(cols, rows, 80) and not fits(cols * 6, [rows[0] * 6], 80)
    con = Console(width=60, record=True, color_system=None)
    print_table(con, "t", cols * 4, [rows[0] * 4])
    text = con.export_text()
    assert "description  miRBase mature" in text  # the vertical layout
    con = Console(width=200, record=True, color_system=None)
    print_table(con, "[red]x", cols, rows)
    text = con.export_text()
    assert "[red]x" in text and "┃ name" in text


def test_data_fetch_accepts_the_mirbase_alias() -> None:
    from exomir.formats.fetch import get_release

    assert get_release("mirbase").name == "mirbase-mature"
    assert get_release("MiRBase-Mature").name == "mirbase-mature"
    with pytest.raises(InputError, match=r"mirbase \(= mirbase-mature\)"):
        get_release("mirbse")


def test_simulate_says_what_it_exported(tmp_path: Path) -> None:
    xml = tmp_path / "model.xml"
    o = run_cli(["simulate", str(EXAMPLES / "diabetic_wound_hydrogel.yaml"), "--subjects",
                 "2", "--days", "8", "--export-sbml", str(xml)])
    assert o.exit_code == 0, o.text
    assert xml.stat().st_size > 1000 and f"written to {xml}" in o.output
    o = run_cli(["simulate", str(EXAMPLES / "neuropathic_pain_intrathecal.yaml"), "--subjects",
                 "2", "--export-sbml", str(tmp_path / "no" / "model.xml")])
    assert "does not exist" in _err(o)


def test_kernel_cache_fallback_folder_is_private(tmp_path: Path) -> None:
    from exomir.body.driver import _private_tmp_dir

    d = tmp_path / "exomir-kernels-x"
    d.mkdir()
    os.chmod(d, 0o755)
    assert _private_tmp_dir(d) == d and (d.stat().st_mode & 0o777) == 0o700
    open_ = tmp_path / "exomir-kernels-open"  # others could have planted kernels: not used
    open_.mkdir()
    os.chmod(open_, 0o777)
    assert _private_tmp_dir(open_) != open_
    target = tmp_path / "elsewhere"
    target.mkdir()
    link = tmp_path / "exomir-kernels-link"
    link.symlink_to(target)
    got = _private_tmp_dir(link)
    assert got != link and got.is_dir() and (got.stat().st_mode & 0o077) == 0
    if os.getuid() == 0:  # a folder another user created first is not used
        other = tmp_path / "exomir-kernels-other"
        other.mkdir()
        os.chown(other, 65534, 65534)
        assert _private_tmp_dir(other) != other


def test_user_values_with_markup_print_as_typed(tmp_path: Path) -> None:
    """Success output shows user data literally: rich markup in names never crashes a command
    (MarkupError) or changes what is shown."""
    from tests.fuzz.commands import META_CSV

    hostile = "[/x][red]:x:"
    batch = tmp_path / "batch.yaml"
    batch.write_text((EQ / "batch_A_record_synthetic.yaml").read_text().replace(
        "batch_id: batch_A-synthetic", f"batch_id: '{hostile}'"))
    (tmp_path / "batch_A_nanosight.csv").write_bytes((EQ / "batch_A_nanosight.csv").read_bytes())
    meta = tmp_path / "meta.csv"
    meta.write_text(META_CSV.replace("A 2019", hostile))
    sets = tmp_path / "sets.gmt"
    sets.write_text(GMT.replace("SET_A", hostile))
    genes = tmp_path / "genes.txt"
    genes.write_text("PTEN\nTRAF6\nIRAK1\nAKT1\nNFKB1\n")
    nta = tmp_path / "[bold]:x:.csv"  # a file name cannot hold "/"
    nta.write_bytes((EQ / "batch_A_nanosight.csv").read_bytes())
    rec = tmp_path / "study.json"
    rec.write_text(json.dumps([{"id": "MARKUP1", "indication": "diabetic_wound",
                                "first_author": hostile}]))
    assert run_cli(["kb", "import", str(rec)]).exit_code == 0
    for args, allowed in (
            (["quality", "release", str(EQ / "release_spec_synthetic.yaml"), str(batch)], (0, 1)),
            (["evidence", "meta", "--data", str(meta), "--method", "FE"], (0,)),
            (["cargo", "enrich", "--gmt", str(sets), "--genes", str(genes)], (0,)),
            (["quality", "nta", str(nta)], (0,)),
            (["kb", "show", "MARKUP1"], (0,))):
        o = run_cli(args)
        assert_ok(o, allowed=allowed)
        assert o.exit_code in allowed
        shown = "[bold]:x:" if args[1] == "nta" else hostile
        assert shown in o.output.replace("\n", ""), (args, o.output[-500:])
