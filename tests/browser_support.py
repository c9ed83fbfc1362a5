"""Shared pieces of the real-browser tests: the app server, the system Chromium, screenshots.

A browser test file imports this module first: it skips the file when the
system Chromium is missing. The ``app_url`` and ``browser`` fixtures live in
conftest.py; the server and browser launchers are the load test's own
(scripts/loadtest.py).
"""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "artifacts"  # screenshots (not committed)
sys.path.insert(0, str(ROOT / "scripts"))
from loadtest import ARGS as CHROMIUM_ARGS  # noqa: E402
from loadtest import CHROMIUM, free_port, start_server  # noqa: E402

__all__ = ["ARTIFACTS", "CHROMIUM", "CHROMIUM_ARGS", "free_port", "open_view", "shot", "start_server", "sync_api"]

if not Path(CHROMIUM).exists():
    pytest.skip("the system Chromium is not installed (scripts/test.sh installs it)", allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api")


def shot(page, name: str, full: bool = False) -> Path:
    """Save a screenshot as artifacts/NAME.png and return its path."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=full)
    return path


def open_view(browser, url: str, height: int = 1400, settle_ms: int = 1500):
    """A new 1500-wide page at ``url``, once a plotly chart has drawn and ``settle_ms`` more have passed."""
    page = browser.new_page(viewport={"width": 1500, "height": height})
    page.goto(url)
    page.wait_for_selector(".js-plotly-plot .main-svg", timeout=90_000)
    page.wait_for_timeout(settle_ms)
    return page
