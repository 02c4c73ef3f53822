"""The report document model: sections of text, tables, figures and warnings.

Every table is data (columns and rows of plain values) so that ``report.json`` carries exactly
the numbers the HTML shows; each block names the exomir function that computed it
(``provenance``) so a reader can reproduce it with the Python API.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class TextBlock:
    """A paragraph; ``kind`` ``headline`` (the answer) and ``next`` (next steps) are set off."""

    text: str
    kind: str = "text"
    items: list[str] = field(default_factory=list)  # shown as a numbered list after the text


@dataclass
class TableBlock:
    title: str
    columns: list[str]
    rows: list[list[Any]]
    provenance: str = ""
    note: str = ""
    links: dict[str, str] = field(default_factory=dict)  # column name -> column holding URLs
    collapsed: bool = False  # long listings: shown folded (<details>), opened by a click
    kind: str = "table"


@dataclass
class Figure:
    """A figure written next to the report; ``svg`` is inlined into the HTML."""

    title: str
    filename: str
    svg: str
    provenance: str = ""
    caption: str = ""
    kind: str = "figure"


@dataclass
class Warning_:
    """Something a scientist must know (severity: info | caution | critical)."""

    message: str
    severity: str = "caution"
    kind: str = "warning"


Block = TextBlock | TableBlock | Figure | Warning_


@dataclass
class Section:
    title: str
    blocks: list[Block] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)  # machine-readable results


@dataclass
class Report:
    title: str
    subtitle: str = ""
    sections: list[Section] = field(default_factory=list)
    meta: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """Every number and text the HTML shows, figures by file name."""
        def block(b: Block) -> dict[str, Any]:
            if isinstance(b, Figure):
                return {"kind": "figure", "title": b.title, "file": b.filename,
                        "provenance": b.provenance, "caption": b.caption}
            return {k: v for k, v in b.__dict__.items()}

        return {
            "title": self.title,
            "subtitle": self.subtitle,
            "meta": self.meta,
            "sections": [{"title": s.title, "blocks": [block(b) for b in s.blocks],
                          "data": s.data} for s in self.sections],
        }
