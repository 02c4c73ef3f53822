"""The one input layer: every file a user hands to exomir is opened, sized, decoded and parsed here.

Readers in every capability (YAML/JSON specs and records, CSV/TSV tables, extraction sheets,
release curves, NTA exports, gene lists) and the streaming reference readers of
:mod:`exomir.formats` go through these functions, so that every reader refuses the same bad
inputs in the same words (:class:`~exomir.core.InputError`: file, line, column, value, what is
accepted; exit code 2 in the CLI, HTTP 4xx in the web app):

* **what the path is**: a missing file, a directory, an empty file;
* **how big it is**: whole-file readers stop at ``max_bytes`` (:data:`MAX_SPEC_BYTES` for
  specs, :data:`MAX_TABLE_BYTES` for tables) *before* holding more than that in memory; the
  streaming reader stops at a line longer than :data:`MAX_LINE_CHARS`, so ``/dev/zero`` or a
  newline-free file never grows without limit;
* **what encoding it is in**: UTF-8 with or without a byte-order mark, UTF-16/UTF-32 with a
  BOM; anything else that is not UTF-8 is refused with the line and column of the first bad
  byte (never guessed), and binary data (NUL bytes; zip/xlsx, gzip, PDF, images, SQLite files
  where text is expected) is refused by name;
* **how deep and how large a structure is**: YAML and JSON nested deeper than
  :data:`MAX_DEPTH`, YAML whose aliases expand to more than :data:`MAX_NODES` values (the
  "billion laughs" file), recursive aliases, duplicate keys and JSON's non-standard
  ``NaN``/``Infinity`` (and numbers that overflow to infinity) are refused;
* **table shape**: unbalanced quotes, cells over the csv field limit, rows with more cells than
  the header, header-only tables.

Numbers read from text go through :func:`parse_number`: finite, in range, integer where an
integer is meant. Values shown in messages are truncated (:func:`short`), so an error never
stringifies a huge value.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import io
import json
import math
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import yaml

from exomir.core.errors import InputError, register_lines, short

MiB = 1024 * 1024
#: Largest YAML/JSON spec, record or batch file read whole (bytes).
MAX_SPEC_BYTES = 16 * MiB
#: Largest CSV/TSV table, extraction sheet, NTA export or JSON record file read whole (bytes).
MAX_TABLE_BYTES = 256 * MiB
#: Longest line the streaming reader accepts (characters); real TargetScan alignments are
#: far below this.
MAX_LINE_CHARS = 16 * MiB
#: Deepest nesting of YAML/JSON collections.
MAX_DEPTH = 64
#: Most values a YAML document may expand to once aliases are resolved.
MAX_NODES = 1_000_000
#: Longest cell the csv module reads (its own default limit, stated here so messages name it).
MAX_FIELD_CHARS = csv.field_size_limit()

TEXT_ACCEPTED = "a UTF-8 text file (a UTF-8/UTF-16 byte-order mark is fine)"

_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"PK\x03\x04", "a zip archive (an .xlsx workbook is one: export the sheet as CSV)"),
    (b"\x1f\x8b", "gzip-compressed data"),
    (b"%PDF", "a PDF document"),
    (b"\x89PNG", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"SQLite format 3", "an SQLite database"),
    (b"\xd0\xcf\x11\xe0", "an old Office (.xls/.doc) file: export the sheet as CSV"),
)
_BOMS: tuple[tuple[bytes, str], ...] = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)


# ----------------------------------------------------------------------------------------------
# paths and bytes
# ----------------------------------------------------------------------------------------------


def _fmt_size(n: int) -> str:
    return f"{n / MiB:.0f} MiB" if n >= MiB else f"{n} bytes"


def check_input_path(path: str | Path, *, field: str | None = None) -> Path:
    """``path`` as a :class:`Path` if it names something readable that is not a directory."""
    p = Path(path)
    try:
        if p.is_dir():
            raise InputError("is a directory, not a file", source=p, field=field,
                             accepted="a path to a file")
        if not p.exists():
            raise InputError("file not found", source=p, field=field, accepted="an existing file")
    except OSError as exc:  # e.g. a name too long for the file system
        raise InputError(f"cannot use this path ({exc.strerror})", source=short(str(p), 200),
                         field=field) from None
    return p


def open_input(path: str | Path, *, field: str | None = None) -> IO[bytes]:
    """Open ``path`` for binary reading with every failure as an :class:`InputError`."""
    p = check_input_path(path, field=field)
    try:
        return p.open("rb")
    except IsADirectoryError:
        raise InputError("is a directory, not a file", source=p, field=field) from None
    except PermissionError:
        raise InputError("permission denied", source=p, field=field,
                         accepted="a file you can read") from None
    except OSError as exc:
        raise InputError(f"cannot open file ({exc.strerror})", source=p, field=field) from None


def read_input_bytes(path: str | Path, *, max_bytes: int = MAX_TABLE_BYTES,
                     field: str | None = None) -> bytes:
    """All bytes of ``path``, refusing more than ``max_bytes`` and binary content early.

    Reads in 1 MiB chunks, so an endless source (``/dev/zero``, a pipe) stops at the first
    chunk that is binary or at ``max_bytes`` and never at the end of memory.
    """
    chunks: list[bytes] = []
    total = 0
    with open_input(path, field=field) as fh:
        while True:
            try:
                chunk = fh.read(min(MiB, max_bytes + 1 - total))
            except OSError as exc:
                raise InputError(f"cannot read file ({exc.strerror})", source=path,
                                 field=field) from None
            if not chunk:
                break
            if not chunks:
                refuse_binary(chunk[:8192], source=path, field=field)
            chunks.append(chunk)
            total += len(chunk)
            if total > max_bytes:
                raise InputError(f"file is larger than {_fmt_size(max_bytes)}", source=path,
                                 field=field,
                                 accepted=f"files up to {_fmt_size(max_bytes)} (split it)")
    return b"".join(chunks)


def _bom(data: bytes) -> tuple[str | None, int]:
    for bom, enc in _BOMS:
        if data.startswith(bom):
            return enc, len(bom)
    return None, 0


def refuse_binary(head: bytes, *, source: object = None, field: str | None = None) -> None:
    """Raise when the first bytes of a file are not text (NUL bytes or a known binary magic)."""
    enc, _ = _bom(head)
    if enc is not None and enc != "utf-8":
        return  # UTF-16/32 text has NUL bytes by design
    for magic, what in _MAGIC:
        if head.startswith(magic):
            raise InputError(f"binary file ({what}), not text", source=source, line=1,
                             field=field, accepted=TEXT_ACCEPTED)
    if b"\x00" in head:
        line = head[: head.index(b"\x00")].count(b"\n") + 1
        raise InputError("binary data (NUL byte) in a text file", source=source, line=line,
                         field=field, accepted=TEXT_ACCEPTED)


def decode_text(data: bytes, *, source: object = None, field: str | None = None,
                fallback: str | None = None) -> str:
    """Text from bytes: BOM-detected UTF-8/16/32, else strict UTF-8; binary data refused.

    ``fallback`` (e.g. ``"latin-1"`` for instrument exports written by Windows software) is
    used only when the bytes are not UTF-8; without it such a file is refused.
    """
    enc, skip = _bom(data)
    refuse_binary(data[:8192], source=source, field=field)
    if enc is not None and enc != "utf-8":
        try:
            text = data[skip:].decode(enc)
        except UnicodeDecodeError:
            raise InputError(f"not valid {enc.upper()} text after its byte-order mark",
                             source=source, field=field, accepted=TEXT_ACCEPTED) from None
    else:
        body = data[skip:]
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError as exc:
            if fallback is not None:
                return _no_nul(body.decode(fallback, errors="replace"), source, field)
            before = body[: exc.start]
            line = before.count(b"\n") + 1
            col = exc.start - (before.rfind(b"\n") + 1) + 1
            raise InputError(
                f"not UTF-8 text (byte 0x{body[exc.start]:02x} at column {col}); save the "
                "file as UTF-8", source=source, line=line, field=field,
                accepted=TEXT_ACCEPTED) from None
    return _no_nul(text, source, field)


def _no_nul(text: str, source: object, field: str | None) -> str:
    if "\x00" in text:
        line = text[: text.index("\x00")].count("\n") + 1
        raise InputError("binary data (NUL character) in a text file", source=source, line=line,
                         field=field, accepted=TEXT_ACCEPTED)
    return text


def read_text(path: str | Path, *, max_bytes: int = MAX_TABLE_BYTES, field: str | None = None,
              allow_empty: bool = False, fallback: str | None = None) -> str:
    """The decoded text of a user file (see :func:`read_input_bytes` and :func:`decode_text`)."""
    text = decode_text(read_input_bytes(path, max_bytes=max_bytes, field=field), source=path,
                       field=field, fallback=fallback)
    if not allow_empty and not text.strip():
        raise InputError("file is empty", source=path, field=field,
                         accepted="a file with content")
    return text


def iter_text_lines(fh: IO[bytes], *, source: object) -> Iterator[tuple[int, str]]:
    """``(line_number, text)`` from a binary stream, one line at a time (line end stripped).

    The streaming counterpart of :func:`decode_text` (same encodings, same refusals); a line
    longer than :data:`MAX_LINE_CHARS` is refused, so memory stays bounded.
    """
    head = fh.peek(8) if hasattr(fh, "peek") else b""
    enc, skip = _bom(head[:4])
    if enc is not None and enc != "utf-8":
        fh.read(skip)
        text_fh = io.TextIOWrapper(fh, encoding=enc, newline=None)
        n = 0
        try:
            while True:
                line = text_fh.readline(MAX_LINE_CHARS + 1)
                if not line:
                    break
                n += 1
                _check_line(line, n, source)
                yield n, line.rstrip("\r\n")
        except UnicodeDecodeError:
            raise InputError(f"not valid {enc.upper()} text", source=source, line=n + 1,
                             accepted=TEXT_ACCEPTED) from None
        finally:
            text_fh.detach()
        return
    n = 0
    while True:
        raw = fh.readline(MAX_LINE_CHARS + 1)
        if not raw:
            break
        n += 1
        if n == 1:
            refuse_binary(raw[:8192], source=source)
            if raw.startswith(codecs.BOM_UTF8):
                raw = raw[len(codecs.BOM_UTF8):]
        if b"\x00" in raw:
            raise InputError("binary data (NUL byte) in a text file", source=source, line=n,
                             accepted=TEXT_ACCEPTED)
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InputError(
                f"not UTF-8 text (byte 0x{raw[exc.start]:02x} at column {exc.start + 1}); save "
                "the file as UTF-8", source=source, line=n, accepted=TEXT_ACCEPTED) from None
        _check_line(text, n, source)
        yield n, text.rstrip("\r\n")


def _check_line(line: str, n: int, source: object) -> None:
    if len(line) > MAX_LINE_CHARS and not line.endswith("\n"):
        raise InputError(f"line longer than {MAX_LINE_CHARS} characters", source=source, line=n,
                         accepted="a text file with line breaks")


# ----------------------------------------------------------------------------------------------
# YAML and JSON
# ----------------------------------------------------------------------------------------------


class _LimitedLoader(yaml.SafeLoader):
    """PyYAML's safe loader with a nesting limit and refusal of duplicate keys."""

    source: object = None
    depth = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        self.depth += 1
        try:
            if self.depth > MAX_DEPTH:
                mark = self.peek_event().start_mark
                raise InputError(f"nested more than {MAX_DEPTH} levels deep", source=self.source,
                                 line=mark.line + 1,
                                 accepted=f"at most {MAX_DEPTH} levels of nesting")
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1

    def construct_mapping(self, node: Any, deep: bool = False) -> dict[Any, Any]:
        seen: dict[Any, int] = {}
        if isinstance(node, yaml.MappingNode):
            for key_node, _ in node.value:
                if isinstance(key_node, yaml.ScalarNode) and key_node.tag != "tag:yaml.org,2002:merge":
                    k = key_node.value
                    if k in seen:
                        raise InputError(
                            f"duplicate key (first on line {seen[k]})", source=self.source,
                            line=key_node.start_mark.line + 1, field=short(k),
                            accepted="each key once per mapping")
                    seen[k] = key_node.start_mark.line + 1
        return super().construct_mapping(node, deep=deep)


