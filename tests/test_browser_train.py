"""The Training lab in a real browser: a link trains and draws, the link follows the controls, stop works.

Served by Streamlit and driven by Playwright in the system Chromium, as tests/test_browser.py.
Screenshots go to artifacts/train_*.png.
"""
from __future__ import annotations

import pytest
from browser_support import shot

pytestmark = pytest.mark.browser
CHARTS = 4  # curves, percentile bands, heatmaps, gradient norms
WAIT = 180_000  # ms: training and drawing share two cores with the browser


def open_train(browser, url: str, charts: int = CHARTS, width: int = 1500, height: int = 2600):
    page = browser.new_page(viewport={"width": width, "height": height})
    page.goto(url)
    page.wait_for_function(f"document.querySelectorAll('.js-plotly-plot .main-svg').length >= {charts}",
                           timeout=WAIT)
    page.wait_for_timeout(1500)
    return page


def test_the_default_link_trains_and_draws_every_chart(browser, app_url):
    page = open_train(browser, f"{app_url}/train")
    assert page.get_by_text("Training lab: what a norm does to a network that learns").is_visible()
    assert page.locator(".js-plotly-plot").count() == CHARTS
    assert page.locator(".js-plotly-plot .scatterlayer .trace").count() >= 8  # curves, bands and gradient lines
    assert page.locator(".js-plotly-plot .heatmaplayer image, .js-plotly-plot .hm image").count() >= 2
    grid = page.locator('[data-testid="stTable"]').inner_text()
    assert "no norm" in grid and "BatchNorm" in grid
    assert not page.locator('[data-testid="stException"]').count()
    shot(page, "train_default", full=True)
    page.close()


def test_the_link_follows_the_controls(browser, app_url):
    page = open_train(browser, f"{app_url}/train?steps=200&norms=batch_norm&norms=layer_norm&seeds=1")
    assert "norms=batch_norm" in page.url and "norms=layer_norm" in page.url and "seeds=1" in page.url
    grid = page.locator('[data-testid="stTable"]').inner_text()
    assert "LayerNorm" in grid and "no norm" not in grid
    page.get_by_role("spinbutton", name="batch_size").fill("30")
    page.keyboard.press("Enter")
    page.wait_for_function("location.search.includes('batch_size=30')", timeout=WAIT)
    page.wait_for_function(f"document.querySelectorAll('.js-plotly-plot .main-svg').length >= {CHARTS}",
                           timeout=WAIT)
    assert "steps=200" in page.url and "norms=layer_norm" in page.url
    page.close()


def test_training_shows_progress_and_stops_on_request(browser, app_url):
    page = browser.new_page(viewport={"width": 1500, "height": 2000})
    page.goto(f"{app_url}/train?steps=20000&norms=batch_norm&seeds=7")
    page.wait_for_selector('[data-testid="stProgress"]', timeout=WAIT)
    page.wait_for_function("document.querySelectorAll('.js-plotly-plot .main-svg').length >= 1", timeout=WAIT)
    page.wait_for_function("document.querySelector('[data-testid=\"stProgress\"]').innerText.includes('step')",
                           timeout=WAIT)
    assert "Run 1 of 1: BatchNorm, seed 7" in page.locator('[data-testid="stProgress"]').inner_text()
    shot(page, "train_live")
    page.get_by_role("button", name="stop").click()
    page.wait_for_selector("text=Training stopped", timeout=WAIT)
    page.wait_for_function(f"document.querySelectorAll('.js-plotly-plot .main-svg').length >= {CHARTS}",
                           timeout=WAIT)
    grid = page.locator('[data-testid="stTable"]').inner_text()
    assert "Stopped at step" in grid
    assert page.get_by_role("button", name="train the rest").is_visible()
    page.close()


def test_a_sweep_link_draws_error_against_the_swept_value(browser, app_url):
    page = open_train(browser, f"{app_url}/train?steps=100&norms=batch_norm&norms=group_norm&sweep=lr"
                               "&sweep_values=0.1,1,10", charts=1)
    assert page.get_by_text("Final error against the learning rate").is_visible()
    assert page.locator(".js-plotly-plot .scatterlayer .point").count() >= 6
    shot(page, "train_sweep")
    page.close()


@pytest.mark.parametrize("size", [(1920, 1080), (1024, 768)], ids=["1920x1080", "1024x768"])
def test_presenter_mode(browser, app_url, size):
    width, height = size
    page = open_train(browser, f"{app_url}/train?present=1", width=width, height=height)
    assert not page.locator('[data-testid="stSidebar"]').is_visible()
    assert page.get_by_role("button", name="exit presenter mode").is_visible()
    # the charts' titles in big type: the figures set their sizes (tests/test_figure_text.py), so this holds
    # whenever the browser draws them; waited for, as under load plotly may still be drawing the first run
    page.wait_for_function("() => { const t = document.querySelector('.js-plotly-plot .gtitle');"
                           " return t && parseFloat(getComputedStyle(t).fontSize) >= 20; }", timeout=60_000)
    shot(page, f"train_present_{width}x{height}")
    page.close()
