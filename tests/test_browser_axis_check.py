"""The Axis check page in a real browser: shared links open the right plan and report, the figures render.

The app is served by Streamlit and driven by Playwright in the system Chromium.
Screenshots go to artifacts/axis_check_*.png.
"""
from __future__ import annotations

import pytest
from browser_support import ARTIFACTS, open_view, shot

pytestmark = pytest.mark.browser


def assert_no_exception(page) -> None:
    assert not page.locator('[data-testid="stException"]').count()
    assert not page.locator('[data-testid="stAlertContentError"]').count()


def test_group_norm_link_draws_the_plan_and_the_cubes(browser, app_url):
    page = open_view(browser, f"{app_url}/axis_check?layout=N%20C%20H%20W&variant=group_norm&num_groups=2")
    assert page.get_by_text("Which axes?").is_visible()
    assert page.get_by_text("nn.GroupNorm(G, C)").first.is_visible()
    assert page.get_by_text("n (g c) h w -> n g 1 1 1").first.is_visible()
    assert "layer=group_norm" in page.url and "groups" not in page.url  # the older link, rewritten; 2 is the default
    assert page.locator('input[aria-label="num_groups"]').input_value() == "2"
    cubes = page.locator(".js-plotly-plot").first
    assert cubes.locator(".scatterlayer .trace").count() >= 4 * 3  # 4 boxes, 3 faces (or more) each
    assert cubes.locator("path.js-fill").count() >= 4 * 3  # the filled faces are drawn
    assert "group 3 of 4" in cubes.inner_text() and "N 1 · C 2–3 · H·W all" in cubes.inner_text()
    assert_no_exception(page)
    shot(page, "axis_check_group_norm")
    page.get_by_text("Every statistic group").click()
    page.wait_for_selector(".js-plotly-plot .heatmaplayer image, .js-plotly-plot .hm image", timeout=30_000)
    page.wait_for_timeout(1000)
    ARTIFACTS.mkdir(exist_ok=True)
    page.locator('[data-testid="stExpander"]').first.screenshot(path=str(ARTIFACTS / "axis_check_group_map.png"))
    page.close()


def test_example_link_shows_the_report_and_the_candidates(browser, app_url):
    page = open_view(browser, f"{app_url}/axis_check?example=bn1d_tokens", height=2600)
    assert "example" not in page.url and page.locator('input[aria-label="pair"]').input_value() == "bn1d_tokens"
    page.get_by_text("Check my layer").scroll_into_view_if_needed()
    assert page.get_by_text("BatchNorm1d fed (N, L, D) tokens", exact=False).first.is_visible()
    assert page.get_by_text("matching layer").is_visible()
    assert page.get_by_text("relative residual", exact=False).first.is_visible()
    charts = page.locator(".js-plotly-plot")
    assert charts.count() >= 2
    bars = charts.last.locator(".bars path")
    assert bars.count() >= 5  # the candidates chart
    assert_no_exception(page)
    shot(page, "axis_check_bn1d_tokens", full=True)
    page.close()


def test_ticking_axes_updates_the_link_and_the_plan(browser, app_url):
    page = open_view(browser, f"{app_url}/axis_check?layout=N%20L%20D&reduce=N,D")
    assert page.get_by_text("nn.BatchNorm1d(L)").first.is_visible()
    assert page.get_by_text("takes dim 1, the L positions, for channels", exact=False).first.is_visible()
    pills = page.locator('[data-testid="stButtonGroup"] button')
    pills.filter(has_text="D").click()  # untick D: reduce over N alone
    page.wait_for_selector("text=nn.BatchNorm1d(L*D) on x.flatten(1)", timeout=30_000)
    pills.filter(has_text="L").click()  # tick L: reduce over N, L
    page.wait_for_selector("text=nn.BatchNorm1d(D) on x.transpose(1, 2)", timeout=30_000)
    page.wait_for_timeout(1500)  # N, L: BatchNorm's axes on N L D, where the ticks start: not in the link
    assert "reduce" not in page.url and "dims=N+L+D" in page.url and "by=axes" in page.url
    assert_no_exception(page)
    shot(page, "axis_check_tokens_ticks")
    page.close()


def test_upload_a_pair_in_the_browser(browser, app_url, tmp_path):
    import numpy as np
    import torch

    x = torch.randn(4, 6, 5, 5, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        y = torch.nn.LayerNorm([6, 5, 5], elementwise_affine=False)(x)
    path = tmp_path / "pair.npz"
    np.savez(path, x=x.numpy(), y=y.numpy())
    page = open_view(browser, f"{app_url}/axis_check?example=upload", height=2000)
    page.locator('[data-testid="stFileUploader"] input[type="file"]').first.set_input_files(str(path))
    page.wait_for_selector("text=LayerNorm over C, H, W", timeout=60_000)
    page.wait_for_timeout(1500)
    assert page.get_by_text("pair.npz: Your pair, shape (4, 6, 5, 5), float32.").is_visible()
    assert page.locator(".js-plotly-plot").last.locator(".bars path").count() >= 5
    assert_no_exception(page)
    page.get_by_text("Check my layer").scroll_into_view_if_needed()
    shot(page, "axis_check_upload", full=True)
    page.close()


def test_presenter_mode_is_big_and_clean(browser, app_url):
    page = open_view(browser, f"{app_url}/axis_check?layout=N%20C%20H%20W&variant=instance_norm&present=1")
    assert "present=1" in page.url
    assert not page.locator('[data-testid="stSidebar"]').is_visible()
    assert_no_exception(page)
    shot(page, "axis_check_presenter")
    page.close()
