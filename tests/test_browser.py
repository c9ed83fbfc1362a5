"""Real-browser tests: the app served by Streamlit, driven by Playwright in the system Chromium.

They check what only a browser shows: that shared links open the right view
and that the plotly charts actually render. Screenshots go to artifacts/.
"""
from __future__ import annotations

import pytest
from browser_support import open_view, shot

pytestmark = pytest.mark.browser


def test_shared_link_opens_the_view_on_a_fresh_server(browser, app_url):
    # the very first request of a new server goes to a sub-page: it must still get the app's navigation
    page = open_view(browser, f"{app_url}/explore?source=shifted_channels&variant=group_norm&num_groups=4&seed=4")
    assert page.get_by_text("Explore a normalization").is_visible()
    nav = page.locator('[data-testid="stSidebarNav"]').inner_text()
    assert "Explore" in nav and "Home" in nav
    caption = page.locator('[data-testid="stCaptionContainer"]').filter(has_text="reduces n (g c) h w")
    assert "nn.GroupNorm(4, 8, eps=1e-05, affine=False" in caption.first.inner_text()  # this data's module
    assert "num_groups=4" in page.url and "seed=4" in page.url
    assert page.locator(".js-plotly-plot").count() >= 3
    assert page.locator(".js-plotly-plot .bars path").count() > 20  # histogram bars drawn
    shot(page, "explore_distributions")
    page.get_by_role("tab", name="Statistic groups").click()  # only the open tab is drawn: this one now
    page.wait_for_selector(".js-plotly-plot .heatmaplayer image, .js-plotly-plot .hm image", timeout=60_000)
    page.wait_for_timeout(1500)
    assert page.locator(".js-plotly-plot .heatmaplayer image, .js-plotly-plot .hm image").count() >= 4
    shot(page, "explore_groups")
    page.get_by_role("tab", name="Verification").click()
    page.get_by_text("Verified").first.wait_for(timeout=60_000)
    assert page.get_by_text("Verified").first.is_visible()
    page.close()


def test_every_norm_renders_in_the_browser(browser, app_url):
    for variant in ("batch_norm", "layer_norm", "instance_norm", "rms_norm"):
        page = open_view(browser, f"{app_url}/explore?variant={variant}&source=tokens")
        assert (f"variant={variant}" in page.url) == (variant != "batch_norm")  # the default is left out
        assert page.get_by_text(f"{variant}(", exact=False).first.is_visible()  # the "Shown:" line
        assert page.locator(".js-plotly-plot").count() >= 3
        assert not page.locator('[data-testid="stException"]').count()
        page.get_by_role("tab", name="Per-axis statistics").click()
        page.wait_for_selector(".js-plotly-plot .scatterlayer .trace", timeout=60_000)  # drawn when opened
        page.wait_for_timeout(1000)
        shot(page, f"explore_axes_{variant}")
        page.close()


def test_changing_a_control_updates_the_link(browser, app_url):
    page = open_view(browser, f"{app_url}/explore?variant=layer_norm")
    page.locator('[data-testid="stSelectbox"]').filter(has_text="variant").click()
    page.get_by_role("option", name="instance_norm", exact=True).click()
    page.wait_for_url("**variant=instance_norm**", timeout=30_000)
    page.wait_for_selector(".js-plotly-plot .main-svg", timeout=60_000)
    assert not page.locator('[data-testid="stException"]').count()
    page.close()


def test_home_lists_the_variants(browser, app_url):
    page = browser.new_page(viewport={"width": 1500, "height": 1000})
    page.goto(app_url)
    page.wait_for_selector('[data-testid="stTable"]', timeout=60_000)
    page.wait_for_timeout(1000)
    assert page.get_by_text("vnviz: see what a normalization does").is_visible()
    shot(page, "home")
    page.close()


def test_sidebar_away_and_back_redraws_the_page(browser, app_url):
    """Explore -> Lessons -> Explore through the sidebar: the view comes back as it was left."""
    page = open_view(browser, f"{app_url}/explore?variant=group_norm&source=images&num_groups=1")
    nav = page.locator('[data-testid="stSidebarNav"]')
    nav.get_by_text("Lessons", exact=True).click()
    page.wait_for_url("**/lessons**", timeout=30_000)
    page.get_by_text("Each lesson is one idea").wait_for(timeout=30_000)
    nav.get_by_text("Explore", exact=True).click()
    page.wait_for_url("**/explore?**variant=group_norm**", timeout=30_000)
    page.wait_for_selector(".js-plotly-plot .main-svg", timeout=60_000)
    assert "source=images" in page.url and "num_groups=1" in page.url
    page.get_by_role("tab", name="Verification").click()
    page.get_by_text("Verified").first.wait_for(timeout=60_000)
    assert not page.locator('[data-testid="stException"]').count()
    assert page.locator('[data-testid="stTextInput"] input').first.input_value()  # the shape box is filled again
    shot(page, "explore_after_sidebar_round_trip")
    page.close()