def _expanded_size(root: yaml.Node, source: object) -> int:
    """Number of values ``root`` expands to with every alias resolved (no recursion, no cycles)."""
    sizes: dict[int, int] = {}
    on_path: set[int] = set()
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, done = stack.pop()
        key = id(node)
        if done:
            on_path.discard(key)
            children = _children(node)
            total = 1 + sum(sizes[id(c)] for c in children)
            sizes[key] = total
            if total > MAX_NODES:
                raise InputError(
                    f"expands to more than {MAX_NODES:,} values once aliases are resolved "
                    "(an alias bomb?)", source=source, line=node.start_mark.line + 1,
                    accepted="YAML without exponential anchors/aliases")
            continue
        if key in sizes:
            continue
        if key in on_path:
            raise InputError("recursive alias (a value contains itself)", source=source,
                             line=node.start_mark.line + 1, accepted="YAML without cycles")
        on_path.add(key)
        stack.append((node, True))
        for c in _children(node):
            if id(c) in on_path:
                raise InputError("recursive alias (a value contains itself)", source=source,
                                 line=c.start_mark.line + 1, accepted="YAML without cycles")
            if id(c) not in sizes:
                stack.append((c, False))
    return sizes[id(root)]


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    if isinstance(node, yaml.MappingNode):
        return [x for pair in node.value for x in pair]
    return []


