"""Presenter mode: big fonts and figures, no sidebar, for a projector.

A page calls ``presenter_mode()`` (or ``page_top``, which calls it) at its top; it returns the
figure scale, which the page passes to every figure builder (``scale=``). The link key
``present=1`` (an unbound link key, kept in the URL while the widgets change theirs) or the
sidebar toggle turns it on: the sidebar is hidden with CSS, the main area's base font grows, and
the page's title says what is shown, since the controls are folded away. A small button at the
top of the page turns it off again.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import streamlit as st

from vnviz.i18n import N_
from vnviz.ui import state
from vnviz.ui.lang import t

PRESENT = "present"  # the link key
SCALE = 1.6  # figure scale in presenter mode (fonts and heights)
ROOT_PX = 22  # the page's root font size in presenter mode, px (CSS below; the plotly theme's rem sizes follow it)
TOGGLE = "_present_toggle"  # session key of the sidebar toggle
ON_VALUES = ("1", "true", "yes", "on")  # link values that mean "on"
CSS = """
<style>
[data-testid="stSidebar"], [data-testid="stSidebarCollapsedControl"], [data-testid="stExpandSidebarButton"],
[data-testid="stSidebarCollapseButton"] { display: none !important; }
html { font-size: 22px; }
[data-testid="stMain"] .block-container { padding-top: 2.2rem; max-width: 100%; }
[data-testid="stMain"] h1 { font-size: 1.8rem; }
</style>
"""


def is_presenting() -> bool:
    """Whether the URL asks for presenter mode."""
    return str(st.query_params.get(PRESENT, "")).strip().lower() in ON_VALUES


def _enter() -> None:
    st.query_params[PRESENT] = "1"


def _leave() -> None:
    if PRESENT in st.query_params:
        del st.query_params[PRESENT]


def presenter_mode() -> float:
    """Apply presenter mode when the link (or the sidebar toggle) asks for it; return the figure scale.

    Call it at the top of a page, before anything else is drawn.
    """
    if is_presenting():
        st.html(CSS)
        st.button(t(N_("exit presenter mode")), icon=":material/fullscreen_exit:", type="tertiary", on_click=_leave,
                  key="_present_exit", help=t(N_("Show the sidebar and normal sizes again (drops present=1 from the "
                                                  "link).")))
        return SCALE
    st.session_state[TOGGLE] = False
    st.sidebar.toggle(t(N_("presenter mode")), key=TOGGLE, on_change=_enter,
                      help=t(N_("Big fonts and figures, no sidebar: for a projector. Adds present=1 to the link.")))
    return 1.0


def page_top(title: str, controls: Callable[[], Any]) -> tuple[Any, float]:
    """The opening the data pages share: presenter mode, the title, the page's controls and their notices.

    In presenter mode the title is what ``controls()`` returned says is shown (its ``headline``), as
    the controls are folded away. Returns (what ``controls()`` returned, the figure scale). Stops the
    run when the controls have nothing to show yet (``None``: an upload is awaited).
    """
    scale = presenter_mode()
    heading = st.empty()
    heading.title(t(title))
    c = controls()
    state.controls_drawn()
    headline = getattr(c, "headline", "")
    if scale > 1 and headline:
        heading.title(t(headline))
    for notice in c.notices if c else state.notices():
        st.info(t(notice))
    state.notices_shown()
    if c is None:
        st.stop()
    return c, scale
