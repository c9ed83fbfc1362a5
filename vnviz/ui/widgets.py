"""Widgets built from registry parameter declarations (no hand-written widget per parameter)."""
from __future__ import annotations

from typing import Any

import streamlit as st

from vnviz.errors import InputError
from vnviz.ui.state import variant_key
from vnviz.variants.registry import Param, Variant


def _number_format(p: Param) -> str:
    if p.kind == "int":
        return "%d"
    d = p.default if isinstance(p.default, (int, float)) else None
    if p.name == "eps" or (d is not None and d != 0 and abs(d) < 1e-2):
        return "%.1e"
    return "%.4g"


def param_widget(p: Param, key: str, choices: list[Any] | None = None, label: str | None = None,
                 container: Any = st) -> Any:
    """One widget for ``p``, keyed ``key``, its value seeded in the session state.

    ``choices`` replaces a free number or shape with a list that depends on the
    data (divisors of C for num_groups, trailing shapes for normalized_shape).
    """
    label = label or p.name
    help_text = p.help + (f" Allowed: {p.allowed()}." if p.kind in ("float", "int") else "")
    if choices is not None:
        if st.session_state.get(key) not in choices:
            fallback = p.default if p.default in choices else choices[0]
            if st.session_state.get(key) is not None:
                container.info(f"{p.name}={p.to_text(st.session_state[key])} does not fit this data "
                               f"(allowed: {', '.join(p.to_text(c) for c in choices)}); using {p.to_text(fallback)}.")
            st.session_state[key] = fallback
        fmt = (lambda v: "default" if v is None else ("×".join(map(str, v)) if isinstance(v, tuple) else str(v)))
        return container.selectbox(label, choices, key=key, help=help_text, format_func=fmt)
    st.session_state.setdefault(key, p.default)
    if p.kind == "bool":
        return container.toggle(label, key=key, help=help_text)
    if p.kind == "choice":
        return container.selectbox(label, list(p.choices), key=key, help=help_text)
    if p.kind in ("float", "int", "affine"):
        if p.optional or p.default is None:
            help_text += " Leave empty for None."
        low = None if p.low is None else (int(p.low) if p.kind == "int" else float(p.low))
        high = None if p.high is None else (int(p.high) if p.kind == "int" else float(p.high))
        step = 1 if p.kind == "int" else (0.1 if p.kind == "affine" else None)
        value = st.session_state[key]
        if value is not None and p.kind != "int":
            st.session_state[key] = float(value)
        return container.number_input(label, min_value=low, max_value=high, step=step, format=_number_format(p),
                                      key=key, help=help_text, placeholder="None")
    if p.kind in ("str", "ints", "shape"):
        text_key = key + ":text"
        current = st.session_state[key]
        if text_key not in st.session_state or st.session_state.get(key + ":seen", current) != current:
            st.session_state[text_key] = "" if current is None else p.to_text(current)  # set by a link
        st.session_state[key + ":seen"] = current
        text = container.text_input(label, key=text_key, help=help_text)
        try:
            value = p.from_text(text, "") if p.kind != "str" else text
        except InputError as err:
            container.error(str(err).lstrip(": "))
            return st.session_state[key]
        st.session_state[key] = st.session_state[key + ":seen"] = value
        return value
    return None


def refill_shape_text(text_key: str, seen_key: str, shape: tuple[int, ...]) -> None:
    """Put ``shape`` in the shape box ``text_key`` when it changed under the box (a link, a new source)
    or when Streamlit dropped the box's state while another page was shown; ``seen_key`` holds the last shape shown."""
    if st.session_state.get(seen_key) != shape or text_key not in st.session_state:
        st.session_state[text_key] = ",".join(map(str, shape))


def data_choices(variant: Variant, shape: tuple[int, ...]) -> dict[str, list[Any]]:
    """Choices that depend on the data's shape, per parameter name."""
    out: dict[str, list[Any]] = {}
    if len(shape) < 2:
        return out
    names = variant.param_names
    if "num_groups" in names:
        c = shape[1]
        out["num_groups"] = [d for d in range(1, c + 1) if c % d == 0]
    if "normalized_shape" in names:
        out["normalized_shape"] = [None] + [tuple(shape[k:]) for k in range(2, len(shape))] + [tuple(shape)]
    return out


def variant_widgets(variant: Variant, shape: tuple[int, ...], container: Any = st, skip: tuple[str, ...] = ()) -> dict[str, Any]:
    """A widget per widget parameter of ``variant``; returns {api name: value}."""
    values = {}
    choices = data_choices(variant, shape)
    shown = [p for p in variant.widget_params if p.name not in skip]
    cols = container.columns(2) if len(shown) > 1 else [container]
    i = 0
    for p in shown:
        current = {**{q.name: st.session_state.get(variant_key(variant, q), q.default) for q in shown}, **values}
        if not p.applies(current):
            continue
        values[p.name] = param_widget(p, variant_key(variant, p), choices.get(p.name), container=cols[i % len(cols)])
        i += 1
    return values
