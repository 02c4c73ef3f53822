"""Shared fixtures: an isolated knowledge base per test and the reference data folder."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("EXOMIR_SHARED_DATA", REPO.parent / "shared" / "data"))
REQUIRE_REFERENCES = os.environ.get("EXOMIR_REQUIRE_REFERENCES") == "1"


def import_mirtarbase_and_hallmark(kb: object, shared: Path) -> None:
    """Import miRTarBase v10 strong pairs and the Hallmark gene sets from ``../shared/data``
    into ``kb`` (a user's database after the usual ``exomir kb import``)."""
    from exomir.kb.reference import read_reference

    records: dict[str, object] = {}
    for f in (shared / "mirtarbase" / "mirtarbase_v10_strong_pairs.tsv",
              shared / "genesets" / "msigdb_hallmark_v7.0.symbols.gmt"):
        records.update(read_reference(f, None))
    kb.import_records(records, sources=["mirtarbase_v10", "hallmark"])  # type: ignore[attr-defined]


def require_reference(available: bool, what: str) -> None:
    """Skip (locally) or fail (in CI, EXOMIR_REQUIRE_REFERENCES=1) when a reference is absent."""
    if available:
        return
    if REQUIRE_REFERENCES:
        pytest.fail(f"reference required in CI but missing: {what}")
    pytest.skip(f"reference not available here: {what}")


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """``../shared/data``: the project's reference files (never copied into the repo)."""
    require_reference(SHARED.is_dir(), f"shared data folder {SHARED}")
    return SHARED


@pytest.fixture
def rscript() -> str:
    """Path to Rscript with metafor installed."""
    path = shutil.which("Rscript")
    require_reference(path is not None, "Rscript (apt-get install r-cran-metafor r-cran-metadat)")
    assert path is not None
    return path


@pytest.fixture(scope="session", autouse=True)
def _session_kb(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Module- and session-scoped fixtures run before the per-test one below: they get a
    session knowledge base too, never the user's file in the user data directory."""
    old = os.environ.get("EXOMIR_DB")
    os.environ["EXOMIR_DB"] = str(tmp_path_factory.mktemp("kb-session") / "exomir.sqlite")
    yield
    if old is None:
        os.environ.pop("EXOMIR_DB", None)
    else:
        os.environ["EXOMIR_DB"] = old


@pytest.fixture(autouse=True)
def _isolated_kb(tmp_path_factory: pytest.TempPathFactory,
                 monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Every test gets its own knowledge-base file, never the user's."""
    db = tmp_path_factory.mktemp("kb") / "exomir.sqlite"
    monkeypatch.setenv("EXOMIR_DB", str(db))
    yield
