"""Views that never lie (issue 12), in a real browser: what only a browser shows.

The link is written by the browser (Streamlit's ``bind="query-params"``), so every check of a link
after a change is here. After each change the three must agree: the values the output was
computed from (the page's "Shown:" line), the widgets on the screen, and the link (a key left out
of it means its widget's default). Screenshots go to artifacts/views_*.png.
"""
from __future__ import annotations

import io
import random

import numpy as np
import pytest
from browser_support import open_view, shot

import browser_views as bv
from vnviz.data import SOURCES
from vnviz.ui.data_panel import channel_default
from vnviz.variants.norms import resolve_num_groups
from vnviz.variants.registry import VARIANTS

pytestmark = pytest.mark.browser
NORMS = [n for n, v in VARIANTS.items() if v.family == "norm"]
LABEL_KEY = {"data": "source", "channel axis": "channel_axis", "clip to percentiles": "clip", "log counts": "log_y"}
EXPLORE_DEFAULTS = {"source": "shifted_channels", "seed": "0", "variant": "batch_norm", "bins": "60", "clip": "0",
                    "log_y": "false", "tab": "Distributions"}


def open_link(browser, url: str, height: int = 1400):
    """A new page (a new session) at ``url``, once its charts are drawn, in whichever tab the link opens."""
    page = browser.new_page(viewport={"width": 1500, "height": height})
    page.goto(url)
    # a chart, or Explore's "Shown:" line (its open tab may have no chart) or the error that replaces it
    page.wait_for_selector('.js-plotly-plot .main-svg, [data-testid="stCaptionContainer"]:has-text("Shown:"), '
                           '[data-testid="stAlertContentError"]', timeout=90_000, state="attached")
    bv.settle(page, 1000)
    bv.charts_drawn(page)
    return page


def npy(arr: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, arr)
    return buf.getvalue()


def upload(page, name: str, data: bytes) -> None:
    page.locator('[data-testid="stFileUploaderDropzoneInput"]').first.set_input_files(
        files=[{"name": name, "mimeType": "application/octet-stream", "buffer": data}])
    page.wait_for_selector(".js-plotly-plot .main-svg", timeout=90_000, state="attached")
    bv.settle(page, 1200)


def expand_view_options(page) -> None:
    page.locator('[data-testid="stSidebar"] [data-testid="stExpander"] summary').filter(has_text="view options").click()
    page.wait_for_timeout(400)


# -- item 1: an upload changes nothing else ---------------------------------------------------------


def test_an_upload_then_an_unrelated_change_keeps_batchnorm_training(browser, app_url):
    page = open_view(browser, f"{app_url}/explore")
    assert bv.widgets(page)["training"] == "true"
    bv.pick(page, "data", "upload")
    upload(page, "first.npy", npy(np.random.default_rng(0).normal(3, 2, size=(12, 4, 5)).astype(np.float32)))
    assert bv.widgets(page)["training"] == "true" and "training=true" in bv.shown(page)
    expand_view_options(page)
    bv.flip(page, "log counts")  # the next unrelated change
    assert bv.widgets(page)["training"] == "true" and "training=true" in bv.shown(page)
    assert "log_y=true" in page.url and "training" not in page.url  # training is still its default
    assert not page.get_by_text("the output is the input").count()
    upload(page, "second.npy", npy(np.random.default_rng(1).normal(-1, 3, size=(9, 4, 6)).astype(np.float32)))
    assert bv.widgets(page)["training"] == "true" and "training=true" in bv.shown(page)
    assert not page.get_by_text("the output is the input").count() and bv.no_exception(page)
    shot(page, "views_upload_keeps_training")
    page.close()


# -- item 2: a layout names the channel axis --------------------------------------------------------


