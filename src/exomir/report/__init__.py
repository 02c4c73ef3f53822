"""Self-contained reports: one HTML file (inline CSS and figures, no external requests) and
a JSON file holding every number the HTML shows."""

from exomir.report.document import Figure, Report, Section, TableBlock, TextBlock, Warning_
from exomir.report.render import render_html, write_report

__all__ = ["Figure", "Report", "Section", "TableBlock", "TextBlock", "Warning_", "render_html",
           "write_report"]
