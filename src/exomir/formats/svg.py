"""Matplotlib figures as SVG text: the same figure gives the same bytes, whatever ran before.

Two things made exomir's SVG figures differ between runs of the same input: matplotlib writes
the time of writing into the file (``<dc:date>``) and draws random element ids unless
``svg.hashsalt`` is set; and each plotting module used to set its style (font size, spines)
in the global ``matplotlib.rcParams``, so a figure took the font size of whichever module had
been imported or called last (in the web app, a calibration plot drawn before a design report
shrank that report's fonts). Here a plotting function runs inside its own
``matplotlib.rc_context`` (:func:`styled`) and :func:`to_svg` writes no date.

matplotlib is imported on first use, not with this module.
"""

from __future__ import annotations

import contextlib
import functools
import io
import re
from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar

P = ParamSpec("P")
R = TypeVar("R")

#: The style every exomir figure shares; the font size is the plotting module's own.
STYLE: dict[str, Any] = {"svg.fonttype": "none", "axes.spines.top": False,
                         "axes.spines.right": False, "svg.hashsalt": "exomir"}


def _matplotlib() -> Any:
    import matplotlib

    if matplotlib.get_backend().lower() != "agg":
        matplotlib.use("Agg")
    return matplotlib


def style(font_size: float) -> contextlib.AbstractContextManager[None]:
    """``rc_context`` with :data:`STYLE` and this font size (pt), for figures drawn inside it."""
    ctx: contextlib.AbstractContextManager[None] = _matplotlib().rc_context(
        {**STYLE, "font.size": font_size})
    return ctx


def styled(font_size: float) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Run a plotting function in :func:`style`: the figure is created and written with that
    style, and the global rcParams are left as they were."""
    def wrap(fn: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(fn)
        def inner(*args: P.args, **kwargs: P.kwargs) -> R:
            with style(font_size):
                return fn(*args, **kwargs)
        return inner
    return wrap


_SVG_HEAD = re.compile(r'<svg([^>]*?) width="[^"]*" height="[^"]*" viewBox="[^"]*"')


def to_svg(fig: Any) -> str:
    """The figure as SVG text, without a date, cropped to its tight bounding box plus
    ``savefig.pad_inches`` as ``savefig(bbox_inches="tight")`` crops it, but drawn once:
    matplotlib draws a figure twice for "tight" (once to measure, once to write); here the box
    is measured on the drawn figure with the same renderer (its text layouts cached) and
    becomes the SVG viewport. The figure's background is drawn large enough to fill any crop.
    The figure is closed."""
    mpl = _matplotlib()
    import matplotlib.pyplot as plt
    from matplotlib.backends.backend_mixed import MixedModeRenderer
    from matplotlib.backends.backend_svg import FigureCanvasSVG, RendererSVG

    FigureCanvasSVG(fig)
    buf = io.StringIO()
    dpi = fig.dpi
    fig.dpi = 72  # as FigureCanvasSVG.print_svg: SVG user units are points
    w_in, h_in = fig.get_size_inches()
    w, h = w_in * 72, h_in * 72
    fig.patch.set_bounds(-1.0, -1.0, 3.0, 3.0)  # figure fractions: covers the crop
    fig.patch.set_in_layout(False)
    renderer: Any = MixedModeRenderer(fig, w_in, h_in, dpi,
                                      RendererSVG(w, h, buf, image_dpi=dpi,
                                                  metadata={"Date": None}))
    fig.draw(renderer)
    box = fig.get_tightbbox(renderer).padded(float(mpl.rcParams["savefig.pad_inches"]))
    renderer.finalize()
    plt.close(fig)
    x0, y0, x1, y1 = (72 * v for v in (box.x0, box.y0, box.x1, box.y1))
    bw, bh = x1 - x0, y1 - y0  # SVG y runs down from the top edge of the figure
    return _SVG_HEAD.sub(lambda m: f'<svg{m.group(1)} width="{bw:f}pt" height="{bh:f}pt" '
                         f'viewBox="{x0:f} {h - y1:f} {bw:f} {bh:f}"', buf.getvalue(), count=1)