def test_a_channels_last_layout_moves_the_channel_axis(browser, app_url):
    page = open_view(browser, f"{app_url}/explore?source=gaussian&shape=16,6,5,8&layout=N+H+W+C&variant=batch_norm")
    w = bv.widgets(page)
    assert w["layout"] == "N H W C" and w["channel axis"] == "3"  # the layout's C
    text = bv.shown(page)
    assert "shape (16, 8, 6, 5), layout N C H W, channel axis 3" in text
    bv.open_tab(page, "Verification")
    assert page.get_by_text("8 statistic groups", exact=False).first.is_visible()  # the 8 channels, not 6 H rows
    assert "channel_axis" not in page.url  # it is the layout's default
    bv.choose(page, "channel axis", "1")  # H as channels: allowed, and said
    assert page.get_by_text("not C (dim 3)", exact=False).first.is_visible()
    assert "channel_axis=1" in page.url
    bv.pick(page, "data", "upload")
    page.locator('[data-testid="stFileUploaderDropzoneInput"]').first.set_input_files(
        files=[{"name": "table.csv", "mimeType": "text/csv", "buffer": b"1,2,3\n4,5,6\n7,8,9\n10,11,12\n"}])
    # the Verification tab is open (no charts there): the "Shown:" line of the new data
    page.locator('[data-testid="stCaptionContainer"]').filter(has_text="shape (4, 3)").first.wait_for(timeout=90_000)
    bv.settle(page, 1200)
    assert bv.widgets(page)["layout"] == "N C" and bv.options(page, "layout") == ["N C"]  # not "auto (N C H W)"
    assert "layout" not in page.url and bv.no_exception(page)
    page.close()


# -- item 6: presenter mode shows what is on screen --------------------------------------------------


TITLE_STYLE_JS = """() => Array.from(document.querySelectorAll('.js-plotly-plot .annotation-text, .js-plotly-plot .gtitle'))
  .filter(t => t.getBoundingClientRect().width > 0)
  .map(t => [t.textContent, getComputedStyle(t).fill, parseFloat(getComputedStyle(t).fontSize)])"""
OVERLAP_JS = """() => {  // an x axis title that overlaps one of its tick labels
  const bad = [];
  for (const plot of document.querySelectorAll('.js-plotly-plot')) {
    for (const title of plot.querySelectorAll('.xtitle, [class^="x"][class$="title"]')) {
      const t = title.getBoundingClientRect();
      if (!t.width) continue;
      for (const tick of plot.querySelectorAll('.xtick text, [class*="xtick"] text')) {
        const k = tick.getBoundingClientRect();
        if (k.width && k.left < t.right && t.left < k.right && k.top < t.bottom && t.top < k.bottom)
          bad.push(title.textContent + ' over ' + tick.textContent);
      }
    }
  }
  return bad;
}"""


@pytest.mark.parametrize("size", [(1920, 1080), (1024, 768)])
def test_presenter_mode_says_what_is_shown_and_reads_well(browser, app_url, size):
    page = browser.new_page(viewport={"width": size[0], "height": size[1] * 2})
    page.goto(f"{app_url}/explore?source=images&variant=instance_norm&present=1&tab=Per-axis+statistics")
    page.wait_for_selector(".js-plotly-plot .main-svg", timeout=90_000, state="attached")
    bv.settle(page, 2000)
    assert page.locator("h1").first.inner_text() == "InstanceNorm on Image-like fields (16, 3, 32, 32)"
    assert page.locator('[role="tab"][aria-selected="true"]').inner_text() == "Per-axis statistics"  # from the link
    titles = page.evaluate(TITLE_STYLE_JS)
    assert titles, "chart titles"
    for text, fill, px in titles:
        rgb = [int(v) for v in fill[fill.index("(") + 1:fill.index(")")].split(",")[:3]]
        assert max(rgb) < 100, (text, fill)  # dark, not plotly's light grey
        assert px >= 20, (text, px)  # 14 px x 1.6, not 16 px
    assert page.evaluate(OVERLAP_JS) == []  # axis titles clear of the tick labels
    shot(page, f"views_present_axes_{size[0]}")
    page.goto(f"{app_url}/slice_mask?present=1&mask_mode=fill")
    page.wait_for_selector(".js-plotly-plot .main-svg", timeout=90_000, state="attached")
    bv.settle(page, 1500)
    assert page.locator("h1").first.inner_text() == "causal mask, filled with −inf on Attention logits (4, 24, 24)"
    sizes = [px for _, _, px in page.evaluate(TITLE_STYLE_JS)]
    assert sizes and min(sizes) >= 20  # Slice & Mask's figures follow presenter mode too
    shot(page, f"views_present_slice_mask_{size[0]}")
    page.close()


# -- item 10: Home's table at laptop widths ------------------------------------------------------------


