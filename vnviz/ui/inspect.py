"""Explore's element inspector: follow one element of x through the layer, step by step.

The "Follow one element" tab draws one sample of the input as channels × positions (its
values, and its statistic groups), the followed element boxed and its whole statistic group
outlined; a click on a cell follows that element (``st.plotly_chart(on_select=...)``: each
cell's invisible marker carries its full index as ``customdata``, see
``vnviz.figures.explain``). Below, the five steps of ``vnviz.explain`` with their numbers, and
``e.y`` checked against the page's own output at that element. "previous" and "next" walk the
steps for a projector; the figure highlights what the current step uses.

Link keys: ``element`` (a full index into x, the channel-first tensor the layer sees, e.g.
``element=3,1,4,2``; absent: the first element) and ``step`` (1 gather the group, 2 its mean,
3 its variance, 4 normalize, 5 affine; absent or 0: every step, none highlighted). Both are
widgets bound to the URL (``vnviz.ui.widgets.linked``), so a click or a button updates the link.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

import streamlit as st
import torch

from vnviz.i18n import N_
from vnviz.analysis.element_picture import ElementPicture, element_picture
from vnviz.analysis.explain import Explanation, check_index
from vnviz.analysis.explain_words import DIGITS
from vnviz.errors import InputError
from vnviz.figures.explain import element_figure
from vnviz.ui.compute import SUMMARY_ENTRIES, TTL, on_device, resolve_device, with_cpu_fallback
from vnviz.ui.presenter import is_presenting
from vnviz.ui.widgets import linked, parsed
from vnviz.variants.registry import Param, apply

if TYPE_CHECKING:
    from vnviz.ui.explore import Controls

TAB = N_("Follow one element")  # the tab's title on Explore (and its ``tab=`` link value)
STEPS = 5  # gather, mean, variance, normalize, affine (every norm variant's explanation has these five)
ELEMENT = Param("element", "ints", None,
                "The element followed: a full index into x (the channel-first tensor the layer sees), one whole "
                "number per dim, e.g. 3,1,4,2. Empty: the first element. Clicking a cell of the picture sets it.")
STEP = Param("step", "int", 0,
             "The step of the arithmetic shown: 1 gather the group, 2 its mean, 3 its variance, 4 normalize, "
             "5 affine; 0 shows every step, none highlighted.", low=0, high=STEPS)
LINK_PARAMS = (ELEMENT, STEP)  # the link keys this view reads (Explore's PAGE declares them)
PICTURE = "_inspect_picture"  # session key of the picture chart (its selection)
STEP_WORDS = ("all", "gather", "mean", "variance", "normalize", "affine")  # the step picker's captions


# -- cached computations ------------------------------------------------------------------------


@st.cache_resource(max_entries=SUMMARY_ENTRIES, ttl=TTL, show_spinner=False)
def cached_picture(data_key: str, device: str, name: str, params_key: str, index: tuple[int, ...],
                   _x: torch.Tensor, _params: dict[str, Any]) -> ElementPicture:
    """``element_picture`` (with its Explanation) cached on (data, device, variant, parameters, element)."""
    return element_picture(name, _x, index, **_params)


@st.cache_resource(max_entries=SUMMARY_ENTRIES, ttl=TTL, show_spinner=False)
def cached_output_at(data_key: str, device: str, name: str, params_key: str, index: tuple[int, ...],
                     _x: torch.Tensor, _params: dict[str, Any]) -> torch.Tensor:
    """The page's output at one element: ``apply`` on the whole tensor, indexed; only that value is kept."""
    with torch.no_grad():
        return apply(name, _x, **dict(_params))[index].detach().cpu().clone()


# -- callbacks ----------------------------------------------------------------------------------


def _picked() -> None:
    """The picture's selection callback: the clicked cell's index becomes the followed element."""
    event = st.session_state.get(PICTURE) or {}
    points = (event.get("selection") or {}).get("points") or []
    if points and points[0].get("customdata") is not None:
        st.session_state[ELEMENT.name] = ELEMENT.to_text(points[0]["customdata"])


def _move(by: int, last: int) -> None:
    """"previous" / "next": one step back or on, within 0 (every step) .. ``last``."""
    st.session_state[STEP.name] = min(max(int(st.session_state.get(STEP.name, 0) or 0) + by, 0), last)


# -- words --------------------------------------------------------------------------------------


def _number(v: float) -> str:
    text = f"{v:.{DIGITS}g}"
    return "−" + text[1:] if text.startswith("-") else text


def _at(index: tuple[int, ...]) -> str:
    return "x[" + ", ".join(map(str, index)) + "]"


def source_note(e: Explanation, title: str) -> str:
    """What the statistics of this element are, when that is the point: eval mode's running statistics, no
    centering, ClusterNorm's cluster or mixture ("" otherwise)."""
    c = e.index[1]
    if e.source == "running":
        return (f"Eval mode: {title} normalized {_at(e.index)} with its running statistics (running_mean and "
                f"running_var of channel {c}), not with this batch's mean and variance.")
    if e.source == "fresh":
        return (f"Eval mode: {title} used its running statistics, not this batch's; none were given, so they are a "
                f"fresh layer's, mean 0 and variance 1, and x̂ = x / √(1 + ε).")
    if not e.centered:
        return (f"No centering: {title} divides by the root mean square of the group and subtracts nothing, so "
                f"step 2 has no mean.")
    if e.source == "cluster":
        return f"{title}: sample {e.index[0]} is in cluster {e.cluster}, so its statistics are that cluster's."
    if e.source == "noise":
        return f"{title}: sample {e.index[0]} is noise, so it is normalized with the whole batch's statistics."
    if e.source == "mixture":
        return (f"Soft mode (Mixture Normalization): every component's statistics are used, weighted by sample "
                f"{e.index[0]}'s posteriors; the group outlined is its most likely component, {e.cluster}.")
    return ""


