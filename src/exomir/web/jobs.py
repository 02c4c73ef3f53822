"""Long runs (designs, simulations) on a bounded background queue.

``JobQueue(workers, capacity)``: at most ``workers`` jobs run at once and at most
``capacity`` wait; a submission beyond that raises :class:`QueueFull` (HTTP 503). Each job has
an id, a status (queued, running, done, failed, cancelled, interrupted), a progress fraction
and message, its spec, and a folder under the app's data folder holding ``job.json`` and its
results (``report/report.html`` for designs, ``timecourse.json`` for simulations), so past runs
survive a restart. Cancelling sets a flag the run's progress callback checks
(``body.simulate(..., progress=...)``); a design runs in a child process that is terminated.
"""

from __future__ import annotations

import json
import multiprocessing as mp
import os
import queue
import threading
import time
import traceback
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from exomir.core.errors import ExomirError, InputError

ACTIVE = ("queued", "running")
FINISHED = ("done", "failed", "cancelled", "interrupted")
JOB_ID = r"^[0-9a-f]{32}$"


class QueueFull(Exception):
    """No room: the queue holds its maximum of waiting jobs."""


class Cancelled(Exception):
    """Raised inside a run when its job was cancelled."""


@dataclass
class Job:
    id: str
    kind: str
    spec: dict[str, Any]
    params: dict[str, Any]
    dir: Path
    status: str = "queued"
    created: float = field(default_factory=time.time)
    started: float | None = None
    finished: float | None = None
    progress: float = 0.0
    message: str = "queued"
    error: dict[str, Any] | None = None
    result: dict[str, Any] | None = None
    cancel_event: threading.Event = field(default_factory=threading.Event, repr=False)
    version: int = 0  # bumped on every change (SSE sends a new event per version)

    def public(self) -> dict[str, Any]:
        return {"id": self.id, "kind": self.kind, "status": self.status,
                "created": self.created, "started": self.started, "finished": self.finished,
                "progress": round(self.progress, 4), "message": self.message,
                "error": self.error, "result": self.result, "spec": self.spec,
                "params": self.params}

    def save(self) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        tmp = self.dir / "job.json.tmp"
        tmp.write_text(json.dumps(self.public(), default=str), encoding="utf-8")
        os.replace(tmp, self.dir / "job.json")

    def check(self) -> None:
        if self.cancel_event.is_set():
            raise Cancelled()


Runner = Callable[[Job, Callable[[float, str | None], None]], dict[str, Any]]


