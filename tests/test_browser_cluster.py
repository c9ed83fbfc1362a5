"""The ClusterNorm page in a real browser: shared links open the view, the charts render, controls update the link.

Served by Streamlit and driven by Playwright in the system Chromium, as tests/test_browser.py.
Screenshots go to artifacts/cluster_*.png.
"""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = ROOT / "artifacts"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]
VIEWPORT = {"width": 1500, "height": 3300}  # tall enough for the whole page in one screenshot
CHARTS = 4  # scatter, sizes, histograms, statistics

if not Path(CHROMIUM).exists():
    pytest.skip("the system Chromium is not installed (scripts/test.sh installs it)", allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_app(port: int) -> subprocess.Popen:
    """Start the app headless on ``port`` and wait until /_stcore/health says ok."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(ROOT / "app.py"), "--server.headless", "true",
         "--server.port", str(port), "--server.address", "127.0.0.1"],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    deadline = time.time() + 90
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2) as r:
                if r.read().decode().strip() == "ok":
                    return proc
        except OSError:
            time.sleep(0.5)
    proc.kill()
    raise RuntimeError("the app did not become healthy within 90 s")


@pytest.fixture(scope="module")
def app_url():
    port = _free_port()
    proc = start_app(port)
    yield f"http://127.0.0.1:{port}"
    proc.terminate()
    proc.wait(timeout=20)


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


def open_view(browser, url: str, charts: int = CHARTS):
    page = browser.new_page(viewport=VIEWPORT)
    page.goto(url)
    page.wait_for_function(f"document.querySelectorAll('.js-plotly-plot .main-svg').length >= {charts}",
                           timeout=90_000)
    page.wait_for_timeout(1500)
    return page


def shot(page, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path))
    return path


def metric(page, label: str) -> str:
    box = page.locator('[data-testid="stMetric"]').filter(has_text=label)
    return box.locator('[data-testid="stMetricValue"]').inner_text().strip()


def test_kmeans_link_opens_the_view(browser, app_url):
    page = open_view(browser, f"{app_url}/cluster_norm?method=kmeans&n_clusters=3&source=mixture")
    assert page.get_by_text("ClusterNorm: BatchNorm per cluster of samples").is_visible()
    nav = page.locator('[data-testid="stSidebarNav"]').inner_text()
    assert "ClusterNorm" in nav and "Explore" in nav
    assert "method=kmeans" in page.url and "n_clusters=3" in page.url and "source=mixture" in page.url
    assert page.locator(".js-plotly-plot").count() == CHARTS
    assert page.locator(".js-plotly-plot .scatterlayer .point").count() >= 96  # every sample drawn
    assert page.locator(".js-plotly-plot .bars path").count() > 50  # histogram and statistics bars drawn
    assert metric(page, "ARI vs true classes") == "1.000"
    assert metric(page, "verified") == "both pass"
    assert not page.locator('[data-testid="stException"]').count()
    shot(page, "cluster_kmeans")
    page.close()


def test_soft_mode_link(browser, app_url):
    page = open_view(browser, f"{app_url}/cluster_norm?method=torch_kmeans&mode=soft&n_clusters=3&source=mixture")
    assert "mode=soft" in page.url
    assert page.get_by_text("em_iter").first.is_visible()  # soft mode's own parameter is shown
    assert page.get_by_text("Soft mode (Mixture Normalization)").is_visible()
    assert page.locator(".js-plotly-plot").count() == CHARTS
    assert metric(page, "verified") == "both pass"
    assert not page.locator('[data-testid="stException"]').count()
    shot(page, "cluster_soft")
    page.close()


def test_choosing_dbscan_updates_the_link_and_warns(browser, app_url):
    page = open_view(browser, f"{app_url}/cluster_norm?source=mixture&shape=60,2&method=kmeans")
    page.locator('[data-testid="stSelectbox"]').filter(has_text="method").click()
    page.get_by_role("option", name="dbscan", exact=True).click()
    page.wait_for_url("**method=dbscan**", timeout=30_000)
    page.wait_for_selector('[data-testid="stAlertContentWarning"]', timeout=60_000)
    assert "n_clusters" not in page.url and "dbscan_eps=0.5" in page.url
    assert page.get_by_text("are noise (label -1)").first.is_visible()
    page.wait_for_function(f"document.querySelectorAll('.js-plotly-plot .main-svg').length >= {CHARTS}",
                           timeout=60_000)
    page.wait_for_timeout(1500)
    assert not page.locator('[data-testid="stException"]').count()
    shot(page, "cluster_dbscan_noise")
    page.close()


def test_an_impossible_link_is_one_sentence(browser, app_url):
    page = browser.new_page(viewport={"width": 1500, "height": 1000})
    page.goto(f"{app_url}/cluster_norm?source=mixture&n_clusters=500")
    page.wait_for_selector('[data-testid="stAlertContentError"]', timeout=90_000)
    page.wait_for_timeout(500)
    errors = page.locator('[data-testid="stAlertContentError"]')
    assert errors.count() == 1
    assert "n_clusters must be at most the number of samples N=96; got 500." in errors.inner_text()
    assert not page.locator('[data-testid="stException"]').count()
    # the data panel stays, with the user's data
    assert page.get_by_text("A mixture of 3 Gaussian clusters over 96 samples").is_visible()
    assert page.locator('input[aria-label="shape"]').input_value() == "96,4,8,8"
    shot(page, "cluster_error")
    page.close()
