"""Low-level streaming input: compressed-file detection, line decoding and error locations.

Every reader in :mod:`exomir.formats` reads its file through :func:`read_lines`, which yields
``(line_number, text)`` one line at a time, so memory never holds more than one line of the
file (and a line is at most :data:`exomir.core.files.MAX_LINE_CHARS`). Gzip and single-member
zip archives are detected by their magic bytes (not by the file name); decoding, BOMs and the
refusal of binary data are those of the one input layer (:func:`exomir.core.files.iter_text_lines`),
and every low-level failure (undecodable bytes, NUL bytes, a truncated gzip stream, a missing
file, a directory) becomes an :class:`~exomir.core.InputError` naming the file and line.
"""

from __future__ import annotations

import gzip
import io
import zipfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, cast

from exomir.core.errors import InputError
from exomir.core.files import iter_text_lines, open_input

GZIP_MAGIC = b"\x1f\x8b"
ZIP_MAGIC = b"PK\x03\x04"
#: Zip members that archivers add and that are never the data file.
_ZIP_JUNK = ("__MACOSX/", ".DS_Store")


@dataclass
class ReadStats:
    """Counts of what a reader saw, for import reports: pass one in as ``stats=``.

    ``rows`` counts data records read (headers and comments excluded), ``kept`` the records
    yielded, and ``skipped`` maps a reason (e.g. ``"non-human miRNA"``) to how many records
    were filtered out for it.
    """

    rows: int = 0
    kept: int = 0
    skipped: dict[str, int] = field(default_factory=dict)

    def skip(self, reason: str) -> None:
        self.skipped[reason] = self.skipped.get(reason, 0) + 1


def _zip_member(zf: zipfile.ZipFile, path: Path) -> str:
    names = [
        n for n in zf.namelist()
        if not n.endswith("/") and not any(j in n for j in _ZIP_JUNK)
    ]
    if len(names) != 1:
        raise InputError(
            "zip archive must contain exactly one data file",
            source=path,
            value=", ".join(names) if names else "(empty archive)",
            accepted="a .zip with one member, a .gz or a plain text file",
        )
    return names[0]


@contextmanager
def open_binary(path: str | Path) -> Iterator[IO[bytes]]:
    """Open ``path`` for binary reading, transparently decompressing gzip and zip."""
    p = Path(path)
    raw = open_input(p)
    try:
        magic = raw.read(4)
        raw.seek(0)
        if magic.startswith(GZIP_MAGIC):
            with gzip.GzipFile(fileobj=raw, mode="rb") as gz:
                yield cast(IO[bytes], gz)
        elif magic == ZIP_MAGIC:
            try:
                zf = zipfile.ZipFile(raw)
            except (zipfile.BadZipFile, OSError, EOFError, ValueError) as exc:
                raise InputError(f"corrupt zip archive ({exc})", source=p) from None
            with zf:
                member = _zip_member(zf, p)
                with zf.open(member) as fh:
                    yield fh
        else:
            yield raw
    finally:
        raw.close()


def read_lines(path: str | Path) -> Iterator[tuple[int, str]]:
    """Yield ``(line_number, line)`` (1-based, line end stripped) from a text file.

    Raises :class:`InputError` for a missing or empty file, a directory, binary content (NUL
    bytes or bytes that are not UTF-8), an endless line, and truncated or corrupt gzip/zip
    data, naming the file and line. A byte-order mark (UTF-8, UTF-16) is handled.
    """
    p = Path(path)
    n = 0
    with open_binary(p) as fh:
        buffered = fh if hasattr(fh, "peek") else io.BufferedReader(fh)  # type: ignore[type-var]
        try:
            for n, text in iter_text_lines(buffered, source=p):
                yield n, text
        except (EOFError, zlib.error, gzip.BadGzipFile, zipfile.BadZipFile) as exc:
            raise InputError(
                f"compressed data is truncated or corrupt ({exc})", source=p, line=n + 1
            ) from None
        except OSError as exc:  # e.g. CRC errors from zip members
            raise InputError(f"cannot read file ({exc})", source=p, line=n + 1) from None
    if n == 0:
        raise InputError("file is empty", source=p, accepted="a non-empty text file")


def check_unique(seen: dict[str, int], key: str, *, path: Path, line: int, field: str) -> None:
    """Record ``key`` as seen at ``line``; raise InputError if it was seen before."""
    first = seen.get(key)
    if first is not None:
        raise InputError(
            f"duplicate {field} (first seen on line {first})",
            source=path, line=line, field=field, value=key, accepted="unique values",
        )
    seen[key] = line