def _key_lines(root: yaml.Node) -> dict[str, int]:
    """Dotted path (``regimen.dose.value``, ``cargo.0.name``) -> 1-based line of its key."""
    out: dict[str, int] = {}
    stack: list[tuple[yaml.Node, str]] = [(root, "")]
    seen: set[int] = set()
    while stack:
        node, path = stack.pop()
        if id(node) in seen:  # aliases: index each node once
            continue
        seen.add(id(node))
        if isinstance(node, yaml.MappingNode):
            for k, v in node.value:
                if isinstance(k, yaml.ScalarNode):
                    p = f"{path}.{k.value}" if path else str(k.value)
                    out.setdefault(p, k.start_mark.line + 1)
                    stack.append((v, p))
        elif isinstance(node, yaml.SequenceNode):
            for i, v in enumerate(node.value):
                p = f"{path}.{i}" if path else str(i)
                out.setdefault(p, v.start_mark.line + 1)
                stack.append((v, p))
    return out


def load_yaml(text: str, *, source: object = None) -> Any:
    """One YAML document from ``text`` with the limits of this module; errors carry the line."""
    try:
        loader = _LimitedLoader(text)
    except yaml.YAMLError as exc:  # the reader refuses control characters up front
        pos = getattr(exc, "position", None)
        raise InputError(f"not valid YAML/JSON: {getattr(exc, 'reason', None) or exc}",
                         source=source,
                         line=None if pos is None else text[:pos].count("\n") + 1,
                         accepted="YAML (or JSON) text without control characters") from None
    loader.source = source
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        _expanded_size(node, source)
        if source is not None:
            register_lines(source, _key_lines(node))
        return loader.construct_document(node)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        problem = getattr(exc, "problem", None) or exc.__class__.__name__
        raise InputError(f"not valid YAML/JSON: {problem}", source=source,
                         line=None if mark is None else mark.line + 1,
                         accepted="YAML (or JSON) text") from None
    except RecursionError:
        raise InputError(f"nested more than {MAX_DEPTH} levels deep", source=source,
                         accepted=f"at most {MAX_DEPTH} levels of nesting") from None
    finally:
        loader.dispose()