def group_text(pic: ElementPicture) -> str:
    """Where the element's statistic group lies: how many values, how many in this sample, what is drawn."""
    e = pic.explanation
    cut = [f"{pic.rows.numel()} of its {pic.channels} channels"] if pic.rows.numel() < pic.channels else []
    if pic.cols.numel() < pic.length:
        cut.append(f"{pic.cols.numel()} of its {pic.length:,} positions")
    where = f"{pic.group_here:,} in sample {pic.sample}, outlined" + (" where drawn" if cut else "")
    if pic.group_elsewhere:
        where += f"; {pic.group_elsewhere:,} in the other samples, not drawn"
    shown = f" The sample is drawn at {' and '.join(cut)}, evenly spread (each cell is one element)." if cut else ""
    return (f"{_at(e.index)} is boxed; its statistic group {e.group} holds {e.group_size:,} values ({where})."
            + shown)


def output_check(e: Explanation, out: torch.Tensor) -> tuple[bool, str]:
    """``e.y`` against the page's output at the element: (equal, the sentence)."""
    y = e.y.detach().cpu()
    at = _at(e.index)
    if torch.equal(y, out.to(y.dtype)):
        return True, (f"y = {_number(float(y))} equals the output: the layer run on the whole tensor gives "
                      f"{_number(float(out))} at {at}.")
    diff = float(out.double() - y.double())
    return False, (f"The layer run on the whole tensor gives {_number(float(out))} at {at}, which differs from "
                   f"y = {_number(float(y))} by {diff:.3g} (float rounding: the kernel sums in another order).")


# -- the view -----------------------------------------------------------------------------------


def _index(text: str, shape: tuple[int, ...]) -> tuple[tuple[int, ...], str | None]:
    """The followed element's index (the first element for an empty box), and the sentence of a bad one."""
    first = (0,) * len(shape)
    try:
        raw = parsed(ELEMENT, text) if isinstance(text, str) else text
        return (first, None) if raw is None else (check_index(raw, shape), None)
    except InputError as err:
        return first, str(err)


def element_view(c: Controls, scale: float = 1.0) -> None:
    """Draw the element inspector for the page's data and variant (inside Explore's "Follow one element" tab)."""
    shape = tuple(c.data.x.shape)
    present = is_presenting()
    if not present:
        st.caption("One sample of x, the tensor the layer sees (channel-first), as channels × positions: its values "
                   "left, its statistic groups right. Click a cell to follow that element through the layer.")
    # on a projector the element box and the step picker fold away: the buttons, the step and the picture remain
    holder = st.expander("element and step", icon=":material/tune:") if present else st.container()
    top = holder.columns([1, 3], vertical_alignment="top")
    text = linked(ELEMENT, label="element", container=top[0])
    index, bad = _index(text, shape)
    if bad:
        st.error(bad)
        st.caption(f"Showing the first element, {_at(index)}, instead: click a cell or type an index.")
    device, note = resolve_device(c.device)

    def run(dev: str) -> tuple[ElementPicture, torch.Tensor]:
        x = on_device(c.data.key, dev, c.data.x)
        key = (c.data.key, dev, c.variant.name, c.params_key, index)
        return cached_picture(*key, x, c.params), cached_output_at(*key, x, c.params)

    try:
        (pic, out), oom = with_cpu_fallback(device, run)
    except InputError as err:
        st.error(str(err))
        return
    e = pic.explanation
    last = len(e.steps)
    step = int(linked(STEP, options=list(range(last + 1)), style="radio", captions=STEP_WORDS[:last + 1],
                      container=top[1]))
    for text_ in (note, oom, source_note(e, c.variant.title)):
        if text_:
            st.info(text_)
    walk = st.columns([1, 1, 3] if present else [1, 1, 5], vertical_alignment="center")
    walk[0].button("previous", icon=":material/arrow_back:", key="_inspect_previous", disabled=step <= 0,
                   on_click=_move, args=(-1, last), width="stretch")
    walk[1].button("next", icon=":material/arrow_forward:", key="_inspect_next", disabled=step >= last,
                   on_click=_move, args=(1, last), width="stretch")
    if step:
        current = e.steps[step - 1]
        walk[2].markdown(f"#### {current.text}" if present else f"**{current.text}**")
    else:
        walk[2].markdown("Every step below; **next** walks them one by one.")
    st.plotly_chart(element_figure(pic, step or None, scale), on_select=_picked, selection_mode="points",
                    key=PICTURE, config={"displayModeBar": False})
    st.caption(group_text(pic))
    with st.container(border=True):
        for i, s in enumerate(e.steps, start=1):
            head = f"{i} · {s.title}"
            st.markdown(f"**▶ {head}:** **{s.text}**" if i == step else f"**{head}:** {s.text}")
        equal, sentence = output_check(e, out)
        (st.success if equal else st.warning)(sentence)
