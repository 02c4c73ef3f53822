"""Shared by the calibration tests: the user-style wound problem copied into a folder."""

from __future__ import annotations

import shutil
from pathlib import Path

DATA = Path(__file__).parent / "data"


def copy_user_problem(folder: Path) -> Path:
    """Copy tests/calibrate/data/wound_user.{yaml,csv} into ``folder``; the YAML's path."""
    for f in ("wound_user.yaml", "wound_user.csv"):
        shutil.copy(DATA / f, folder / f)
    return folder / "wound_user.yaml"