def _json_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _json_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"number {short(text)} is too large (overflows to infinity)")
    return value


def _json_depth_ok(text: str, source: object) -> None:
    """Refuse JSON nested deeper than MAX_DEPTH before parsing (brackets outside strings)."""
    depth = 0
    in_str = False
    esc = False
    line = 1
    for ch in text:
        if in_str:
            if esc:
                esc = False
            elif ch == "\\":
                esc = True
            elif ch == '"':
                in_str = False
            elif ch == "\n":
                line += 1
            continue
        if ch == '"':
            in_str = True
        elif ch in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                raise InputError(f"nested more than {MAX_DEPTH} levels deep", source=source,
                                 line=line, accepted=f"at most {MAX_DEPTH} levels of nesting")
        elif ch in "]}":
            depth -= 1
        elif ch == "\n":
            line += 1


def load_json(text: str, *, source: object = None) -> Any:
    """Strict JSON: no ``NaN``/``Infinity``, no overflowing numbers, bounded nesting."""
    _json_depth_ok(text, source)
    try:
        return json.loads(text, parse_constant=_json_constant, parse_float=_json_float)
    except json.JSONDecodeError as exc:
        raise InputError(f"malformed JSON: {exc.msg} (column {exc.colno})", source=source,
                         line=exc.lineno, accepted="standard JSON") from None
    except ValueError as exc:  # our constant/float hooks, or int digits over Python's limit
        raise InputError(f"invalid JSON number: {short(str(exc), 120)}", source=source,
                         accepted="finite JSON numbers (no NaN, Infinity or 1e400)") from None
    except RecursionError:
        raise InputError(f"nested more than {MAX_DEPTH} levels deep", source=source,
                         accepted=f"at most {MAX_DEPTH} levels of nesting") from None


