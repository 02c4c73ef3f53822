"""Benchmark: read endpoints of ``exomir serve`` under a bounded load, on loopback only.

Starts the app (uvicorn, one process, the embedded SQLite knowledge base in a temporary
folder) on 127.0.0.1 and a free port, then drives it with ``--connections`` keep-alive HTTP/1.1
connections from one asyncio client in this process: for each endpoint, ``--requests``
requests or ``--seconds`` seconds, whichever comes first (it stops by itself). Reports
requests per second and p50/p99 latency per endpoint, and, as the anchor, the same data
computed by a direct Python call (``KnowledgeBase.studies`` with the same filter) per second,
so the ratio shows what HTTP and rendering cost. Target: >= 500 req/s, p99 < 50 ms on 2 cores
(client and server share them).

    PYTHONPATH=src python benchmarks/bench_web.py [--requests 3000] [--seconds 10]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ENDPOINTS = [
    ("study list (HTML)", "/evidence"),
    ("faceted query (HTML)", "/evidence?indication=neuropathic_pain&mirna=miR-146a"),
    ("study page (HTML)", "/evidence/NP001"),
    ("API studies (JSON)", "/api/v1/studies?indication=diabetic_wound&gene=PTEN"),
]
HOST = "127.0.0.1"  # loopback only, ever


def _free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def _start(port: int, tmp: Path) -> subprocess.Popen[bytes]:
    code = ("import uvicorn; from exomir.web.app import create_app; "
            "from exomir.web.settings import Settings; from pathlib import Path; "
            f"app = create_app(Settings(db={str(tmp / 'kb.sqlite')!r}, "
            f"data_dir=Path({str(tmp / 'data')!r}))); "
            f"uvicorn.run(app, host={HOST!r}, port={port}, log_level='warning', "
            "access_log=False)")
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[1] / "src"))
    proc = subprocess.Popen([sys.executable, "-c", code], env=env)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((HOST, port), timeout=0.2):
                return proc
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit("server did not start")


async def _worker(path: str, port: int, stop: float, budget: list[int],
                  lat: list[float]) -> None:
    reader, writer = await asyncio.open_connection(HOST, port)
    req = f"GET {path} HTTP/1.1\r\nHost: {HOST}:{port}\r\nAccept: text/html\r\n\r\n".encode()
    try:
        while budget[0] > 0 and time.monotonic() < stop:
            budget[0] -= 1
            t0 = time.perf_counter()
            writer.write(req)
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head.split(b" ", 2)[1])
            length = next(int(line.split(b":", 1)[1]) for line in head.split(b"\r\n")
                          if line.lower().startswith(b"content-length:"))
            await reader.readexactly(length)
            lat.append(time.perf_counter() - t0)
            if status != 200:
                raise SystemExit(f"{path}: HTTP {status}")
    finally:
        writer.close()


async def _load(path: str, port: int, n: int, seconds: float, conns: int
                ) -> tuple[float, np.ndarray]:
    budget, lat = [n], []  # type: ignore[var-annotated]
    t0 = time.perf_counter()
    stop = time.monotonic() + seconds
    await asyncio.gather(*(_worker(path, port, stop, budget, lat) for _ in range(conns)))
    wall = time.perf_counter() - t0
    return len(lat) / wall, np.array(lat) * 1000.0


def _anchor(tmp: Path, seconds: float = 2.0) -> float:
    """Direct Python calls per second of the API endpoint's query (no HTTP, no cache)."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
    from exomir.kb import open_kb

    kb = open_kb(tmp / "kb.sqlite")
    n, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        kb.studies(indication="diabetic_wound", gene="PTEN")
        n += 1
    return n / (time.perf_counter() - t0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--requests", type=int, default=3000, help="per endpoint")
    ap.add_argument("--seconds", type=float, default=10.0, help="per endpoint, at most")
    ap.add_argument("--connections", type=int, default=8)
    ap.add_argument("--warmup", type=int, default=200)
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        port = _free_port()
        t0 = time.perf_counter()
        proc = _start(port, tmp)
        up = time.perf_counter() - t0
        try:
            t1 = time.perf_counter()
            asyncio.run(_load("/", port, 1, 5.0, 1))
            first = time.perf_counter() - t1
            print(f"server up in {up:.2f} s; first page {1000 * first:.1f} ms; cores: "
                  f"{os.cpu_count()}; {a.connections} connections, "
                  f"<= {a.requests} requests or {a.seconds:g} s per endpoint")
            print(f"{'endpoint':24} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'n':>6}")
            rates = []
            for name, path in ENDPOINTS:
                asyncio.run(_load(path, port, a.warmup, 5.0, a.connections))
                rate, lat = asyncio.run(_load(path, port, a.requests, a.seconds,
                                              a.connections))
                rates.append(rate)
                print(f"{name:24} {rate:8.0f} {np.percentile(lat, 50):8.2f} "
                      f"{np.percentile(lat, 99):8.2f} {lat.size:6d}")
        finally:
            proc.terminate()
            proc.wait(10)
        anchor = _anchor(tmp)
        print(f"anchor: KnowledgeBase.studies(indication, gene) direct call: {anchor:.0f}/s; "
              f"API over HTTP / anchor = {rates[-1] / anchor:.2f}x")


if __name__ == "__main__":
    main()
