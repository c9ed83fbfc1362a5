"""The app's language: the link key ``lang`` (en / zh), a switch in the sidebar, and ``t`` to draw text in it.

``lang`` is an app-wide link key (``state.GLOBAL_KEYS``): every page accepts and keeps it, so lesson,
presenter and shared links keep their language. The switch (``language_switch``, drawn by app.py on
every page, before the navigation) is a radio bound to the URL with ``bind="query-params"``; its
default is the browser's language (``st.context.locale``: "zh-CN" -> zh), English otherwise, so a
link without ``lang`` opens in the reader's language and English stays the default.

Pages and UI modules draw every text through ``t``: a constant marked with ``N_``, a ``Msg`` (its
template and values), an ``InputError`` (its sentence, the quoted values kept) or a plain string (a
msgid; unchanged when the catalog lacks it). Figures are built in the library with marked texts and
translated as a whole by ``chart`` (vnviz.figures.text.localize), with a font that has Chinese glyphs.
"""
from __future__ import annotations

from typing import Any

import plotly.graph_objects as go
import streamlit as st

from vnviz.figures.margins import settle_figure as settle_margins
from vnviz.figures.theme import ROOT_PX as THEME_ROOT_PX, themed
from vnviz.figures.text import localize
from vnviz.i18n import DEFAULT_LANG, LANGUAGE_NAMES, LANGUAGES, N_, pick_lang, translate

LANG = "lang"  # the link key and the switch's session key


def browser_lang() -> str:
    """The browser's language when the app offers it (``st.context.locale``), English otherwise."""
    try:
        locale = st.context.locale
    except Exception:  # no browser (a bare script run)
        locale = None
    return pick_lang(locale)


def current() -> str:
    """The language of this run: the switch's value, else the link's ``lang``, else the browser's."""
    value = st.session_state.get(LANG)
    if value in LANGUAGES:
        return value
    raw = st.query_params.get(LANG)
    if raw:
        return pick_lang(raw)
    return browser_lang()


def t(text: Any) -> Any:
    """``text`` in this run's language (vnviz.i18n.translate): a Msg, an InputError, a msgid, or anything else as is.

    A list, tuple or dict (a table's rows) is translated item by item, its keys too."""
    return _t(text, current())


def _t(text: Any, lang: str) -> Any:
    if isinstance(text, dict):
        return {_t(k, lang): _t(v, lang) for k, v in text.items()}
    if isinstance(text, (list, tuple)):
        return type(text)(_t(v, lang) for v in text) if not hasattr(text, "_fields") else type(text)(
            *(_t(v, lang) for v in text))
    return translate(text, lang)


def in_every_language(texts: Any) -> tuple[str, ...]:
    """``texts`` and their translations, each once: the link values of a widget whose label is its link text
    (Explore's tabs: Streamlit writes the shown label to the URL)."""
    return tuple(dict.fromkeys(translate(x, lang) for lang in LANGUAGES for x in texts))


def chart(figure: Any, lang: str | None = None) -> Any:
    """A plotly figure ready to draw with ``theme=None`` (what ``plot`` does): its marked texts in ``lang``
    (default: this run's language) and a font with Chinese glyphs; margins that already hold its labels
    (vnviz.figures.margins); and Streamlit's theme written in at this page's root font size, its template dropped
    (vnviz.figures.theme). With both, the browser draws each chart once instead of three times."""
    fig = localize(figure, lang or current())
    if isinstance(fig, go.Figure):  # written into plotly's own dicts, as settle_margins does: no copy, no validation
        themed({"data": fig._data, "layout": fig._layout}, root_px())  # first: the margins read its standoffs
    return settle_margins(fig)


def root_px() -> float:
    """This page's root font size in px: presenter mode's when the link asks for it, Streamlit's otherwise."""
    from vnviz.ui.presenter import ROOT_PX, is_presenting  # presenter draws its words through this module

    return ROOT_PX if is_presenting() else THEME_ROOT_PX


def plot(figure: Any, *, where: Any = None, lang: str | None = None, **kwargs: Any) -> Any:
    """Draw ``figure`` in ``where`` (default: the page): ``chart(figure, lang)`` with ``st.plotly_chart``'s
    ``theme=None``, since the theme is in the figure; ``kwargs`` go to ``plotly_chart`` (key, on_select, ...)."""
    return (where or st).plotly_chart(chart(figure, lang), theme=None, **kwargs)


def link_query(query: dict[str, Any]) -> dict[str, Any]:
    """``query`` with this run's language (a lesson's or presenter's link keeps it); English adds nothing."""
    lang = current()
    if lang != DEFAULT_LANG or LANG in st.query_params:
        return {**query, LANG: lang}
    return dict(query)


def language_switch() -> str:
    """The sidebar's language switch (link key ``lang``; default: the browser's language). Returns the language."""
    default = browser_lang()
    if st.session_state.get(LANG) not in (None, *LANGUAGES):
        del st.session_state[LANG]
    return st.sidebar.radio(
        "语言 · language", list(LANGUAGES), index=LANGUAGES.index(default), key=LANG, bind="query-params",
        horizontal=True, captions=[LANGUAGE_NAMES[x] for x in LANGUAGES],
        help=t(N_("The language of the app. Kept in every link as lang=en or lang=zh; without it, the browser's "
                  "language is used.")))
