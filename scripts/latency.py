"""How long a visitor waits: cold load, warm load and redraw after each control, for vnviz and for the floor.

    .venv/bin/python scripts/latency.py [--pages explore_2m,explore,...] [--repeats 3] [--json out.json]
                                        [--server-timing]

Starts the app (app.py) and the floor page (scripts/floor_app.py: one
selectbox and four plotly bar charts of precomputed histograms, what any
Streamlit page pays) on free loopback ports, drives the system Chromium with
Playwright, and prints, for the floor and for every page asked for:

- cold: the page's link opened in a fresh browser context (empty HTTP cache)
  on a server that has just come up and has served nothing yet (the first
  view pays Python's imports of the app, the first computation, and the
  browser's first load of Streamlit's and plotly's JavaScript);
- warm: the same link opened again in a new tab of that context, right after
  the cold view was drawn (a new Streamlit session; the server's caches and
  the browser's HTTP cache are warm);
- redraw, per control: the link opened afresh, then one control changed the
  way a user does it (a selectbox clicked and an option picked, a number or a
  shape typed and Enter pressed, a radio option or a toggle clicked, a page
  link followed), from the moment the change is committed to the moment the
  page is drawn again.

Every measurement of a repeat runs on a fresh server (one per page and
repeat), so a control's change is always the first one the server sees (no
cached result) and the repeats are alike; the floor and the app's pages
alternate within a repeat, so a burst of load on this shared machine hits both.
The table gives medians over ``--repeats`` with the spread (min-max), and each
vnviz time as a ratio to the floor's time of the same kind (cold to cold, warm
to warm, every redraw to the floor's selectbox redraw).

What "drawn" means. The page carries a small probe (injected before any of its
own scripts) that timestamps, on the page's clock (``performance.now()``):

- every change of Streamlit's script state, the app root's
  ``data-test-script-state`` attribute (``[data-testid="stApp"]``: ``initial``,
  ``running``, ``notRunning``, ...), from the attribute's mutation records, so
  that a short run whose states change within one task is seen too;
- every DOM change inside the app root but its header (the status widget
  animates there while a script runs), plotly's SVG drawing included (a
  MutationObserver), and the first animation frame after it (so that the
  browser could paint the change); dropdowns and tooltips live outside the root;
- the moment a change is committed: the ``pointerdown`` of the click that
  picks the option, or the ``keydown`` of the Enter that commits a typed value;
- every websocket message the page receives and sends (time and bytes: the
  server's deltas, the browser's rerun requests) and every long task of the
  main thread (PerformanceObserver).

A view is drawn when the script has run since the change (a ``running`` or
``rerunRequested`` state seen after it, or messages received since then; or,
for a change the browser handles alone, such as a tab of ``st.tabs`` that does
not rerun, nothing sent to the server within ``--quiet`` ms) and its state is
``notRunning``; no element is stale (``[data-stale="true"]``) and
no element is still a placeholder while its code loads
(``[data-testid="stSkeleton"]``: Streamlit loads plotly's and other elements'
JavaScript lazily); every plotly chart (``[data-testid="stPlotlyChart"]``)
holds its ``.main-svg``; and for ``--quiet`` ms (500) neither the page nor the
script state has changed and no message has come. The time reported is that
of the last of these events, not the moment the quiet wait ends: the latest of
the script's end, the last message received, and the animation frame after the
last DOM change. For a load it is measured from the navigation's start
(``performance.now()`` = 0); for a redraw from the committing event. Charts in
tabs that are not open are drawn by Streamlit too (at zero size), so they count.

Alongside each view the JSON (and the second table) gives the breakdown: when
the browser sent its request, websocket bytes received, the time to the first
and to the last message (as the browser's main thread handled them), the
browser's time after the last message (plotly and React finishing the
drawing), and the main thread's long tasks. ``--server-timing`` serves the app
through scripts/timed_app.py, which times each script run on the server by
category (imports, data, analysis, figure building, Streamlit's plotly
marshalling, the rest) and logs each websocket send, and attaches those
numbers to the matching views. ``--browser-profile`` runs Chromium's sampling
profiler over each view and splits the main thread's busy time into plotly,
Streamlit and React, styling, garbage collection and the browser's own style,
layout and paint work.

The browser and the server share this machine's cores, so every time is an
upper bound on what a visitor on another machine waits. This is a benchmark,
not a test: nothing here asserts a time.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from loadtest import ARGS, CHROMIUM, ROOT, free_port, start_server  # noqa: E402

FLOOR_SCRIPT = ROOT / "scripts" / "floor_app.py"
TIMED_SCRIPT = ROOT / "scripts" / "timed_app.py"
SERVE_SCRIPT = ROOT / "scripts" / "serve.py"
VIEWPORT = {"width": 1500, "height": 1200}
TIMINGS_ENV = "VNVIZ_TIMINGS"  # where scripts/timed_app.py appends its per-run timings


@dataclass(frozen=True)
class Control:
    """One change a user makes: ``kind`` of widget, its label, and the value picked or typed."""

    kind: str  # select, multiselect, number, text, radio, pills, toggle, tab, page_link
    label: str  # the widget's label as shown (a page link's text)
    value: str = ""  # the option to pick (as shown) or the text to type

    @property
    def name(self) -> str:
        return f"{self.label} -> {self.value}" if self.value else self.label


@dataclass(frozen=True)
class PageSpec:
    """A link to open and the controls to change on it (each from the link's own state)."""

    path: str
    controls: tuple[Control, ...]
    floor: bool = False  # served by the floor page instead of the app


EXPLORE_2M = "/explore?source=gaussian&shape=64,8,64,64&seed=1&variant=batch_norm"
PAGES: dict[str, PageSpec] = {
    "floor": PageSpec("/", (Control("select", "data", "set 2"),), floor=True),
    "explore_2m": PageSpec(EXPLORE_2M, (Control("select", "variant", "layer_norm"), Control("tab", "Per-axis statistics"))),
    "explore": PageSpec("/explore", (
        Control("select", "variant", "layer_norm"),
        Control("select", "data", "gaussian"),
        Control("select", "layout", "N H W C"),
        Control("text", "shape", "32,8,32,16"),
        Control("number", "eps", "0.001"),
        Control("number", "seed", "1"),
    )),
    "compare": PageSpec("/compare", (
        Control("multiselect", "variants", "rms_norm"),
        Control("select", "data", "gaussian"),
        Control("number", "ClusterNorm's n_clusters", "4"),
        Control("tab", "Per-axis statistics"),
        Control("tab", "Equivalences"),
    )),
    "compare_axes": PageSpec("/compare?section=Per-axis+statistics", (  # Compare's heaviest tab open
        Control("multiselect", "variants", "rms_norm"),
        Control("select", "data", "gaussian"),
    )),
    "cluster_norm": PageSpec("/cluster_norm", (
        Control("select", "method", "kmeans"),
        Control("select", "method", "gmm"),
        Control("number", "n_clusters", "4"),
        Control("select", "histogram channel", "1"),
    )),
    "slice_mask": PageSpec("/slice_mask", (
        Control("select", "kind", "band"),
        Control("radio", "operation", "matrix_slice"),
        Control("text", "shape", "4,32,32"),
    )),
    "axis_check": PageSpec("/axis_check", (
        Control("select", "layer", "layer_norm"),
        Control("select", "layout", "N L D"),
        Control("radio", "choose by", "axes"),
        Control("select", "pair", "group_norm"),
    )),
    "lessons": PageSpec("/lessons", (
        Control("toggle", "presenter mode"),
        Control("page_link", "open on Explore"),
    )),
    "home": PageSpec("/", (
        Control("toggle", "presenter mode"),
        Control("page_link", "Explore"),
    )),
}
DEFAULT_PAGES = ("explore_2m", "explore", "compare", "compare_axes", "cluster_norm", "slice_mask", "axis_check", "lessons", "home")

# The probe, injected into every document before its own scripts (see the module docstring).
PROBE_JS = """
(() => {
  if (window.__lat) return;
  const L = window.__lat = {states: [], frames: [], sent: [], longtasks: [], mainMut: -1, plotMut: -1, paint: -1,
                            t0: null, armed: false};
  const Orig = window.WebSocket;
  window.WebSocket = class extends Orig {
    constructor(...args) {
      super(...args);
      this.addEventListener('message', e => {
        const d = e.data;
        const n = d.byteLength !== undefined ? d.byteLength : (d.size !== undefined ? d.size : d.length);
        L.frames.push([performance.now(), n]);
      });
    }
    send(data) {
      L.sent.push([performance.now(), data.byteLength !== undefined ? data.byteLength : data.length]);
      return super.send(data);
    }
  };
  const stamp = e => {
    if (L.armed && (e.type === 'pointerdown' || e.key === 'Enter')) { L.t0 = performance.now(); L.armed = false; }
  };
  window.addEventListener('pointerdown', stamp, true);
  window.addEventListener('keydown', stamp, true);
  const el = n => (n.nodeType === 1 ? n : n.parentElement);
  // the page: anything inside the app root but its header (the status widget animates there while running);
  // dropdowns and tooltips live outside the root and are not part of a view
  const HEADER = '[data-testid="stHeader"], [data-testid="stStatusWidget"], [data-testid="stToolbar"], ' +
                 '[data-testid="stDecoration"]';
  const STATE = 'data-test-script-state';
  let framePending = false;
  L.observer = new MutationObserver(records => {
    const now = performance.now();
    let view = false, plot = false;
    for (const r of records) {
      if (r.type === 'attributes' && r.attributeName === STATE) {
        // one record per change, even when several land in one task: the value it changed from,
        // then the current one
        const from = r.oldValue;
        if (from && (!L.states.length || L.states[L.states.length - 1][1] !== from)) L.states.push([now, from]);
        continue;
      }
      const e = el(r.target);
      if (!e || !e.closest) continue;
      if (!plot && e.closest('.js-plotly-plot')) { plot = true; view = true; }
      if (!view && e.closest('[data-testid="stApp"]') && !e.closest(HEADER)) view = true;
      if (plot) break;
    }
    const app = document.querySelector('[data-testid="stApp"]');
    const state = app ? app.getAttribute(STATE) : null;
    if (!L.states.length || L.states[L.states.length - 1][1] !== state) L.states.push([now, state]);
    if (plot) L.plotMut = now;
    if (view) {
      L.mainMut = now;
      if (!framePending) {
        framePending = true;
        requestAnimationFrame(() => setTimeout(() => { framePending = false; L.paint = performance.now(); }, 0));
      }
    }
  });
  L.observer.observe(document, {subtree: true, childList: true, attributes: true, characterData: true,
                                attributeOldValue: true});
  try {
    L.tasks = new PerformanceObserver(list => { for (const e of list.getEntries()) L.longtasks.push([e.startTime, e.duration]); });
    L.tasks.observe({type: 'longtask', buffered: true});
  } catch (err) { /* no long-task timing in this browser */ }
})();
"""

# True once the page is drawn (module docstring); `quiet` in ms.
DRAWN_JS = """
(quiet) => {
  const L = window.__lat;
  if (!L || L.t0 === null) return false;
  const now = performance.now();
  const app = document.querySelector('[data-testid="stApp"]');
  if (!app || app.getAttribute('data-test-script-state') !== 'notRunning') return false;
  // the script ran since the change: a running state seen (React may fold a short run's states into one
  // commit), or messages received from the server since then
  const frames = L.frames.filter(f => f[0] >= L.t0);
  const ran = L.states.some(x => x[0] >= L.t0 && (x[1] === 'running' || x[1] === 'rerunRequested')) || frames.length;
  // a change the browser handles alone (a tab of st.tabs without on_change) sends nothing to the server
  const local = !L.sent.some(x => x[0] >= L.t0) && now - L.t0 >= quiet;
  if (!ran && !local) return false;
  // stale elements, and placeholders of elements whose code is still loading (lazy chunks: plotly, ...)
  if (document.querySelector('[data-stale="true"], [data-testid="stSkeleton"], [data-testid="stAppSkeleton"]')) return false;
  for (const c of document.querySelectorAll('[data-testid="stPlotlyChart"]')) if (!c.querySelector('.main-svg')) return false;
  const s = L.states[L.states.length - 1];
  const lastFrame = frames.length ? frames[frames.length - 1][0] : 0;
  return now - s[0] >= quiet && now - L.mainMut >= quiet && now - lastFrame >= quiet;
}
"""

# The measurement, once drawn: times relative to the committing event, in seconds.
RESULT_JS = """
() => {
  const L = window.__lat;
  const frames0 = L.frames.filter(f => f[0] >= L.t0);
  const lastFrame = frames0.length ? frames0[frames0.length - 1][0] : L.t0;
  const ends = L.states.filter(x => x[1] === 'notRunning' && x[0] >= L.t0).map(x => x[0]);
  const ended = Math.max(ends.length ? ends[ends.length - 1] : L.t0, lastFrame);
  const painted = L.paint >= L.mainMut ? L.paint : L.mainMut;
  const drawn = Math.max(ended, painted);
  const frames = frames0.filter(f => f[0] <= drawn);
  const busy = L.longtasks.filter(t => t[0] + t[1] >= L.t0 && t[0] <= drawn)
                          .reduce((a, t) => a + Math.min(t[0] + t[1], drawn) - Math.max(t[0], L.t0), 0);
  const s = v => (v - L.t0) / 1000;
  const sent = L.sent.filter(x => x[0] >= L.t0);
  return {seconds: s(drawn), request_s: sent.length ? s(sent[0][0]) : null, script_end_s: s(ended), last_chart_s: L.plotMut >= L.t0 ? s(L.plotMut) : null,
          first_frame_s: frames.length ? s(frames[0][0]) : null,
          last_frame_s: frames.length ? s(frames[frames.length - 1][0]) : null,
          frames: frames.length, bytes: frames.reduce((a, f) => a + f[1], 0), long_tasks_s: busy / 1000,
          charts: document.querySelectorAll('[data-testid="stPlotlyChart"]').length,
          t0_epoch: (performance.timeOrigin + L.t0) / 1000, end_epoch: (performance.timeOrigin + drawn) / 1000};
}
"""

# What the page shows when it is not drawn in time, for the error message.
STATE_JS = """
(quiet) => {
  const L = window.__lat || {states: [], mainMut: -1};
  const now = performance.now();
  const s = L.states[L.states.length - 1];
  const charts = document.querySelectorAll('[data-testid="stPlotlyChart"]');
  const app = document.querySelector('[data-testid="stApp"]');
  return {script_state: s ? s[1] : 'none', live_state: app ? app.getAttribute('data-test-script-state') : 'no app',
          h1: (document.querySelector('h1') || {}).innerText, states_seen: L.states.map(x => x[1]).join(' > '),
          committed: L.t0 !== null, charts: charts.length,
          sent_since: L.t0 === null ? [] : (L.sent || []).filter(x => x[0] >= L.t0).map(x => [Math.round(x[0] - L.t0), x[1]]),
          received_since: L.t0 === null ? [] : (L.frames || []).filter(x => x[0] >= L.t0).map(x => [Math.round(x[0] - L.t0), x[1]]),
          sent_before: (L.sent || []).filter(x => L.t0 === null || x[0] < L.t0).map(x => [Math.round(x[0]), x[1]]),
          charts_drawn: [...charts].filter(c => c.querySelector('.main-svg')).length,
          stale: document.querySelectorAll('[data-stale="true"]').length,
          placeholders: document.querySelectorAll('[data-testid="stSkeleton"], [data-testid="stAppSkeleton"]').length,
          last_change_ms_ago: Math.round(now - L.mainMut),
          exceptions: document.querySelectorAll('[data-testid="stException"]').length,
          errors: [...document.querySelectorAll('[data-testid="stAlertContentError"]')].map(e => e.innerText.slice(0, 200))};
}
"""


class LatencyError(RuntimeError):
    """A view was not drawn, a widget was not found, or the page showed an error."""


@dataclass
class Sample:
    """One timed view (a load or a redraw)."""

    seconds: float
    request_s: float | None  # the browser's first message after the change (the rerun request)
    script_end_s: float
    last_chart_s: float | None
    first_frame_s: float | None
    last_frame_s: float | None
    frames: int
    bytes: int
    long_tasks_s: float
    charts: int
    t0_epoch: float
    end_epoch: float
    server: dict | None = None  # per-category seconds of the script runs on the server (--server-timing)
    browser: dict | None = None  # main-thread seconds per group of code during the view (--browser-profile)


@dataclass
class Series:
    """All samples of one kind on one page."""

    page: str
    what: str  # "cold", "warm" or "redraw: <control>"
    samples: list[Sample] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(s.seconds for s in self.samples)


def wait_drawn(page, where: str, timeout_s: float, quiet_ms: int) -> Sample:
    """Wait until the page is drawn (module docstring); the sample, or a LatencyError saying what the page shows."""
    try:
        page.wait_for_function(DRAWN_JS, arg=quiet_ms, timeout=timeout_s * 1000, polling=100)
    except Exception as err:
        try:
            state = page.evaluate(STATE_JS, quiet_ms)
        except Exception as err2:  # the page itself is gone
            state = f"unreadable ({type(err2).__name__})"
        raise LatencyError(f"{where}: not drawn within {timeout_s:.0f} s ({type(err).__name__}); page state: {state}") from None
    state = page.evaluate(STATE_JS, quiet_ms)
    if state["exceptions"] or state["errors"]:
        raise LatencyError(f"{where}: the page shows an error: {state}")
    return Sample(**page.evaluate(RESULT_JS))


def open_link(context, url: str, where: str, timeout_s: float, quiet_ms: int,
              profile: bool = False) -> tuple[object, Sample]:
    """A new tab at ``url``; returns it and the load's sample (timed from the navigation's start).

    ``profile``: run the browser's CPU profiler over the load (``Sample.browser``).
    """
    page = context.new_page()
    prof = BrowserProfile(context, page) if profile else None
    if prof:
        prof.start()
    page.goto(url, wait_until="commit", timeout=timeout_s * 1000)
    page.evaluate("() => { window.__lat.t0 = 0; }")
    sample = wait_drawn(page, where, timeout_s, quiet_ms)
    if prof:
        sample.browser = prof.stop()
    return page, sample


def _widget(page, testid: str, label: str, where: str):
    """The one widget of type ``testid`` labelled ``label``; a LatencyError listing the labels there are otherwise."""
    boxes = page.locator(f'[data-testid="{testid}"]')
    found = boxes.filter(has=page.locator('[data-testid="stWidgetLabel"]').get_by_text(label, exact=True))
    if found.count() != 1:
        labels = [t.strip() for t in boxes.locator('[data-testid="stWidgetLabel"]').all_inner_texts()]
        raise LatencyError(f"{where}: {found.count()} widgets {testid} labelled {label!r} (need one); "
                           f"the {testid} labels on the page: {labels}")
    return found


def _arm(page) -> None:
    """Timestamp the next pointerdown / Enter as the change's commit (and start a browser profile if one waits)."""
    if id(page) in _ON_ARM:
        _ON_ARM[id(page)].start()
    page.evaluate("() => { const L = window.__lat; L.t0 = null; L.armed = true; }")


def _pick_option(page, box, name: str, where: str) -> None:
    """Open the dropdown of ``box`` and click its option ``name`` (armed first: that click commits the change).

    The dropdown closes when the page scrolls under it (a chart settling below the fold), so it is opened
    again, up to three times, when the option does not show within 5 s.
    """
    option = page.get_by_role("option", name=name, exact=True)
    box.scroll_into_view_if_needed()
    for _ in range(3):
        box.get_by_role("combobox").click()
        try:
            option.wait_for(timeout=5000)
            break
        except Exception:
            shown = [t.strip() for t in page.get_by_role("option").all_inner_texts()]
            if shown:  # the dropdown is open, without that option
                raise LatencyError(f"{where}: the dropdown has no option {name!r}; it shows {shown}") from None
            page.keyboard.press("Escape")
    else:
        raise LatencyError(f"{where}: the dropdown did not open (three clicks on it)")
    _arm(page)
    option.click()


def _picked(page, box, c: Control, wait_s: float = 3.0) -> bool:
    """Whether the selectbox shows ``c.value`` (a multiselect: holds it as a chip) within ``wait_s``."""
    deadline = time.perf_counter() + wait_s
    while time.perf_counter() < deadline:
        if c.kind == "select" and box.get_by_role("combobox").input_value() == c.value:
            return True
        if c.kind == "multiselect" and c.value in box.inner_text().splitlines():
            return True
        page.wait_for_timeout(50)
    return False


def change(page, c: Control, where: str, timeout_s: float) -> None:
    """Make the change ``c`` the way a user does; the probe is armed right before the committing event."""
    from playwright.sync_api import Error as PlaywrightError

    try:
        _change(page, c, where, timeout_s)
    except PlaywrightError as err:
        raise LatencyError(f"{where}: could not make the change ({type(err).__name__}: "
                           f"{str(err).splitlines()[0][:300]})") from None
    if page.evaluate("() => window.__lat.t0 === null"):
        raise LatencyError(f"{where}: the change was made but no pointerdown/Enter reached the page")


def _change(page, c: Control, where: str, timeout_s: float) -> None:
    ms = min(timeout_s, 20) * 1000  # an action (click, fill) waits less than a view
    if c.kind in ("select", "multiselect"):
        box = _widget(page, "stSelectbox" if c.kind == "select" else "stMultiSelect", c.label, where)
        for attempt in range(3):  # a click that lands while the dropdown re-renders can be lost: check, retry
            _pick_option(page, box, c.value, where)
            if c.kind == "multiselect":
                page.keyboard.press("Escape")  # close the dropdown (a multiselect keeps it open)
            if _picked(page, box, c):
                break
            print(f"{where}: the pick did not take (attempt {attempt + 1}); again", file=sys.stderr)
        else:
            raise LatencyError(f"{where}: picking {c.value!r} three times did not change the widget")
    elif c.kind in ("number", "text"):
        box = _widget(page, "stNumberInput" if c.kind == "number" else "stTextInput", c.label, where)
        box.locator("input").fill(c.value, timeout=ms)
        _arm(page)
        box.locator("input").press("Enter", timeout=ms)
    elif c.kind == "radio":
        box = _widget(page, "stRadio", c.label, where)
        item = box.get_by_text(c.value, exact=True)
        if item.count() != 1:
            raise LatencyError(f"{where}: the radio {c.label!r} has no option {c.value!r}; "
                               f"it shows {box.inner_text().splitlines()[1:]}")
        _arm(page)
        item.click(timeout=ms)
    elif c.kind == "pills":
        box = _widget(page, "stButtonGroup", c.label, where)
        _arm(page)
        box.get_by_role("button", name=c.value, exact=True).click(timeout=ms)
    elif c.kind == "toggle":
        box = _widget(page, "stCheckbox", c.label, where)
        _arm(page)
        box.locator("label").first.click(timeout=ms)
    elif c.kind == "tab":
        tab = page.get_by_role("tab", name=c.label, exact=True)
        if tab.count() != 1:
            shown = page.get_by_role("tab").all_inner_texts()
            raise LatencyError(f"{where}: {tab.count()} tabs named {c.label!r} (need one); the tabs: {shown}")
        _arm(page)
        tab.click(timeout=ms)
    elif c.kind == "page_link":
        links = page.locator('[data-testid="stPageLink-NavLink"], [data-testid="stSidebarNavLink"]').filter(
            has_text=c.label)
        if links.count() == 0:
            shown = page.locator('[data-testid="stPageLink-NavLink"], [data-testid="stSidebarNavLink"]').all_inner_texts()
            raise LatencyError(f"{where}: no page link {c.label!r}; the page links: {[t.split()[-1] for t in shown]}")
        _arm(page)
        links.first.click(timeout=ms)
    else:
        raise LatencyError(f"{where}: unknown control kind {c.kind!r}")


def read_timings(path: Path | None) -> tuple[list[dict], list[tuple[float, int]]]:
    """The script runs and the websocket sends scripts/timed_app.py logged; nothing without --server-timing."""
    if path is None or not path.exists():
        return [], []
    runs = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    sent_path = Path(str(path) + ".sent")
    sent = [(float(t), int(n)) for t, n in (line.split() for line in sent_path.read_text().splitlines())] \
        if sent_path.exists() else []
    return runs, sent


def attach_server(sample: Sample, runs: list[dict], sent: list[tuple[float, int]]) -> None:
    """Sum the server's script runs that started while ``sample`` was being drawn (the same machine's clock).

    Adds ``before run`` (from the change, or the navigation's start, to the first run's start: the request
    reaching the server and Streamlit preparing the run) and ``after run`` (from the last run's end to the last
    message the browser received: the deltas still queued when the script ended), and ``last sent`` (from
    the change to the server's last websocket send, so that ``last ws msg`` minus it is the time the message
    waited for the browser's busy main thread).
    """
    mine = [r for r in runs if sample.t0_epoch - 0.05 <= r["start"] <= sample.end_epoch]
    if not mine:
        return
    total: dict[str, float] = {}
    for r in mine:
        for k, v in r["seconds"].items():
            total[k] = total.get(k, 0.0) + v
    total["before run"] = mine[0]["start"] - sample.t0_epoch
    if sample.last_frame_s is not None:
        total["after run"] = sample.t0_epoch + sample.last_frame_s - (mine[-1]["start"] + mine[-1]["seconds"]["total"])
    sends = [t for t, _ in sent if sample.t0_epoch <= t <= sample.end_epoch]
    if sends:
        total["last sent"] = sends[-1] - sample.t0_epoch
    total["runs"] = len(mine)
    sample.server = total


# groups of the browser's CPU profile, by a script's file name up to its first dot; a native DOM call
# (getBoundingClientRect, setAttribute, ...) counts for the script that made it
BROWSER_GROUPS = {"PlotlyChart": "plotly", "react-dom": "streamlit+react", "index": "streamlit+react",
                  "rolldown-runtime": "streamlit+react", "protobuf": "streamlit+react",
                  "styled-components": "styling (emotion)", "emotion-styled": "styling (emotion)",
                  "emotion-react": "styling (emotion)"}
BROWSER_PSEUDO = {"(garbage collector)": "gc", "(program)": "native (style, layout, paint)", "(idle)": None,
                  "(root)": None}


class BrowserProfile:
    """Chromium's sampling CPU profiler (CDP) over one redraw: main-thread seconds per group of code."""

    def __init__(self, context, page):
        self.cdp = context.new_cdp_session(page)
        self.cdp.send("Profiler.enable")
        self.cdp.send("Profiler.setSamplingInterval", {"interval": 250})  # microseconds

    def start(self) -> None:
        self.cdp.send("Profiler.start")

    def stop(self) -> dict[str, float]:
        profile = self.cdp.send("Profiler.stop")["profile"]
        self.cdp.detach()
        nodes = {n["id"]: n for n in profile["nodes"]}
        parent = {c: n["id"] for n in profile["nodes"] for c in n.get("children", ())}
        group_of: dict[int, str | None] = {}

        def group(node_id: int) -> str | None:
            if node_id not in group_of:
                frame = nodes[node_id]["callFrame"]
                url, fn = frame.get("url", ""), frame.get("functionName", "")
                if url:
                    group_of[node_id] = BROWSER_GROUPS.get(url.rsplit("/", 1)[-1].split(".", 1)[0], "other scripts")
                elif fn in BROWSER_PSEUDO:
                    group_of[node_id] = BROWSER_PSEUDO[fn]
                else:  # a native function: its caller's group
                    group_of[node_id] = group(parent[node_id]) if node_id in parent else "other scripts"
            return group_of[node_id]

        seconds: dict[str, float] = {}
        samples, deltas = profile.get("samples", []), profile.get("timeDeltas", [])
        for i, node_id in enumerate(samples[:-1]):  # a sample stands for the time up to the next one
            g = group(node_id)
            if g:
                seconds[g] = seconds.get(g, 0.0) + deltas[i + 1] / 1e6
        seconds["busy"] = sum(seconds.values())
        return {k: round(v, 4) for k, v in seconds.items()}


_ON_ARM: dict[int, BrowserProfile] = {}  # id(page) -> the profile to start when the change is armed


def measure_page(browser, name: str, spec: PageSpec, out: dict[str, Series], args, timings: Path | None) -> None:
    """One repeat of one page on a fresh server: cold, warm, then each control from the link's state."""
    script = FLOOR_SCRIPT if spec.floor else ROOT / "app.py"
    # the app as scripts/app.sh starts it (scripts/serve.py: its imports before the first visitor); the floor as a
    # bare ``streamlit run``
    if timings:
        launcher = (str(TIMED_SCRIPT),) if spec.floor else (str(TIMED_SCRIPT), "--preload")
    else:
        launcher = ("-m", "streamlit") if spec.floor else (str(SERVE_SCRIPT),)
    with tempfile.TemporaryFile("w+") as log:
        server = start_server(free_port(), log, script, launcher)
        try:
            url = server.url + spec.path
            context = browser.new_context(viewport=VIEWPORT)
            context.add_init_script(PROBE_JS)
            try:
                samples = []
                page, cold = open_link(context, url, f"{name}: cold load of {spec.path}", args.timeout, args.quiet,
                                       args.browser_profile)
                samples.append(("cold", cold))
                page.close()
                page, warm = open_link(context, url, f"{name}: warm load of {spec.path}", args.timeout, args.quiet,
                                       args.browser_profile)
                samples.append(("warm", warm))
                for i, c in enumerate(spec.controls):
                    if i:  # every control starts from the link's own state
                        page.close()
                        page, _ = open_link(context, url, f"{name}: load of {spec.path}", args.timeout, args.quiet)
                    where = f"{name}: {c.name}"
                    if args.browser_profile:
                        _ON_ARM[id(page)] = BrowserProfile(context, page)
                    change(page, c, where, args.timeout)
                    sample = wait_drawn(page, where, args.timeout, args.quiet)
                    if args.browser_profile:
                        sample.browser = _ON_ARM.pop(id(page)).stop()
                    samples.append((f"redraw: {c.name}", sample))
                page.close()
            finally:
                context.close()
        except LatencyError as err:
            log.seek(0)
            raise LatencyError(f"{err}\nthe server's log, last lines:\n{log.read()[-2000:]}") from None
        finally:
            server.terminate()
            server.wait(timeout=30)
    runs, sent = read_timings(timings)
    for what, s in samples:
        attach_server(s, runs, sent)
        out.setdefault(f"{name}|{what}", Series(name, what)).samples.append(s)


def _spread(series: Series) -> str:
    values = [s.seconds for s in series.samples]
    return f"{series.median:.2f} ({min(values):.2f}-{max(values):.2f})" if len(values) > 1 else f"{values[0]:.2f}"


def table(results: dict[str, Series]) -> list[dict]:
    """One row per (page, kind): the median, the spread, and the ratio to the floor's time of the same kind."""
    floor = {s.what.split(":")[0]: s.median for s in results.values() if s.page == "floor"}
    rows = []
    for s in results.values():
        kind = s.what.split(":")[0]
        base = floor.get(kind)
        rows.append({"page": s.page, "what": s.what, "median_s": round(s.median, 3),
                     "min_s": round(min(x.seconds for x in s.samples), 3),
                     "max_s": round(max(x.seconds for x in s.samples), 3), "n": len(s.samples),
                     "floor_s": round(base, 3) if base else None,
                     "ratio": round(s.median / base, 2) if base else None, "spread": _spread(s)})
    return rows


def breakdown(results: dict[str, Series]) -> list[dict]:
    """Medians of where each redraw's (and load's) time goes, as the browser and the server see it."""
    rows = []
    for s in results.values():
        def med(key):
            vals = [getattr(x, key) for x in s.samples if getattr(x, key) is not None]
            return round(statistics.median(vals), 3) if vals else None
        row = {"page": s.page, "what": s.what, "seconds": med("seconds"), "request_s": med("request_s"),
               "first_frame_s": med("first_frame_s"),
               "last_frame_s": med("last_frame_s"), "script_end_s": med("script_end_s"),
               "last_chart_s": med("last_chart_s"), "kb": round(statistics.median(x.bytes for x in s.samples) / 1024, 1),
               "frames": statistics.median(x.frames for x in s.samples), "long_tasks_s": med("long_tasks_s")}
        row["after_last_frame_s"] = (round(row["seconds"] - row["last_frame_s"], 3)
                                     if row["last_frame_s"] is not None else None)
        browsers = [x.browser for x in s.samples if x.browser]
        if browsers:
            keys = sorted({k for d in browsers for k in d})
            row["browser_s"] = {k: round(statistics.median(d.get(k, 0.0) for d in browsers), 3) for k in keys}
        servers = [x.server for x in s.samples if x.server]
        if servers:
            keys = sorted({k for d in servers for k in d if k != "runs"})
            row["server_s"] = {k: round(statistics.median(d.get(k, 0.0) for d in servers), 3) for k in keys}
        rows.append(row)
    return rows


def print_tables(rows: list[dict], parts: list[dict], repeats: int) -> None:
    print(f"\nseconds, median (min-max) over the repeats (up to {repeats}); ratio = median / the floor's median of the same "
          "kind\n")
    print("| page | what | vnviz s | floor s | ratio |")
    print("|---|---|---:|---:|---:|")
    for r in rows:
        if r["page"] == "floor":
            continue
        floor = f"{r['floor_s']:.2f}" if r["floor_s"] else "-"
        ratio = f"{r['ratio']:.1f}x" if r["ratio"] else "-"
        print(f"| {r['page']} | {r['what']} | {r['spread']} | {floor} | {ratio} |")
    for r in rows:
        if r["page"] == "floor":
            print(f"| floor | {r['what']} | {r['spread']} | | |")
    print("\nwhere the time goes (medians; seconds from the change or the navigation's start)\n")
    print("| page | what | drawn | request sent | 1st ws msg | last ws msg | after last msg | KB received | long tasks |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|")
    f = lambda v: "-" if v is None else f"{v:.2f}"  # noqa: E731
    for p in parts:
        print(f"| {p['page']} | {p['what']} | {f(p['seconds'])} | {f(p['request_s'])} | {f(p['first_frame_s'])} | "
              f"{f(p['last_frame_s'])} | "
              f"{f(p['after_last_frame_s'])} | {p['kb']:.0f} | {f(p['long_tasks_s'])} |")
    for key, title, columns in (("server_s", "the server's script runs (--server-timing), seconds", SERVER_COLUMNS),
                                ("browser_s", "the browser's main thread (--browser-profile), seconds", BROWSER_COLUMNS)):
        rows = [p for p in parts if key in p]
        if not rows:
            continue
        print(f"\n{title}\n")
        print("| page | what | " + " | ".join(columns) + " |")
        print("|---|---|" + "---:|" * len(columns))
        for p in rows:
            print(f"| {p['page']} | {p['what']} | " + " | ".join(f(p[key].get(c)) for c in columns) + " |")


SERVER_COLUMNS = ("before run", "import", "data", "analysis", "figures", "st.plotly_chart", "to_dict", "to_json",
                  "element id", "other", "total", "after run", "last sent")
BROWSER_COLUMNS = ("busy", "plotly", "streamlit+react", "styling (emotion)", "gc", "native (style, layout, paint)",
                   "other scripts")


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pages", default=",".join(DEFAULT_PAGES),
                        help=f"comma-separated, among {', '.join(p for p in PAGES if p != 'floor')}; "
                             "the floor is always measured")
    parser.add_argument("--repeats", type=int, default=3, help="fresh servers per page (the median is reported)")
    parser.add_argument("--controls", type=int, default=None, help="measure only the first N controls of each page")
    parser.add_argument("--json", default=None, help="write every sample and both tables here")
    parser.add_argument("--timeout", type=float, default=120, help="seconds a view may take to be drawn")
    parser.add_argument("--quiet", type=int, default=500, help="ms without a DOM change after which a page is drawn")
    parser.add_argument("--server-timing", action="store_true",
                        help="serve the app through scripts/timed_app.py and report the server's time by category")
    parser.add_argument("--browser-profile", action="store_true",
                        help="profile the browser's main thread during each view (plotly, Streamlit, GC, layout); "
                             "the profiler slows the browser a little")
    parser.add_argument("--merge", default=None, metavar="A.json,B.json",
                        help="measure nothing: pool the samples of earlier --json files (passes run at different "
                             "times, e.g. each in a quiet moment of a shared machine) and print the tables")
    args = parser.parse_args(argv)
    if args.merge:
        return merge([Path(f) for f in args.merge.split(",") if f], args.json)
    names = [n.strip() for n in args.pages.split(",") if n.strip() and n.strip() != "floor"]
    unknown = [n for n in names if n not in PAGES]
    if unknown:
        parser.error(f"unknown page(s) {', '.join(unknown)}; choose among {', '.join(p for p in PAGES if p != 'floor')}")
    if not Path(CHROMIUM).exists():
        raise SystemExit(f"the system Chromium ({CHROMIUM}) is not installed (scripts/test.sh installs it)")
    from playwright.sync_api import sync_playwright

    results: dict[str, Series] = {}
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as p:
        timings = Path(tmp) / "timings.jsonl" if args.server_timing else None
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        if timings:  # the server (a child process) finds the file through its environment
            os.environ[TIMINGS_ENV] = str(timings)
        try:
            for r in range(args.repeats):
                for name in ["floor"] + names:
                    spec = PAGES[name]
                    if args.controls is not None:
                        spec = PageSpec(spec.path, spec.controls[: args.controls], spec.floor)
                    t = time.perf_counter()
                    measure_page(browser, name, spec, results, args, timings)
                    print(f"repeat {r + 1}/{args.repeats}: {name} measured in {time.perf_counter() - t:.0f} s",
                          file=sys.stderr, flush=True)
        finally:
            browser.close()
    return report(results, names, args.json)


def report(results: dict[str, Series], names: list[str], json_path: str | None) -> dict:
    """Print the tables; write them and every sample to ``json_path``; return that dict."""
    rows, parts = table(results), breakdown(results)
    repeats = max((len(s.samples) for s in results.values()), default=0)
    print_tables(rows, parts, repeats)
    out = {"repeats": repeats, "pages": names, "table": rows, "breakdown": parts,
           "samples": {k: [asdict(s) for s in v.samples] for k, v in results.items()}}
    if json_path:
        Path(json_path).write_text(json.dumps(out, indent=1))
    return out


def merge(paths: list[Path], json_path: str | None) -> dict:
    """The tables over the samples of several earlier runs (``--json`` files), as if measured in one."""
    results: dict[str, Series] = {}
    names: list[str] = []
    for path in paths:
        data = json.loads(path.read_text())
        names += [n for n in data["pages"] if n not in names]
        for key, samples in data["samples"].items():
            page, what = key.split("|", 1)
            results.setdefault(key, Series(page, what)).samples.extend(Sample(**s) for s in samples)
    return report(results, names, json_path)


if __name__ == "__main__":
    try:
        main()
    except LatencyError as err:
        raise SystemExit(f"latency: {err}") from None