@pytest.mark.parametrize("width", [1280, 1440])
def test_home_table_is_not_cut(browser, app_url, width):
    page = browser.new_page(viewport={"width": width, "height": 1100})
    page.goto(app_url)
    page.wait_for_selector('[data-testid="stTable"]', timeout=60_000)
    page.wait_for_timeout(800)
    table = page.locator('[data-testid="stTable"]').first
    assert table.evaluate("t => t.scrollWidth <= t.clientWidth + 1")  # nothing hidden to the right
    text = table.inner_text()
    for v in VARIANTS.values():
        assert v.summary in text  # every sentence whole
    shot(page, f"views_home_{width}")
    page.close()


# -- the seeded random control changes ------------------------------------------------------------------


def _norm(value: str) -> str:
    """A widget's or a link's text in one form: numbers as Python writes them, shapes without spaces."""
    value = str(value).strip()
    try:
        f = float(value)
        return repr(int(f)) if f == int(f) and "e" not in value.lower() and "." not in value else repr(f)
    except ValueError:
        return value.replace(" ", "").lower() if value.lower() in ("true", "false", "none", "") else value


def _same(a: str, b: str) -> bool:
    try:
        return float(a) == pytest.approx(float(b), rel=1e-6)
    except ValueError:
        return _norm(a) == _norm(b) or {a, b} <= {"", "none"}


def _explore_defaults(shown: dict[str, str], args: dict[str, str], widgets: dict) -> dict[str, str]:
    """The default of every key of the page as it is: what a link that leaves the key out means."""
    source = widgets["data"]
    d = dict(EXPLORE_DEFAULTS)
    if source in SOURCES:
        d["shape"] = ",".join(map(str, SOURCES[source].default_shape))
        d["layout"] = SOURCES[source].layout
    d["channel_axis"] = str(channel_default(widgets["layout"].split()))
    shape = [int(s) for s in shown["shape"].split(",")]  # as the variant sees it (channel first)
    variant = VARIANTS[widgets["variant"]]
    for p in variant.widget_params:
        d[p.name] = "none" if p.default is None else str(p.default).lower()
    d["num_groups"] = str(resolve_num_groups(None, shape[1]))
    d["normalized_shape"] = ",".join(map(str, shape[1:]))
    return d


def check_explore(page, step: str) -> None:
    """The output's values, the widgets and the link agree (a view that cannot run: its one-sentence error instead)."""
    w, q, text = bv.widgets(page), bv.link(page), bv.shown(page)
    where = f"after {step}: {text} | link {q} | widgets {w} | errors {bv.errors(page)}"
    assert bv.no_exception(page), where
    if text is None:  # the variant refuses this data: one sentence, and the widgets still agree with the link
        assert len(bv.errors(page)) == 1, where
        defaults = dict(EXPLORE_DEFAULTS)
        for p in VARIANTS[w["variant"]].widget_params:
            defaults[p.name] = "none" if p.default is None else str(p.default).lower()
        for label, value in w.items():
            key = LABEL_KEY.get(label, label)
            if key in defaults and key not in ("num_groups", "normalized_shape", "n_clusters"):  # not data-dependent
                assert _same(str(value), str(q.get(key, defaults[key]))), (key, where)
        return
    (name, args), = bv.calls(text)
    data = bv.data_of(text)
    assert name == w["variant"], where
    for k, v in args.items():  # every parameter used is the one its widget shows
        if k == "seed":
            continue
        assert k in w, (k, where)
        assert _same(w[k], v), (k, w[k], v, where)
    assert data["source"] == w["data"] and data["seed"] == w["seed"] == str(int(w["seed"])), where
    letters = w["layout"].split()
    axis = int(w.get("channel axis", "1"))
    order = [0, axis] + [i for i in range(1, len(letters)) if i != axis]
    assert data["layout"] == " ".join(letters[i] for i in order) and data["channel_axis"] == str(axis), where
    if "shape" in w and w["shape"]:  # the data drawn has the shape the box shows (permuted to channel-first)
        box = [int(s) for s in w["shape"].split(",")]
        assert [int(s) for s in data["shape"].split(",")] == [box[i] for i in order], where
    defaults = _explore_defaults(data, args, w)
    for label, value in w.items():  # every widget shows what the link says, or its default when the link is silent
        key = LABEL_KEY.get(label, label)
        if key in ("presenter mode", "device", "variants") or key not in defaults and key not in q:
            continue
        expected = q.get(key, defaults.get(key))
        assert _same(str(value), str(expected)), (key, value, expected, where)
    for key in q:
        if key in defaults or key == "present":
            assert key in {LABEL_KEY.get(lbl, lbl) for lbl in w}, (f"{key} is in the link but has no widget", where)


