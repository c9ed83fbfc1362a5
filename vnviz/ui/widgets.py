"""Linked widgets, built from registry parameter declarations (no hand-written widget per parameter).

``linked(p)`` draws one widget for the parameter ``p``, keyed by its link name and bound to the URL
(``bind="query-params"``): a bool is a toggle, a choice or a list of data-dependent options a
selectbox (or a radio), a number a number input, a shape or text a text box. The widget's label is
what the link holds (``batch_norm``, ``16,8,32,32``), since Streamlit writes the label to the URL.
Around the widget, ``vnviz.ui.state`` keeps a default a default and a kept value valid (before) and
notes a link value the widget did not take (after).
"""
from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
import functools
from dataclasses import replace
from typing import Any

import streamlit as st

from vnviz.errors import InputError
from vnviz.i18n import N_, Msg
from vnviz.ui import state
from vnviz.ui.lang import t
from vnviz.variants.norms import resolve_num_groups
from vnviz.variants.registry import VARIANTS, Param, Variant

MISSING = object()  # "use the parameter's own default"
GOOD = "_vnviz_good:"  # session key (+ link key): the last valid text of a text box
TEXT_ERROR = "_vnviz_text_error:"  # session key (+ link key): why the text just typed was not taken


def _number_format(p: Param) -> str:
    if p.kind == "int":
        return "%d"
    d = p.default if isinstance(p.default, (int, float)) else None
    if p.name == "eps" or (d is not None and d != 0 and abs(d) < 1e-2):
        return "%.1e"
    return "%.4g"


def _help(p: Param, text: str | None) -> Msg:
    text = text or p.help
    if p.kind in ("float", "int"):
        return Msg.join([text, Msg("Allowed: {allowed}.", allowed=p.allowed())])
    return text if isinstance(text, Msg) else Msg(text)


def _same_text(p: Param, a: Any, b: Any) -> bool:
    try:
        return p.to_text(a) == p.to_text(b)
    except (TypeError, ValueError):
        return a == b


def _after(p: Param, key: str, value: Any, shown: Callable[[Any], str], allowed: str = "", text_box: bool = False,
           container: Any = st, context: str = "this data") -> None:
    """A link value this widget did not take (it does not fit the data): say so."""
    raw = state.pending(key)
    if raw is None:
        return
    text = ",".join(raw) if isinstance(raw, list) else str(raw)
    try:
        wanted = p.from_text(text, "link")
        got = p.from_text(value, "link") if text_box else value
    except InputError:
        return  # open_page has already said why
    if not _same_text(p, wanted, got):
        if allowed:
            notice = Msg("The link's {key}={text} does not fit {context} (allowed: {allowed}); using {value}.",
                         key=key, text=text, context=context, allowed=allowed, value=shown(value))
        else:
            notice = Msg("The link's {key}={text} does not fit {context}; using {value}.", key=key, text=text,
                         context=context, value=shown(value))
        if state.add_notice(notice):  # the page's notices are above already: this one goes by its widget
            container.info(t(notice))


def _text_changed(p: Param, key: str) -> None:
    """A text box's callback: a value that does not parse is put back to the last good one, with a sentence."""
    text = st.session_state.get(key, "")
    try:
        parsed(p, text)
    except InputError as err:
        good = st.session_state.get(GOOD + key, "")
        st.session_state[TEXT_ERROR + key] = _kept(err, good)
        st.session_state[key] = good


def _kept(err: InputError, good: str) -> Msg:
    """The error's sentence, then what the box keeps."""
    kept = Msg("Kept {good}.", good=good) if good else N_("Kept the default.")
    return Msg.join([err.msg, kept])


