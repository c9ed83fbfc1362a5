"""Real-browser tests of the Slice & Mask page: shared links open the right view and the charts render.

The app is served by Streamlit and driven by Playwright in the system Chromium;
screenshots go to artifacts/slice_mask_*.png.
"""
from __future__ import annotations

import browser_support
import pytest
from browser_support import shot

pytestmark = pytest.mark.browser
MASK_LINK = "/slice_mask?op=matrix_mask&kind=causal&mask_mode=fill&value=-inf&matrix=attention"
SLICE_LINK = "/slice_mask?variant=matrix_slice&source=gaussian&shape=12,12&rows=1:9:2&cols=2:10"  # an older link
NAN_LINK = "/slice_mask?op=matrix_mask&matrix=gaussian&matrix_shape=10,10&kind=padding&lengths=0,1,2,3,4,5,6,7,8,0" \
    "&mask_mode=fill&value=-inf"
COPY_LINK = "/slice_mask?op=matrix_slice&matrix=weight&matrix_shape=64,96&rows=0,5,9&cols=::4"


def open_view(browser, url: str, height: int = 2400):
    return browser_support.open_view(browser, url, height, settle_ms=1000)


def heatmap_images(page) -> int:
    return page.locator(".js-plotly-plot .heatmaplayer image, .js-plotly-plot .hm image").count()


def test_shared_mask_link_renders(browser, app_url):
    page = open_view(browser, app_url + MASK_LINK)
    assert page.get_by_text("Slice & Mask a matrix").is_visible()
    assert "Slice & Mask" in page.locator('[data-testid="stSidebarNav"]').inner_text()
    assert page.url.endswith("/slice_mask?mask_mode=fill")  # the rest is the default: causal, -inf, attention
    assert page.locator('input[aria-label="value"]').input_value() == "-inf"
    assert not page.locator('[data-testid="stException"]').count()
    assert heatmap_images(page) >= 4  # before, after, the -inf overlay, the mask
    legend = page.locator(".js-plotly-plot .legend").first.text_content()
    assert "−inf" in legend  # filled cells have their own colour, outside the value scale
    metrics = page.locator('[data-testid="stMetricValue"]').all_inner_texts()
    assert "276 / 576" in metrics
    shot(page, "slice_mask_mask_causal_fill")
    page.get_by_role("tab", name="Effect on y = A·v").click()
    page.wait_for_timeout(800)
    assert page.get_by_text("−inf fills are for softmax logits").is_visible()  # the product falls back to M⊙A
    shot(page, "slice_mask_mask_product")
    page.get_by_role("tab", name="Effect on a softmax").click()
    page.wait_for_timeout(1200)
    assert page.get_by_text("a zero logit still gets probability").is_visible()
    shot(page, "slice_mask_mask_softmax")
    page.close()


def test_fully_masked_rows_callout(browser, app_url):
    page = open_view(browser, app_url + NAN_LINK)
    page.get_by_role("tab", name="Effect on a softmax").click()
    page.wait_for_timeout(1200)
    assert page.get_by_text("rows are fully masked").is_visible()
    assert page.get_by_text("fully masked rows: 0, not NaN").first.is_visible()  # the safe code
    shot(page, "slice_mask_mask_nan_rows")
    page.close()


def test_shared_slice_links_render(browser, app_url):
    page = open_view(browser, app_url + SLICE_LINK)
    assert "rows=1%3A9%3A2" in page.url or "rows=1:9:2" in page.url
    assert "op=matrix_slice" in page.url and "matrix=gaussian" in page.url  # the older names, rewritten
    table = page.locator("[data-testid=\"stTable\"]").first.inner_text()
    assert "(4, 8)" in table and "(12, 1)" in table and "storage offset" in table  # shape, strides
    assert page.get_by_text("y is a view").first.is_visible()
    assert page.locator(".js-plotly-plot").count() >= 2  # before | after, write-through
    assert page.get_by_text("x[[0, 2]]").is_visible()  # the slicing-forms table
    shot(page, "slice_mask_slice_view")
    page.close()
    page = open_view(browser, app_url + COPY_LINK)
    assert page.get_by_text("y is a copy").first.is_visible()
    assert not page.locator('[data-testid="stException"]').count()
    shot(page, "slice_mask_slice_copy")
    page.close()
