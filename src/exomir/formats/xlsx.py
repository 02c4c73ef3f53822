"""Minimal streaming reader for the first worksheet of an ``.xlsx`` file (stdlib only).

miRTarBase publishes its MTI tables as Excel workbooks. openpyxl is not a dependency, so this
reads the Office Open XML directly: the shared-string table is loaded (it holds each distinct
text once), then sheet rows are parsed with ``iterparse`` and discarded as they are yielded,
so memory grows with the number of distinct strings, not with the number of rows.
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Iterator
from pathlib import Path
from xml.etree.ElementTree import Element, ParseError, iterparse

from exomir.core.errors import InputError

_NS = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_REL_NS = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
_COL_RE = re.compile(r"^([A-Z]+)")


def is_xlsx(path: Path) -> bool:
    """True when ``path`` is a zip archive that contains an Excel workbook.

    Only a regular file that starts with the zip magic is opened as a zip (zipfile seeks to
    the end of the file: on ``/dev/zero`` or a pipe that never ends).
    """
    try:
        if not Path(path).is_file():
            return False
        with Path(path).open("rb") as fh:
            if fh.read(4) != b"PK\x03\x04":
                return False
        with zipfile.ZipFile(path) as zf:
            return "xl/workbook.xml" in zf.namelist()
    except (zipfile.BadZipFile, OSError):
        return False


def _col_index(ref: str) -> int:
    m = _COL_RE.match(ref)
    if not m:
        return -1
    idx = 0
    for ch in m.group(1):
        idx = idx * 26 + (ord(ch) - 64)
    return idx - 1


def _text(el: Element) -> str:
    return "".join(t.text or "" for t in el.iter(f"{_NS}t"))


def _first_sheet(zf: zipfile.ZipFile) -> str:
    names = set(zf.namelist())
    if "xl/worksheets/sheet1.xml" in names:
        return "xl/worksheets/sheet1.xml"
    sheets = sorted(n for n in names if n.startswith("xl/worksheets/") and n.endswith(".xml"))
    if not sheets:
        raise InputError("workbook has no worksheet")
    return sheets[0]


def xlsx_rows(path: str | Path) -> Iterator[tuple[int, list[str]]]:
    """Yield ``(row_number, cells)`` from the first worksheet; cells are strings."""
    p = Path(path)
    try:
        zf = zipfile.ZipFile(p)
    except (zipfile.BadZipFile, OSError) as exc:
        raise InputError(f"not a readable .xlsx workbook ({exc})", source=p) from None
    with zf:
        try:
            shared: list[str] = []
            if "xl/sharedStrings.xml" in zf.namelist():
                with zf.open("xl/sharedStrings.xml") as fh:
                    for _, el in iterparse(fh, events=("end",)):
                        if el.tag == f"{_NS}si":
                            shared.append(_text(el))
                            el.clear()
            sheet = _first_sheet(zf)
            with zf.open(sheet) as fh:
                for _, el in iterparse(fh, events=("end",)):
                    if el.tag != f"{_NS}row":
                        continue
                    rnum = int(el.get("r", "0"))
                    cells: list[str] = []
                    for c in el.iter(f"{_NS}c"):
                        col = _col_index(c.get("r", ""))
                        if col < 0:
                            col = len(cells)
                        kind = c.get("t", "n")
                        v = c.find(f"{_NS}v")
                        if kind == "s" and v is not None and v.text is not None:
                            value = shared[int(v.text)]
                        elif kind == "inlineStr":
                            is_ = c.find(f"{_NS}is")
                            value = _text(is_) if is_ is not None else ""
                        else:
                            value = (v.text or "") if v is not None else ""
                        while len(cells) < col:
                            cells.append("")
                        cells.append(value)
                    el.clear()
                    yield rnum, cells
        except InputError as exc:
            raise exc.located(source=p) from None
        except (ParseError, KeyError, IndexError, ValueError, zipfile.BadZipFile,
                OSError, EOFError) as exc:
            raise InputError(f"corrupt .xlsx workbook ({type(exc).__name__}: {exc})",
                             source=p) from None
