"""Where chunks of samples run: this machine (all cores) or a Dask distributed cluster.

Both engines take the same list of chunks (fixed-size slices of the sample matrix, cut by
:func:`chunks`) and return the outputs in chunk order, so results never depend on the engine:

* :class:`LocalEngine` (default): chunk after chunk in this process; the body simulator's
  compiled kernel runs each chunk's subjects on all CPU threads.
* :class:`DaskEngine`: one task per chunk on a ``distributed`` cluster
  (``tcp://HOST:PORT`` or ``EXOMIR_DASK_SCHEDULER``); the evaluator (model built once, here) is
  shipped with each task, the compiled kernel is warmed once per worker (``Client.run``, and
  lazily on workers that join later: each process caches it), each task uses one thread
  (a worker runs as many tasks at once as it has threads), results are gathered in order.
  A task whose worker dies is rescheduled by the scheduler on another worker (up to
  ``distributed.scheduler.allowed-failures``, 3 by default); its result is the same because a
  chunk's outputs depend only on its rows.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from typing import Any, Protocol

import numpy as np

from exomir.core import InputError
from exomir.sensitivity.evaluate import Evaluator

ENV_SCHEDULER = "EXOMIR_DASK_SCHEDULER"
DEFAULT_CHUNK = 256
Progress = Callable[[int, int], None]  # (rows done, rows total)


def chunks(X: np.ndarray, size: int = DEFAULT_CHUNK) -> list[np.ndarray]:
    """Consecutive slices of ``size`` rows (the last one shorter)."""
    if size < 1:
        raise InputError("must be >= 1", field="--chunk-size", value=size)
    return [X[a:a + size] for a in range(0, len(X), size)]


class Engine(Protocol):
    name: str

    def map(self, evaluator: Evaluator, parts: Sequence[np.ndarray],
            progress: Progress | None = None) -> list[np.ndarray]: ...

    def describe(self) -> str: ...

    def close(self) -> None: ...


class LocalEngine:
    """Chunks in this process; ``threads`` per chunk (default: all CPUs)."""

    name = "local"

    def __init__(self, threads: int | None = None) -> None:
        self.threads = threads
        self.warm_s = 0.0

    def map(self, evaluator: Evaluator, parts: Sequence[np.ndarray],
            progress: Progress | None = None) -> list[np.ndarray]:
        t0 = time.perf_counter()
        evaluator.warm()
        self.warm_s = time.perf_counter() - t0
        total = sum(len(p) for p in parts)
        out, done = [], 0
        for p in parts:
            out.append(evaluator.evaluate(p, threads=self.threads))
            done += len(p)
            if progress is not None:
                progress(done, total)
        return out

    def describe(self) -> str:
        return f"local, {self.threads or os.cpu_count()} threads"

    def close(self) -> None:
        return None


def _warm(evaluator: Evaluator) -> float:
    t0 = time.perf_counter()
    evaluator.warm()
    return time.perf_counter() - t0


def _evaluate_chunk(evaluator: Evaluator, X: np.ndarray) -> np.ndarray:
    return evaluator.evaluate(X, threads=1)


class DaskEngine:
    """Chunks as tasks on a Dask distributed cluster.

    ``address``: a scheduler address (``tcp://HOST:PORT``), or an existing
    ``distributed.Client`` (then it is not closed here)."""

    name = "dask"

    def __init__(self, address: Any) -> None:
        try:
            import distributed
        except ImportError:  # pragma: no cover - a dependency
            raise InputError("the Dask engine needs the 'distributed' package",
                             field="--scheduler", accepted="pip install distributed") from None
        self._own = not isinstance(address, distributed.Client)
        if self._own:
            try:
                self.client = distributed.Client(address, timeout="10s")
            except (OSError, TimeoutError, ValueError) as exc:
                raise InputError(f"cannot reach the Dask scheduler ({exc})",
                                 field="--scheduler", value=str(address),
                                 accepted="tcp://HOST:PORT of a running `dask scheduler` "
                                          "with workers (docs/sensitivity.md)") from None
        else:
            self.client = address
        self.address = str(getattr(self.client.scheduler, "address", address))
        self.warm_s: dict[str, float] = {}
        self.task_s: list[float] = []

    def workers(self) -> dict[str, int]:
        info = self.client.scheduler_info(n_workers=-1)["workers"]
        return {addr: int(w.get("nthreads", 1)) for addr, w in info.items()}

    def map(self, evaluator: Evaluator, parts: Sequence[np.ndarray],
            progress: Progress | None = None) -> list[np.ndarray]:
        from distributed import as_completed

        if not self.workers():
            self.client.wait_for_workers(1, timeout=60)
        self.warm_s = self.client.run(_warm, evaluator)
        token = evaluator.token()
        futures = [self.client.submit(_evaluate_chunk, evaluator, p, pure=False,
                                      key=f"exomir-sensitivity-{token}-{i:06d}")
                   for i, p in enumerate(parts)]
        sizes = {f.key: len(p) for f, p in zip(futures, parts, strict=True)}
        total = sum(sizes.values())
        done = 0
        try:
            for fut in as_completed(futures):
                done += sizes[fut.key]
                if progress is not None:
                    progress(done, total)
            out: list[np.ndarray] = self.client.gather(futures)
        finally:
            for f in futures:
                f.release()
        return out

    def describe(self) -> str:
        w = self.workers()
        return f"dask {self.address}, {len(w)} workers, {sum(w.values())} threads"

    def close(self) -> None:
        if self._own:
            self.client.close()


def get_engine(scheduler: Any = None, threads: int | None = None) -> Engine:
    """``scheduler`` (or ``$EXOMIR_DASK_SCHEDULER``): a Dask address or Client -> DaskEngine;
    None, "" or "local" -> LocalEngine."""
    if scheduler is None:
        scheduler = os.environ.get(ENV_SCHEDULER) or None
    if scheduler is None or scheduler in ("", "local"):
        return LocalEngine(threads)
    if isinstance(scheduler, str) and "://" not in scheduler:
        raise InputError("not a scheduler address", field="--scheduler", value=scheduler,
                         accepted="tcp://HOST:PORT (or 'local')")
    return DaskEngine(scheduler)


def run_chunks(engine: Engine, evaluator: Evaluator, X: np.ndarray,
               chunk_size: int = DEFAULT_CHUNK, progress: Progress | None = None
               ) -> np.ndarray:
    """Evaluate every row of X on the engine; (n, n_outputs) in row order."""
    parts = chunks(X, chunk_size)
    if not parts:
        return np.empty((0, len(evaluator.columns)))
    return np.vstack(engine.map(evaluator, parts, progress))