def _draw(widget: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Draw a Streamlit widget as an app-wide one (``state.app_wide``: one widget per key on every page)."""
    with state.app_wide():
        return widget(*args, **kwargs)


def linked(p: Param, *, default: Any = MISSING, options: Sequence[Any] | None = None, label: str | None = None,
           help: str | None = None, container: Any = st, style: str = "", captions: Sequence[str] | None = None,
           low: float | None = None, high: float | None = None, on_change: Callable[[], None] | None = None,
           describe: Callable[[Any], str] | None = None, context: str = N_("this data")) -> Any:
    """Draw the linked widget of ``p`` (key and link name: ``p.name``) and return its value.

    Args:
        p: the parameter; its kind chooses the widget.
        default: the widget's default (what the link leaves out); by default ``p.default``.
        options: the allowed values, when they depend on the data (a selectbox, or ``style``).
        style: "radio", "multiselect", "pills" (several of ``options``), "slider" or "select_slider".
        captions: one per option, for a radio.
        low, high: number bounds replacing the declared ones (e.g. at most N clusters).
        on_change: a callback run when the user changes the value.
        describe: how a value is written in notices (default: its link text).
        context: what a value must fit, in notices ("this data").
    """
    key = p.name
    default = p.default if default is MISSING else default
    label = t(label or p.name)  # a marked label is translated; a parameter's name stays as it is
    text = describe or (lambda v: p.to_text(v) if v is not None else "none")
    helped = _help(p, help)
    if (default is None or p.optional) and p.kind in ("float", "int", "affine"):
        helped = Msg.join([helped, N_("Leave empty for None.")])
    kw: dict[str, Any] = dict(key=key, help=t(helped), bind="query-params", on_change=on_change)
    if style in ("multiselect", "pills"):
        opts = list(options if options is not None else p.choices)
        default = [v for v in default if v in opts]
        state.prepare(key, default, lambda v: isinstance(v, list) and all(x in opts for x in v),
                      lambda v: ",".join(map(str, v)), ", ".join(map(str, opts)))
        if style == "pills":
            value = _draw(container.pills, label, opts, selection_mode="multi", default=default, format_func=str, **kw)
        else:
            value = _draw(container.multiselect, label, opts, default=default, format_func=str,
                                          placeholder=t(N_("choose one or more")), **kw)
        value = list(value or [])
        _after(p, key, value, lambda v: ",".join(v) or "none", ", ".join(map(str, opts)))
        return value
    if options is not None or p.kind == "choice":
        opts = list(options if options is not None else p.choices)
        if default not in opts:
            default = opts[0]
        allowed = ", ".join(text(o) for o in opts)
        state.prepare(key, default, lambda v: v in opts, text, allowed, context)
        fmt = (lambda v: p.to_text(v)) if p.kind != "choice" else str
        index = opts.index(default)
        if style == "radio":
            value = _draw(container.radio, label, opts, index=index, format_func=fmt, captions=captions, horizontal=True,
                                    **kw)
        elif style == "select_slider":
            value = _draw(container.select_slider, label, opts, value=default, format_func=fmt, **kw)
        else:
            value = _draw(container.selectbox, label, opts, index=index, format_func=fmt, **kw)
        _after(p, key, value, text, allowed, container=container, context=context)
        return value
    if p.kind == "bool":
        state.prepare(key, bool(default))
        value = _draw(container.toggle, label, value=bool(default), **kw)
        _after(p, key, value, text)
        return value
    if p.kind in ("float", "int", "affine"):
        is_int = p.kind == "int"
        lo = p.low if low is None else low
        hi = p.high if high is None else high
        lo = None if lo is None else (int(lo) if is_int else float(lo))
        hi = None if hi is None else (int(hi) if is_int else float(hi))
        if default is not None:
            default = int(default) if is_int else float(default)
            if lo is not None:
                default = max(default, lo)
            if hi is not None:
                default = min(default, hi)

        def fits(v: Any) -> bool:
            if v is None:
                return p.optional or p.default is None or default is None
            return (lo is None or v >= lo) and (hi is None or v <= hi)

        bounds = p.allowed() if low is None and high is None else \
            f"{lo if lo is not None else '…'} to {hi if hi is not None else '…'}"
        state.prepare(key, default, fits, text, bounds)
        if style == "slider":
            value = _draw(container.slider, label, lo, hi, value=default, step=1 if is_int else None, **kw)
        else:
            value = _draw(container.number_input, 
                label, min_value=lo, max_value=hi, value=default, step=1 if is_int else (0.1 if p.kind == "affine" else None),
                format=_number_format(p), placeholder="None", **kw)
        _after(p, key, value, text, bounds)
        return value
    # shape, ints, str: a text box whose link text is the value as typed
    default_text = "" if default is None else (default if isinstance(default, str) else p.to_text(default))
    state.prepare(key, default_text)
    if on_change is None:
        kw["on_change"], kw["args"] = _text_changed, (p, key)
    value = _draw(container.text_input, label, value=default_text, **kw)
    error = st.session_state.pop(TEXT_ERROR + key, None)
    if error:
        container.error(t(error))
    st.session_state[GOOD + key] = value
    _after(p, key, value, lambda v: v if isinstance(v, str) else p.to_text(v), text_box=p.kind != "str")
    return value


def parsed(p: Param, text: str) -> Any:
    """The value of a text box's text (an empty box: None, i.e. the default); InputError names the parameter."""
    if p.kind == "str":
        return text
    try:
        return p.from_text(text, "")
    except InputError as err:
        raise InputError(_stripped(err.msg)) from None


class _Unplaced(Msg):
    """A parameter's sentence read with an empty ``where``: its leading ": " left out, in every language."""

    def translate(self, lang: str) -> str:
        return super().translate(lang).lstrip(":： ")


def _stripped(msg: Msg) -> Msg:
    """A parameter's sentence without its empty name (": got ..." -> "got ...")."""
    if not str(msg).startswith(":"):
        return msg
    out = str.__new__(_Unplaced, str(msg).lstrip(": "))
    out.__dict__.update(msg.__dict__)  # translated as the original sentence
    return out


def data_choices(variant: Variant, shape: tuple[int, ...]) -> dict[str, tuple[list[Any], Any]]:
    """(choices, default) that depend on the data's shape, per parameter name.

    GroupNorm's ``num_groups`` must divide C (default: GroupNorm's own, the smallest divisor above 1);
    ``normalized_shape`` must be trailing dims (default: every dim after the first).
    """
    out: dict[str, tuple[list[Any], Any]] = {}
    if len(shape) < 2:
        return out
    names = variant.param_names
    if "num_groups" in names:
        c = shape[1]
        out["num_groups"] = ([d for d in range(1, c + 1) if c % d == 0], resolve_num_groups(None, c))
    if "normalized_shape" in names:
        out["normalized_shape"] = ([tuple(shape[k:]) for k in range(1, len(shape))] + [tuple(shape)], tuple(shape[1:]))
    return out


def data_bounds(variant: Variant, shape: tuple[int, ...]) -> dict[str, tuple[float | None, float | None]]:
    """(low, high) bounds that depend on the data's shape, per parameter name: at most N clusters of N samples."""
    return {"n_clusters": (1, shape[0])} if "n_clusters" in variant.param_names and shape else {}


def variant_widgets(variant: Variant, shape: tuple[int, ...], container: Any = st, skip: tuple[str, ...] = (),
                    link_names: dict[str, str] | None = None) -> dict[str, Any]:
    """A linked widget per widget parameter of ``variant`` that applies; returns {api name: value}.

    Widgets come in two columns; a parameter whose ``when`` conditions are not met is not drawn
    (Streamlit keeps its value and takes it out of the link meanwhile). ``link_names`` gives a
    parameter another link key than its API name (one that means something else on another page).
    """
    names = link_names or {}
    values: dict[str, Any] = {}
    choices = data_choices(variant, shape)
    bounds = data_bounds(variant, shape)
    shown = [p for p in variant.widget_params if p.name not in skip]
    # Each parameter name has one slot (a column, and a place in it) whatever the variant and whichever
    # parameters apply: a widget that moved to another place would be mounted anew by the browser, and
    # Streamlit's browser side then stops writing its value into the URL (seen with 1.67: eps after a
    # change from InstanceNorm to GroupNorm, whose num_groups comes first, stayed out of the link).
    slots = _slots(variant.family, skip)
    cols = container.columns(2)
    places = {name: cols[i % 2].empty() for i, name in enumerate(slots)}
    for p in shown:
        current = {**{q.name: st.session_state.get(names.get(q.name, q.name), q.default) for q in shown}, **values}
        if not p.applies(current):
            continue
        col = places[p.name].container()
        w = replace(p, name=names[p.name]) if p.name in names else p  # the widget's key is its link name
        if p.name in choices:
            opts, default = choices[p.name]
            values[p.name] = linked(w, options=opts, default=default, container=col, label=p.name)
        elif p.kind in ("shape", "ints", "str"):
            values[p.name] = parsed(p, linked(w, container=col, label=p.name))
        else:
            low, high = bounds.get(p.name, (None, None))
            values[p.name] = linked(w, container=col, low=low, high=high, label=p.name)
    return values


@functools.cache
def _slots(family: str, skip: tuple[str, ...]) -> tuple[str, ...]:
    """Every widget parameter name of the variants of ``family``, in the order the declarations give them."""
    names: dict[str, None] = {}
    for v in VARIANTS.values():
        if v.family == family:
            names.update((p.name, None) for p in v.widget_params if p.name not in skip)
    return tuple(names)


def link_params(variant: Variant, raw: Mapping[str, Any], skip: tuple[str, ...] = ("seed",),
                link_names: dict[str, str] | None = None) -> dict[str, Param]:
    """The widget parameters of ``variant`` that apply to the link ``raw``, by link key (for ``state.Page``)."""
    names = link_names or {}
    values: dict[str, Any] = {}
    for p in variant.widget_params:
        key = names.get(p.name, p.name)
        values[p.name] = p.default
        if key in raw:
            try:
                values[p.name] = p.from_text(",".join(raw[key]) if isinstance(raw[key], list) else str(raw[key]))
            except InputError:
                pass  # the link check says why
    return {names.get(p.name, p.name): (replace(p, name=names[p.name]) if p.name in names else p)
            for p in variant.widget_params if p.name not in skip and p.applies(values)}


def _shape_changed(p: Param, check: Callable[[tuple[int, ...]], Any]) -> None:
    """The shape box's callback: a shape that does not parse, or that the source refuses, is put back."""
    text = st.session_state.get(p.name, "")
    try:
        shape = parsed(p, text)
        if shape is not None:
            check(shape)
    except InputError as err:
        good = st.session_state.get(GOOD + p.name, "")
        st.session_state[TEXT_ERROR + p.name] = _kept(err, good)
        st.session_state[p.name] = good


def shape_box(default: tuple[int, ...], check: Callable[[tuple[int, ...]], Any], label: str = "shape",
              container: Any = st, help: str = "", key: str = "shape") -> str:
    """The shape box of a data source: a linked text box (key ``shape``) whose default is the source's shape.

    ``check(shape)`` raises InputError for a shape the source refuses. A link's refused shape is taken out
    of the link with a notice (the page reruns); a typed one is put back to the last good shape with an
    error. Returns the text; an empty box means the default shape.
    """
    p = Param(key, "shape", None, help or N_("The shape to generate, comma-separated."))
    raw = state.peek_pending().get(p.name)
    if raw is not None:
        try:
            shape = parsed(p, str(raw))
            if shape is not None:
                check(shape)
        except InputError as err:
            state.drop_link_value(p.name, Msg.join([err.msg, Msg("Showing the default shape {shape}.",
                                                                 shape=tuple(default))]))
            st.rerun()
    return linked(p, default=",".join(map(str, default)), label=label, container=container,
                  on_change=lambda: _shape_changed(p, check))
