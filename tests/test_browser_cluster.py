"""The ClusterNorm page in a real browser: shared links open the view, the charts render, controls update the link.

Served by Streamlit and driven by Playwright in the system Chromium, as tests/test_browser.py.
Screenshots go to artifacts/cluster_*.png.
"""
from __future__ import annotations

import pytest
from playwright.sync_api import expect
from browser_support import shot

import browser_views

pytestmark = pytest.mark.browser
VIEWPORT = {"width": 1500, "height": 3300}  # tall enough for the whole page in one screenshot
CHARTS = 4  # scatter, sizes, histograms, statistics


def open_view(browser, url: str, charts: int = CHARTS):
    page = browser.new_page(viewport=VIEWPORT)
    page.goto(url)
    page.wait_for_function(f"document.querySelectorAll('.js-plotly-plot .main-svg').length >= {charts}",
                           timeout=90_000)
    page.wait_for_timeout(1500)
    return page


def metric(page, label: str) -> str:
    box = page.locator('[data-testid="stMetric"]').filter(has_text=label)
    return box.locator('[data-testid="stMetricValue"]').inner_text().strip()


def test_kmeans_link_opens_the_view(browser, app_url):
    page = open_view(browser, f"{app_url}/cluster_norm?method=kmeans&n_clusters=3&source=mixture")
    assert page.get_by_text("ClusterNorm: BatchNorm per cluster of samples").is_visible()
    nav = page.locator('[data-testid="stSidebarNav"]').inner_text()
    assert "ClusterNorm" in nav and "Explore" in nav
    assert "method=kmeans" in page.url  # n_clusters=3 and source=mixture are this page's defaults: left out
    assert "n_clusters" not in page.url and "source" not in page.url
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
    assert "n_clusters" not in page.url and "dbscan_eps" not in page.url  # hidden, and the default
    assert page.get_by_text("are noise (label -1)").first.is_visible()
    page.wait_for_function(f"document.querySelectorAll('.js-plotly-plot .main-svg').length >= {CHARTS}",
                           timeout=60_000)
    page.wait_for_timeout(1500)
    assert not page.locator('[data-testid="stException"]').count()
    shot(page, "cluster_dbscan_noise")
    page.close()


def test_an_impossible_link_falls_back_with_a_notice(browser, app_url):
    page = open_view(browser, f"{app_url}/cluster_norm?source=photos&n_clusters=3")  # 2 photos: at most 2 clusters
    notice = page.locator('[data-testid="stAlertContentInfo"]').filter(has_text="n_clusters=3")
    assert notice.count() == 1 and "does not fit this data (allowed: 1 to 2); using 2" in notice.inner_text()
    assert not page.locator('[data-testid="stAlertContentError"]').count()
    assert page.locator(".js-plotly-plot").count() == CHARTS  # the charts stay
    assert not page.locator('[data-testid="stException"]').count()
    shot(page, "cluster_photos_notice")
    page.close()
    page = browser.new_page(viewport={"width": 1500, "height": 1000})
    page.goto(f"{app_url}/cluster_norm?source=mixture&n_clusters=500")
    page.wait_for_selector('[data-testid="stAlertContentInfo"]', timeout=90_000)
    browser_views.settle(page, 1000)
    assert not page.locator('[data-testid="stException"]').count()
    assert "n_clusters=500 does not fit this data (allowed: 1 to 96); using 3" in \
        page.locator('[data-testid="stAlertContentInfo"]').first.inner_text()
    # the data panel stays, with the user's data
    assert page.get_by_text("A mixture of 3 Gaussian clusters over 96 samples").is_visible()
    # the box holds the data's shape once the corrected link is drawn (the page is sent there once: while it
    # reruns, the box is briefly absent or empty, which a single read could catch)
    expect(page.locator('input[aria-label="shape"]')).to_have_value("96,4,8,8", timeout=30_000)
    shot(page, "cluster_error")
    page.close()
