"""What a job does: thin calls into ``exomir.body`` and ``exomir.design`` (no science here).

``simulate``: ``body.spec.parse_spec`` -> ``body.simulate.simulate`` with the CLI's defaults
(rtol 1e-5, seed 0) -> the summary the CLI prints with ``--format json`` plus
``body.timecourse.time_course_bands`` for the plots. ``design``: ``design.spec.parse_design``
-> ``design.pipeline.run_design`` -> ``report.write_report`` (the same report.html the CLI
writes), in a child process so that a cancel stops it at once.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from exomir.web.jobs import Cancelled, Job, error_fields, run_in_child

SIM_DEFAULTS = {"subjects": 200, "days": None, "seed": 0, "rtol": 1e-5}


def run_simulate(job: Job, report: Callable[[float, str | None], None]) -> dict[str, Any]:
    from exomir.body.simulate import UNCERTAINTY_NOTE, simulate
    from exomir.body.spec import parse_spec
    from exomir.body.timecourse import time_course_bands

    p = {**SIM_DEFAULTS, **job.params}
    spec = parse_spec(job.spec, source="spec")
    horizon = float(p["days"] if p["days"] is not None else spec.therapy.days)
    report(0.0, f"simulating {p['subjects']} subjects over {horizon:g} days")
    result = simulate(spec, int(p["subjects"]), days=horizon, seed=int(p["seed"]),
                      rtol=float(p["rtol"]),
                      progress=lambda t: report(t / horizon, f"day {t:.1f} of {horizon:g}"))
    job.check()
    bands = time_course_bands(result)
    (job.dir / "timecourse.json").write_text(json.dumps(bands), encoding="utf-8")
    summ = result.summary()
    return {"name": spec.therapy.name, "subjects": int(p["subjects"]), "days": horizon,
            "note": UNCERTAINTY_NOTE, "summary": summ.to_dict("records"),
            "solver": {"engine": result.stats.engine, "rtol": float(p["rtol"])}}


def _expected_design_steps(spec: Any) -> int:
    n = len(spec.candidates)
    return 6 + 2 * n + (30 if spec.sensitivity else 0)


def design_child(conn: Any, spec_data: dict[str, Any], out_dir: str, db: str | None) -> None:
    """Child-process entry: run one design, send progress, write the report."""
    if db:
        os.environ["EXOMIR_DB"] = db
    try:
        from exomir.design.pipeline import run_design
        from exomir.design.spec import parse_design

        spec = parse_design(spec_data, source="spec")
        total = _expected_design_steps(spec)
        seen = [0]

        def say(msg: str) -> None:
            seen[0] += 1
            conn.send(("progress", min(0.95, seen[0] / total), msg))

        result = run_design(spec, progress=say)
        conn.send(("progress", 0.97, "writing the report"))
        paths = result.write(Path(out_dir))
        summary = result.report.sections[0]
        warnings = result.report.sections[-1].data.get("warnings", [])
        conn.send(("done", {"title": result.report.title,
                            "summary": " ".join(getattr(b, "text", "") for b in summary.blocks),
                            "best_candidate": summary.data.get("best_candidate"),
                            "warnings": warnings, "report": paths["html"].name}))
    except Cancelled:
        raise
    except Exception as exc:  # sent to the parent as a job error, never a traceback

        fields = error_fields(exc)
        if not hasattr(exc, "exit_code"):
            fields = {"message": f"internal error ({type(exc).__name__}: {exc})"}
        conn.send(("error", fields))
    finally:
        conn.close()


def make_design_runner(db: str | None, in_process: bool
                       ) -> Callable[[Job, Callable[[float, str | None], None]], dict[str, Any]]:
    def run_design_job(job: Job, report: Callable[[float, str | None], None]) -> dict[str, Any]:
        out = job.dir / "report"
        if not in_process:
            return run_in_child(design_child, (job.spec, str(out), db), job, report)

        class _Conn:
            def __init__(self) -> None:
                self.result: dict[str, Any] = {}

            def send(self, msg: tuple[Any, ...]) -> None:
                if msg[0] == "progress":
                    report(msg[1], msg[2])
                elif msg[0] == "done":
                    self.result = dict(msg[1])
                elif msg[0] == "error":
                    from exomir.core.errors import InputError

                    raise InputError(msg[1].get("message", "error"), field=msg[1].get("field"),
                                     value=msg[1].get("value"),
                                     accepted=msg[1].get("accepted"))

            def close(self) -> None:
                pass

        conn = _Conn()
        design_child(conn, job.spec, str(out), db)
        return conn.result

    return run_design_job
