"""Uploaded files: read into the app's data folder under a name the server chooses, parsed by
the CLI's own reader, then deleted. A request's file name is only ever shown, never used as a
path."""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import TypeVar

from fastapi import UploadFile

from exomir.core.errors import InputError
from exomir.web.errors import WebError

T = TypeVar("T")


def shown_name(filename: str | None, default: str = "upload") -> str:
    """A file name fit to show in messages (no folders, no control characters)."""
    base = re.split(r"[\\/]", filename or "")[-1]
    base = re.sub(r"[^\w.\- ()+]", "_", base)[:120]
    return base or default


def read_upload(upload: UploadFile | None, limit: int, *, field: str = "file",
                required: bool = True) -> tuple[bytes, str] | None:
    if upload is None or (not upload.filename and upload.size in (0, None)):
        if required:
            raise WebError(400, "a file is required", field=field, accepted="a file upload")
        return None
    data = upload.file.read(limit + 1)
    if len(data) > limit:
        raise WebError(413, "upload too large", field=field, accepted=f"at most {limit} bytes")
    return data, shown_name(upload.filename)


@contextmanager
def as_file(tmp_dir: Path, data: bytes, name: str, suffixes: Sequence[str],
            default_suffix: str) -> Iterator[Path]:
    """``data`` written to ``tmp_dir/<random><suffix>`` (suffix from the shown name when it is
    one of ``suffixes``), removed afterwards."""
    suffix = next((s for s in suffixes if name.lower().endswith(s)), default_suffix)
    tmp_dir.mkdir(parents=True, exist_ok=True)
    path = tmp_dir / f"{uuid.uuid4().hex}{suffix}"
    path.write_bytes(data)
    try:
        yield path
    finally:
        with suppress(OSError):
            os.remove(path)


def parse_upload(tmp_dir: Path, data: bytes, name: str, reader: Callable[[Path], T],
                 suffixes: Sequence[str] = (".csv",), default_suffix: str = ".csv") -> T:
    """Run the CLI's reader on the upload; errors name the uploaded file, not the temp path."""
    with as_file(tmp_dir, data, name, suffixes, default_suffix) as path:
        try:
            return reader(path)
        except InputError as exc:
            src = exc.source.replace(str(path), name) if exc.source else name
            raise InputError(exc.message.replace(str(path), name), source=src,
                             line=exc.line, field=exc.field, value=exc.value,
                             accepted=exc.accepted) from None
        except UnicodeDecodeError:
            raise InputError("file is not UTF-8 text", source=name,
                             accepted="a UTF-8 text file") from None
