"""NTA readers and statistics, checked against numpy/scipy on the expanded sample."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from exomir.core.errors import InputError
from exomir.quality.nta import (
    SizeDistribution,
    SizeSummary,
    compare,
    overlay_plot,
    parse_size_text,
    quantize,
    read_size_file,
    size_stats,
    weighted_quantile,
)

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "quality"


def _dist(x: np.ndarray, w: np.ndarray, captures: np.ndarray | None = None) -> SizeDistribution:
    return SizeDistribution(name="t", size_nm=x.astype(float), concentration=w.astype(float),
                            captures=captures)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(0, 40), min_size=3, max_size=60).filter(lambda c: sum(c) > 0))
def test_quantiles_mean_mode_match_expanded_sample(counts: list[int]) -> None:
    x = np.arange(len(counts)) * 5.0 + 30.0
    w = np.asarray(counts, dtype=float)
    sample = np.repeat(x, counts)
    s = size_stats(_dist(x, w))
    for p, got in ((0.1, s.d10_nm), (0.5, s.d50_nm), (0.9, s.d90_nm)):
        assert got == np.quantile(sample, p, method="inverted_cdf")
    assert s.mean_nm == pytest.approx(sample.mean())
    assert s.sd_nm == pytest.approx(sample.std(), abs=1e-9)
    assert s.span == pytest.approx((s.d90_nm - s.d10_nm) / s.d50_nm)
    assert w[list(x).index(s.mode_nm)] == w.max()


def test_lognormal_quantiles_close_to_analytic() -> None:
    # fine 0.5-nm bins of a lognormal (median 100 nm, sigma 0.3): D50 ~ 100, D90 ~ 100*e^(1.2816*0.3)
    x = np.arange(0.25, 1000, 0.5)
    w = stats.lognorm.pdf(x, s=0.3, scale=100.0)
    s = size_stats(_dist(x, w * 1e6))
    assert s.d50_nm == pytest.approx(100.0, abs=0.6)
    assert s.d90_nm == pytest.approx(100 * np.exp(1.2816 * 0.3), abs=0.6)
    assert s.d10_nm == pytest.approx(100 * np.exp(-1.2816 * 0.3), abs=0.6)
    assert s.mean_nm == pytest.approx(100 * np.exp(0.3**2 / 2), rel=1e-3)


def test_per_capture_sd_and_total() -> None:
    x = np.array([50.0, 100.0, 150.0])
    caps = np.array([[1.0, 2.0, 1.0], [2.0, 4.0, 2.0], [3.0, 6.0, 3.0]]) * 1e8
    s = size_stats(_dist(x, caps.mean(axis=0), caps))
    totals = caps.sum(axis=1)
    assert s.total_per_ml == pytest.approx(totals.mean())
    assert s.total_sd_per_ml == pytest.approx(np.std(totals, ddof=1))
    assert s.capture_sd["mean"] == pytest.approx(0.0, abs=1e-9)  # same shape each capture


def test_aggregate_flags() -> None:
    x = np.array([100.0, 300.0, 1500.0])
    s = size_stats(_dist(x, np.array([70.0, 25.0, 5.0])))
    assert s.fraction_above_200nm == pytest.approx(0.30)
    assert s.fraction_above_1000nm == pytest.approx(0.05)
    assert len(s.flags) == 2
    clean = size_stats(_dist(x, np.array([99.0, 1.0, 0.0])))
    assert clean.flags == []


def test_compare_matches_scipy_and_detects_shift() -> None:
    x = np.arange(20.0, 400.0, 2.0)
    a = _dist(x, stats.norm.pdf(x, 100, 20))
    b = _dist(x, stats.norm.pdf(x, 130, 20))
    c = compare(a, b, n_tracks=(500, 500))
    # Wasserstein between two equal-shape distributions = shift of the means
    assert c.wasserstein_nm == pytest.approx(30.0, rel=0.02)
    sa = np.repeat(x, quantize(a.concentration, 500))
    sb = np.repeat(x, quantize(b.concentration, 500))
    ref = stats.ks_2samp(sa, sb)
    assert c.ks_statistic == pytest.approx(ref.statistic)
    assert c.ks_pvalue < 1e-6
    same = compare(a, a)
    assert same.wasserstein_nm == pytest.approx(0.0, abs=1e-9)
    assert same.ks_pvalue == pytest.approx(1.0)


@given(st.lists(st.floats(0, 1e3), min_size=1, max_size=30).filter(lambda v: sum(v) > 1e-3),
       st.integers(1, 5000))
def test_quantize_sums_to_n(w: list[float], n: int) -> None:
    counts = quantize(np.asarray(w), n)
    assert counts.sum() == n
    assert np.all(np.abs(counts - np.asarray(w) / sum(w) * n) < 1.0 + 1e-9)


def test_weighted_quantile_edges() -> None:
    x = np.array([1.0, 2.0, 3.0, 4.0])
    w = np.array([1.0, 1.0, 1.0, 1.0])
    assert weighted_quantile(x, w, 0.5) == 2.0  # inverted_cdf: cum 0.5 reached at x=2
    assert weighted_quantile(x, w, 0.51) == 3.0


def test_read_examples_and_dilution() -> None:
    a1 = read_size_file(EXAMPLES / "batch_A_nanosight.csv")
    a = read_size_file(EXAMPLES / "batch_A_nanosight.csv", dilution=1000)
    assert isinstance(a, SizeDistribution) and isinstance(a1, SizeDistribution)
    assert a.captures is not None and a.captures.shape[0] == 3
    assert a.layout == "nanosight"
    assert a.metadata["Dilution factor"] == "1000"  # kept, not applied silently
    assert size_stats(a).total_per_ml == pytest.approx(1000 * size_stats(a1).total_per_ml)
    b = read_size_file(EXAMPLES / "batch_B_zetaview.csv", dilution=500)
    assert isinstance(b, SizeDistribution) and b.layout == "zetaview" and not b.relative


def test_summary_file(tmp_path: Path) -> None:
    f = tmp_path / "res.csv"
    f.write_text("Sample,x\n[Results]\nMean,120.5\nMode,98.1\nD50,110\n"
                 "Concentration (particles / ml),2.0e8\n", encoding="utf-8")
    s = read_size_file(f, dilution=100)
    assert isinstance(s, SizeSummary)
    assert s.values["concentration_per_ml"] == pytest.approx(2.0e10)
    assert s.values["mode_nm"] == 98.1


def test_generic_dls_intensity_flagged(tmp_path: Path) -> None:
    f = tmp_path / "dls.csv"
    f.write_text("size_nm,intensity_percent\n50,10\n100,60\n150,30\n", encoding="utf-8")
    d = read_size_file(f)
    assert isinstance(d, SizeDistribution) and d.weighting == "intensity" and d.relative
    s = size_stats(d)
    assert s.total_per_ml is None
    assert any("intensity-weighted" in fl for fl in s.flags)


@pytest.mark.parametrize(
    ("text", "line", "fragment"),
    [
        ("hello,world\nfoo,bar\n", 2, "no size table header"),
        ("Bin centre (nm),Conc 1\n10,5\n20,abc\n", 3, "expected a non-negative number"),
        ("size_nm,weird\n10,5\n", 1, "no concentration/weight column"),
        ("Size / nm,Number\nabc,1\n", 2, "numeric size"),
        ("size_nm,count\n10,1\n", 2, "fewer than 2 data rows"),
        ("size_nm,count\n20,1\n10,1\n", 3, "increase strictly"),
        ("size_nm,count\n10,1\n20,-4\n", 3, "non-negative"),
    ],
)
def test_malformed_files_name_file_line_and_columns(tmp_path: Path, text: str, line: int,
                                                    fragment: str) -> None:
    f = tmp_path / "bad.csv"
    f.write_text(text, encoding="utf-8")
    with pytest.raises(InputError) as ei:
        read_size_file(f)
    e = ei.value
    assert e.source == str(f)
    assert e.line == line
    assert fragment in e.message
    assert e.accepted  # names the expected columns


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=400))
def test_random_garbage_gives_input_error_only(text: str) -> None:
    try:
        parse_size_text(text, source="g.csv")
    except InputError as e:
        assert e.source == "g.csv"


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.floats(-10, 2000, allow_nan=False),
                          st.floats(-5, 1e9, allow_nan=False)), max_size=12))
def test_random_tables_never_crash(rows: list[tuple[float, float]]) -> None:
    text = "size_nm,concentration_per_ml\n" + "\n".join(f"{a},{b}" for a, b in rows)
    try:
        d = parse_size_text(text, source="r.csv")
    except InputError:
        return
    assert isinstance(d, SizeDistribution)
    s = size_stats(d)
    assert d.size_nm.min() <= s.d10_nm <= s.d50_nm <= s.d90_nm <= d.size_nm.max()


def test_overlay_plot_writes_svg_and_png(tmp_path: Path) -> None:
    a = read_size_file(EXAMPLES / "batch_A_nanosight.csv")
    b = read_size_file(EXAMPLES / "batch_B_zetaview.csv")
    assert isinstance(a, SizeDistribution) and isinstance(b, SizeDistribution)
    svg = overlay_plot([a, b], tmp_path / "o.svg", normalise=True)
    assert svg.read_text(encoding="utf-8").lstrip().startswith("<?xml")
    png = overlay_plot([a], tmp_path / "o.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(InputError):
        overlay_plot([a], tmp_path / "o.txt")