def read_structured(path: str | Path, *, max_bytes: int = MAX_SPEC_BYTES,
                    field: str | None = None) -> Any:
    """A YAML or JSON file (JSON when the name ends in ``.json``) with this module's limits."""
    p = Path(path)
    text = read_text(p, max_bytes=max_bytes, field=field)
    if p.suffix.lower() == ".json":
        data = load_json(text, source=p)
        if len(text) <= MiB:  # line numbers for messages: JSON is (nearly) YAML
            with contextlib.suppress(Exception):
                load_yaml(text, source=p)
        return data
    return load_yaml(text, source=p)


def read_mapping(path: str | Path, *, accepted: str | None = None,
                 max_bytes: int = MAX_SPEC_BYTES) -> dict[str, Any]:
    """A YAML (or JSON) file whose top level is a mapping.

    Raises :class:`InputError` naming the file (and line for syntax errors) when it cannot be
    read, is not valid YAML, breaks a limit of this module, or is not a mapping; ``accepted``
    describes the expected keys.
    """
    p = Path(path)
    data = read_structured(p, max_bytes=max_bytes)
    if not isinstance(data, dict):
        raise InputError("expected a mapping (key: value) at the top level", source=p,
                         value=None if data is None else type(data).__name__,
                         accepted=accepted)
    return data


# ----------------------------------------------------------------------------------------------
# delimited tables
# ----------------------------------------------------------------------------------------------


@dataclass
class TableRow:
    """One data row: its physical line number (1-based) and its cells."""

    line: int
    cells: list[str]


@dataclass
class Table:
    """A delimited text table: header (stripped), data rows with line numbers, the source."""

    header: list[str]
    rows: list[TableRow]
    source: str
    header_line: int = 1
    delimiter: str = ","
    comments: list[tuple[int, str]] = field(default_factory=list)

    def records(self, *, lower: bool = False) -> Iterator[tuple[int, dict[str, str]]]:
        """``(line, {column: cell})`` per row (missing trailing cells are ``""``)."""
        keys = [h.lower() for h in self.header] if lower else self.header
        for r in self.rows:
            cells = r.cells + [""] * (len(keys) - len(r.cells))
            yield r.line, dict(zip(keys, cells, strict=False))


def sniff_delimiter(text: str, path: str | Path | None = None) -> str:
    """Tab for ``.tsv``/``.tab``, else whichever of tab, comma, semicolon the first line uses most."""
    if path is not None and Path(path).suffix.lower() in (".tsv", ".tab"):
        return "\t"
    first = text[: text.find("\n")] if "\n" in text[:65536] else text[:65536]
    counts = {d: first.count(d) for d in (",", "\t", ";")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] > 0 else ","


