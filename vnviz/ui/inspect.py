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

from vnviz.analysis.element_picture import ElementPicture, element_picture
from vnviz.analysis.explain import Explanation, check_index
from vnviz.analysis.explain_words import DIGITS
from vnviz.errors import InputError
from vnviz.figures.explain import element_figure
from vnviz.i18n import N_, Msg
from vnviz.ui.compute import SUMMARY_ENTRIES, TTL, on_device, resolve_device, with_cpu_fallback
from vnviz.ui.lang import plot, t
from vnviz.ui.presenter import is_presenting
from vnviz.ui.widgets import linked, parsed
from vnviz.variants.registry import Param, apply

if TYPE_CHECKING:
    from vnviz.ui.explore import Controls

TAB = N_("Follow one element")  # the tab's title on Explore (and its ``tab=`` link value)
STEPS = 5  # gather, mean, variance, normalize, affine (every norm variant's explanation has these five)
ELEMENT = Param("element", "ints", None,
                N_("The element followed: a full index into x (the channel-first tensor the layer sees), one whole "
                   "number per dim, e.g. 3,1,4,2. Empty: the first element. Clicking a cell of the picture sets it."))
STEP = Param("step", "int", 0,
             N_("The step of the arithmetic shown: 1 gather the group, 2 its mean, 3 its variance, 4 normalize, "
                "5 affine; 0 shows every step, none highlighted."), low=0, high=STEPS)
LINK_PARAMS = (ELEMENT, STEP)  # the link keys this view reads (Explore's PAGE declares them)
PICTURE = "_inspect_picture"  # session key of the picture chart (its selection)
# the step picker's captions (translated where drawn)
STEP_WORDS = (N_("all"), N_("gather"), N_("mean"), N_("variance"), N_("normalize"), N_("affine"))


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
    centering, ClusterNorm's cluster or mixture ("" otherwise). A Msg (English as a str), translated where shown."""
    c = e.index[1]
    if e.source == "running":
        return Msg("Eval mode: {title} normalized {at} with its running statistics (running_mean and running_var of "
                   "channel {c}), not with this batch's mean and variance.", title=title, at=_at(e.index), c=c)
    if e.source == "fresh":
        return Msg("Eval mode: {title} used its running statistics, not this batch's; none were given, so they are a "
                   "fresh layer's, mean 0 and variance 1, and x̂ = x / √(1 + ε).", title=title)
    if not e.centered:
        return Msg("No centering: {title} divides by the root mean square of the group and subtracts nothing, so "
                   "step 2 has no mean.", title=title)
    if e.source == "cluster":
        return Msg("{title}: sample {sample} is in cluster {cluster}, so its statistics are that cluster's.",
                   title=title, sample=e.index[0], cluster=e.cluster)
    if e.source == "noise":
        return Msg("{title}: sample {sample} is noise, so it is normalized with the whole batch's statistics.",
                   title=title, sample=e.index[0])
    if e.source == "mixture":
        return Msg("Soft mode (Mixture Normalization): every component's statistics are used, weighted by sample "
                   "{sample}'s posteriors; the group outlined is its most likely component, {cluster}.",
                   sample=e.index[0], cluster=e.cluster)
    return ""


def group_text(pic: ElementPicture) -> str:
    """Where the element's statistic group lies: how many values, how many in this sample, what is drawn (a Msg)."""
    e = pic.explanation
    cut = [Msg("{shown} of its {channels} channels", shown=pic.rows.numel(), channels=pic.channels)] \
        if pic.rows.numel() < pic.channels else []
    if pic.cols.numel() < pic.length:
        cut.append(Msg("{shown} of its {length:,} positions", shown=pic.cols.numel(), length=pic.length))
    if cut and pic.group_elsewhere:
        where = Msg("{here:,} in sample {sample}, outlined where drawn; {elsewhere:,} in the other samples, not drawn",
                    here=pic.group_here, sample=pic.sample, elsewhere=pic.group_elsewhere)
    elif cut:
        where = Msg("{here:,} in sample {sample}, outlined where drawn", here=pic.group_here, sample=pic.sample)
    elif pic.group_elsewhere:
        where = Msg("{here:,} in sample {sample}, outlined; {elsewhere:,} in the other samples, not drawn",
                    here=pic.group_here, sample=pic.sample, elsewhere=pic.group_elsewhere)
    else:
        where = Msg("{here:,} in sample {sample}, outlined", here=pic.group_here, sample=pic.sample)
    boxed = Msg("{at} is boxed; its statistic group {group} holds {size:,} values ({where}).", at=_at(e.index),
                group=e.group, size=e.group_size, where=where)
    if not cut:
        return boxed
    shown = Msg("The sample is drawn at {cut}, evenly spread (each cell is one element).",
                cut=Msg.join(cut, " and "))
    return Msg.join([boxed, shown])


