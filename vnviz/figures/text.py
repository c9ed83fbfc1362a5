"""A figure's words in the reader's language: the marked texts of a plotly figure translated as a whole.

The figure builders write their titles, axis titles, legend names, annotations and hovers as marked
text (``N_`` / ``Msg`` of vnviz.i18n), which plotly keeps as they are; ``localize(fig, lang)`` returns
the figure with every such text in ``lang`` and, for Chinese, a font family with Chinese glyphs
first in line after plotly's own (Debian's fonts-noto-cjk: "Noto Sans CJK SC"). English figures are
returned unchanged. No Streamlit here: the UI calls it (vnviz.ui.lang.chart).
"""
from __future__ import annotations

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


def translated(lang: str):
    """A one-argument function for figure builders that take a translate function: ``tr(text)``."""
    return lambda text: translate(text, lang)


def markup(template: str, /, **values: Any) -> Msg:
    """A layout of values without words of its own (``"<b>{title}</b><br>{sub}"``): not a msgid, so not extracted;
    its values are translated when the figure is (``localize``). Hover templates' ``%{x}`` are written ``%{{x}}``."""
    return Msg(template, **values)
