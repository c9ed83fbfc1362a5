"""Real-browser tests of the Slice & Mask page: shared links open the right view and the charts render.

The app is served by Streamlit and driven by Playwright in the system Chromium;
screenshots go to artifacts/slice_mask_*.png.
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
MASK_LINK = "/slice_mask?variant=matrix_mask&kind=causal&mode=fill&value=-inf&source=attention"
SLICE_LINK = "/slice_mask?variant=matrix_slice&source=gaussian&shape=12,12&rows=1:9:2&cols=2:10"
NAN_LINK = "/slice_mask?variant=matrix_mask&source=gaussian&shape=10,10&kind=padding&lengths=0,1,2,3,4,5,6,7,8,0" \
    "&mode=fill&value=-inf"
COPY_LINK = "/slice_mask?variant=matrix_slice&source=weight&shape=64,96&rows=0,5,9&cols=::4"

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


def open_view(browser, url: str, height: int = 2400):
    page = browser.new_page(viewport={"width": 1500, "height": height})
    page.goto(url)
    page.wait_for_selector(".js-plotly-plot .main-svg", timeout=90_000)
    page.wait_for_timeout(1000)
    return page


def shot(page, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"slice_mask_{name}.png"
    page.screenshot(path=str(path))
    return path


def heatmap_images(page) -> int:
    return page.locator(".js-plotly-plot .heatmaplayer image, .js-plotly-plot .hm image").count()


def test_shared_mask_link_renders(browser, app_url):
    page = open_view(browser, app_url + MASK_LINK)
    assert page.get_by_text("Slice & Mask a matrix").is_visible()
    assert "Slice & Mask" in page.locator('[data-testid="stSidebarNav"]').inner_text()
    assert "value=-inf" in page.url and "kind=causal" in page.url and "shape=4%2C24%2C24" in page.url
    assert not page.locator('[data-testid="stException"]').count()
    assert heatmap_images(page) >= 4  # before, after, the -inf overlay, the mask
    legend = page.locator(".js-plotly-plot .legend").first.text_content()
    assert "−inf" in legend  # filled cells have their own colour, outside the value scale
    metrics = page.locator('[data-testid="stMetricValue"]').all_inner_texts()
    assert "276 / 576" in metrics
    shot(page, "mask_causal_fill")
    page.get_by_role("tab", name="Effect on y = A·v").click()
    page.wait_for_timeout(800)
    assert page.get_by_text("−inf fills are for softmax logits").is_visible()  # the product falls back to M⊙A
    shot(page, "mask_product")
    page.get_by_role("tab", name="Effect on a softmax").click()
    page.wait_for_timeout(1200)
    assert page.get_by_text("a zero logit still gets probability").is_visible()
    shot(page, "mask_softmax")
    page.close()


def test_fully_masked_rows_callout(browser, app_url):
    page = open_view(browser, app_url + NAN_LINK)
    page.get_by_role("tab", name="Effect on a softmax").click()
    page.wait_for_timeout(1200)
    assert page.get_by_text("rows are fully masked").is_visible()
    assert page.get_by_text("fully masked rows: 0, not NaN").first.is_visible()  # the safe code
    shot(page, "mask_nan_rows")
    page.close()


def test_shared_slice_links_render(browser, app_url):
    page = open_view(browser, app_url + SLICE_LINK)
    assert "rows=1%3A9%3A2" in page.url or "rows=1:9:2" in page.url
    table = page.locator("[data-testid=\"stTable\"]").first.inner_text()
    assert "(4, 8)" in table and "(12, 1)" in table and "storage offset" in table  # shape, strides
    assert page.get_by_text("y is a view").first.is_visible()
    assert page.locator(".js-plotly-plot").count() >= 2  # before | after, write-through
    assert page.get_by_text("x[[0, 2]]").is_visible()  # the slicing-forms table
    shot(page, "slice_view")
    page.close()
    page = open_view(browser, app_url + COPY_LINK)
    assert page.get_by_text("y is a copy").first.is_visible()
    assert not page.locator('[data-testid="stException"]').count()
    shot(page, "slice_copy")
    page.close()