def parse_table(text: str, *, source: str, delimiter: str | None = None,
                comment: str | None = "#", required: Sequence[str] = (),
                min_rows: int = 1, accepted: str | None = None,
                lower_header: bool = False) -> Table:
    """Parse delimited text with strict quoting; every failure names the line.

    Blank lines (and, with ``comment``, lines starting with it before the header or between
    rows) are skipped. ``required`` columns must be in the header; fewer than ``min_rows`` data
    rows is an error ("header only"). Rows with more cells than the header are refused.
    """
    delim = delimiter or sniff_delimiter(text, source)
    header: list[str] | None = None
    header_line = 0
    rows: list[TableRow] = []
    comments: list[tuple[int, str]] = []
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delim, strict=True)
    start = 1
    while True:
        start = reader.line_num + 1
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            msg = str(exc)
            if "field larger than field limit" in msg:
                raise InputError(f"a cell is longer than {MAX_FIELD_CHARS} characters",
                                 source=source, line=start,
                                 accepted=f"cells up to {MAX_FIELD_CHARS} characters") from None
            if "unexpected end of data" in msg or "EOF" in msg:
                raise InputError("unbalanced quote: a quoted cell is never closed",
                                 source=source, line=start,
                                 accepted='cells quoted as "..." with the closing quote') from None
            raise InputError(f"malformed delimited text ({msg})", source=source, line=start,
                             accepted=accepted or "a CSV/TSV table") from None
        if not any(c.strip() for c in cells):
            continue
        if comment and cells[0].lstrip().startswith(comment):
            comments.append((start, delim.join(cells)))
            continue
        if header is None:
            header = [c.strip().lstrip("\ufeff") for c in cells]
            if lower_header:
                header = [h.lower() for h in header]
            header = [h or f"column{j + 1}" for j, h in enumerate(header)]
            seen: dict[str, int] = {}
            for j, h in enumerate(header):
                if h in seen:
                    raise InputError(f"duplicate column name (columns {seen[h] + 1} and {j + 1})",
                                     source=source, line=start, field="header", value=h,
                                     accepted=accepted or "a header row with unique names")
                seen[h] = j
            header_line = start
            continue
        if len(cells) > len(header) and any(c.strip() for c in cells[len(header):]):
            raise InputError(f"row has {len(cells)} cells, the header has {len(header)}",
                             source=source, line=start, value=delim.join(cells),
                             accepted=accepted or "one cell per header column")
        rows.append(TableRow(start, cells[: len(header)]))
    if header is None:
        raise InputError("file is empty (no header row)", source=source,
                         accepted=accepted or "a header row and data rows")
    missing = [c for c in required if c not in header]
    if missing:
        raise InputError(f"missing column(s) {', '.join(missing)}", source=source,
                         line=header_line, field="header", value=delim.join(header),
                         accepted=accepted or ", ".join(required))
    if len(rows) < min_rows:
        what = "header only, no data rows" if not rows else f"only {len(rows)} data row(s)"
        raise InputError(what, source=source, line=header_line,
                         accepted=accepted or f"at least {min_rows} data row(s)")
    return Table(header, rows, source, header_line, delim, comments)


def read_table(path: str | Path, *, delimiter: str | None = None, comment: str | None = "#",
               required: Sequence[str] = (), min_rows: int = 1, accepted: str | None = None,
               lower_header: bool = False, max_bytes: int = MAX_TABLE_BYTES,
               field: str | None = None) -> Table:
    """Read and parse a CSV/TSV file (see :func:`read_text` and :func:`parse_table`)."""
    text = read_text(path, max_bytes=max_bytes, field=field)
    return parse_table(text, source=str(path), delimiter=delimiter, comment=comment,
                       required=required, min_rows=min_rows, accepted=accepted,
                       lower_header=lower_header)


def read_word_list(path: str | Path, *, field: str | None = None,
                   what: str = "entries") -> list[str]:
    """Whitespace-separated words of a text file (gene lists); empty is an error."""
    words = read_text(path, field=field).split()
    if not words:
        raise InputError(f"no {what} in the file", source=path, field=field,
                         accepted=f"one or more {what}, whitespace or one per line")
    return words


# ----------------------------------------------------------------------------------------------
# numbers
# ----------------------------------------------------------------------------------------------

MISSING = frozenset({"", "NA", "NR", "N/A", "NAN", "NULL", "NONE", "-"})


