"""Download official public releases of the reference files (``exomir data fetch``).

Files go to ``$EXOMIR_DATA_DIR/reference`` or, when that variable is unset, to
``platformdirs.user_data_dir('exomir')/reference``. A download is written to a temporary file
in the destination folder, hashed (SHA-256) while it streams, verified, then renamed into
place, so an interrupted or failed download never leaves a partial file under the real name.
None of these publishers gives a SHA-256, so the checksum computed at download time is written
to ``<file>.manifest.json`` next to the file and checked on every later fetch (trust on first
use); a registry entry or ``--sha256`` can pin a known checksum, which is then enforced.

``EXOMIR_FETCH_BASE_URL`` replaces the publishers' hosts (``<base>/<file name>``): for mirrors
and for the tests, which serve small fixtures from a local HTTP server.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

import platformdirs

from exomir import __version__
from exomir.core.errors import ExomirError, InputError

BASE_URL_ENV = "EXOMIR_FETCH_BASE_URL"
DATA_DIR_ENV = "EXOMIR_DATA_DIR"
CHUNK = 1 << 20

#: Progress callback: (bytes done, total bytes or None when the server sends no length).
Progress = Callable[[int, int | None], None]


class FetchError(ExomirError):
    """A download failed (network, HTTP status, checksum); nothing was installed."""

    exit_code = 1


@dataclass(frozen=True)
class Release:
    """A public reference file: where it comes from and which reader reads it."""

    name: str
    url: str
    filename: str
    description: str
    citation: str
    reader: str
    sha256: str | None = None


REGISTRY: dict[str, Release] = {r.name: r for r in [
    Release(
        "mirbase-mature", "https://mirbase.org/download/mature.fa", "mature.fa",
        "miRBase mature miRNA sequences, all species (current release)",
        "Kozomara 2019 NAR doi:10.1093/nar/gky1141", "read_mature_fasta",
    ),
    Release(
        "targetscan8-mir-family",
        "https://www.targetscan.org/vert_80/vert_80_data_download/miR_Family_Info.txt.zip",
        "miR_Family_Info.txt.zip",
        "TargetScan 8.0 miRNA families (seed, species, miRBase ID, conservation)",
        "McGeary 2019 Science doi:10.1126/science.aav1741; Agarwal 2015 eLife "
        "doi:10.7554/eLife.05005", "read_mir_family_info",
    ),
    Release(
        "targetscan8-utr",
        "https://www.targetscan.org/vert_80/vert_80_data_download/UTR_Sequences.txt.zip",
        "UTR_Sequences.txt.zip",
        "TargetScan 8.0 multiz-aligned 3'UTRs (84 species; large, ~200 MB unzipped)",
        "McGeary 2019 Science doi:10.1126/science.aav1741", "read_targetscan_utrs",
    ),
    Release(
        "mirtarbase9-hsa",
        "https://mirtarbase.cuhk.edu.cn/~miRTarBase/miRTarBase_2022/cache/download/9.0/"
        "hsa_MTI.xlsx",
        "hsa_MTI.xlsx",
        "miRTarBase 9.0 human miRNA-target interactions (release layout, Excel)",
        "Huang 2022 NAR doi:10.1093/nar/gkab1079", "read_mirtarbase",
    ),
    Release(
        "enrichr-kegg-2021-human",
        "https://maayanlab.cloud/Enrichr/geneSetLibrary?mode=text&libraryName=KEGG_2021_Human",
        "KEGG_2021_Human.gmt",
        "Enrichr KEGG 2021 human pathway gene sets (GMT)",
        "Kuleshov 2016 NAR doi:10.1093/nar/gkw377; KEGG terms", "read_gmt",
    ),
    Release(
        "msigdb-hallmark",
        "https://data.broadinstitute.org/gsea-msigdb/msigdb/release/2023.2.Hs/"
        "h.all.v2023.2.Hs.symbols.gmt",
        "h.all.v2023.2.Hs.symbols.gmt",
        "MSigDB Hallmark gene sets 2023.2 (GMT, symbols)",
        "Liberzon 2015 Cell Syst doi:10.1016/j.cels.2015.12.004; MSigDB terms", "read_gmt",
    ),
]}


@dataclass(frozen=True)
class Installed:
    """What ``fetch`` did or found: the file, its checksum and size, and the outcome."""

    name: str
    path: Path
    sha256: str
    size: int
    status: str  # "downloaded" or "present"
    url: str | None = None
    fetched_at: str | None = None
    previous_sha256: str | None = None

    @property
    def changed(self) -> bool:
        """True when a forced re-download differs from the checksum recorded before."""
        return self.previous_sha256 is not None and self.previous_sha256 != self.sha256


def reference_dir() -> Path:
    """Folder for downloaded reference files (not created here)."""
    root = os.environ.get(DATA_DIR_ENV)
    base = Path(root) if root else Path(platformdirs.user_data_dir("exomir"))
    return base / "reference"


#: Short names users type (``exomir data fetch mirbase``) for registry entries.
ALIASES: dict[str, str] = {
    "mirbase": "mirbase-mature",
    "mature": "mirbase-mature",
    "targetscan-mir-family": "targetscan8-mir-family",
    "targetscan-utr": "targetscan8-utr",
    "mirtarbase": "mirtarbase9-hsa",
    "kegg": "enrichr-kegg-2021-human",
    "hallmark": "msigdb-hallmark",
}


def get_release(name: str) -> Release:
    """The registry entry called ``name`` (or one of its :data:`ALIASES`, any case);
    InputError listing the names otherwise."""
    key = name.strip().lower()
    key = ALIASES.get(key, key)
    try:
        return REGISTRY[key]
    except KeyError:
        raise InputError("unknown reference file", field="name", value=name,
                         accepted=sorted(REGISTRY) + [f"{a} (= {n})" for a, n in
                                                      ALIASES.items()]) from None


def release_url(rel: Release) -> str:
    """Official URL, or ``$EXOMIR_FETCH_BASE_URL/<file name>`` when that is set."""
    base = os.environ.get(BASE_URL_ENV)
    return f"{base.rstrip('/')}/{rel.filename}" if base else rel.url


def manifest_path(target: Path) -> Path:
    return target.with_name(target.name + ".manifest.json")


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(CHUNK), b""):
            h.update(block)
    return h.hexdigest()


def read_manifest(target: Path) -> dict[str, object] | None:
    mp = manifest_path(target)
    if not mp.is_file():
        return None
    try:
        data = json.loads(mp.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InputError(f"unreadable manifest ({exc})", source=mp,
                         accepted="the JSON written by exomir data fetch") from None
    if not isinstance(data, dict) or not isinstance(data.get("sha256"), str):
        raise InputError("manifest has no sha256", source=mp, field="sha256")
    return data


def _write_json_atomic(path: Path, data: dict[str, object]) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(data, fh, indent=2, sort_keys=True)
            fh.write("\n")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _download(url: str, dest_dir: Path, filename: str,
              progress: Progress | None) -> tuple[Path, str, int]:
    """Stream ``url`` into a temporary file in ``dest_dir``; return (temp path, sha256, size)."""
    fd, tmp_name = tempfile.mkstemp(dir=dest_dir, prefix=f".{filename}.", suffix=".part")
    tmp = Path(tmp_name)
    h = hashlib.sha256()
    done = 0
    try:
        req = urllib.request.Request(url, headers={"User-Agent": f"exomir/{__version__}"})
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(req, timeout=60) as resp:
            length = resp.headers.get("Content-Length")
            total = int(length) if length and length.isdigit() else None
            if progress is not None:
                progress(0, total)
            for block in iter(lambda: resp.read(CHUNK), b""):
                out.write(block)
                h.update(block)
                done += len(block)
                if progress is not None:
                    progress(done, total)
        if total is not None and done != total:
            raise FetchError(f"download of {url} truncated: got {done} of {total} bytes")
        if done == 0:
            raise FetchError(f"download of {url} is empty")
    except urllib.error.HTTPError as exc:
        tmp.unlink(missing_ok=True)
        raise FetchError(f"HTTP {exc.code} {exc.reason} for {url}") from None
    except urllib.error.URLError as exc:
        tmp.unlink(missing_ok=True)
        raise FetchError(f"cannot download {url}: {exc.reason}") from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return tmp, h.hexdigest(), done


def fetch(
    name: str | Release,
    *,
    dest: str | Path | None = None,
    url: str | None = None,
    sha256: str | None = None,
    force: bool = False,
    progress: Progress | None = None,
) -> Installed:
    """Download a registry file into ``dest`` (default :func:`reference_dir`).

    If the file is already there with a manifest, its checksum is verified against the
    manifest and nothing is downloaded (``status='present'``); a mismatch raises FetchError.
    ``force`` downloads again. ``sha256`` (or the registry's) is enforced on the download: on
    mismatch FetchError is raised and no file is left behind.
    """
    rel = get_release(name) if isinstance(name, str) else name
    expected = (sha256 or rel.sha256 or "").lower() or None
    dest_dir = Path(dest) if dest is not None else reference_dir()
    dest_dir.mkdir(parents=True, exist_ok=True)
    target = dest_dir / rel.filename
    manifest = read_manifest(target) if target.exists() else None
    previous = str(manifest["sha256"]) if manifest else None
    if target.is_file() and manifest is not None and not force:
        actual = sha256_file(target)
        if actual != previous:
            raise FetchError(
                f"{target}: checksum {actual} does not match the manifest ({previous}); "
                "the file changed since it was downloaded: re-fetch with --force")
        if expected is not None and actual != expected:
            raise FetchError(f"{target}: checksum {actual} is not the expected {expected}; "
                             "re-fetch with --force")
        return Installed(rel.name, target, actual, target.stat().st_size, "present",
                         url=str(manifest.get("url")), fetched_at=str(manifest.get("fetched_at")))
    source_url = url or release_url(rel)
    tmp, digest, size = _download(source_url, dest_dir, rel.filename, progress)
    try:
        if expected is not None and digest != expected:
            raise FetchError(f"checksum mismatch for {source_url}: expected sha256 {expected}, "
                             f"got {digest}; nothing was installed")
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    when = datetime.now(UTC).isoformat(timespec="seconds")
    _write_json_atomic(manifest_path(target), {
        "name": rel.name, "url": source_url, "file": rel.filename, "sha256": digest,
        "size": size, "fetched_at": when, "sha256_pinned": expected is not None,
        "citation": rel.citation, "exomir": __version__,
    })
    return Installed(rel.name, target, digest, size, "downloaded", url=source_url,
                     fetched_at=when, previous_sha256=previous)


def installed(dest: str | Path | None = None) -> list[dict[str, object]]:
    """One row per registry entry: whether it is installed in ``dest`` and its manifest."""
    dest_dir = Path(dest) if dest is not None else reference_dir()
    rows: list[dict[str, object]] = []
    for rel in REGISTRY.values():
        target = dest_dir / rel.filename
        row: dict[str, object] = asdict(rel)
        row["published_sha256"] = row.pop("sha256")
        row.update(path=str(target), installed=target.is_file(), sha256=None, size=None,
                   fetched_at=None)
        if target.is_file():
            row["size"] = target.stat().st_size
            man = read_manifest(target)
            row["sha256"] = man.get("sha256") if man else None
            row["fetched_at"] = man.get("fetched_at") if man else None
        rows.append(row)
    return rows