EXPLORE_SOURCES = ["gaussian", "shifted_channels", "images", "tokens", "digits", "iris", "skewed"]


def _explore_change(page, rng: random.Random) -> str:
    w = bv.widgets(page)
    moves = ["variant", "variant", "source", "eps", "seed", "log_y", "tab", "layout", "axis", "param", "shape", "bins"]
    move = rng.choice(moves)
    if move == "variant":
        v = rng.choice([n for n in NORMS if n != w["variant"]])
        bv.pick(page, "variant", v)
        return f"variant -> {v}"
    if move == "source":
        s = rng.choice([s for s in EXPLORE_SOURCES if s != w["data"]])
        bv.pick(page, "data", s)
        return f"source -> {s}"
    if move == "eps" and "eps" in w:
        e = rng.choice(["0.001", "0.1", "1e-06", "0.00001"])
        bv.type_in(page, "eps", e)
        return f"eps -> {e}"
    if move == "seed":
        s = str(rng.randrange(6))
        bv.type_in(page, "seed", s)
        return f"seed -> {s}"
    if move == "log_y":
        bv.flip(page, "log counts")
        return "log counts flipped"
    if move == "bins":
        thumb = page.locator('[data-testid="stSlider"] input[aria-label="bins"]').first
        thumb.focus()
        for _ in range(rng.randrange(1, 4)):
            thumb.press(rng.choice(["ArrowRight", "ArrowLeft"]))
        bv.settle(page)
        return "bins moved"
    if move == "tab":
        t = rng.choice(["Distributions", "Per-axis statistics", "Statistic groups", "Verification"])
        bv.open_tab(page, t)
        return f"tab -> {t}"
    if move == "layout":
        opts = bv.options(page, "layout")
        if len(opts) > 1:
            o = rng.choice([o for o in opts if o != w["layout"]])
            bv.pick(page, "layout", o)
            return f"layout -> {o}"
    if move == "axis":
        dims = page.locator('[role="radiogroup"][aria-label="channel axis"] [data-testid="stRadioOption"]').count()
        if dims > 1:
            a = str(rng.randrange(1, dims + 1))
            bv.choose(page, "channel axis", a)
            return f"channel axis -> {a}"
    if move == "shape" and w["data"] in ("gaussian", "shifted_channels", "skewed", "images"):
        s = rng.choice(["16,4,8,8", "12,8,6", "8,6,4,4", "20,3,5,5"])
        bv.type_in(page, "shape", s)
        return f"shape -> {s}"
    for name in ("num_groups", "normalized_shape", "training", "momentum", "n_clusters", "mode"):
        if name in w and move == "param":
            if name == "training":
                bv.flip(page, "training")
            elif name in ("momentum", "n_clusters"):
                bv.type_in(page, name, rng.choice(["0.2", "0.05"]) if name == "momentum" else rng.choice(["2", "4"]))
            else:
                opts = [o for o in bv.options(page, name) if o != w[name]]
                if not opts:
                    continue
                bv.pick(page, name, rng.choice(opts))
            return f"{name} changed"
    bv.pick(page, "variant", rng.choice([n for n in NORMS if n != w["variant"]]))
    return "variant changed"


def test_thirty_random_changes_on_explore(browser, app_url):
    rng = random.Random(12)
    page = open_view(browser, f"{app_url}/explore", height=1600)
    expand_view_options(page)
    check_explore(page, "opening")
    refused = 0
    for i in range(30):
        step = f"{i + 1}: {_explore_change(page, rng)}"
        print(step)
        check_explore(page, step)
        refused += bv.shown(page) is None
        if i % 10 == 9:  # the link reproduces the view in a new tab (a new session)
            other = open_link(browser, page.url, height=1600)
            assert bv.shown(other) == bv.shown(page), (step, page.url)
            other.close()
    assert refused <= 5  # the changes mostly give a view (one the variant refuses is checked too, with its error)
    shot(page, "views_random_explore")
    page.close()


COMPARE_LABELS = {"GroupNorm's num_groups": "num_groups", "ClusterNorm's n_clusters": "n_clusters"}


