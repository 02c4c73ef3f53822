"""Child process of the memory-limit fuzz cases: runs several exomir command lines in one
process (so the import cost is paid once) under the RLIMIT_AS its parent set, and prints one
JSON line per case: exit code, stderr, seconds, and whether a MemoryError was raised.

Usage: ``python -m tests.fuzz.limits_driver < cases.json`` (a JSON list of argv lists).
"""

from __future__ import annotations

import json
import resource
import sys
import time


def main() -> None:
    cases = json.load(sys.stdin)
    from typer import testing as typer_testing
    from typer.testing import CliRunner

    from exomir.cli import app

    cmd = typer_testing._get_command(app)
    typer_testing._get_command = lambda _app: cmd  # type: ignore[assignment]
    runner = CliRunner()
    for argv in cases:
        t0 = time.monotonic()
        memory_error = False
        try:
            r = runner.invoke(app, argv, catch_exceptions=True)
            code, err = r.exit_code, r.stderr
            exc = r.exception if not isinstance(r.exception, SystemExit) else None
            if isinstance(exc, MemoryError):
                memory_error = True
        except MemoryError:
            code, err, memory_error = -1, "", True
        rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(json.dumps({"argv": argv, "exit_code": code, "stderr": err[-2000:],
                          "seconds": time.monotonic() - t0, "memory_error": memory_error,
                          "max_rss_mb": rss_mb}), flush=True)


if __name__ == "__main__":
    main()
