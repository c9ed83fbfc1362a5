"""Real-browser test of Explore's element inspector: a click on a cell of the picture follows that element (the
link gets element=), the panel shows vnviz.explain's numbers for it, and "next" walks the steps (step= in the link).
Screenshots: normal, and presenter mode at 1920×1080 and 1024×768."""
from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from browser_support import shot

import vnviz
from vnviz.data import make_source

pytestmark = pytest.mark.browser
SHAPE = (4, 6, 5, 4)  # small enough that the picture holds every cell: 6 channels × 20 positions
QUERY = f"tab=Follow+one+element&variant=group_norm&num_groups=3&weight=2.0&shape={','.join(map(str, SHAPE))}"
PICTURE = ".st-key-_inspect_picture"  # the chart's container (Streamlit's class for its key)


def query(page) -> dict[str, str]:
    return {k: v[-1] for k, v in parse_qs(urlsplit(page.url).query).items()}


def open_inspector(browser, url: str, width: int = 1500, height: int = 1400):
    page = browser.new_page(viewport={"width": width, "height": height})
    page.goto(url)
    page.wait_for_selector(f"{PICTURE} .js-plotly-plot .main-svg", timeout=90_000)
    page.wait_for_timeout(1500)
    return page


def test_click_an_element_and_read_its_numbers(browser, app_url):
    x = make_source("shifted_channels", SHAPE, 0).x  # the page's data
    page = open_inspector(browser, f"{app_url}/explore?{QUERY}&element=1,2,3,1")
    box = page.locator(".st-key-element input")
    assert box.input_value() == "1,2,3,1"
    area = page.locator(f"{PICTURE} .nsewdrag").first.bounding_box()  # the values' panel: 6 channels × 20 positions
    row, col = 4, 13  # channel 4, flat position 13 = (3, 1)
    page.mouse.click(area["x"] + (col + 0.5) / 20 * area["width"], area["y"] + (row + 0.5) / 6 * area["height"])
    page.wait_for_function("() => document.querySelector('.st-key-element input').value === '1,4,3,1'",
                           timeout=30_000)
    page.wait_for_function("() => decodeURIComponent(location.search).includes('element=1,4,3,1')", timeout=30_000)
    assert query(page)["element"] == "1,4,3,1"
    e = vnviz.explain("group_norm", x, (1, 4, 3, 1), num_groups=3, weight=2.0)
    for step in e.steps:  # the panel's numbers are explain's for the clicked element
        page.get_by_text(step.text).first.wait_for(timeout=30_000)
    y = f"{float(e.y):.6g}".replace("-", "−")
    page.get_by_text(f"y = {y} equals the output").wait_for(timeout=10_000)
    assert not page.locator('[data-testid="stException"]').count()
    shot(page, "inspect_click")
    page.get_by_role("button", name="next").click()
    page.wait_for_function("() => new URLSearchParams(location.search).get('step') === '1'", timeout=30_000)
    page.get_by_role("button", name="next").click()
    page.wait_for_function("() => new URLSearchParams(location.search).get('step') === '2'", timeout=30_000)
    page.get_by_text("Step 2 of 5: Its mean").wait_for(timeout=30_000)  # the figure's title
    assert query(page)["element"] == "1,4,3,1"
    shot(page, "inspect_step")
    page.get_by_role("tablist").first.evaluate("e => e.scrollIntoView({block: 'start'})")
    page.wait_for_timeout(800)
    shot(page, "inspect_panel")  # the inspector alone: docs/screenshots/explore_inspect.png
    page.close()


@pytest.mark.parametrize("size", [(1920, 1080), (1024, 768)], ids=lambda s: f"{s[0]}x{s[1]}")
def test_presenter_mode_shows_the_step_and_the_picture(browser, app_url, size):
    width, height = size
    page = open_inspector(browser, f"{app_url}/explore?source=images&tab=Follow+one+element&element=3,0,12,20&step=4"
                                   "&present=1", width, height)
    e = vnviz.explain("batch_norm", make_source("images").x, (3, 0, 12, 20))
    current = page.locator("h4").filter(has_text=e.steps[3].text)  # the current step in big type
    current.wait_for(timeout=30_000)
    # a teacher scrolls the inspector to the top of the screen: the buttons, the step and the picture
    page.get_by_text("element and step").evaluate("e => e.scrollIntoView({block: 'start'})")
    page.wait_for_timeout(800)
    assert page.get_by_role("button", name="next").is_visible()
    assert not page.locator('[data-testid="stSidebar"]').is_visible()
    assert not page.locator('[data-testid="stException"]').count()
    shot(page, f"inspect_present_{width}x{height}")
    page.close()
