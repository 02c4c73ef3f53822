"""Errors that reach the user.

Every bad-input error names where (file and line), what (field and value) and the fix
(what is accepted, and optionally a hint). The CLI turns :class:`InputError` into one line
(plus the hint line) and exit code 2; the web app into an HTTP 4xx.
"""

from __future__ import annotations

import reprlib
from collections import OrderedDict
from collections.abc import Iterable

#: Longest value shown in a message; longest message (characters) before it is cut.
VALUE_CHARS = 80
MESSAGE_CHARS = 600

_repr = reprlib.Repr()
_repr.maxlevel = 3
_repr.maxlist = _repr.maxtuple = _repr.maxset = _repr.maxdict = 6
_repr.maxstring = VALUE_CHARS
_repr.maxother = VALUE_CHARS
_repr.maxlong = 40


def short(value: object, limit: int = VALUE_CHARS) -> str:
    """A bounded text form of ``value``: never builds the full string of a huge value.

    Strings are cut before anything else is done with them; containers are rendered by
    :mod:`reprlib` (a few items per level, three levels), so a nested alias bomb or a list of
    a million numbers costs a few hundred characters.
    """
    if isinstance(value, str):
        text = value if len(value) <= limit else value[: limit - 3] + "..."
    elif isinstance(value, int | float | bool) or value is None or isinstance(value, list | tuple | set | frozenset | dict):
        text = _repr.repr(value)
    else:
        try:
            text = str(value)[: limit + 1]
        except Exception:  # a value whose __str__ fails must not hide the real error
            text = f"<{type(value).__name__}>"
    return text if len(text) <= limit else text[: limit - 3] + "..."


# Line numbers of the keys of recently read YAML/JSON files (source -> dotted field -> line),
# filled by exomir.core.files, so that an InputError naming a file and a field (typically a
# pydantic validation error, which knows the field but not the line) also names the line.
_LINES: OrderedDict[str, dict[str, int]] = OrderedDict()
_LINES_KEPT = 16


def register_lines(source: object, lines: dict[str, int]) -> None:
    """Remember the line of each dotted field path of a structured file just read."""
    key = str(source)
    _LINES[key] = lines
    _LINES.move_to_end(key)
    while len(_LINES) > _LINES_KEPT:
        _LINES.popitem(last=False)


def line_of(source: object, field: str | None) -> int | None:
    """The line of ``field`` (or of its nearest enclosing key) in a file read recently."""
    if source is None or not field:
        return None
    lines = _LINES.get(str(source))
    if not lines:
        return None
    parts = field.replace("[", ".").replace("]", "").split(".")
    while parts:
        hit = lines.get(".".join(parts))
        if hit is not None:
            return hit
        parts.pop()
    return None


class ExomirError(Exception):
    """Base class for errors exomir reports to the user without a traceback."""

    exit_code: int = 1
    hint: str | None = None

    def one_line(self) -> str:
        text = " ".join(str(self).split())
        return text if len(text) <= MESSAGE_CHARS else text[: MESSAGE_CHARS - 3] + "..."


class InputError(ExomirError, ValueError):
    """Bad user input: names the file, line, field, the bad value and what is accepted."""

    exit_code = 2

    def __init__(
        self,
        message: str,
        *,
        source: object = None,
        line: int | None = None,
        field: str | None = None,
        value: object = None,
        accepted: str | Iterable[str] | None = None,
        hint: str | None = None,
        column: int | None = None,
    ) -> None:
        self.message = short(message, MESSAGE_CHARS)
        self.source = short(str(source), 300) if source is not None else None
        self.line = line if line is not None else line_of(source, field)
        self.column = column
        self.field = short(field, VALUE_CHARS) if field is not None else None
        # Keep only a bounded rendering of the value: the original may be huge.
        self.value = None if value is None else short(value)
        if accepted is not None and not isinstance(accepted, str):
            accepted = ", ".join(short(a) for a in accepted)
        self.accepted = short(accepted, 300) if accepted is not None else None
        self.hint = hint
        super().__init__(self.one_line())

    def one_line(self) -> str:
        """``file:line: field 'x': value 'v': message; accepted: ...`` on one line."""
        where = ""
        if self.source is not None:
            where = self.source + (f":{self.line}" if self.line is not None else "")
            where += f":{self.column}" if self.column is not None and self.line is not None \
                else ""
            where += ": "
        elif self.line is not None:
            where = f"line {self.line}: "
        what = f"field '{self.field}': " if self.field else ""
        val = f"value {self.value!r}: " if self.value is not None else ""
        acc = f"; accepted: {self.accepted}" if self.accepted else ""
        text = " ".join(f"{where}{what}{val}{self.message}{acc}".split())
        return text if len(text) <= MESSAGE_CHARS else text[: MESSAGE_CHARS - 3] + "..."

    def with_source(self, source: object) -> InputError:
        """A copy naming ``source`` as the file (e.g. an upload's name, not its temp path)."""
        err = self.located()
        err.source = short(str(source), 300)
        err.args = (err.one_line(),)
        return err

    def located(self, source: object = None, line: int | None = None) -> InputError:
        """Return a copy with file/line filled in where they were missing."""
        return InputError(
            self.message,
            source=self.source or (str(source) if source is not None else None),
            line=self.line if self.line is not None else line,
            field=self.field,
            value=self.value,
            accepted=self.accepted,
            hint=self.hint,
            column=self.column,
        )


def from_validation(exc: Exception, *, source: object = None, line: int | None = None,
                    prefix: str = "") -> InputError:
    """The first problem of a pydantic ``ValidationError`` as one :class:`InputError`
    (field path, bounded value, message without pydantic's boilerplate)."""
    errors = getattr(exc, "errors", None)
    if not callable(errors):
        return InputError(short(str(exc), 200), source=source, line=line)
    errs = errors()
    if not errs:
        return InputError("invalid value", source=source, line=line)
    err = errs[0]
    loc = ".".join(str(p) for p in err.get("loc", ()))
    field = f"{prefix}.{loc}" if prefix and loc else (prefix or loc or None)
    value = err.get("input") if err.get("type") != "missing" else None
    msg = str(err.get("msg", "invalid value")).removeprefix("Value error, ")
    return InputError(msg, source=source, line=line, field=field,
                      value=None if isinstance(value, dict | list) else value)