def check_compare(page, step: str) -> None:
    w, q, text = bv.widgets(page), bv.link(page), bv.shown(page)
    where = f"after {step}: {text} | link {q} | widgets {w}"
    assert bv.no_exception(page), where
    used = bv.calls(text)
    assert [n for n, _ in used] == w["variants"], where
    linked = q.get("variants", ["batch_norm", "layer_norm", "instance_norm", "group_norm", "cluster_norm"])
    assert (linked if isinstance(linked, list) else [linked]) == w["variants"], where
    data = bv.data_of(text)
    shape = [int(s) for s in data["shape"].split(",")]
    defaults = {"num_groups": str(resolve_num_groups(None, shape[1])), "n_clusters": str(min(3, shape[0]))}
    for name, args in used:
        for k, v in args.items():
            label = next(lbl for lbl, key in COMPARE_LABELS.items() if key == k)
            assert _same(w[label], v) and _same(q.get(k, defaults[k]), v), (k, where)
    for label, key in COMPARE_LABELS.items():
        assert (label in w) == any(k == key for _, a in used for k in a), (label, where)  # shown only when used
    assert data["source"] == w["data"] == q.get("source", "shifted_channels"), where
    assert data["seed"] == w["seed"] == q.get("seed", "0"), where
    # the open tab is the link's, and it draws what its label says, for the variants chosen
    tab = w["tab"]
    assert tab == q.get("section", "Distributions"), where
    charts = page.locator('[data-testid="stPlotlyChart"]').count()
    if tab in COMPARE_GRIDS:  # one grid: the input's column, then one per variant, titled in order
        names = sorted({VARIANTS[n].title for n in NORMS} | {"input"}, key=len, reverse=True)
        lines = page.locator(".js-plotly-plot .annotation-text").evaluate_all(  # SVG: each title's first line
            "els => els.map(e => ((e.querySelector('tspan.line') || e).textContent || '').trim())")
        titles = [next((n for n in names if x == n or x.startswith(n + " ")), None) for x in lines]
        titles = [x for x in titles if x]
        assert charts == 1 and titles == ["input"] + [VARIANTS[n].title for n in w["variants"]], (titles, where)
    elif tab == "Equivalences":
        assert charts >= 1 and page.locator(".js-plotly-plot .hm image, .js-plotly-plot .heatmaplayer image").count(), where
    else:  # Verification: one verdict per variant, no chart
        assert charts == 0, where
        verdicts = page.locator('[data-testid="stMarkdownContainer"] strong').all_inner_texts()
        assert [v for v in verdicts if v in {VARIANTS[n].title for n in NORMS}] == \
            [VARIANTS[n].title for n in w["variants"]], (verdicts, where)


COMPARE_GRIDS = ("Distributions", "Per-axis statistics", "Statistic groups")
COMPARE_TABS = COMPARE_GRIDS + ("Equivalences", "Verification")


def test_fifteen_random_changes_on_compare(browser, app_url):
    rng = random.Random(15)
    page = open_view(browser, f"{app_url}/compare?shape=16,8,6,6", height=1400)
    check_compare(page, "opening")
    for i in range(15):
        w = bv.widgets(page)
        move = rng.choice(["add", "remove", "groups", "clusters", "seed", "source", "tab"])
        chosen = w["variants"]
        if move == "add" and len(chosen) < len(NORMS):
            v = rng.choice([n for n in NORMS if n not in chosen])
            bv.add_option(page, "variants", v)
        elif move == "remove" and len(chosen) > 1:
            v = rng.choice(chosen)
            bv.remove_option(page, "variants", v)
        elif move == "groups" and "GroupNorm's num_groups" in w:
            opts = [o for o in bv.options(page, "GroupNorm's num_groups") if o != w["GroupNorm's num_groups"]]
            v = rng.choice(opts)
            bv.pick(page, "GroupNorm's num_groups", v)
        elif move == "clusters" and "ClusterNorm's n_clusters" in w:
            v = rng.choice(["2", "4", "5"])
            bv.type_in(page, "ClusterNorm's n_clusters", v)
        elif move == "seed":
            v = str(rng.randrange(5))
            bv.type_in(page, "seed", v)
        elif move == "tab":
            v = rng.choice([t for t in COMPARE_TABS if t != w["tab"]])
            bv.open_tab(page, v)
        else:
            v = rng.choice(["shifted_channels", "images", "gaussian"])
            bv.pick(page, "data", v)
        step = f"{i + 1}: {move} {v if 'v' in dir() else ''}"
        print(step)
        check_compare(page, step)
    other = open_link(browser, page.url, height=1400)  # the link reproduces the view
    assert bv.shown(other) == bv.shown(page), page.url
    other.close()
    shot(page, "views_random_compare")
    page.close()


