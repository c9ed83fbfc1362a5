"""Real-browser test of the element figure: a click on a cell selects that element (plotly selection events
through st.plotly_chart(on_select=...)), and the numbers shown are explain's for it.
"""
from __future__ import annotations

import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
import torch
from browser_support import free_port, shot

import vnviz

pytestmark = pytest.mark.browser
SCRIPT = Path(__file__).with_name("explain_click_app.py")


@pytest.fixture(scope="module")
def click_url():
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "streamlit", "run", str(SCRIPT), "--server.headless", "true",
                             "--server.port", str(port), "--server.address", "127.0.0.1"],
                            cwd=SCRIPT.parents[1], stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 90
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(url + "/_stcore/health", timeout=2) as r:
                if r.read().decode().strip() == "ok":
                    break
        except OSError:
            time.sleep(0.5)
    yield url
    proc.terminate()
    proc.wait(timeout=20)


def test_click_a_cell_selects_its_element(browser, click_url):
    x = torch.randn(4, 6, 5, 4, generator=torch.Generator().manual_seed(0))  # the script's tensor
    page = browser.new_page(viewport={"width": 1300, "height": 1100})
    page.goto(click_url)
    page.wait_for_selector(".js-plotly-plot .main-svg", timeout=90_000)
    page.get_by_text("selected: 1, 2, 3, 1").wait_for(timeout=30_000)
    area = page.locator(".js-plotly-plot .nsewdrag").first.bounding_box()  # the left panel: 6 channels × 20 positions
    row, col = 4, 13  # channel 4, flat position 13 = (3, 1)
    page.mouse.click(area["x"] + (col + 0.5) / 20 * area["width"], area["y"] + (row + 0.5) / 6 * area["height"])
    page.get_by_text("selected: 1, 4, 3, 1").wait_for(timeout=30_000)
    e = vnviz.explain("group_norm", x, (1, 4, 3, 1), num_groups=3, weight=2.0)
    for step in e.steps:
        page.get_by_text(step.text, exact=True).wait_for(timeout=10_000)
    assert f"{float(e.y):.6g}".replace("-", "−") in e.steps[-1].text
    assert not page.locator('[data-testid="stException"]').count()
    shot(page, "explain_click")
    page.close()
