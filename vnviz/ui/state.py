"""Every view is a link: Streamlit keeps the widgets and the URL in step; this module does the rest.

Each linked control is a widget bound with ``bind="query-params"`` and keyed by its link name
(``eps``, ``num_groups``, ``source``; see ``vnviz.ui.widgets``). Streamlit then writes every change
to the URL, leaves out a value equal to the widget's default, seeds the widget from a link, drops a
value it cannot use, and keeps the value while the widget is hidden or another page is shown.
Written by hand here, and only because Streamlit does not do it:

- **Say what a link got wrong.** Streamlit drops an invalid value without a word. On arrival,
  ``open_page`` checks the link against the page's declarations; a value that is invalid, or a key
  that is unknown or does not apply, is taken out, the page is sent once to the corrected link, and a
  notice says what was dropped and why. A valid value that does not fit the data (``num_groups=4``
  for 6 channels) is dropped by Streamlit when its widget is drawn: ``widgets`` notes it then.
- **Read older link forms** (``variants=a,b``, ``reduce=N,H,W``): ``Page.legacy`` rewrites them
  before the check, since Streamlit reads a list only as repeated keys.
- **One widget per key, for the whole app.** Streamlit keeps a bound value by its key and hands it
  to the widget of that key on the next page, but a page's widget is another widget than the same
  key's on another page (its id holds the page), and after a switch the two disagree, or the URL
  loses the value. So every linked widget is made app-wide (``app_wide``: its id is computed as
  for a widget of the entry point, as Streamlit does for shared sidebar widgets), and a page
  entered again assigns each of its keys to itself (``open_page``), so that Streamlit writes the
  value to the new page's URL. A key therefore means one thing on every page (Explore, Compare and
  ClusterNorm share their data this way): a control that is another thing takes another key
  (Slice & Mask's matrix is ``matrix``, not ``source``; Axis check's layer is ``layer``, not
  ``variant``), and older links are rewritten (``Page.legacy``).
- **Make a link followed inside the app the whole view.** Streamlit seeds the keys a link names
  (not those equal to the widget's default) and keeps the session's values for the others; a page
  opened from a lesson's button with a link forgets the session's values of its keys first, as
  opening the link in a new tab does. The browser keeps the keys of the app-wide widgets it still
  shows in the query string of a page switch (the sidebar's seed): those are told from a link by
  the link the last page had when its controls were drawn (``controls_drawn``).
- **Keep a default a default, and a kept value valid** (``prepare``, called by every linked widget):
  a widget's default can depend on other choices (eps is 1e-5 for BatchNorm, None for RMSNorm;
  num_groups defaults to a divisor of this data's C), and Streamlit keeps the old value, which the
  URL then no longer holds; a value left at the old default moves to the new one. A value that no
  longer fits the data Streamlit resets without fixing the URL; here it goes back to the default,
  with a notice, before the widget is drawn, so Streamlit writes the URL.

A new page declares a ``Page`` (its path, and the parameters its link may hold given the link),
calls ``open_page(PAGE)`` first in its controls function, draws its controls with
``vnviz.ui.widgets.linked`` (and ``vnviz.ui.sidebar``'s device and seed pickers), and opens with
``vnviz.ui.presenter.page_top(title, controls)``, which shows the notices and calls
``controls_drawn``; see ``vnviz.ui.explore``. Its keys must mean what they mean on the other pages.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import streamlit as st
from streamlit.errors import StreamlitAPIException
from streamlit.runtime.scriptrunner import get_script_run_ctx

from vnviz.errors import InputError
from vnviz.i18n import N_, Msg
from vnviz.variants.params import LINK
from vnviz.variants.registry import Param

GLOBAL_KEYS = ("present", "lang")  # app-wide link keys every page accepts and keeps (lang: vnviz.ui.lang's switch)
VISIT = "_vnviz_visit"  # session key: a counter the app raises each time another page is shown
VISIT_OF = "_vnviz_visit:"  # session key (+ page path): the visit its link was last read in
NOTICES = "_vnviz_notices:"  # session key (+ page path): notices about this visit's link
PENDING = "_vnviz_pending:"  # session key (+ page path): link values whose widget has not been drawn yet
DEFAULTS = "_vnviz_defaults"  # session key: link key -> the default its widget was drawn with last
CURRENT = "_vnviz_current_page"  # session key: the path of the page being drawn
SHOWN = "_vnviz_notices_shown"  # session key: True once this run has shown the page's notices
LAST_QUERY = "_vnviz_last_query"  # session key: the link when the last page's controls were drawn


@dataclass(frozen=True)
class Page:
    """A page's link: where it lives, which values it shares, and the parameters its link may hold."""

    path: str  # the page's url path, e.g. "explore"
    params: Callable[[Mapping[str, Any]], dict[str, Param]]  # link -> the parameters that apply to it, by key
    known: frozenset[str] = frozenset()  # every key the page uses (a key outside ``params`` does not apply)
    multi: frozenset[str] = frozenset()  # keys whose value is a list (repeated in the link: a=x&a=y)
    legacy: Callable[[dict[str, Any]], dict[str, Any]] | None = None  # rewrites older link forms


