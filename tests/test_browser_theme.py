"""Streamlit's plotly theme written into the figures draws what Streamlit's own theme draws (vnviz.figures.theme).

tests/theme_app.py draws each of a few figures twice: with Streamlit's theme (``st.plotly_chart``'s default) and
as vnviz draws its charts (the theme written in, ``theme=None``). In a real browser, for each pair: the template
Streamlit hands plotly.js is ``streamlit_theme()`` at the page's root font, plotly's full layout and full data are
the same, and the two charts' pixels are the same; in presenter mode too. When a new Streamlit changes its theme,
the first check says where.
"""
from __future__ import annotations

import io
import json
import math
from pathlib import Path

import pytest
from browser_support import free_port, start_server
from PIL import Image, ImageChops

from vnviz.figures.theme import streamlit_theme
from vnviz.ui.presenter import ROOT_PX as PRESENTER_ROOT_PX

pytestmark = pytest.mark.browser
SCRIPT = Path(__file__).with_name("theme_app.py")
FIGURES = 5  # in theme_app.py
# Values plotly fills in while it draws, which only a chart drawn a second time has back in its input (the axis
# ranges of autoranged axes, automatic tick steps), the title Streamlit bolds on each of its two passes, and the keys
# that differ by design.
IGNORED = ("range", "tick0", "dtick", "datarevision", "template", "title.text", "meta")
CLEAN = """g => {
  const clean = (v, d) => {
    if (d > 9 || typeof v === 'function') return undefined;
    if (Array.isArray(v)) return v.map(x => clean(x, d + 1));
    if (v && typeof v === 'object') {
      const o = {};
      for (const k of Object.keys(v).sort()) {
        if (k[0] === '_' || k === 'uid') continue;
        const c = clean(v[k], d + 1);
        if (c !== undefined) o[k] = c;
      }
      return o;
    }
    return v;
  };
  return {layout: clean(g._fullLayout, 0), data: g._fullData.map(t => clean(t, 0)),
          template: g.layout.template ? JSON.stringify(g.layout.template) : null};
}"""


@pytest.fixture(scope="module")
def theme_url():
    server = start_server(free_port(), script=SCRIPT)
    yield server.url
    server.kill()


def _differences(a, b, path="") -> list[str]:
    if isinstance(a, dict) and isinstance(b, dict):
        return [d for k in sorted(set(a) | set(b)) for d in _differences(a.get(k), b.get(k), f"{path}.{k}")]
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        return [d for i, (x, y) in enumerate(zip(a, b)) for d in _differences(x, y, f"{path}[{i}]")]
    if a == b or any(path.endswith("." + k) or f".{k}[" in path for k in IGNORED):
        return []
    return [f"{path}: {str(a)[:60]} != {str(b)[:60]}"]


def _numbers_close(a, b, path=""):
    """Where the captured template and ``streamlit_theme`` differ (numbers to 1e-9), ignoring what the theme leaves
    out on purpose."""
    if isinstance(a, dict) and isinstance(b, dict):
        keys = (set(a) | set(b)) - {"type", "color", "subtitleColor"} if path.endswith(".title") else (
            set(a) | set(b)) - {"type"}
        return [d for k in sorted(keys) for d in _numbers_close(a.get(k), b.get(k), f"{path}.{k}")]
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        return [d for i, (x, y) in enumerate(zip(a, b)) for d in _numbers_close(x, y, f"{path}[{i}]")]
    if isinstance(a, (int, float)) and isinstance(b, (int, float)) and math.isclose(a, b, rel_tol=1e-9):
        return []
    return [] if a == b else [f"{path}: Streamlit {a!r}, vnviz {b!r}"]


def _open(browser, url: str):
    page = browser.new_page(viewport={"width": 1200, "height": 2600})  # every chart in view: one screenshot
    page.goto(url)
    page.wait_for_function(f"document.querySelectorAll('.js-plotly-plot .main-svg').length >= {FIGURES}",
                           timeout=90_000)
    page.wait_for_timeout(2500)
    page.mouse.move(0, 0)
    return page


@pytest.mark.parametrize("present", [False, True], ids=["plain", "presenter"])
def test_the_written_theme_is_streamlits_and_draws_the_same_charts(browser, theme_url, present):
    states, shots = {}, {}
    for draw in ("streamlit", "vnviz"):
        page = _open(browser, f"{theme_url}/?draw={draw}" + ("&present=1" if present else ""))
        try:
            charts = page.locator(".js-plotly-plot")
            assert charts.count() == FIGURES
            states[draw] = [charts.nth(i).evaluate(CLEAN) for i in range(FIGURES)]
            shots[draw] = Image.open(io.BytesIO(page.screenshot())).convert("RGB")
        finally:
            page.close()
    theirs = json.loads(states["streamlit"][0]["template"])
    ours = streamlit_theme(PRESENTER_ROOT_PX if present else 16)
    assert not _numbers_close(theirs, ours), _numbers_close(theirs, ours)
    for i, (streamlit, vnviz) in enumerate(zip(states["streamlit"], states["vnviz"])):
        assert vnviz["template"] is None
        diff = _differences(streamlit["layout"], vnviz["layout"]) + _differences(streamlit["data"], vnviz["data"])
        assert not diff, f"figure {i}: {diff[:10]}"
    box = ImageChops.difference(shots["streamlit"], shots["vnviz"]).getbbox()
    assert box is None, f"the charts' pixels differ within {box}"
