"""Reading the small YAML/JSON files users hand to exomir (specs, records, batch files)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from exomir.core.errors import InputError


def read_mapping(path: str | Path, *, accepted: str | None = None) -> dict[str, Any]:
    """A YAML (or JSON, a subset of YAML) file whose top level is a mapping.

    Raises :class:`InputError` naming the file (and line for syntax errors) when it cannot be
    read, is not valid YAML, or is not a mapping; ``accepted`` describes the expected keys.
    """
    p = Path(path)
    try:
        data = yaml.safe_load(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError("file not found", source=p, accepted="an existing file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read file ({exc})", source=p) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or exc.__class__.__name__
        raise InputError(f"not valid YAML/JSON: {problem}", source=p,
                         line=None if mark is None else mark.line + 1) from None
    if not isinstance(data, dict):
        raise InputError("expected a mapping (key: value) at the top level", source=p,
                         accepted=accepted)
    return data
