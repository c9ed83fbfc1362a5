"""Real-browser tests of Explore's precision view (issue 17): the autocast lesson's link draws the precision figure,
the "compute in" control writes the link, presenter mode and a float16 upload show it too (screenshots in artifacts/).
"""
from __future__ import annotations

import io

import numpy as np
import pytest
from browser_support import shot

import browser_views as bv
from vnviz.lessons import lesson

pytestmark = pytest.mark.browser
LESSON = lesson("layer_norm_autocast_float32")
FIGURE = ".js-plotly-plot"


def precision_plot(page, dtype: str):
    """The precision figure of ``dtype``, once plotly has drawn it."""
    plot = page.locator(FIGURE).filter(has_text=f"largest error per group, in {dtype} ulps")
    plot.first.wait_for(timeout=120_000)
    return plot.first


def open_lesson(browser, app_url: str, width: int = 1500, height: int = 1400, present: bool = False):
    page = browser.new_page(viewport={"width": width, "height": height})
    page.goto(app_url + LESSON.link(present=present))
    page.wait_for_selector(f"{FIGURE} .main-svg", timeout=120_000)
    bv.settle(page, 1000)
    return page


def test_the_lessons_link_draws_the_precision_figure(browser, app_url):
    page = open_lesson(browser, app_url)
    plot = precision_plot(page, "float16")
    assert "LayerNorm in float16: max error" in plot.inner_text()
    markers = plot.locator(".scatterlayer .trace").first.locator("path.point")
    assert markers.count() == 64  # one per statistic group: LayerNorm's 64 samples
    assert plot.locator(".barlayer path").count() >= 1  # the outputs by error in ulps
    assert bv.link(page) == dict(LESSON.query) and bv.widgets(page)["compute in"] == "float16"
    assert "dtype float16 (cast from float32)" in bv.shown(page)
    traps = page.locator('[data-testid="stAlertContentWarning"]').filter(has_text="What can go wrong in float16")
    assert "x² overflows float16" in traps.first.inner_text()
    assert bv.no_exception(page) and not bv.errors(page)
    shot(page, "precision_lesson")
    # another dtype through the control: the link follows, and the figure is redrawn in it
    bv.pick(page, "compute in", "bfloat16")
    plot = precision_plot(page, "bfloat16")
    assert "LayerNorm in bfloat16: max error" in plot.inner_text()
    assert bv.link(page)["compute_in"] == "bfloat16" and "dtype bfloat16 (cast from float32)" in bv.shown(page)
    bv.pick(page, "compute in", "data")
    assert "compute_in" not in bv.link(page) and page.locator(FIGURE).filter(has_text="in ulps").count() == 0
    assert bv.no_exception(page)
    page.close()


@pytest.mark.parametrize("size", [(1920, 1080), (1024, 768)])
def test_presenter_mode_shows_the_precision_view(browser, app_url, size):
    page = open_lesson(browser, app_url, *size, present=True)
    plot = precision_plot(page, "float16")
    plot.scroll_into_view_if_needed()
    box = plot.bounding_box()
    assert box["width"] <= size[0] and box["height"] > 400  # scaled up, and within the screen's width
    assert bv.no_exception(page)
    page.wait_for_timeout(500)
    shot(page, f"precision_present_{size[0]}x{size[1]}")
    page.close()


def test_a_float16_upload_shows_its_dtype_and_the_precision_view(browser, app_url):
    page = browser.new_page(viewport={"width": 1500, "height": 1600})
    page.goto(app_url + "/explore?source=upload&variant=layer_norm")
    dropzone = '[data-testid="stFileUploaderDropzoneInput"]'
    page.wait_for_selector(dropzone, state="attached", timeout=120_000)
    arr = (np.random.default_rng(0).standard_normal((16, 4, 8, 8)) * 3 + 40).astype(np.float16)
    buf = io.BytesIO()
    np.save(buf, arr)
    page.set_input_files(dropzone, files=[{"name": "half.npy", "mimeType": "application/octet-stream",
                                           "buffer": buf.getvalue()}])
    plot = precision_plot(page, "float16")
    bv.settle(page, 1000)
    assert "dtype float16." in bv.shown(page) and bv.widgets(page)["compute in"] == "data"
    assert page.get_by_text("Uploaded half.npy: (16, 4, 8, 8) float16", exact=False).first.is_visible()
    assert page.get_by_text("(the data's own dtype)", exact=False).first.is_visible()
    assert plot.locator(".scatterlayer .trace").first.locator("path.point").count() == 16
    assert bv.no_exception(page) and not bv.errors(page)
    shot(page, "precision_upload_float16")
    page.close()
