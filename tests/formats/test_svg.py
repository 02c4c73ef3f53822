"""SVG figures are reproducible: the same figure gives the same bytes in any order of drawing.

Regressions of two measured defects: the global-sensitivity figures of ``exomir demo`` carried
the time of writing (``<dc:date>``), so two runs of the same demo wrote different files; and
each plotting module set its font size in the global rcParams, so a design figure drawn after
a calibration figure (as in one web-app process) came out with the calibration's 8 pt text.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib
import numpy as np

from exomir.formats.svg import STYLE, style, styled, to_svg
from exomir.sensitivity.analysis import run_sensitivity
from exomir.sensitivity.evaluate import FunctionEvaluator
from exomir.sensitivity.testfunctions import ishigami, ishigami_problem


def _bands() -> str:
    from exomir.design import figures

    t = np.linspace(0.0, 21.0, 30)
    rng = np.random.default_rng(3)
    return figures.bands(t, {"A": rng.random((6, 30)), "B": rng.random((6, 30))},
                         ylabel="closure (%)", title="closure",
                         refs={"untreated": rng.random((6, 30))})


def _indices() -> str:
    from exomir.sensitivity.plots import indices_bar

    prob = ishigami_problem()
    res = run_sensitivity(prob, FunctionEvaluator(ishigami, prob.names), n=32, seed=1,
                          screen_inert=False)
    return indices_bar(res, "y")


def test_figures_carry_no_date_and_repeat_byte_for_byte() -> None:
    for draw in (_bands, _indices):
        a, b = draw(), draw()
        assert "<dc:date>" not in a
        assert a == b


def test_a_figure_does_not_take_the_style_of_the_figure_drawn_before() -> None:
    first = _bands()
    _indices()  # 9 pt figure in between
    with matplotlib.rc_context({"font.size": 6.0}):  # and a caller's own style around it
        again = _bands()
    assert again == first
    # tick labels at the design's 10 pt (SVG user units are points), title at 12 (large)
    assert "font-size: 10px" in first and "font-size: 12px" in first
    assert "font-size: 6px" not in again and "font-size: 8px" not in again


def test_styled_leaves_the_global_rcparams_alone() -> None:
    before = {k: matplotlib.rcParams[k] for k in ("font.size", *STYLE)}

    @styled(7)
    def draw() -> float:
        return float(matplotlib.rcParams["font.size"])

    assert draw() == 7.0
    with style(12):
        assert matplotlib.rcParams["svg.fonttype"] == "none"
    assert {k: matplotlib.rcParams[k] for k in before} == before


def test_to_svg_crops_like_savefig_tight() -> None:
    import io

    import matplotlib.pyplot as plt

    def fig() -> object:
        f, ax = plt.subplots(figsize=(4, 3))
        ax.plot([0, 1], [0, 1])
        ax.set_title("t")
        return f

    with style(10):
        ours = to_svg(fig())
        buf = io.StringIO()
        f = fig()
        f.savefig(buf, format="svg", bbox_inches="tight")  # type: ignore[attr-defined]
        plt.close(f)  # type: ignore[arg-type]

    def size(svg: str) -> tuple[float, float]:
        import re

        m = re.search(r'width="([0-9.]+)pt" height="([0-9.]+)pt"', svg)
        assert m is not None
        return float(m.group(1)), float(m.group(2))

    (w1, h1), (w2, h2) = size(ours), size(buf.getvalue())
    assert abs(w1 - w2) < 0.5 and abs(h1 - h2) < 0.5


def test_forest_plot_file_repeats_byte_for_byte(tmp_path: Path) -> None:
    from exomir.evidence.meta import rma
    from exomir.evidence.plots import forest

    res = rma([0.2, 0.5, 0.9, 0.4], [0.04, 0.09, 0.05, 0.02])
    a = forest(res, tmp_path / "a.svg").read_bytes()
    b = forest(res, tmp_path / "b.svg").read_bytes()
    assert a == b and b"<dc:date>" not in a
