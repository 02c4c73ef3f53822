"""Terminal tables that adapt to the width of the terminal (CLI presentation only).

A wide table squeezed into 80 columns by rich becomes one-character columns. :func:`print_table`
measures the table first: when every column gets at least a readable width (its longest word,
up to :data:`READABLE`, or its header) it prints the usual table with long cells folded;
otherwise it prints one block per row (``field: value`` lines), which reads at any width.
Cells are plain text (never rich markup), so user data such as ``[/x]`` prints as typed.

Imports nothing from exomir: every CLI module may use it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from rich.console import Console
from rich.table import Table
from rich.text import Text

#: The narrowest a column may get before the table switches to the vertical layout.
READABLE = 14


@dataclass(frozen=True)
class Column:
    """A table column: header, alignment, and whether it may be folded."""

    header: str
    justify: str = "left"  # "left" | "right" | "center"
    no_wrap: bool = False
    style: str | None = None


Cell = str | Text


def _plain(cell: Cell) -> str:
    return cell.plain if isinstance(cell, Text) else str(cell)


def _readable_width(col: Column, cells: Sequence[str]) -> int:
    longest_word = max((len(w) for c in cells for w in c.split()), default=0)
    longest = max((len(c) for c in cells), default=0)
    if col.no_wrap:
        need = max(longest, len(col.header) if " " not in col.header else 0)
    else:
        need = min(max(longest_word, 4), READABLE)
    return max(need, min(len(col.header), READABLE), 1)


def fits(columns: Sequence[Column], rows: Sequence[Sequence[Cell]], width: int) -> bool:
    """Whether a horizontal table gives every column a readable width within ``width``."""
    if not columns:
        return True
    need = 0
    for j, col in enumerate(columns):
        cells = [_plain(r[j]) for r in rows if j < len(r)]
        need += _readable_width(col, cells)
    return need + 3 * len(columns) + 1 <= width


def print_table(console: Console, title: str, columns: Sequence[Column],
                rows: Sequence[Sequence[Cell]], *, vertical: bool | None = None) -> None:
    """Print ``rows`` under ``columns``: a table when it fits, else one block per row.

    ``vertical`` forces a layout (None: choose by :func:`fits` at the console's width).
    """
    width = console.width
    use_vertical = (not fits(columns, rows, width)) if vertical is None else vertical
    if not use_vertical:
        t = Table(title=Text(title))
        for col in columns:
            t.add_column(Text(col.header), justify=col.justify,  # type: ignore[arg-type]
                         no_wrap=col.no_wrap, overflow="ellipsis" if col.no_wrap else "fold",
                         style=col.style)
        for r in rows:
            t.add_row(*(c if isinstance(c, Text) else Text(str(c)) for c in r))
        console.print(t)
        return
    console.print(Text(title, style="bold"))
    for i, r in enumerate(rows):
        if i:
            console.rule(style="dim")
        grid = Table.grid(padding=(0, 2))
        grid.add_column(style="bold", no_wrap=True)
        grid.add_column(overflow="fold")
        for col, cell in zip(columns, r, strict=False):
            value = cell if isinstance(cell, Text) else Text(str(cell), style=col.style or "")
            grid.add_row(Text(col.header), value)
        console.print(grid)
