"""Browser fixtures: Debian's Chromium driven by Playwright, and a JupyterLab server."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import IN_CI
from tests.integration.conftest import demo_images, manager, stack, tracker

__all__ = ["demo_images", "manager", "stack", "tracker"]

CHROMIUM = "/usr/bin/chromium"
REPO = Path(__file__).parents[2]
ARTIFACTS = REPO / "tests" / "artifacts"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    """Chromium per test module: Playwright's sync API keeps an event loop marked running
    in this thread while it is open, which asyncio.run in other tests must not see."""
    if not Path(CHROMIUM).exists():
        if IN_CI:
            pytest.fail("CI needs Chromium: apt-get install chromium (scripts/setup.sh --browser)")
        pytest.skip("Chromium is not installed")
    from playwright.sync_api import sync_playwright

    profile = tempfile.mkdtemp(prefix="infranb-chromium-")
    with sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            profile,
            executable_path=CHROMIUM,
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": 1280, "height": 900},
        )
        yield context
        context.close()
    shutil.rmtree(profile, ignore_errors=True)


def goto(page: object, url: str, *, attempts: int = 3) -> None:
    """Load a page, reloading on the rare transient network-change failure."""
    for attempt in range(attempts):
        try:
            page.goto(url, wait_until="domcontentloaded")  # type: ignore[attr-defined]
            return
        except Exception as e:
            if "ERR_NETWORK_CHANGED" not in str(e) or attempt == attempts - 1:
                raise
            time.sleep(1)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Lab:
    url: str
    token: str
    root: Path

    def notebook_url(self, name: str) -> str:
        return f"{self.url}/lab/tree/{name}?token={self.token}&reset"

    def shutdown_kernels(self) -> None:
        """Stop every kernel, so notebooks opened earlier do not pile up."""
        import json

        headers = {"Authorization": f"token {self.token}"}
        request = urllib.request.Request(f"{self.url}/api/kernels", headers=headers)
        with urllib.request.urlopen(request, timeout=10) as answer:
            kernels = json.load(answer)
        for kernel in kernels:
            urllib.request.urlopen(
                urllib.request.Request(
                    f"{self.url}/api/kernels/{kernel['id']}", method="DELETE", headers=headers
                ),
                timeout=10,
            )


@pytest.fixture(scope="session")
def lab() -> Iterator[Lab]:
    """JupyterLab on a copy of notebooks/ (so saved notebooks never touch the repo)."""
    root = Path(tempfile.mkdtemp(prefix="infranb-lab-"))
    shutil.copytree(REPO / "notebooks", root / "notebooks")
    home = root / "home"
    home.mkdir()
    # Save widget state with notebooks, so tests can check what a saved notebook would hold.
    settings = home / ".jupyter" / "lab" / "user-settings" / "@jupyter-widgets"
    settings = settings / "jupyterlab-manager"
    settings.mkdir(parents=True)
    (settings / "plugin.jupyterlab-settings").write_text('{"saveState": true}')
    # Render every cell (no windowing), so the page shows every prompt and output.
    tracker = home / ".jupyter" / "lab" / "user-settings" / "@jupyterlab" / "notebook-extension"
    tracker.mkdir(parents=True)
    (tracker / "tracker.jupyterlab-settings").write_text('{"windowingMode": "none"}')
    token = uuid.uuid4().hex
    port = free_port()
    env = {**os.environ, "HOME": str(home), "JUPYTER_CONFIG_DIR": str(home / ".jupyter")}
    # Notebooks read the demo password file from ~/.config; share the real one with the lab.
    real = Path.home() / ".config" / "infranb"
    if real.exists():
        shutil.copytree(real, home / ".config" / "infranb")
    cmd = [
        sys.executable,
        "-m",
        "jupyter",
        "lab",
        "--no-browser",
        "--ip=127.0.0.1",
        f"--port={port}",
        f"--IdentityProvider.token={token}",
        "--allow-root",
        f"--ServerApp.root_dir={root / 'notebooks'}",
        "--ServerApp.open_browser=False",
        "--LabApp.news_url=",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
    ]
    log = open(root / "lab.log", "wb")  # noqa: SIM115 - closed at teardown
    process = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    for _ in range(120):
        try:
            urllib.request.urlopen(f"{url}/api/status?token={token}", timeout=1)
            break
        except OSError:
            time.sleep(0.5)
    else:
        process.terminate()
        pytest.fail("JupyterLab did not start: " + (root / "lab.log").read_text()[-2000:])
    yield Lab(url, token, root / "notebooks")
    process.terminate()
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        process.kill()
    log.close()
    # The server's log outlives the session's folder: what to read when a test saw an error.
    ARTIFACTS.mkdir(exist_ok=True)
    shutil.copyfile(root / "lab.log", ARTIFACTS / "lab.log")
    shutil.rmtree(root, ignore_errors=True)
