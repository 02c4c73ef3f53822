"""Errors that reach the user.

Every bad-input error names where (file and line), what (field and value) and the fix
(what is accepted). The CLI turns :class:`InputError` into a one-line message and exit code 2.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path


class ExomirError(Exception):
    """Base class for errors exomir reports to the user without a traceback."""

    exit_code: int = 1


class InputError(ExomirError, ValueError):
    """Bad user input: names the file, line, field, the bad value and what is accepted."""

    exit_code = 2

    def __init__(
        self,
        message: str,
        *,
        source: str | Path | None = None,
        line: int | None = None,
        field: str | None = None,
        value: object = None,
        accepted: str | Iterable[str] | None = None,
    ) -> None:
        self.message = message
        self.source = str(source) if source is not None else None
        self.line = line
        self.field = field
        self.value = value
        if accepted is not None and not isinstance(accepted, str):
            accepted = ", ".join(str(a) for a in accepted)
        self.accepted = accepted
        super().__init__(self.one_line())

    def one_line(self) -> str:
        """``file:line: field 'x': bad value 'v': message; accepted: ...`` on one line."""
        where = ""
        if self.source is not None:
            where = self.source + (f":{self.line}" if self.line is not None else "") + ": "
        elif self.line is not None:
            where = f"line {self.line}: "
        what = f"field '{self.field}': " if self.field else ""
        val = ""
        if self.value is not None:
            shown = str(self.value)
            if len(shown) > 80:
                shown = shown[:77] + "..."
            val = f"value {shown!r}: "
        acc = f"; accepted: {self.accepted}" if self.accepted else ""
        text = f"{where}{what}{val}{self.message}{acc}"
        return " ".join(text.split())

    def located(self, source: str | Path | None = None, line: int | None = None) -> InputError:
        """Return a copy with file/line filled in where they were missing."""
        return InputError(
            self.message,
            source=self.source or (str(source) if source is not None else None),
            line=self.line if self.line is not None else line,
            field=self.field,
            value=self.value,
            accepted=self.accepted,
        )
