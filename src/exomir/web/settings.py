"""Settings of the web app: where the knowledge base and the app's data folder are, who may
write, and the limits that keep a shared laptop responsive.

Every value has a default that is safe on a lab network: bind to 127.0.0.1, read-only without
``EXOMIR_TOKEN``, a bounded job queue, small uploads.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path

from platformdirs import user_data_dir


def _default_data_dir() -> Path:
    env = os.environ.get("EXOMIR_WEB_DATA")
    if env:
        return Path(env).expanduser()
    return Path(user_data_dir("exomir", appauthor=False)) / "web"


@dataclass(frozen=True)
class Settings:
    """What ``create_app`` needs. ``db`` is a path or SQLAlchemy URL (None: ``EXOMIR_DB`` or
    the user data directory, as the CLI)."""

    db: str | None = None
    data_dir: Path = field(default_factory=_default_data_dir)
    host: str = "127.0.0.1"
    port: int = 8000
    token: str | None = field(default_factory=lambda: os.environ.get("EXOMIR_TOKEN") or None)
    job_workers: int = 2  # jobs running at once
    job_queue: int = 8  # jobs waiting beyond the running ones; more are refused with 503
    job_rate_per_minute: float = 30.0  # submissions per client per minute (429 beyond)
    job_rate_burst: int = 20
    max_upload_bytes: int = 5 * 1024 * 1024
    max_subjects: int = 2000  # virtual subjects per simulation or design candidate
    max_design_subjects: int = 500
    design_in_process: bool = False  # run designs in this process (tests); default: a child

    def with_(self, **changes: object) -> Settings:
        return replace(self, **changes)  # type: ignore[arg-type]

    @property
    def jobs_dir(self) -> Path:
        return self.data_dir / "jobs"

    @property
    def tmp_dir(self) -> Path:
        return self.data_dir / "tmp"
