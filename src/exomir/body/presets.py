"""Example therapy specs shipped with the package: the simulator's presets.

The files live in ``exomir/body/examples/`` (package data, so a non-editable ``pip install``
has them; the repository's ``examples/*.yaml`` are links to them, so the README's commands
keep their paths). ``example_specs()`` -> {name: mapping} is what the web app's simulate form
offers as presets; ``example_path(name)`` gives a file for ``load_spec``/``exomir simulate``.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

import yaml

from exomir.core.errors import InputError


def _files() -> dict[str, Traversable]:
    root = resources.files("exomir.body") / "examples"
    return {e.name.rsplit(".", 1)[0]: e for e in sorted(root.iterdir(), key=lambda e: e.name)
            if e.is_file() and e.name.endswith((".yaml", ".yml"))}


def example_names() -> list[str]:
    """Names of the shipped example specs (file stems), sorted."""
    return list(_files())


def example_text(name: str) -> str:
    """The YAML text of one example spec; an InputError naming the accepted names."""
    files = _files()
    if name not in files:
        raise InputError("no such example spec", field="example", value=name,
                         accepted=", ".join(files))
    return files[name].read_text(encoding="utf-8")


def example_specs() -> dict[str, dict[str, Any]]:
    """Every shipped example spec, parsed (name -> mapping), in name order."""
    return {name: dict(yaml.safe_load(example_text(name))) for name in _files()}


def example_path(name: str) -> AbstractContextManager[Path]:
    """A context manager giving a real file path for the example (for ``load_spec``)."""
    example_text(name)  # the error for an unknown name
    return resources.as_file(_files()[name])