def parse_number(text: object, *, source: object = None, line: int | None = None,
                 field: str | None = None, integer: bool = False, lo: float | None = None,
                 hi: float | None = None, lo_open: bool = False,
                 missing: frozenset[str] | None = None) -> float | None:
    """A finite number from a cell or option; ``None`` only for an explicit missing marker.

    ``missing`` lists the spellings that mean "not reported" (e.g. :data:`MISSING`); without it
    an empty cell is an error. Words (``eighty``), booleans (``TRUE``), ``inf``, ``nan``,
    ``∞`` and numbers out of ``[lo, hi]`` are errors naming the cell. ``integer`` refuses
    fractions (``2.5``).
    """
    loc = {"source": source, "line": line, "field": field}
    if isinstance(text, bool):
        raise InputError("a true/false value where a number is expected", value=text,
                         accepted="a decimal number", **loc)  # type: ignore[arg-type]
    if isinstance(text, int | float):
        raw = str(text)
        value = float(text)
    else:
        raw = str(text).strip().replace("\u2212", "-")
        if missing is not None and raw.upper() in missing:
            return None
        if not raw:
            raise InputError("empty cell where a number is expected", accepted="a decimal number",
                             **loc)  # type: ignore[arg-type]
        try:
            value = float(raw)
        except (TypeError, ValueError):
            raise InputError("not a number", value=short(raw), accepted="a decimal number such "
                             "as 12.5" + (" (or NA for not reported)" if missing else ""),
                             **loc) from None  # type: ignore[arg-type]
    if not math.isfinite(value):
        raise InputError("not a finite number", value=short(raw),
                         accepted="a finite decimal number", **loc)  # type: ignore[arg-type]
    if integer and value != int(value):
        raise InputError("not a whole number", value=short(raw), accepted="an integer",
                         **loc)  # type: ignore[arg-type]
    if lo is not None and (value < lo or (lo_open and value == lo)):
        raise InputError("out of range", value=short(raw),
                         accepted=_range_text(lo, hi, lo_open), **loc)  # type: ignore[arg-type]
    if hi is not None and value > hi:
        raise InputError("out of range", value=short(raw), accepted=_range_text(lo, hi, lo_open),
                         **loc)  # type: ignore[arg-type]
    return value


def _range_text(lo: float | None, hi: float | None, lo_open: bool) -> str:
    if lo is not None and hi is not None:
        return f"a number {'>' if lo_open else '>='} {lo:g} and <= {hi:g}"
    if lo is not None:
        return f"a number {'>' if lo_open else '>='} {lo:g}"
    return f"a number <= {hi:g}"


def require_number(text: object, **kw: Any) -> float:
    """:func:`parse_number` for a value that must be present."""
    value = parse_number(text, **kw)
    assert value is not None
    return value


def check_option(value: float, *, field: str, lo: float | None = None, hi: float | None = None,
                 lo_open: bool = False, integer: bool = False) -> float:
    """A numeric command-line option: finite and in range (``--days 1e300`` is refused)."""
    return require_number(value, field=field, lo=lo, hi=hi, lo_open=lo_open, integer=integer)


__all__ = [
    "MAX_DEPTH",
    "MAX_FIELD_CHARS",
    "MAX_LINE_CHARS",
    "MAX_NODES",
    "MAX_SPEC_BYTES",
    "MAX_TABLE_BYTES",
    "MISSING",
    "Table",
    "TableRow",
    "check_input_path",
    "check_option",
    "decode_text",
    "iter_text_lines",
    "load_json",
    "load_yaml",
    "open_input",
    "parse_number",
    "parse_table",
    "read_input_bytes",
    "read_mapping",
    "read_structured",
    "read_table",
    "read_text",
    "read_word_list",
    "refuse_binary",
    "require_number",
    "sniff_delimiter",
]


# ----------------------------------------------------------------------------------------------
# tables as data frames
# ----------------------------------------------------------------------------------------------

#: Largest magnitude accepted for a generic measured number (beyond any measurement in this
#: domain; keeps squares and sums finite). Domain types set tighter, physical bounds.
MAX_MAGNITUDE = 1e15


