"""``exomir data fetch/list`` against a local HTTP server serving small generated fixtures."""

from __future__ import annotations

import functools
import hashlib
import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from typer.testing import CliRunner

from exomir.cli import app
from exomir.formats import read_mature_fasta
from exomir.formats.fetch import FetchError, Release, fetch

MATURE = (">hsa-miR-146a-5p MIMAT0000449 Homo sapiens miR-146a-5p\nUGAGAACUGAAUUCCAUGGGUU\n"
          ">mmu-miR-1a-3p MIMAT0000123 Mus musculus miR-1a-3p\nUGGAAUGUAAAGAAGUAUGUAU\n")
runner = CliRunner()


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    root = tmp_path / "served"
    root.mkdir()
    (root / "mature.fa").write_text(MATURE)
    handler = functools.partial(_Quiet, directory=str(root))
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}", root
    finally:
        httpd.shutdown()
        httpd.server_close()


@pytest.fixture
def env(server: tuple[str, Path], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> tuple[str, Path, Path]:
    base, root = server
    data = tmp_path / "data"
    monkeypatch.setenv("EXOMIR_FETCH_BASE_URL", base)
    monkeypatch.setenv("EXOMIR_DATA_DIR", str(data))
    return base, root, data / "reference"


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".part"))


def test_fetch_success_then_skip(env: tuple[str, Path, Path]) -> None:
    _, root, ref = env
    res = runner.invoke(app, ["data", "fetch", "mirbase-mature"])
    assert res.exit_code == 0, res.output
    target = ref / "mature.fa"
    assert target.read_text() == MATURE
    manifest = json.loads((ref / "mature.fa.manifest.json").read_text())
    assert manifest["sha256"] == hashlib.sha256(MATURE.encode()).hexdigest()
    assert manifest["url"].endswith("/mature.fa") and manifest["size"] == len(MATURE)
    assert [m.name for m in read_mature_fasta(target, species="hsa")] == ["hsa-miR-146a-5p"]
    assert _leftovers(ref) == []
    # present and verified: the server's newer copy is not downloaded
    (root / "mature.fa").write_text(MATURE + ">x\nACGU\n")
    res = runner.invoke(app, ["data", "fetch", "mirbase-mature"])
    assert res.exit_code == 0 and "already present" in res.output
    assert target.read_text() == MATURE
    # --force downloads again and reports that the publisher's file changed
    res = runner.invoke(app, ["data", "fetch", "mirbase-mature", "--force", "--format", "json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert out[0]["status"] == "downloaded" and out[0]["changed"] is True
    assert target.read_text().endswith(">x\nACGU\n")


def test_local_file_changed_since_download(env: tuple[str, Path, Path]) -> None:
    _, _, ref = env
    assert runner.invoke(app, ["data", "fetch", "mirbase-mature"]).exit_code == 0
    (ref / "mature.fa").write_text(MATURE.replace("UGAG", "AAAA"))
    res = runner.invoke(app, ["data", "fetch", "mirbase-mature"])
    assert res.exit_code == FetchError.exit_code
    assert "does not match the manifest" in " ".join(res.output.split())


def test_checksum_mismatch_leaves_nothing(env: tuple[str, Path, Path]) -> None:
    _, _, ref = env
    res = runner.invoke(app, ["data", "fetch", "mirbase-mature", "--sha256", "0" * 64])
    assert res.exit_code == FetchError.exit_code
    assert "checksum mismatch" in " ".join(res.output.split())
    assert not (ref / "mature.fa").exists()
    assert not (ref / "mature.fa.manifest.json").exists()
    assert _leftovers(ref) == []


def test_http_404_is_a_clear_error(env: tuple[str, Path, Path]) -> None:
    _, _, ref = env
    res = runner.invoke(app, ["data", "fetch", "targetscan8-utr"])
    assert res.exit_code == FetchError.exit_code
    assert "HTTP 404" in " ".join(res.output.split()) and "UTR_Sequences.txt.zip" in " ".join(res.output.split())
    assert not (ref / "UTR_Sequences.txt.zip").exists() and _leftovers(ref) == []


def test_unknown_name_exit_2(env: tuple[str, Path, Path]) -> None:
    res = runner.invoke(app, ["data", "fetch", "nope"])
    assert res.exit_code == 2 and "mirbase-mature" in " ".join(res.output.split())
    proc = subprocess.run([sys.executable, "-m", "exomir", "data", "fetch", "nope"],
                          capture_output=True, text=True, env={**os.environ}, timeout=60,
                          check=False)
    assert proc.returncode == 2 and "unknown reference file" in proc.stderr


def test_list_shows_installed(env: tuple[str, Path, Path]) -> None:
    rows = json.loads(runner.invoke(app, ["data", "list", "--format", "json"]).stdout)
    assert not any(r["installed"] for r in rows)
    assert runner.invoke(app, ["data", "fetch", "mirbase-mature"]).exit_code == 0
    rows = {r["name"]: r for r in
            json.loads(runner.invoke(app, ["data", "list", "--format", "json"]).stdout)}
    assert rows["mirbase-mature"]["installed"] is True
    assert rows["mirbase-mature"]["sha256"] == hashlib.sha256(MATURE.encode()).hexdigest()
    assert rows["targetscan8-utr"]["installed"] is False
    table = runner.invoke(app, ["data", "list"])
    assert table.exit_code == 0 and "mirbase-mature" in table.output


def test_api_pinned_checksum_and_progress(server: tuple[str, Path], tmp_path: Path) -> None:
    base, _ = server
    digest = hashlib.sha256(MATURE.encode()).hexdigest()
    rel = Release("test", f"{base}/mature.fa", "m.fa", "test", "none", "read_mature_fasta",
                  sha256=digest)
    seen: list[tuple[int, int | None]] = []
    got = fetch(rel, dest=tmp_path / "d", progress=lambda d, t: seen.append((d, t)))
    assert got.status == "downloaded" and got.sha256 == digest
    assert seen[-1] == (len(MATURE), len(MATURE))
    assert fetch(rel, dest=tmp_path / "d").status == "present"
    bad = Release("test", f"{base}/mature.fa", "m2.fa", "test", "none", "x", sha256="f" * 64)
    with pytest.raises(FetchError, match="checksum mismatch"):
        fetch(bad, dest=tmp_path / "d")
    assert not (tmp_path / "d" / "m2.fa").exists()
