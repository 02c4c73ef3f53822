"""Shared fixtures of the sensitivity tests: the bundled examples' models, built once."""

from __future__ import annotations

import os
import signal
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

from exomir.body import build_model, load_spec

ROOT = Path(__file__).resolve().parents[2]
WOUND = ROOT / "examples" / "diabetic_wound_hydrogel.yaml"
PAIN = ROOT / "examples" / "neuropathic_pain_intrathecal.yaml"


@cache
def model(path: Path = WOUND) -> Any:
    return build_model(load_spec(path))


@dataclass
class KillOnce:
    """An evaluator that SIGKILLs its own worker process the first time it evaluates a chunk
    after ``after`` chunks have been done anywhere (a marker directory counts them), so a
    worker dies in the middle of a run exactly once."""

    inner: Any
    marker: str
    after: int = 2

    @property
    def names(self) -> list[str]:
        return list(self.inner.names)

    @property
    def columns(self) -> list[Any]:
        return list(self.inner.columns)

    def evaluate(self, X: np.ndarray, threads: int | None = None) -> np.ndarray:
        done = Path(self.marker)
        done.mkdir(exist_ok=True)
        n = len(list(done.glob("chunk-*")))
        if n >= self.after:
            try:
                fd = os.open(done / "killed", os.O_CREAT | os.O_EXCL)
            except FileExistsError:
                pass
            else:
                os.close(fd)
                os.kill(os.getpid(), signal.SIGKILL)
        out = self.inner.evaluate(X, threads)
        (done / f"chunk-{os.getpid()}-{n}-{X[0, 0]!r}").touch()
        return np.asarray(out)

    def warm(self) -> None:
        self.inner.warm()

    def token(self) -> str:
        return str(self.inner.token())
