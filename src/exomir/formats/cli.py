"""``exomir data``: download official reference releases and list what is installed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)

from exomir.core.errors import InputError
from exomir.formats.fetch import (
    REGISTRY,
    Installed,
    fetch,
    get_release,
    installed,
    reference_dir,
)

data_app = typer.Typer(help="Reference data: download official releases (miRBase, TargetScan, "
                       "miRTarBase, pathway GMT) and list what is installed.",
                       no_args_is_help=True)
console = Console()
err_console = Console(stderr=True)

DestOpt = Annotated[Path | None, typer.Option("--dest", help="Folder for the files "
                    "(default: $EXOMIR_DATA_DIR/reference or the user data directory).")]
FormatOpt = Annotated[str, typer.Option("--format", help="table or json.")]


def _check_format(fmt: str) -> str:
    if fmt not in ("table", "json"):
        raise InputError("unknown output format", field="--format", value=fmt,
                         accepted=["table", "json"])
    return fmt


def _fetch_one(name: str, dest: Path | None, url: str | None, sha256: str | None,
               force: bool, show_progress: bool) -> Installed:
    get_release(name)  # unknown names fail before any output
    if not show_progress:
        return fetch(name, dest=dest, url=url, sha256=sha256, force=force)
    with Progress(TextColumn("[bold]{task.description}"), BarColumn(), DownloadColumn(),
                  TransferSpeedColumn(), TimeRemainingColumn(), console=err_console,
                  transient=False) as bar:
        task = bar.add_task(name, total=None)

        def report(done: int, total: int | None) -> None:
            bar.update(task, completed=done, total=total)

        return fetch(name, dest=dest, url=url, sha256=sha256, force=force, progress=report)


@data_app.command("fetch")
def fetch_cmd(
    name: Annotated[str, typer.Argument(help="Registry name (see `exomir data list`) or 'all'.")],
    dest: DestOpt = None,
    url: Annotated[str | None, typer.Option("--url", help="Download from this URL instead "
                   "of the official one (a mirror).")] = None,
    sha256: Annotated[str | None, typer.Option("--sha256", help="Expected SHA-256; the "
                      "download is rejected if it differs.")] = None,
    force: Annotated[bool, typer.Option("--force", help="Download again even if present.")]
    = False,
    fmt: FormatOpt = "table",
) -> None:
    """Download an official public release into the data directory, with checksums."""
    _check_format(fmt)
    if name == "all":
        if url is not None or sha256 is not None:
            raise InputError("--url and --sha256 apply to one file, not 'all'", field="name",
                             value=name, accepted=sorted(REGISTRY))
        names = list(REGISTRY)
    else:
        names = [name]
    results = [_fetch_one(n, dest, url, sha256, force, fmt == "table") for n in names]
    if fmt == "json":
        typer.echo(json.dumps([{"name": r.name, "path": str(r.path), "sha256": r.sha256,
                                "size": r.size, "status": r.status, "url": r.url,
                                "changed": r.changed} for r in results], indent=2))
        return
    for r in results:
        verb = "downloaded" if r.status == "downloaded" else "already present, checksum verified"
        console.print(f"{r.name}: {verb}: {r.path} ({r.size:,} bytes, sha256 {r.sha256})",
                      highlight=False, soft_wrap=True)
        if r.changed:
            err_console.print(f"warning: {r.name} differs from the copy downloaded before "
                              f"(sha256 {r.previous_sha256}); the publisher changed the file",
                              highlight=False, soft_wrap=True)


@data_app.command("list")
def list_cmd(dest: DestOpt = None, fmt: FormatOpt = "table") -> None:
    """Show the reference files exomir knows and which are installed."""
    _check_format(fmt)
    rows = installed(dest)
    if fmt == "json":
        typer.echo(json.dumps(rows, indent=2, default=str))
        return
    from exomir.terminal import Column, print_table

    print_table(console, f"Reference files in {dest or reference_dir()}",
                [Column("name", no_wrap=True), Column("installed"), Column("size"),
                 Column("fetched"), Column("sha256"), Column("description")],
                [[str(r["name"]), "yes" if r["installed"] else "no",
                  f"{r['size']:,}" if isinstance(r["size"], int) else "",
                  str(r["fetched_at"] or ""), str(r["sha256"] or "")[:12],
                  str(r["description"])] for r in rows])


def register(app: typer.Typer) -> None:
    """Add the ``data`` command group to the root app."""
    app.add_typer(data_app, name="data")
