"""Every view is a link: the page state lives in the URL query string.

A page declares its keys as registry ``Param`` objects. On the first run of a
session, and whenever the URL changes under it, the query string is parsed into
``st.session_state`` (invalid values fall back to their default with a notice);
after the widgets have run, the whole state is written back to the URL.
"""
from __future__ import annotations

from typing import Any, Iterable

import streamlit as st

from vnviz.errors import InputError
from vnviz.variants.registry import Param, Variant

LAST_QUERY = "_vnviz_last_query"  # session key: the query dict this session last wrote
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
    last = st.session_state.get(LAST_QUERY + page)
    if last is not None and query == last:
        st.session_state[LINK_FRESH] = False
        return st.session_state.get(NOTICES + page, [])
    st.session_state[LINK_FRESH] = True
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
    st.session_state[LAST_QUERY + page] = query
    return notices


def write_link(page: str, values: dict[str, Any], params: dict[str, Param]) -> None:
    """Write the full page state to the URL (and remember it as this session's own)."""
    text = {k: params[k].to_text(v) for k, v in values.items()}
    kept = {k: st.query_params.get(k) for k in GLOBAL_KEYS if k in st.query_params}
    if {k: st.query_params.get(k) for k in st.query_params.keys()} != {**text, **kept}:
        st.query_params.from_dict({**text, **kept})
    st.session_state[LAST_QUERY + page] = text
