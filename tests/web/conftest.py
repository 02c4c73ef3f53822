"""One app, one loopback server and one browser per test session (cheap: ~2 s to start)."""

from __future__ import annotations

import shutil
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REPO, require_reference

pytest.importorskip("fastapi")

TOKEN = "test-token-0123456789"
ARTIFACTS = REPO / "test-artifacts"


@pytest.fixture(scope="session")
def web_dirs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("web")
    return {"db": root / "kb.sqlite", "data": root / "data"}


@pytest.fixture(scope="session")
def app(web_dirs: dict[str, Path]) -> Iterator[Any]:
    from exomir.web.app import create_app
    from exomir.web.settings import Settings

    settings = Settings(db=str(web_dirs["db"]), data_dir=web_dirs["data"], token=TOKEN,
                        job_workers=2, job_queue=6, job_rate_per_minute=600,
                        job_rate_burst=100, max_design_subjects=20, max_subjects=50)
    application = create_app(settings)
    yield application
    application.state.exomir.jobs.shutdown()


@pytest.fixture(scope="session")
def client(app: Any) -> Any:
    from fastapi.testclient import TestClient

    return TestClient(app, raise_server_exceptions=False)


@contextmanager
def running(app: Any) -> Iterator[str]:
    """Serve ``app`` on 127.0.0.1 and a free port in a thread; stop it afterwards."""
    import uvicorn

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    for _ in range(200):
        if server.started:
            break
        time.sleep(0.05)
    assert server.started, "the test server did not start"
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


@pytest.fixture(scope="session")
def live_server(app: Any) -> Iterator[str]:
    with running(app) as url:
        yield url


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Debian's Chromium driven by Playwright (never a downloaded browser)."""
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    require_reference(chromium is not None, "chromium (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        require_reference(False, "playwright (pip install playwright)")
        raise
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium, args=[
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--no-first-run"])
        yield b
        b.close()


class Page:
    """A page that records console errors, page errors and any request off loopback."""

    def __init__(self, browser: Any, base: str) -> None:
        self.base = base
        self.context = browser.new_context(viewport={"width": 1400, "height": 1000},
                                           accept_downloads=True)
        self.page = self.context.new_page()
        self.errors: list[str] = []
        self.offsite: list[str] = []
        self.page.on("console", lambda m: self.errors.append(m.text)
                     if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))

        def route(r: Any) -> None:
            url = r.request.url
            if url.startswith(("http://127.0.0.1:", "data:", "blob:", "about:")):
                r.continue_()
            else:
                self.offsite.append(url)
                r.abort()

        self.context.route("**/*", route)

    def shot(self, name: str) -> Path:
        ARTIFACTS.mkdir(exist_ok=True)
        path = ARTIFACTS / f"web-{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path

    def close(self) -> None:
        self.context.close()

    def check_clean(self) -> None:
        assert self.offsite == [], f"requests left loopback: {self.offsite}"
        assert self.errors == [], f"console errors: {self.errors}"


@pytest.fixture
def page(browser: Any, live_server: str) -> Iterator[Page]:
    p = Page(browser, live_server)
    yield p
    p.close()