# -- links after changes on the other pages, and pages left and entered again ---------------------------


def test_slice_mask_and_axis_check_links_follow_their_controls(browser, app_url):
    page = open_view(browser, f"{app_url}/slice_mask?matrix=gaussian&matrix_shape=8,8", height=1600)
    bv.pick(page, "kind", "band")
    assert "kind=band" in page.url and bv.widgets(page)["width"] == "1" and "width" not in page.url
    bv.pick(page, "mode", "fill")
    assert "mask_mode=fill" in page.url and bv.widgets(page)["value"] == "-inf" and "value" not in page.url
    box = page.locator('input[aria-label="value"]').first
    box.fill("nan")  # not a fill value: refused, the last good one kept
    box.press("Enter")
    bv.settle(page)
    assert page.get_by_text("Keeping -inf", exact=False).first.is_visible() and "value" not in page.url
    assert bv.no_exception(page)
    page.close()
    page = open_view(browser, f"{app_url}/axis_check", height=1600)
    bv.pick(page, "layer", "group_norm")
    bv.choose(page, "choose by", "axes")
    assert bv.link(page) == {"layer": "group_norm", "by": "axes"}  # the ticks start from GroupNorm's: C, H, W
    assert "Reduces over C, H, W" in page.inner_text("body")
    page.locator('[data-testid="stButtonGroup"] button').filter(has_text="N").click()  # tick N too
    bv.settle(page)
    assert sorted(bv.link(page)["reduce"]) == ["C", "H", "N", "W"] and "Reduces over N, C, H, W" in page.inner_text("body")
    other = open_link(browser, f"{app_url}/axis_check?layer=group_norm&by=axes")  # the default ticks, reopened
    assert "Reduces over C, H, W" in other.inner_text("body")
    other.close()
    assert bv.no_exception(page)
    page.close()


def test_pages_left_and_entered_again_keep_their_views(browser, app_url):
    page = open_view(browser, f"{app_url}/explore?source=images&variant=group_norm&eps=0.001&seed=3", height=1400)
    explore = bv.shown(page), bv.link(page)
    nav = page.locator('[data-testid="stSidebarNav"]')
    nav.get_by_text("Slice & Mask", exact=True).click()
    page.wait_for_selector(".js-plotly-plot .main-svg", timeout=90_000, state="attached")
    bv.settle(page, 1500)
    bv.pick(page, "matrix", "weight")
    assert bv.widgets(page)["matrix"] == "weight" and "matrix=weight" in page.url
    assert (bv.widgets(page)["seed"] == "0") == ("seed" not in page.url)  # its seed is shown as linked
    mask = bv.link(page)
    for there, back in (("Explore", explore), ("Slice & Mask", (None, mask)), ("Compare", None), ("Explore", explore)):
        nav.get_by_text(there, exact=True).click()
        page.wait_for_selector(".js-plotly-plot .main-svg", timeout=90_000, state="attached")
        bv.settle(page, 1500)
        assert bv.no_exception(page)
        if back is not None:
            if back[0] is not None:
                assert bv.shown(page) == back[0], there
            assert bv.link(page) == back[1], there
    page.close()


def test_a_lesson_opens_exactly_its_view_inside_the_app(browser, app_url):
    """A lesson's button inside the app gives the lesson's view, not the session's leftovers."""
    page = open_view(browser, f"{app_url}/explore?source=images&variant=rms_norm&eps=0.001&log_y=true", height=1400)
    page.locator('[data-testid="stSidebarNav"]').get_by_text("Lessons", exact=True).click()
    page.get_by_text("Each lesson is one idea").wait_for(timeout=30_000)
    page.get_by_role("link", name="open on Explore").first.click()  # bn_batch_of_one
    page.wait_for_selector(".js-plotly-plot .main-svg", timeout=90_000, state="attached")
    bv.settle(page, 1500)
    text = bv.shown(page)
    assert text.startswith("Shown: batch_norm(eps=1e-05, momentum=0.1, training=false"), text
    assert "on shifted_channels, seed 0, shape (1, 8, 16, 16)" in text
    assert bv.link(page) == {"shape": "1,8,16,16", "training": "false"}
    assert bv.widgets(page)["log counts"] == "false"
    page.close()
