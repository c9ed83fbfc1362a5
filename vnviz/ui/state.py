"""Every view is a link: the page state lives in the URL query string.

A page declares its keys as registry ``Param`` objects. On the first run of a
session, on arriving from another page, and whenever the URL changes under it,
the query string is parsed into ``st.session_state`` (invalid values fall back
to their default with a notice); after the widgets have run, the whole state is
written back to the URL. Arriving through the sidebar (no query string), a page
takes the last link it wrote: Streamlit drops the state of widgets a run does
not draw, and the view comes back as it was left.

A query string this session itself wrote (or applied) a moment ago is not a new
link: a click that lands before the browser has taken the latest write reruns
the page with the query string before it, and applying that would undo the
click. So each page remembers its last few queries, and only a query outside
them (or any query on arrival from another page) counts as a link.
"""
from __future__ import annotations

from typing import Any, Iterable

import streamlit as st

from vnviz.errors import InputError
from vnviz.variants.registry import Param, Variant

RECENT_QUERIES = "_vnviz_recent_queries"  # session key (+ page): query dicts this session wrote or applied, newest last
RECENT = 8  # how many of them a page remembers
ARRIVED = "_vnviz_arrived"  # session key: True on a run that shows another page than the run before
SHOWN_PAGE = "_vnviz_shown_page"  # session key: the page the previous run showed
APPLIED = "_vnviz_link_applied"  # session key: the query dict the latest fresh link applied
NOTICES = "_vnviz_link_notices"  # session key: notices about invalid link values
LINK_FRESH = "_vnviz_link_fresh"  # session key: True on the run that applied a new link
GLOBAL_KEYS = ("present",)  # app-wide link keys (presenter mode): every page accepts and keeps them


def variant_key(variant: Variant, param: Param) -> str:
    """Session key of a variant parameter's widget (per variant, so each keeps its own value)."""
    return f"p:{variant.name}:{param.name}"


def seed_defaults(params: Iterable[Param], key_of=lambda p: p.name) -> None:
    """Put every parameter's default into the session state, where it has no value yet."""
    for p in params:
        st.session_state.setdefault(key_of(p), p.default)


def note_page(path: str) -> None:
    """Called by the app on every run with the page it is about to show: marks arrivals from another page."""
    st.session_state[ARRIVED] = st.session_state.get(SHOWN_PAGE) != path
    st.session_state[SHOWN_PAGE] = path


def _remember(page: str, query: dict[str, Any]) -> None:
    recent = [q for q in st.session_state.get(RECENT_QUERIES + page, []) if q != query]
    st.session_state[RECENT_QUERIES + page] = (recent + [query])[-RECENT:]


def read_link(page: str, common: Iterable[Param], variant_of=None) -> list[str]:
    """Load the URL's query string into the session state when it is new to this session.

    Args:
        page: the page's path, so that each page remembers its own last link.
        common: the page's own keys (source, shape, seed, variant, ...).
        variant_of: callable(session_state) -> Variant or None; its widget
            parameters are read from the URL too, under their API names.

    Returns the notices for invalid values (each one sentence), also kept in
    the session so they survive the rerun that follows.
    """
    query = {k: st.query_params.get(k) for k in st.query_params.keys() if k not in GLOBAL_KEYS}
    recent = st.session_state.get(RECENT_QUERIES + page, [])
    if st.session_state.get(ARRIVED):
        if not query and recent:  # back through the sidebar (no query string): the page as it was left
            query = dict(recent[-1])
        recent = []  # a link followed from another page is applied even if this page wrote it before
    if query in recent:  # this session's own link: unchanged, or a rerun that set off before the browser took the latest
        st.session_state[LINK_FRESH] = False
        return st.session_state.get(NOTICES + page, [])
    st.session_state[LINK_FRESH] = True
    st.session_state[APPLIED] = query
    notices = []
    known = set()
    for p in common:
        known.add(p.name)
        if p.name in query:
            try:
                st.session_state[p.name] = p.from_text(query[p.name])
            except InputError as err:
                st.session_state[p.name] = p.default
                notices.append(f"{err} Using {p.to_text(p.default)} instead.")
    variant = variant_of(st.session_state) if variant_of else None
    if variant is not None:
        for p in variant.widget_params:
            known.add(p.name)
            if p.name in query:
                try:
                    st.session_state[variant_key(variant, p)] = p.from_text(query[p.name])
                except InputError as err:
                    st.session_state[variant_key(variant, p)] = p.default
                    notices.append(f"{err} Using {p.to_text(p.default)} instead.")
    for k in query:
        if k not in known and not k.startswith("_"):
            notices.append(f"The link's key {k!r} is not used on this page and was ignored.")
    st.session_state[NOTICES + page] = notices
    _remember(page, query)
    return notices


def link_keys() -> set[str]:
    """The keys of the link this run applied (the URL's, or the page's own on a return): empty unless fresh."""
    return set(st.session_state.get(APPLIED, {})) if st.session_state.get(LINK_FRESH) else set()


def write_link(page: str, values: dict[str, Any], params: dict[str, Param]) -> None:
    """Write the full page state to the URL (and remember it as this session's own)."""
    text = {k: params[k].to_text(v) for k, v in values.items()}
    kept = {k: st.query_params.get(k) for k in GLOBAL_KEYS if k in st.query_params}
    if {k: st.query_params.get(k) for k in st.query_params.keys()} != {**text, **kept}:
        st.query_params.from_dict({**text, **kept})
    _remember(page, text)
