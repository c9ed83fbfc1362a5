"""Reading and driving a page as a user does, for the real-browser tests of issue 12 (views that never lie).

``state(page)`` reads the three things that must agree after every change: what the output was
computed from (the page's "Shown:" line), what the widgets show, and what the link holds. The
``pick``/``type_in``/... helpers change one control the way a user would, and wait until the app
has redrawn.
"""
from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

WIDGETS_JS = """() => {
  const out = {};
  const visible = el => !!(el.offsetParent || el.getClientRects().length);
  document.querySelectorAll('input[aria-label]').forEach(inp => {
    const lab = inp.getAttribute('aria-label');
    if (!visible(inp) && inp.type !== 'checkbox') return;
    if (inp.type === 'checkbox') out[lab] = inp.checked ? 'true' : 'false';
    else out[lab] = inp.value;
  });
  document.querySelectorAll('[data-testid="stMultiSelect"]').forEach(ms => {
    const lab = ms.querySelector('[data-testid="stWidgetLabel"]').innerText.trim();
    out[lab] = Array.from(ms.querySelectorAll('[aria-label^="Remove "]')).map(t => t.getAttribute('aria-label').slice(7));
  });
  document.querySelectorAll('[role="radiogroup"][aria-label]').forEach(g => {
    const sel = g.querySelector('[data-selected="true"]');
    out[g.getAttribute('aria-label')] = sel ? sel.innerText.split('\\n')[0].trim() : null;
  });
  document.querySelectorAll('[data-testid="stSlider"]').forEach(sl => {
    const lab = sl.querySelector('[data-testid="stWidgetLabel"]').innerText.trim();
    const th = sl.querySelector('input[type="range"]');
    if (th) out[lab] = th.getAttribute('aria-valuetext') || th.value;
  });
  const tab = document.querySelector('[role="tab"][aria-selected="true"]');
  if (tab) out['tab'] = tab.innerText.trim();
  return out;
}"""


RUNNING = "() => document.querySelector('[data-testid=\"stApp\"]')?.dataset.testScriptState === 'running'"


def settle(page, ms: int = 500) -> None:
    """Wait until the app has run after a change and stays idle for ``ms`` (a redirect reruns it once more)."""
    try:
        page.wait_for_function(RUNNING, timeout=2_000)  # the run the change started (if it started one)
    except Exception:  # noqa: BLE001 - a change that reruns nothing, or a run already over
        pass
    while True:
        page.wait_for_function(f"() => !({RUNNING[6:]})", timeout=120_000)
        page.wait_for_timeout(ms)
        if not page.evaluate(RUNNING):
            return


def widgets(page) -> dict:
    """{label: value as shown} of every visible widget (a multiselect: its chips; a radio: its chosen option)."""
    return page.evaluate(WIDGETS_JS)


def link(page) -> dict[str, str | list[str]]:
    """The URL's query string (a key given several times: a list)."""
    q = parse_qs(urlsplit(page.url).query, keep_blank_values=True)
    return {k: (v if len(v) > 1 else v[0]) for k, v in q.items()}


def shown(page) -> str | None:
    """The page's "Shown:" line: every value the output was computed from (None: no output, an error instead)."""
    cap = page.locator('[data-testid="stCaptionContainer"]').filter(has_text=re.compile(r"^Shown:"))
    return cap.first.inner_text() if cap.count() else None


def errors(page) -> list[str]:
    return page.locator('[data-testid="stAlertContentError"]').all_inner_texts()


CALL = re.compile(r"(\w+)\(([^()]*)\)")


def calls(text: str) -> list[tuple[str, dict[str, str]]]:
    """The ``name(k=v, ...)`` calls of a "Shown:" line, their arguments as link text."""
    out = []
    for name, args in CALL.findall(text.split(" on ")[0]):
        out.append((name, dict(a.split("=", 1) for a in re.split(r", (?=\w+=)", args) if "=" in a)))
    return out


def data_of(text: str) -> dict[str, str]:
    """The data part of a "Shown:" line: source, seed, shape (as drawn), layout, channel axis."""
    out = {}
    m = re.search(r" on (\w+), seed (\d+), shape \(([\d, ]+)\), layout ([A-Zd0-9 ]+?)(?:,|\.$)", text)
    if m:
        out = {"source": m.group(1), "seed": m.group(2), "shape": m.group(3).replace(" ", "").rstrip(","),
               "layout": m.group(4).strip()}
    m = re.search(r"channel axis (\d+)", text)
    out["channel_axis"] = m.group(1) if m else "1"
    return out


def pick(page, label: str, option: str) -> None:
    """Choose ``option`` in the selectbox labelled ``label``."""
    page.locator(f'input[aria-label="{label}"]').first.click()
    page.get_by_role("option", name=option, exact=True).click()
    settle(page)


def options(page, label: str) -> list[str]:
    """The options of the selectbox labelled ``label`` (opens and closes it)."""
    page.locator(f'input[aria-label="{label}"]').first.click()
    page.wait_for_selector('[role="option"]', timeout=10_000)
    opts = page.get_by_role("option").all_inner_texts()
    page.keyboard.press("Escape")
    page.wait_for_timeout(200)
    return [o.strip() for o in opts]


def type_in(page, label: str, text: str) -> None:
    """Type ``text`` into the number or text box labelled ``label`` and confirm it."""
    box = page.locator(f'input[aria-label="{label}"]').first
    box.fill(text)
    box.press("Enter")
    settle(page)


def flip(page, label: str) -> None:
    """Flip the toggle labelled ``label``."""
    page.locator(f'input[aria-label="{label}"]').first.locator("xpath=ancestor::label[1]").click()
    settle(page)


def choose(page, label: str, option: str) -> None:
    """Choose the option of the radio labelled ``label`` whose text starts with ``option``."""
    group = page.locator(f'[role="radiogroup"][aria-label="{label}"]')
    group.locator('[data-testid="stRadioOption"]').filter(has_text=re.compile(rf"^{re.escape(option)}\b")).first.click()
    settle(page)


def open_tab(page, name: str) -> None:
    """Open the tab ``name`` and wait until it is drawn (Explore draws only the open tab: picking one reruns)."""
    page.get_by_role("tab", name=name).click()
    settle(page, 600)
    charts_drawn(page)


CHARTS_DRAWN_JS = """() => [...document.querySelectorAll('[data-testid="stPlotlyChart"]')]
  .every(c => c.querySelector('.main-svg'))"""


def charts_drawn(page, timeout_ms: int = 60_000) -> None:
    """Wait until every plotly chart on the page holds its drawing (there may be none)."""
    page.wait_for_function(CHARTS_DRAWN_JS, timeout=timeout_ms)


def no_exception(page) -> bool:
    return not page.locator('[data-testid="stException"]').count()


def add_option(page, label: str, option: str) -> None:
    """Add ``option`` to the multiselect labelled ``label``."""
    box = page.locator('[data-testid="stMultiSelect"]').filter(has_text=label).first
    box.locator("input").first.click()
    page.get_by_role("option", name=option, exact=True).click()
    page.keyboard.press("Escape")
    settle(page)


def remove_option(page, label: str, option: str) -> None:
    """Remove ``option`` from the multiselect labelled ``label``."""
    box = page.locator('[data-testid="stMultiSelect"]').filter(has_text=label).first
    box.locator(f'[aria-label="Remove {option}"]').first.click()
    settle(page)
