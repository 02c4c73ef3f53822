"""Run one pure step of the design pipeline in a forked child process, beside the parent.

The design's global sensitivity (tens of thousands of simulated subjects) reads only the arms'
models and the ranking and writes only its own result, while the later sections (figures,
dose-response, validation) are Python-bound and hold the GIL: a thread would not overlap them,
a forked child does, on the second core. The child starts from a copy of the parent's memory
(imports, compiled kernel, models), so nothing is rebuilt and the numbers are the same: the
step computes exactly what it computes in the parent.

Warnings the step emits are recorded in the child and handed back, so that the caller can put
them where a serial run would have recorded them. If the child fails in any way (an exception,
a result that does not pickle, a crash), the step runs again here, serially: its exception, if
any, is raised in the caller as in a serial run.

Only on platforms with ``os.fork`` and more than one CPU; elsewhere the step runs serially
when it is awaited.
"""

from __future__ import annotations

import os
import pickle
import sys
import warnings
from collections.abc import Callable
from typing import Any, Generic, TypeVar

T = TypeVar("T")
Recorded = list[tuple[str, type[Warning]]]  # (message, category) in emission order


def _recorded(fn: Callable[..., T], args: tuple[Any, ...]) -> tuple[T, Recorded]:
    with warnings.catch_warnings(record=True) as got:
        warnings.simplefilter("always", UserWarning)
        out = fn(*args)
    return out, [(str(w.message), w.category) for w in got]


class Beside(Generic[T]):
    """``fn(*args)`` started now (in a child where possible); :meth:`result` waits for it and
    returns (value, warnings recorded while it ran)."""

    def __init__(self, fn: Callable[..., T], *args: Any) -> None:
        self._fn, self._args = fn, args
        self._pid: int | None = None
        self._fd: int | None = None
        if not hasattr(os, "fork") or (os.cpu_count() or 1) < 2:
            return
        sys.stdout.flush()  # nothing buffered is written twice
        sys.stderr.flush()
        r, w = os.pipe()
        try:
            pid = os.fork()
        except OSError:
            os.close(r)
            os.close(w)
            return
        if pid == 0:  # pragma: no cover - the child (coverage does not follow forks)
            os.close(r)
            try:
                payload = pickle.dumps((True, *_recorded(fn, args)),
                                       protocol=pickle.HIGHEST_PROTOCOL)
            except BaseException:  # the parent reruns the step and raises it there
                payload = pickle.dumps((False, None, []))
            try:
                with os.fdopen(w, "wb") as f:
                    f.write(payload)
            finally:
                os._exit(0)  # no atexit handlers, no second flush of inherited buffers
        os.close(w)
        self._pid, self._fd = pid, r

    def discard(self) -> None:
        """Wait for the child and drop its result (the caller failed meanwhile)."""
        if self._fd is not None and self._pid is not None:
            os.close(self._fd)  # a child still writing gets EPIPE and exits
            os.waitpid(self._pid, 0)
            self._fd = self._pid = None

    def result(self) -> tuple[T, Recorded]:
        if self._fd is not None and self._pid is not None:
            fd, pid = self._fd, self._pid
            self._fd = self._pid = None
            with os.fdopen(fd, "rb") as f:
                data = f.read()
            os.waitpid(pid, 0)
            try:
                ok, value, rec = pickle.loads(data)
            except Exception:
                ok = False
            if ok:
                return value, rec
        return _recorded(self._fn, self._args)