def output_check(e: Explanation, out: torch.Tensor) -> tuple[bool, str]:
    """``e.y`` against the page's output at the element: (equal, the sentence: a Msg)."""
    y = e.y.detach().cpu()
    at = _at(e.index)
    if torch.equal(y, out.to(y.dtype)):
        return True, Msg("y = {y} equals the output: the layer run on the whole tensor gives {out} at {at}.",
                         y=_number(float(y)), out=_number(float(out)), at=at)
    diff = float(out.double() - y.double())
    return False, Msg("The layer run on the whole tensor gives {out} at {at}, which differs from y = {y} by {diff:.3g} "
                      "(float rounding: the kernel sums in another order).", out=_number(float(out)), at=at,
                      y=_number(float(y)), diff=diff)


# -- the view -----------------------------------------------------------------------------------


def _index(text: str, shape: tuple[int, ...]) -> tuple[tuple[int, ...], InputError | None]:
    """The followed element's index (the first element for an empty box), and the error of a bad one."""
    first = (0,) * len(shape)
    try:
        raw = parsed(ELEMENT, text) if isinstance(text, str) else text
        return (first, None) if raw is None else (check_index(raw, shape), None)
    except InputError as err:
        return first, err


def element_view(c: Controls, scale: float = 1.0) -> None:
    """Draw the element inspector for the page's data and variant (inside Explore's "Follow one element" tab)."""
    shape = tuple(c.data.x.shape)
    present = is_presenting()
    if not present:
        st.caption(t(N_("One sample of x, the tensor the layer sees (channel-first), as channels × positions: its "
                        "values left, its statistic groups right. Click a cell to follow that element through the "
                        "layer.")))
    # on a projector the element box and the step picker fold away: the buttons, the step and the picture remain
    holder = st.expander(t(N_("element and step")), icon=":material/tune:") if present else st.container()
    top = holder.columns([1, 3], vertical_alignment="top")
    text = linked(ELEMENT, label=N_("element"), container=top[0])
    index, bad = _index(text, shape)
    if bad:
        st.error(t(bad))
        st.caption(t(Msg("Showing the first element, {at}, instead: click a cell or type an index.", at=_at(index))))
    device, note = resolve_device(c.device)

    def run(dev: str) -> tuple[ElementPicture, torch.Tensor]:
        x = on_device(c.data.key, dev, c.data.x)
        key = (c.data.key, dev, c.variant.name, c.params_key, index)
        return cached_picture(*key, x, c.params), cached_output_at(*key, x, c.params)

    try:
        (pic, out), oom = with_cpu_fallback(device, run)
    except InputError as err:
        st.error(t(err))
        return
    e = pic.explanation
    last = len(e.steps)
    step = int(linked(STEP, options=list(range(last + 1)), style="radio", label=N_("step"),
                      captions=[t(w) for w in STEP_WORDS[:last + 1]],
                      container=top[1]))
    for text_ in (note, oom, source_note(e, c.variant.title)):
        if text_:
            st.info(t(text_))
    walk = st.columns([1, 1, 3] if present else [1, 1, 5], vertical_alignment="center")
    walk[0].button(t(N_("previous")), icon=":material/arrow_back:", key="_inspect_previous", disabled=step <= 0,
                   on_click=_move, args=(-1, last), width="stretch")
    walk[1].button(t(N_("next")), icon=":material/arrow_forward:", key="_inspect_next", disabled=step >= last,
                   on_click=_move, args=(1, last), width="stretch")
    if step:
        current = e.steps[step - 1]
        walk[2].markdown(f"#### {t(current.text)}" if present else f"**{t(current.text)}**")
    else:
        walk[2].markdown(t(N_("Every step below; **next** walks them one by one.")))
    plot(element_figure(pic, step or None, scale), on_select=_picked, selection_mode="points",
         key=PICTURE, config={"displayModeBar": False})
    st.caption(t(group_text(pic)))
    with st.container(border=True):
        for i, s in enumerate(e.steps, start=1):
            head, text_ = f"{i} · {t(s.title)}", t(s.text)
            st.markdown(f"**▶ {head}:** **{text_}**" if i == step else f"**{head}:** {text_}")
        equal, sentence = output_check(e, out)
        (st.success if equal else st.warning)(t(sentence))