def table_frame(table: Table) -> Any:
    """The table as a pandas DataFrame of strings (index: the rows' line numbers)."""
    import pandas as pd

    width = len(table.header)
    data = [r.cells + [""] * (width - len(r.cells)) for r in table.rows]
    frame = pd.DataFrame(data, columns=table.header, dtype=object)
    frame.index = pd.Index([r.line for r in table.rows], name="line")
    return frame


def numeric_column(frame: Any, column: str, *, source: object, lo: float | None = None,
                   hi: float | None = None, integer: bool = False,
                   missing: frozenset[str] = MISSING,
                   magnitude: float = MAX_MAGNITUDE) -> Any:
    """A string column of :func:`table_frame` as floats (NaN where a missing marker is).

    Vectorised; the first cell that is not a number (``eighty``, ``TRUE``, ``∞``), not finite
    (``inf``), out of ``[lo, hi]`` or ``[-magnitude, magnitude]``, or not whole when
    ``integer``, raises :class:`InputError` with its line, column and value.
    """
    import numpy as np
    import pandas as pd

    raw = frame[column].astype(str).str.strip().str.replace("\u2212", "-", regex=False)
    is_missing = raw.str.upper().isin(missing)
    num = pd.to_numeric(raw.where(~is_missing, None), errors="coerce").astype(float)
    checks: list[tuple[Any, str, str]] = [
        (num.isna() & ~is_missing, "not a number", "a decimal number, or NA / empty for not "
         "reported"),
        (~is_missing & ~np.isfinite(num.fillna(0.0)), "not a finite number",
         "a finite decimal number"),
        (~is_missing & (num.abs() > magnitude), "implausibly large number",
         f"numbers within +-{magnitude:g}"),
    ]
    if lo is not None:
        checks.append((~is_missing & (num < lo), "out of range", _range_text(lo, hi, False)))
    if hi is not None:
        checks.append((~is_missing & (num > hi), "out of range", _range_text(lo, hi, False)))
    if integer:
        checks.append((~is_missing & num.notna() & (num != np.floor(num.fillna(0.0))),
                       "not a whole number", "an integer"))
    for mask, message, accepted in checks:
        if bool(mask.any()):
            line = mask.idxmax()
            raise InputError(message, source=source, line=int(line), field=column,
                             value=raw.loc[line], accepted=accepted)
    return num


# ----------------------------------------------------------------------------------------------
# outputs: checked before anything is computed or written
# ----------------------------------------------------------------------------------------------

FIGURE_SUFFIXES = (".png", ".svg", ".pdf")


def check_output(path: str | Path, *, field: str, suffixes: Sequence[str] | None = None) -> Path:
    """An output file the command will write: checked *before* any work or any other write.

    Refuses an unsupported suffix, a path that is a directory, a folder that does not exist
    (nothing is created behind the user's back) or cannot be written, so that a command never
    fails half-way with some of its outputs already written.
    """
    p = Path(path)
    if suffixes is not None and p.suffix.lower() not in suffixes:
        raise InputError("unsupported file type", field=field, value=str(p),
                         accepted=", ".join(suffixes))
    if p.is_dir():
        raise InputError("is a directory; give a file name", field=field, value=str(p),
                         accepted=f"a file path{' ending in ' + '/'.join(suffixes) if suffixes else ''}")
    parent = p.parent if str(p.parent) else Path(".")
    if not parent.exists():
        raise InputError("the output folder does not exist", field=field, value=str(p),
                         accepted="a path in an existing folder",
                         hint=f"create it first: mkdir -p {parent}")
    if not parent.is_dir():
        raise InputError("the output folder is not a folder", field=field, value=str(parent))
    if not os.access(parent, os.W_OK):
        raise InputError("the output folder is not writable", field=field, value=str(parent))
    return p


def check_output_dir(path: str | Path, *, field: str) -> Path:
    """An output folder (created later if missing): refuses a path that is an existing file."""
    p = Path(path)
    if p.exists() and not p.is_dir():
        raise InputError("is a file, not a folder", field=field, value=str(p),
                         accepted="a folder path (created if missing)")
    anc = p
    while not anc.exists():
        anc = anc.parent
    if not anc.is_dir() or not os.access(anc, os.W_OK):
        raise InputError("cannot create the output folder here", field=field, value=str(p))
    return p
