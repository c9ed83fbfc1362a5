"""Real-browser tests of the Compare and Lessons pages, and of presenter mode.

The app is served by Streamlit and driven by Playwright in the system Chromium;
screenshots go to artifacts/compare_*.png and artifacts/lessons_*.png.
"""
from __future__ import annotations

import pytest
from browser_support import shot

pytestmark = pytest.mark.browser


COMPARE_LINK = "/compare?source=shifted_channels&shape=16,8,8,8"
SUBSET_LINK = "/compare?source=images&shape=16,8,32,32&variants=layer_norm,group_norm,instance_norm&num_groups=2"
CHARTS = ".js-plotly-plot .main-svg"
SIDEBAR = '[data-testid="stSidebar"]'


def open_view(browser, url: str, height: int = 2600, charts: bool = True):
    page = browser.new_page(viewport={"width": 1500, "height": height})
    page.goto(url)
    if charts:
        page.wait_for_selector(CHARTS, timeout=90_000)
    else:
        page.wait_for_selector("h1", timeout=90_000)
    page.wait_for_timeout(1500)
    return page


def heatmap_images(page) -> int:
    return page.locator(".js-plotly-plot .heatmaplayer image, .js-plotly-plot .hm image").count()


def assert_no_exception(page) -> None:
    assert not page.locator('[data-testid="stException"]').count()


def test_compare_default_renders(browser, app_url):
    from browser_views import open_tab

    page = open_view(browser, app_url + COMPARE_LINK, height=1150)
    assert page.get_by_text("Compare normalizations").is_visible()
    assert "Compare" in page.locator('[data-testid="stSidebarNav"]').inner_text()
    assert_no_exception(page)
    assert "variants" not in page.url and "section" not in page.url  # the defaults: the link leaves them out
    assert page.get_by_text("cluster_norm(n_clusters=3)", exact=False).first.is_visible()  # the "Shown:" line
    assert page.locator('[role="tab"][aria-selected="true"]').inner_text() == "Distributions"
    assert page.locator(".js-plotly-plot").count() == 1  # only the open tab is drawn
    assert page.locator(".js-plotly-plot .bars path").count() > 100  # 6 histograms of 60 bins
    shot(page, "compare_default")
    open_tab(page, "Statistic groups")
    assert "section=Statistic+groups" in page.url
    assert page.locator(".js-plotly-plot").count() == 1 and heatmap_images(page) >= 5  # a picture per variant
    open_tab(page, "Equivalences")
    assert "section=Equivalences" in page.url and heatmap_images(page) >= 5
    assert page.get_by_text("GroupNorm with one group per channel = InstanceNorm").is_visible()
    assert_no_exception(page)
    shot(page, "compare_equivalences")
    other = open_view(browser, page.url, height=1600)  # the link opens the same tab
    assert other.locator('[role="tab"][aria-selected="true"]').inner_text() == "Equivalences"
    assert heatmap_images(other) >= 5
    other.close()
    page.close()


def test_compare_presenter_mode_hides_the_sidebar(browser, app_url):
    page = open_view(browser, app_url + SUBSET_LINK + "&present=1", height=1100)
    assert_no_exception(page)
    assert page.locator(SIDEBAR).is_hidden()
    assert page.evaluate("getComputedStyle(document.documentElement).fontSize") == "22px"
    assert "present=1" in page.url and "variants=layer_norm&variants=group_norm" in page.url  # present is kept
    assert page.locator("h1").first.inner_text() == "LayerNorm, GroupNorm(2), InstanceNorm on Image-like fields " \
        "(16, 8, 32, 32)"
    shot(page, "compare_present")
    page.get_by_role("button", name="exit presenter mode").click()
    page.locator(SIDEBAR).wait_for(state="visible", timeout=30_000)
    page.wait_for_url(lambda url: "present" not in url, timeout=30_000)
    assert "variants=layer_norm&variants=group_norm" in page.url
    page.close()


def test_lessons_page_and_a_lesson_in_presenter_mode(browser, app_url):
    page = open_view(browser, app_url + "/lessons", height=1800, charts=False)
    assert page.get_by_text("Why BatchNorm fails at batch size 1").is_visible()
    assert page.get_by_text("Ask:").count() >= 8
    assert_no_exception(page)
    shot(page, "lessons_page")
    link = page.locator('a[href*="variants=layer_norm"][href*="present=1"]').first
    link.click()
    page.wait_for_url("**/compare?**present=1**", timeout=30_000)
    page.wait_for_selector(CHARTS, timeout=90_000)
    page.wait_for_timeout(2000)
    assert_no_exception(page)
    assert page.locator(SIDEBAR).is_hidden()
    assert "variants=layer_norm&variants=group_norm" in page.url and "shape=16%2C8%2C32%2C32" in page.url
    assert page.get_by_text("group_norm(num_groups=2)", exact=False).first.is_visible()
    shot(page, "lessons_present_compare")
    page.close()


def test_explore_lesson_link_in_presenter_mode(browser, app_url):
    from vnviz.lessons import lesson

    page = open_view(browser, app_url + lesson("ln_tokens_outliers").link(present=True), height=1100)
    assert_no_exception(page)
    assert page.locator(SIDEBAR).is_hidden()
    assert "present=1" in page.url and "normalized_shape=128" in page.url
    shot(page, "lessons_present_explore")
    page.close()
