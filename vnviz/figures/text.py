"""A figure's words in the reader's language: the marked texts of a plotly figure translated as a whole.

The figure builders write their titles, axis titles, legend names, annotations and hovers as marked
text (``N_`` / ``Msg`` of vnviz.i18n), which plotly keeps as they are; ``localize(fig, lang)`` returns
the figure with every such text in ``lang`` and, for Chinese, a font family with Chinese glyphs
first in line after plotly's own (Debian's fonts-noto-cjk: "Noto Sans CJK SC"). English figures are
returned unchanged. No Streamlit here: the UI calls it (vnviz.ui.lang.chart).

``text_sizes`` gives every figure its own text sizes, scaled with the figure. Streamlit's plotly theme
would size titles, axis titles, ticks, legends and hovers in rem, and the browser converts them
with the page's root font size at the moment it draws the chart. Presenter mode enlarges the root
font with CSS, so a chart drawn before that CSS applied kept the small sizes (the training lab's
presenter test caught it under load). The sizes are the theme's at Streamlit's root font of 16 px,
times the figure's scale.
"""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import plotly.graph_objects as go

from vnviz.i18n import DEFAULT_LANG, Msg, pick_lang, translate

PLOTLY_FAMILY = '"Open Sans", verdana, arial'  # plotly's default family, kept first for Latin text
CJK_FAMILY = ('"Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "PingFang SC", "Microsoft YaHei", '
              '"WenQuanYi Micro Hei", sans-serif')  # fonts with Simplified Chinese glyphs, on Linux, macOS, Windows
FAMILIES = {"zh": f"{PLOTLY_FAMILY}, {CJK_FAMILY}"}  # per language: the layout's font family


def _walk(value: Any, lang: str) -> Any:
    if isinstance(value, Msg):
        return translate(value, lang)
    if isinstance(value, dict):
        return {k: _walk(v, lang) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_walk(v, lang) for v in value)
    return value


def localize(fig: Any, lang: str) -> Any:
    """``fig`` with its marked texts in ``lang`` and a font for that language (English: ``fig`` itself)."""
    lang = pick_lang(lang)
    if lang == DEFAULT_LANG or not isinstance(fig, go.Figure):
        return fig
    spec = _walk(fig.to_dict(), lang)
    layout = spec.setdefault("layout", {})
    family = FAMILIES.get(lang, PLOTLY_FAMILY)
    layout.setdefault("font", {})["family"] = family
    # Streamlit's theme gives the figure title and the hover labels a family of their own: set theirs too
    title = layout.get("title")
    layout["title"] = {**(title if isinstance(title, dict) else {"text": title} if title else {}),
                       "font": {**((title or {}).get("font", {}) if isinstance(title, dict) else {}), "family": family}}
    layout.setdefault("hoverlabel", {}).setdefault("font", {})["family"] = family
    return go.Figure(spec, _validate=False)  # built from a valid figure: no need to validate it again (time)


# Streamlit's plotly theme: these texts' sizes in rem (its fontSizes md, sm and twoSm) at its root font size
THEME_REM = {"title": 1.0, "axis_title": 0.875, "tick": 0.75, "legend": 0.75, "hover": 0.75}
ROOT_PX = 16


def text_sizes(names: Iterable[str], scale: float = 1.0) -> dict[str, Any]:
    """The layout properties that size a figure's texts as the theme would at ``scale`` (``update_layout``'s form).

    ``names``: the figure's axes and shared colour scales (``xaxis``, ``yaxis2``, ``coloraxis``, ...):
    each axis's ticks and title, and each colour scale's bar. A title size set after these wins."""
    px = {part: round(rem * ROOT_PX * scale, 1) for part, rem in THEME_REM.items()}
    ticks = {"tickfont": {"size": px["tick"]}, "title": {"font": {"size": px["axis_title"]}}}
    props: dict[str, Any] = {"title": {"font": {"size": px["title"]}},
                             "legend": {"font": {"size": px["legend"]}, "title": {"font": {"size": px["legend"]}}},
                             "hoverlabel": {"font": {"size": px["hover"]}}}
    for name in names:
        props[name] = {"colorbar": ticks} if name.startswith("coloraxis") else ticks
    return props


def figure_axes(fig: go.Figure) -> list[str]:
    """The names of ``fig``'s axes and shared colour scales (what ``text_sizes`` sizes)."""
    axes = [a.plotly_name for select in (fig.select_xaxes, fig.select_yaxes) for a in select()]
    return axes + [a.plotly_name for a in fig.select_coloraxes() if a.to_plotly_json()]  # those it uses


def size_texts(fig: go.Figure, scale: float = 1.0) -> go.Figure:
    """``fig`` with ``text_sizes`` set (a figure without axes yet: its default x and y axes)."""
    return fig.update_layout(text_sizes(figure_axes(fig) or ["xaxis", "yaxis"], scale))


def layout_axes(layout: dict) -> list[str]:
    """``figure_axes`` of a layout dict (vnviz.figures.grid's figures)."""
    return [name for name in layout if name.rstrip("0123456789") in ("xaxis", "yaxis", "coloraxis")]


def translated(lang: str):
    """A one-argument function for figure builders that take a translate function: ``tr(text)``."""
    return lambda text: translate(text, lang)


def markup(template: str, /, **values: Any) -> Msg:
    """A layout of values without words of its own (``"<b>{title}</b><br>{sub}"``): not a msgid, so not extracted;
    its values are translated when the figure is (``localize``). Hover templates' ``%{x}`` are written ``%{{x}}``."""
    return Msg(template, **values)
