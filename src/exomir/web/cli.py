"""``exomir serve``: start the web workbench (FastAPI on uvicorn)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from exomir.core.errors import InputError


def serve(
    host: Annotated[str, typer.Option(help="Address to bind. 127.0.0.1 (default) is this "
                                      "machine only; 0.0.0.0 shares it on your network.")]
    = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8000,
    db: Annotated[str | None, typer.Option("--db", help="Knowledge-base file or SQLAlchemy "
                                           "URL (default: EXOMIR_DB or the user data "
                                           "directory).")] = None,
    data_dir: Annotated[Path | None, typer.Option("--data-dir", help="Folder for runs and "
                                                  "uploads (default: EXOMIR_WEB_DATA or the "
                                                  "user data directory).")] = None,
    workers: Annotated[int, typer.Option("--jobs", help="Runs at once.")] = 2,
    queue: Annotated[int, typer.Option("--queue", help="Runs waiting beyond those.")] = 8,
) -> None:
    """Open the workbench in a browser: evidence, meta-analysis, cargo, release, designs and
    simulations with live progress, quality and dose, and the JSON API (/api/docs).
    Writes (kb import, deleting runs) need EXOMIR_TOKEN set."""
    try:
        import uvicorn

        from exomir.web.app import create_app
        from exomir.web.settings import Settings
    except ImportError as exc:
        raise InputError(f"the web app needs its extra ({exc.name} is missing)",
                         accepted='pip install -e ".[web]"') from None
    if not 0 < port < 65536:
        raise InputError("not a TCP port", field="--port", value=port, accepted="1-65535")
    if not 1 <= workers <= 64:
        raise InputError("out of range", field="--jobs", value=workers, accepted="1 to 64")
    if not 0 <= queue <= 10_000:
        raise InputError("out of range", field="--queue", value=queue, accepted="0 to 10000")
    import socket

    try:  # an address that cannot be bound is refused before anything starts
        socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError) as exc:
        raise InputError(f"not an address of this machine ({exc})", field="--host",
                         value=host, accepted="127.0.0.1, ::1, 0.0.0.0 or a host name") from None
    if data_dir is not None:
        from exomir.core.files import check_output_dir

        check_output_dir(data_dir, field="--data-dir")
    db = db or os.environ.get("EXOMIR_DB")
    if db:  # capabilities that open the knowledge base themselves use the same one
        os.environ["EXOMIR_DB"] = db
    kw: dict[str, object] = {"db": db, "host": host, "port": port, "job_workers": workers,
                             "job_queue": queue}
    if data_dir is not None:
        kw["data_dir"] = data_dir
    settings = Settings(**kw)  # type: ignore[arg-type]
    app = create_app(settings)
    shown = "localhost" if host in ("127.0.0.1", "::1") else host
    typer.echo(f"exomir web on http://{shown}:{port}/  (API docs: /api/docs; "
               f"writes {'on (token set)' if settings.token else 'off: set EXOMIR_TOKEN'}; "
               "Ctrl-C stops)")
    if host not in ("127.0.0.1", "localhost", "::1"):
        typer.echo(f"note: listening on {host}: other machines on your network can reach it")
    uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False)


def register(app: typer.Typer) -> None:
    """Add ``serve`` to the root app."""
    app.command("serve")(serve)
