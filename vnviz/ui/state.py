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
- **Keep apart the pages that give one name two meanings.** A bound key is one value for the whole
  session, so Slice & Mask's ``source`` (a matrix) would overwrite Explore's (a tensor). Each page
  belongs to a scope; when the scope changes, the keys of the scope left are put aside and those of
  the scope entered come back (``_switch_scope``).
- **Make a link followed inside the app the whole view.** Streamlit seeds the keys a link names
  (not those equal to the widget's default) and keeps the session's values for the others; a page
  opened from a lesson's button with a link forgets the session's values of its keys first, as
  opening the link in a new tab does.
- **Keep a default a default, and a kept value valid** (``prepare``, called by every linked widget):
  a widget's default can depend on other choices (eps is 1e-5 for BatchNorm, None for RMSNorm;
  num_groups defaults to a divisor of this data's C), and Streamlit keeps the old value, which the
  URL then no longer holds; a value left at the old default moves to the new one. A value that no
  longer fits the data Streamlit resets without fixing the URL; here it goes back to the default,
  with a notice, before the widget is drawn, so Streamlit writes the URL.

A new page declares a ``Page`` (path, scope, its parameters), calls ``open_page`` at its top, draws
its controls with ``vnviz.ui.widgets.linked`` and shows ``notices(page)``; see ``vnviz.ui.explore``.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import streamlit as st

from vnviz.errors import InputError
from vnviz.variants.registry import Param

GLOBAL_KEYS = ("present",)  # app-wide link keys, not bound to a widget: every page accepts and keeps them
VISIT = "_vnviz_visit"  # session key: a counter the app raises each time another page is shown
VISIT_OF = "_vnviz_visit:"  # session key (+ page path): the visit its link was last read in
SCOPE = "_vnviz_scope"  # session key: the scope whose values the shared keys hold now
SCOPE_KEYS = "_vnviz_scope_keys"  # session key: scope -> the link keys of its pages
STASH = "_vnviz_scope_stash"  # session key: scope -> {key: value} put aside while another scope is shown
NOTICES = "_vnviz_notices:"  # session key (+ page path): notices about this visit's link
PENDING = "_vnviz_pending:"  # session key (+ page path): link values whose widget has not been drawn yet
DEFAULTS = "_vnviz_defaults"  # session key: link key -> the default its widget was drawn with last
CURRENT = "_vnviz_current_page"  # session key: the path of the page being drawn


@dataclass(frozen=True)
class Page:
    """A page's link: where it lives, which values it shares, and the parameters its link may hold."""

    path: str  # the page's url path, e.g. "explore"
    scope: str  # pages of one scope share their link values ("data": Explore, Compare, ClusterNorm)
    params: Callable[[Mapping[str, Any]], dict[str, Param]]  # link -> the parameters that apply to it, by key
    known: frozenset[str] = frozenset()  # every key the page uses (a key outside ``params`` does not apply)
    multi: frozenset[str] = frozenset()  # keys whose value is a list (repeated in the link: a=x&a=y)
    legacy: Callable[[dict[str, Any]], dict[str, Any]] | None = None  # rewrites older link forms
    extra: tuple[str, ...] = field(default=())  # session keys (not in the link) kept per scope too


def note_page(path: str) -> None:
    """Called by the app on every run with the page it is about to show: counts page changes."""
    if st.session_state.get("_vnviz_shown_page") != path:
        st.session_state[VISIT] = st.session_state.get(VISIT, 0) + 1
        st.session_state["_vnviz_shown_page"] = path


def _switch_scope(page: Page) -> None:
    """Put the previous scope's values of the keys aside and bring back this scope's."""
    s = st.session_state
    keys = s.setdefault(SCOPE_KEYS, {})
    mine = keys.setdefault(page.scope, set())
    mine |= set(page.known) | set(page.extra)
    old = s.get(SCOPE)
    s[SCOPE] = page.scope
    if old is None or old == page.scope:
        return
    stash = s.setdefault(STASH, {})
    stash[old] = {k: s[k] for k in keys.get(old, ()) if k in s}
    back = stash.pop(page.scope, {})
    for k in keys.get(old, ()):
        if k in back:
            s[k] = back.pop(k)
        elif k in s:
            del s[k]
    for k, v in back.items():
        s[k] = v


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
            where = "does not apply to this view" if key in page.known else "is not used on this page"
            notices.append(f"The link's key {key!r} {where} and was ignored.")
            continue
        try:
            p.from_text(_text(value), "link")
        except InputError as err:
            default = "the default" if p.default is None else p.to_text(p.default)
            notices.append(f"{err} Using {default} instead.")
            continue
        if key in page.multi and not isinstance(value, list):
            value = [value]
        good[key] = value
    return good, notices


def open_page(page: Page) -> list[str]:
    """Read the page's link when the page is entered; call it at the top of the page.

    On arrival (the first run after another page, or of the session) it switches the scope, resets
    the keys a followed link does not name, checks the link and, when something had to be left out,
    sends the page to the corrected link (one rerun). Returns the notices of this visit so far.
    """
    s = st.session_state
    s[CURRENT] = page.path
    visit = s.get(VISIT, 0)
    if s.get(VISIT_OF + page.path) != visit:
        s[VISIT_OF + page.path] = visit
        _switch_scope(page)
        raw: dict[str, Any] = {}
        for k in st.query_params:
            if k not in GLOBAL_KEYS:
                values = st.query_params.get_all(k)
                raw[k] = values if (k in page.multi or len(values) > 1) else values[-1]
        if page.legacy is not None:
            raw = page.legacy(dict(raw))
        if raw and visit > 1:  # a link followed inside the app is the whole view: what it does not name is the
            for k in page.known:  # default, and so is what it names with the default's value (Streamlit
                s.pop(k, None)  # does not seed a widget from a value equal to its default)
        good, notices = _check(page, raw)
        s[NOTICES + page.path] = notices
        s[PENDING + page.path] = good
        current = {k: (st.query_params.get_all(k) if k in page.multi else st.query_params.get(k))
                   for k in st.query_params if k not in GLOBAL_KEYS}
        if good != current:
            kept = {k: st.query_params.get(k) for k in GLOBAL_KEYS if k in st.query_params}
            st.query_params.from_dict({**good, **kept})
            st.rerun()
    return s.get(NOTICES + page.path, [])


def notices(path: str | None = None) -> list[str]:
    """The notices of the current visit of a page (the one being drawn by default)."""
    path = path or st.session_state.get(CURRENT, "")
    return list(st.session_state.get(NOTICES + path, []))


def add_notice(text: str) -> None:
    """Add a notice to the page being drawn (kept until the page is entered again)."""
    path = st.session_state.get(CURRENT, "")
    st.session_state.setdefault(NOTICES + path, [])
    if text not in st.session_state[NOTICES + path]:
        st.session_state[NOTICES + path].append(text)


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
            describe: Callable[[Any], str] = str, allowed: str = "") -> None:
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
            also = f" (allowed: {allowed})" if allowed else ""
            add_notice(f"{key}={describe(value)} does not fit this data{also}; using {describe(default)}.")
    last[key] = default


def _same(a: Any, b: Any) -> bool:
    try:
        return bool(a == b) and type(a) is type(b) or (a is None and b is None)
    except (TypeError, ValueError):
        return False


def forget(keys: Iterable[str]) -> None:
    """Let these keys take their defaults at the next drawing (a callback's reset, e.g. a new source)."""
    for k in keys:
        st.session_state.pop(k, None)