class JobQueue:
    """Bounded worker pool; ``runners`` maps a job kind to ``run(job, report)``."""

    def __init__(self, root: Path, runners: dict[str, Runner], *, workers: int = 2,
                 capacity: int = 8) -> None:
        self.root = root
        self.runners = runners
        self.workers = max(1, workers)
        self.capacity = max(0, capacity)
        self._jobs: dict[str, Job] = {}
        self._lock = threading.Lock()
        self._queue: queue.Queue[str | None] = queue.Queue()
        self._waiting = 0
        self.running = 0
        self.peak_running = 0
        self.peak_active = 0  # most jobs running + waiting at once (never above the limits)
        self._threads: list[threading.Thread] = []
        self._stopped = False
        self._load_past()
        for i in range(self.workers):
            t = threading.Thread(target=self._work, name=f"exomir-job-{i}", daemon=True)
            t.start()
            self._threads.append(t)

    # ------------------------------------------------------------------ state
    def _load_past(self) -> None:
        if not self.root.is_dir():
            return
        for p in sorted(self.root.glob("*/job.json")):
            try:
                d = json.loads(p.read_text(encoding="utf-8"))
                job = Job(id=d["id"], kind=d["kind"], spec=d["spec"], params=d["params"],
                          dir=p.parent, status=d["status"], created=d["created"],
                          started=d.get("started"), finished=d.get("finished"),
                          progress=d.get("progress", 0.0), message=d.get("message", ""),
                          error=d.get("error"), result=d.get("result"))
            except (OSError, ValueError, KeyError):
                continue
            if job.status in ACTIVE:
                job.status, job.message = "interrupted", "the server stopped during this run"
                job.save()
            self._jobs[job.id] = job

    def submit(self, kind: str, spec: dict[str, Any], params: dict[str, Any]) -> Job:
        if kind not in self.runners:
            raise InputError("unknown job kind", field="kind", value=kind,
                             accepted=list(self.runners))
        with self._lock:
            if self._stopped:
                raise QueueFull("the server is shutting down")
            if self.running + self._waiting >= self.workers + self.capacity:
                raise QueueFull(f"{self.running} jobs running and {self._waiting} waiting "
                                f"(at most {self.workers} running and {self.capacity} "
                                "waiting); try again when one has finished")
            jid = uuid.uuid4().hex
            job = Job(id=jid, kind=kind, spec=spec, params=params, dir=self.root / jid)
            self._jobs[jid] = job
            self._waiting += 1
            self.peak_active = max(self.peak_active, self.running + self._waiting)
            job.save()
        self._queue.put(jid)
        return job

    def get(self, job_id: str) -> Job | None:
        return self._jobs.get(job_id)

    def list(self) -> list[Job]:
        return sorted(self._jobs.values(), key=lambda j: j.created, reverse=True)

    def counts(self) -> dict[str, int]:
        with self._lock:
            return {"running": self.running, "waiting": self._waiting,
                    "workers": self.workers, "capacity": self.capacity,
                    "peak_running": self.peak_running, "peak_active": self.peak_active}

    def cancel(self, job_id: str) -> Job | None:
        job = self._jobs.get(job_id)
        if job is None:
            return None
        job.cancel_event.set()
        with self._lock:
            if job.status == "queued":
                self._set(job, "cancelled", message="cancelled before it started")
                job.finished = time.time()
                job.save()
        return job

    def delete(self, job_id: str) -> bool:
        job = self._jobs.get(job_id)
        if job is None:
            return False
        self.cancel(job_id)
        if job.status in ACTIVE:  # running: wait briefly for the run to stop
            for _ in range(100):
                if job.status not in ACTIVE:
                    break
                time.sleep(0.05)
        with self._lock:
            self._jobs.pop(job_id, None)
        _remove_tree(job.dir, self.root)
        return True

    def shutdown(self, timeout: float = 10.0) -> None:
        with self._lock:
            self._stopped = True
        for job in list(self._jobs.values()):
            if job.status in ACTIVE:
                job.cancel_event.set()
        for _ in self._threads:
            self._queue.put(None)
        end = time.time() + timeout
        for t in self._threads:
            t.join(max(0.0, end - time.time()))

    # ------------------------------------------------------------------ workers
    def _set(self, job: Job, status: str | None = None, *, progress: float | None = None,
             message: str | None = None) -> None:
        if status is not None:
            job.status = status
        if progress is not None:
            job.progress = max(0.0, min(1.0, progress))
        if message is not None:
            job.message = message
        job.version += 1

    def _work(self) -> None:
        while True:
            jid = self._queue.get()
            if jid is None:
                return
            job = self._jobs.get(jid)
            with self._lock:
                self._waiting -= 1
                if job is None or job.status != "queued":
                    continue
                self.running += 1
                self.peak_running = max(self.peak_running, self.running)
                self._set(job, "running", message="started")
                job.started = time.time()
            try:
                job.save()
                self._run(job)
            finally:
                with self._lock:
                    self.running -= 1

    def _run(self, job: Job) -> None:
        def report(fraction: float, message: str | None = None) -> None:
            job.check()
            self._set(job, progress=fraction, message=message)

        try:
            job.check()
            result = self.runners[job.kind](job, report)
            job.result = result
            self._set(job, "done", progress=1.0, message="finished")
        except Cancelled:
            self._set(job, "cancelled", message="cancelled")
        except ExomirError as exc:
            job.error = error_fields(exc)
            self._set(job, "failed", message=str(exc))
        except Exception as exc:  # a bug: keep the server up, record the error, no traceback out
            job.error = {"message": f"internal error ({type(exc).__name__})"}
            (job.dir / "error.log").parent.mkdir(parents=True, exist_ok=True)
            (job.dir / "error.log").write_text(traceback.format_exc(), encoding="utf-8")
            self._set(job, "failed", message=job.error["message"])
        job.finished = time.time()
        job.save()


def error_fields(exc: BaseException) -> dict[str, Any]:
    if isinstance(exc, InputError):
        return {"message": exc.message, "field": exc.field,
                "value": None if exc.value is None else str(exc.value),
                "accepted": exc.accepted, "source": exc.source, "line": exc.line}
    return {"message": str(exc)}


def _remove_tree(path: Path, root: Path) -> None:
    """Delete a job folder, only ever inside ``root``."""
    import shutil

    try:
        path.resolve().relative_to(root.resolve())
    except ValueError:
        return
    shutil.rmtree(path, ignore_errors=True)


# ---------------------------------------------------------------------- child-process runs
def run_in_child(target: Callable[..., None], args: tuple[Any, ...], job: Job,
                 report: Callable[[float, str | None], None], poll_s: float = 0.2
                 ) -> dict[str, Any]:
    """Run ``target(conn, *args)`` in a spawned process; it sends ``("progress", f, msg)``,
    then ``("done", result)`` or ``("error", fields)``. Cancelling terminates the process."""
    ctx = mp.get_context("spawn")
    parent, child = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=target, args=(child, *args), daemon=True)
    proc.start()
    child.close()
    try:
        while True:
            if job.cancel_event.is_set():
                raise Cancelled()
            if parent.poll(poll_s):
                try:
                    msg = parent.recv()
                except EOFError:
                    break
                if msg[0] == "progress":
                    report(msg[1], msg[2])
                elif msg[0] == "done":
                    return dict(msg[1])
                elif msg[0] == "error":
                    raise InputError(msg[1].get("message", "error"), field=msg[1].get("field"),
                                     value=msg[1].get("value"),
                                     accepted=msg[1].get("accepted"),
                                     source=msg[1].get("source"), line=msg[1].get("line"))
            elif not proc.is_alive():
                break
        raise RuntimeError(f"the run's process ended without a result (exit {proc.exitcode})")
    finally:
        if proc.is_alive():
            proc.terminate()
        proc.join(5)
        parent.close()
