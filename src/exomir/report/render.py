"""Render a :class:`Report` to a self-contained HTML file plus ``report.json`` and figures."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader
from markupsafe import Markup

from exomir.report.document import Figure, Report


def _fmt(value: Any) -> str:
    """Numbers to 3-4 significant digits; None as an em dash."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}" if abs(value) >= 10000 else str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "—"
        if value == 0:
            return "0"
        if abs(value) >= 1e5 or abs(value) < 1e-3:
            return f"{value:.3g}"
        return f"{value:.4g}"
    return str(value)


def _inline_svg(svg: str) -> Markup:
    """Strip the XML prolog/doctype so the SVG can sit inside HTML.

    Figures are drawn by exomir (matplotlib escapes their text); as a second line of defence
    any script element, event-handler attribute or foreign object is removed before the SVG
    is marked safe."""
    svg = re.sub(r"<\?xml[^>]*>", "", svg)
    svg = re.sub(r"<!DOCTYPE[^>]*>", "", svg, flags=re.S)
    svg = re.sub(r"<script\b.*?</script\s*>", "", svg, flags=re.S | re.I)
    svg = re.sub(r"<foreignObject\b.*?</foreignObject\s*>", "", svg, flags=re.S | re.I)
    svg = re.sub(r"\son[a-z]+\s*=\s*(\"[^\"]*\"|'[^']*')", "", svg, flags=re.I)
    return Markup(svg.strip())


def environment() -> Environment:
    """The template environment: autoescaping on for every template, whatever its file name
    (``select_autoescape(["html"])`` never applied to ``report.html.j2``), so names and notes
    from a spec or the knowledge base cannot inject markup; only figure SVG made by exomir is
    marked safe (:func:`_inline_svg`)."""
    env = Environment(loader=PackageLoader("exomir.report", "templates"), autoescape=True)
    env.filters["fmt"] = _fmt
    env.filters["inline_svg"] = _inline_svg
    return env


def render_html(report: Report) -> str:
    return environment().get_template("report.html.j2").render(report=report, Figure=Figure)


def _clean(obj: Any) -> Any:
    if isinstance(obj, float) and (math.isnan(obj) or math.isinf(obj)):
        return None
    if isinstance(obj, dict):
        return {str(k): _clean(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_clean(v) for v in obj]
    if hasattr(obj, "item") and callable(obj.item):  # numpy scalar
        return _clean(obj.item())
    return obj


def write_report(report: Report, out_dir: Path) -> dict[str, Path]:
    """Write ``report.html``, ``report.json`` and ``figures/*.svg`` into ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    fig_dir = out_dir / "figures"
    fig_dir.mkdir(exist_ok=True)
    for section in report.sections:
        for block in section.blocks:
            if isinstance(block, Figure):
                (fig_dir / block.filename).write_text(block.svg, encoding="utf-8")
    html = out_dir / "report.html"
    html.write_text(render_html(report), encoding="utf-8")
    js = out_dir / "report.json"
    js.write_text(json.dumps(_clean(report.to_json()), indent=1, ensure_ascii=False),
                  encoding="utf-8")
    return {"html": html, "json": js, "figures": fig_dir}