def note_page(path: str) -> None:
    """Called by the app on every run with the page it is about to show: counts page changes."""
    if st.session_state.get("_vnviz_shown_page") != path:
        st.session_state[VISIT] = st.session_state.get(VISIT, 0) + 1
        st.session_state["_vnviz_shown_page"] = path


def _text(value: Any) -> str:
    return ",".join(value) if isinstance(value, list) else str(value)


def _check(page: Page, raw: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """The link without what it cannot use, and a notice for each value left out."""
    params = page.params(raw)
    good: dict[str, Any] = {}
    notices: list[str] = []
    for key, value in raw.items():
        p = params.get(key)
        if p is None:
            if key in page.known:
                notices.append(Msg("The link's key {key!r} does not apply to this view and was ignored.", key=key))
            else:
                notices.append(Msg("The link's key {key!r} is not used on this page and was ignored.", key=key))
            continue
        try:
            p.from_text(_text(value), LINK)
        except InputError as err:
            using = N_("Using the default instead.") if p.default is None else \
                Msg("Using {default} instead.", default=p.to_text(p.default))
            notices.append(Msg.join([err.msg, using]))
            continue
        if key in page.multi and not isinstance(value, list):
            value = [value]
        good[key] = value
    return good, notices


def _query(page: Page) -> dict[str, Any]:
    """The URL's query string without the app-wide keys, a list for each key of ``page.multi``."""
    out: dict[str, Any] = {}
    for k in st.query_params:
        if k not in GLOBAL_KEYS:
            values = st.query_params.get_all(k)
            out[k] = values if (k in page.multi or len(values) > 1) else values[-1]
    return out


def open_page(page: Page) -> list[str]:
    """Read the page's link when the page is entered; call it at the top of the page.

    On arrival (the first run after another page, or of the session) it forgets the session's
    values of the page's keys when a link is followed inside the app, checks the link
    and, when something had to be left out or rewritten, sends the page to the corrected link (one
    rerun). Returns the notices of this visit so far.
    """
    s = st.session_state
    s[CURRENT] = page.path
    s[SHOWN] = False
    visit = s.get(VISIT, 0)
    if s.get(VISIT_OF + page.path) == visit:
        return s.get(NOTICES + page.path, [])
    s[VISIT_OF + page.path] = visit
    current = _query(page)
    raw = page.legacy(dict(current)) if page.legacy is not None else dict(current)
    # the browser carries the keys of the widgets it keeps on a page switch (the sidebar's): they are no link
    before = s.get(LAST_QUERY, {})
    followed = visit > 1 and any(before.get(k) != v for k, v in current.items())
    if followed:  # a link followed inside the app is the whole view: what it does not name is the
        for k in page.known:  # default, and so is what it names with the default's value (Streamlit does not
            s.pop(k, None)  # seed a widget from a value equal to its default)
    elif visit > 1:  # entered through the sidebar: its values, assigned to themselves, go to this page's URL
        for k in page.known:
            if k in s:
                s[k] = s[k]
    good, notes = _check(page, raw)
    s[NOTICES + page.path] = notes
    s[PENDING + page.path] = good
    if good != current:
        _write_link(good)
        st.rerun()
    return notes


def _write_link(good: dict[str, Any]) -> None:
    """The URL becomes ``good`` and the app-wide keys it holds (``GLOBAL_KEYS``), key by key: a key bound
    to a widget drawn before the page (the sidebar's language) cannot be set directly, and it keeps its value."""
    for k in [k for k in st.query_params.keys() if k not in good and k not in GLOBAL_KEYS]:
        try:
            del st.query_params[k]
        except StreamlitAPIException:
            pass
    for k, v in good.items():
        try:
            st.query_params[k] = v
        except StreamlitAPIException:
            pass


def controls_drawn() -> None:
    """Call once the page's controls are drawn (``page_top`` does): the link as it now is is remembered.

    On a page switch the browser keeps the query-string keys of the widgets drawn by every page (they
    are app-wide); ``open_page`` tells them from a followed link by this remembered link.
    """
    st.session_state[LAST_QUERY] = {k: (st.query_params.get_all(k) if len(st.query_params.get_all(k)) > 1 else
                                        st.query_params.get(k)) for k in st.query_params if k not in GLOBAL_KEYS}


def notices(path: str | None = None) -> list[str]:
    """The notices of the current visit of a page (the one being drawn by default)."""
    path = path or st.session_state.get(CURRENT, "")
    return list(st.session_state.get(NOTICES + path, []))


def add_notice(text: str) -> bool:
    """Add a notice to the page being drawn (kept until the page is entered again).

    Returns True when the page has shown its notices already in this run (a widget drawn below the
    figures): the caller then shows this one where it is.
    """
    path = st.session_state.get(CURRENT, "")
    st.session_state.setdefault(NOTICES + path, [])
    if text not in st.session_state[NOTICES + path]:
        st.session_state[NOTICES + path].append(text)
    return bool(st.session_state.get(SHOWN))


def notices_shown() -> None:
    """Called once the page has shown its notices: later ones are shown beside their widget."""
    st.session_state[SHOWN] = True


def pending(key: str) -> Any | None:
    """The link's value for ``key`` when its widget has not been drawn since the page was entered; consumed."""
    path = st.session_state.get(CURRENT, "")
    return st.session_state.get(PENDING + path, {}).pop(key, None)


def peek_pending() -> dict[str, Any]:
    """The link values whose widget has not been drawn yet in this visit (not consumed)."""
    return dict(st.session_state.get(PENDING + st.session_state.get(CURRENT, ""), {}))


def drop_link_value(key: str, notice: str) -> None:
    """Take ``key`` out of the link before its widget is drawn (it does not fit the data), with a notice.

    The caller reruns the page (``st.rerun()``), so that the widget starts from its default.
    """
    pending(key)
    if key in st.query_params:
        del st.query_params[key]  # not bound yet: its widget has not been drawn since the page was entered
    add_notice(notice)


def prepare(key: str, default: Any, fits: Callable[[Any], bool] | None = None,
            describe: Callable[[Any], str] = str, allowed: str = "", context: str = N_("this data")) -> None:
    """Before a linked widget is drawn: move a value left at the old default to the new one, and
    replace a value that does not fit (``fits``) by the default, with a notice."""
    s = st.session_state
    last = s.setdefault(DEFAULTS, {})
    if key in s:
        value = s[key]
        if key in last and _same(value, last[key]) and not _same(value, default):
            s[key] = default
        elif fits is not None and not fits(value):
            s[key] = default
            if allowed:
                notice = Msg("{key}={value} does not fit {context} (allowed: {allowed}); using {default}.", key=key,
                             value=describe(value), context=context, allowed=allowed, default=describe(default))
            else:
                notice = Msg("{key}={value} does not fit {context}; using {default}.", key=key, value=describe(value),
                             context=context, default=describe(default))
            if add_notice(notice):  # the page's notices are above already: this one goes by its widget
                from vnviz.ui.lang import t

                st.info(t(notice))
    last[key] = default


def _same(a: Any, b: Any) -> bool:
    try:
        return bool(a == b) and type(a) is type(b) or (a is None and b is None)
    except (TypeError, ValueError):
        return False


@contextmanager
def app_wide() -> Iterator[None]:
    """Create the widgets inside as app-wide ones: one widget per key on every page.

    Streamlit computes a widget's id from its key and the script that draws it; a widget of the entry
    point (app.py) keeps one id on every page, a page's widget gets another id on each page. Drawn
    here under the entry point's script hash (Streamlit 1.67's ``run_with_active_hash``, which
    ``st.Page.run`` itself uses), a linked widget is the same widget wherever its key is drawn.
    """
    ctx = get_script_run_ctx()
    if ctx is None:
        yield
        return
    with ctx.run_with_active_hash(ctx.pages_manager.main_script_hash):
        yield
