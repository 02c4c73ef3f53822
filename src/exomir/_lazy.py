"""Package attributes loaded from their module on first use (PEP 562), for package
``__init__`` files whose names would otherwise import heavy libraries at start-up."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping, MutableMapping, Sequence
from typing import Any


def attach(namespace: MutableMapping[str, Any], table: Mapping[str, str],
           names: Sequence[str]) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``(__getattr__, __dir__)`` for a package whose ``globals()`` is ``namespace``: a name in
    ``table`` (name -> module) is imported from its module on first access and kept in the
    namespace; ``__dir__`` lists ``names`` (the package's ``__all__``)."""
    package = namespace["__name__"]

    def getattr_(name: str) -> Any:
        module = table.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        namespace[name] = value
        return value

    def dir_() -> list[str]:
        return sorted(names)

    return getattr_, dir_
