"""Controls, caching and wording of the Axis check page.

Link keys: ``layout``; either ``reduce`` (comma-separated letters, ``reduce=N,H,W``)
or ``variant`` (with ``num_groups`` for GroupNorm); and ``example`` (a built-in
pair's name, or ``upload``). Values live in this page's own session keys
(prefixed ``ax:``), as other pages use ``layout`` and ``variant`` for their own.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import streamlit as st
import torch

from vnviz.analysis.axes import LAYOUTS, PLAN_VARIANTS, TITLES, AxisPlan, axis_plan, group_choices, letters_text
from vnviz.analysis.axis_report import report_rows
from vnviz.analysis.pairs import EXAMPLES, example_pair, pair_from_arrays
from vnviz.analysis.infer import AxisReport, infer_axes
from vnviz.data import MAX_UPLOAD_BYTES
from vnviz.errors import InputError
from vnviz.ui.compute import SUMMARY_ENTRIES, TTL, digest, upload_arrays
from vnviz.ui.state import LINK_FRESH, link_keys, read_link, write_link
from vnviz.variants.norms import resolve_num_groups
from vnviz.variants.registry import Param, quote

PAGE = "axis_check"
KEY = "ax:"  # prefix of this page's session keys
UPLOAD = "upload"
MODES = {"variant": "a torch layer", "axes": "ticking axes"}
KEPT = ("variant", "num_groups")  # widgets hidden in the other mode, whose values are kept meanwhile
AXIS_LETTERS = tuple(dict.fromkeys(t for lay in LAYOUTS for t in lay.split()))


class ReduceParam(Param):
    """Letters of the axes to reduce over; the link text is comma-separated (``N,H,W``)."""

    def from_text(self, text: str, where: str = "link") -> Any:
        letters = [t.strip().upper() for t in text.replace(" ", ",").split(",") if t.strip()]
        bad = [t for t in letters if t not in AXIS_LETTERS]
        if bad or not letters:
            raise InputError(f"{where}: reduce must be comma-separated axis letters such as N,H,W; got {quote(text)}.")
        return tuple(dict.fromkeys(letters))

    def to_text(self, value: Any) -> str:
        return "none" if value is None else ",".join(value)


LAYOUT = Param("layout", "choice", "N C H W", "What each dim of the tensor means.", choices=LAYOUTS)
REDUCE = ReduceParam("reduce", "str", None, "The axes to reduce over, as comma-separated letters.", optional=True)
VARIANT = Param("variant", "choice", "batch_norm", "The layer whose axes to show.", choices=PLAN_VARIANTS)
NUM_GROUPS = Param("num_groups", "int", None, "GroupNorm's number of groups G; it must divide the channels.",
                   low=1, optional=True)
EXAMPLE = Param("example", "choice", "bn1d_tokens", "A built-in (input, output) pair, or your own files.",
                choices=tuple(EXAMPLES) + (UPLOAD,))
LINK = (LAYOUT, REDUCE, VARIANT, NUM_GROUPS, EXAMPLE)
PLAN_HELP = ("Each box is the small tensor drawn in 3-D: samples go back (N), channels across (features for "
             "tokens), the other axes flattened down. "
             "The coloured cells share one mean and variance: they form one statistic group. Each box highlights "
             "another group.")
CANDIDATES_HELP = ("Every set of axes infer_axes tried, with its best eps and affine. Dark blue: the fit chosen, the "
                   "one with the fewest affine parameters among those that explain y; light blue: others that explain "
                   "y as well (often only because a large affine could undo any normalization); grey: they do not.")


@dataclass(frozen=True)
class PlanChoice:
    """What the "Which axes?" controls chose."""

    layout: str  # e.g. "N C H W"
    mode: str  # "variant" or "axes"
    reduce: tuple[str, ...]  # ticked letters (axes mode)
    variant: str  # registry name (variant mode)
    num_groups: int | None  # GroupNorm's G (variant mode)
    plan: AxisPlan | None  # None until an axis is ticked


@dataclass(frozen=True)
class Check:
    """A checked (input, output) pair."""

    source: str  # an example's name or "upload"
    title: str  # what the pair is, in a few words
    description: str  # one sentence
    report: AxisReport  # what infer_axes found
    shape: tuple[int, ...]  # x's shape
    layout: str | None  # what x's dims mean, when known


# -- link state ---------------------------------------------------------------------------------


def read_state() -> list[str]:
    """read_link for this page, its values moved into this page's own session keys (others' are put back)."""
    names = [p.name for p in LINK]
    saved = {n: st.session_state[n] for n in names if n in st.session_state}
    notices = list(read_link(PAGE, LINK))
    in_query = link_keys()
    if st.session_state.get(LINK_FRESH):
        for n in names:
            if n in in_query:
                st.session_state[KEY + n] = st.session_state[n]
        if st.session_state.get(KEY + "reduce") and "reduce" in in_query:
            st.session_state[KEY + "mode"] = "axes"
            st.session_state[KEY + "pills"] = list(st.session_state[KEY + "reduce"])
        elif in_query & {"variant", "num_groups"}:
            st.session_state[KEY + "mode"] = "variant"
    for n in names:
        if n in saved:
            st.session_state[n] = saved[n]
        else:
            st.session_state.pop(n, None)
    if not st.session_state.get(LINK_FRESH):  # a hidden widget (the other mode) loses its value: bring it back
        for n in KEPT:
            if st.session_state.get(KEY + n) is None and KEY + "keep:" + n in st.session_state:
                st.session_state[KEY + n] = st.session_state[KEY + "keep:" + n]
    for p in LINK:
        st.session_state.setdefault(KEY + p.name, p.default)
    st.session_state.setdefault(KEY + "mode", "variant")
    return notices


def write_state(choice: PlanChoice, example: str) -> None:
    """The whole page state into the URL."""
    values: dict[str, Any] = {"layout": choice.layout}
    if choice.mode == "axes" and choice.reduce:
        values["reduce"] = choice.reduce
    else:
        values["variant"] = choice.variant
        if choice.variant == "group_norm" and choice.num_groups is not None:
            values["num_groups"] = choice.num_groups
    values["example"] = example
    write_link(PAGE, values, {p.name: p for p in LINK})


# -- which axes? --------------------------------------------------------------------------------


def _on_mode() -> None:
    """Switching to ticking axes starts from the axes of the layer shown so far."""
    last = st.session_state.get(KEY + "last_reduce")
    if st.session_state.get(KEY + "mode") == "axes" and last:
        st.session_state[KEY + "pills"] = list(last)


def plan_controls(notices: list[str]) -> PlanChoice:
    """The layout, then a variant or the ticked axes; appends fall-back notices to ``notices``."""
    if st.session_state.get(KEY + "layout") not in LAYOUTS:
        st.session_state[KEY + "layout"] = LAYOUT.default
    layout = st.selectbox("layout", LAYOUTS, key=KEY + "layout", help=LAYOUT.help)
    letters = layout.split()
    mode = st.radio("choose by", list(MODES), key=KEY + "mode", format_func=MODES.get, horizontal=True,
                    on_change=_on_mode, help="Pick a torch layer to see its axes, or tick axes to find the layer.")
    variant, groups, reduce, plan = st.session_state[KEY + "variant"], None, (), None
    if mode == "axes":
        ticked = [t for t in st.session_state.get(KEY + "pills") or [] if t in letters]
        dropped = [t for t in st.session_state.get(KEY + "pills") or [] if t not in letters]
        if dropped and st.session_state.get(LINK_FRESH):
            notices.append(f"reduce: {', '.join(dropped)} {'is' if len(dropped) == 1 else 'are'} not an axis of "
                           f"{layout}; ignored.")
        st.session_state[KEY + "pills"] = ticked
        picked = st.pills("reduce over", letters, selection_mode="multi", key=KEY + "pills",
                          help="Tick the axes the mean and variance are taken over.")
        reduce = tuple(t for t in letters if t in (picked or []))
        if reduce:
            plan = axis_plan(layout, reduce)
    else:
        names = [v for v in PLAN_VARIANTS if len(letters) >= 3 or v != "instance_norm"]
        if variant not in names:
            notices.append(f"InstanceNorm needs a spatial axis and {layout} has none; showing BatchNorm.")
            st.session_state[KEY + "variant"] = "batch_norm"
        variant = st.selectbox("layer", names, key=KEY + "variant", format_func=TITLES.get, help=VARIANT.help)
        if variant == "group_norm":
            choices = group_choices(layout)
            current = st.session_state.get(KEY + "num_groups")
            if current not in choices:
                fallback = resolve_num_groups(None, max(choices))
                fallback = fallback if fallback in choices else choices[0]
                if current is not None:
                    notices.append(f"num_groups={current} does not fit {layout}'s example "
                                   f"(allowed: {', '.join(map(str, choices))}); using {fallback}.")
                st.session_state[KEY + "num_groups"] = fallback
            groups = st.selectbox("num_groups", choices, key=KEY + "num_groups", help=NUM_GROUPS.help)
        plan = axis_plan(layout, None, variant, groups)
    if plan is not None:
        st.session_state[KEY + "last_reduce"] = plan.reduce
    if mode == "variant":
        st.session_state[KEY + "keep:variant"] = variant
        st.session_state[KEY + "keep:num_groups"] = groups if groups is not None else \
            st.session_state.get(KEY + "keep:num_groups")
    return PlanChoice(layout, mode, reduce, variant, groups, plan)


def _table(rows: list[tuple[str, str]] | tuple[tuple[str, str], ...]) -> str:
    """A two-column markdown table whose first row is its header."""
    (a, b), rest = rows[0], rows[1:]
    return "\n".join([f"| {a} | {b} |", "|---|---|"] + [f"| {x} | {y} |" for x, y in rest])


def _code(text: str) -> str:
    return f"`{text}`"


def plan_markdown(plan: AxisPlan) -> str:
    """The plan as a heading line and a two-column table."""
    sizes = ", ".join(f"{k} = {v}" for k, v in plan.sizes.items())
    head = f"**Reduces over {letters_text(plan.reduce)}** · `{plan.pattern}`"
    first = plan.layers[0]
    if plan.standard:
        rows = [("torch layer", _code(first.layer)), ("functional call", _code(first.call))]
    else:
        rows = [("torch layer", "no standard layer reduces over exactly these axes"),
                ("exact recipe", (f"{_code(first.layer)}, i.e. " if first.layer != "no standard layer" else "")
                 + f"{_code(first.call)} ({first.note})")]
    rows += [("mean / variance shape (keepdim)", f"{_code(plan.stat_shape)} = {plan.stat_size}"),
             ("affine weight / bias", f"{plan.affine}, {_code(plan.affine_shape)}" if plan.standard else "—")]
    for layer in plan.layers[1:]:
        label = "closest standard layer" if "closest" in layer.note else "same statistics"
        note = layer.note.replace("closest standard layer, not the same: ", "")
        rows.append((label, f"{_code(layer.layer)}: {note}"))
    rows.append(("statistic groups", plan.summary))
    table = _table(rows)
    notes = "\n".join(f"- {n}" for n in plan.notes)
    return f"{head}\n\n{table}\n\nDrawn for shape {plan.shape} ({sizes}).\n\n{notes}"


def cube_channel(plan: AxisPlan) -> int:
    """The dim drawn across the boxes: the features for tokens, the channels otherwise."""
    return len(plan.letters) - 1 if plan.layout == "N L D" else 1


# -- check my layer -----------------------------------------------------------------------------


@st.cache_resource(max_entries=SUMMARY_ENTRIES, ttl=TTL, show_spinner=False)
def example_check(name: str) -> Check:
    """A built-in pair's report, once per server."""
    ex = EXAMPLES[name]
    x, y = example_pair(name)
    return Check(name, ex.title, ex.description, infer_axes(x, y), tuple(x.shape), ex.layout)


@st.cache_resource(max_entries=SUMMARY_ENTRIES, ttl=TTL, show_spinner=False)
def pair_report(key: str, _x: torch.Tensor, _y: torch.Tensor) -> AxisReport:
    """infer_axes on an uploaded pair, keyed on the files' SHA-256."""
    return infer_axes(_x, _y)


def _arrays(file) -> tuple[str, dict[str, torch.Tensor]]:
    data = file.getvalue()
    d = digest(data)
    try:
        return d, upload_arrays(d, file.name, data)
    except InputError as err:
        text = str(err)
        raise InputError(text if file.name in text else f"{file.name}: {text}") from None


def _load(fx, fy) -> Check | None:
    """The checked pair of the uploaded files; None while the output file is awaited."""
    dx, first = _arrays(fx)
    dy, second = _arrays(fy) if fy is not None else ("", None)
    pair = pair_from_arrays(first, second)
    if pair is None:
        return None
    x, y = pair
    names = fx.name if fy is None else f"{fx.name} → {fy.name}"
    try:
        report = pair_report(f"{dx}:{dy}", x, y)
    except (RuntimeError, ValueError) as err:
        if isinstance(err, InputError):
            raise
        raise InputError(f"Could not check this pair ({type(err).__name__}); try float32 arrays of a smaller shape.") from None
    return Check(UPLOAD, names, f"Your pair, shape {tuple(x.shape)}.", report, tuple(x.shape), None)


def upload_check() -> Check | None:
    """Two uploaders (input, output) or one .npz with x and y; keeps the last good pair when a new one is bad."""
    cap = f"up to {MAX_UPLOAD_BYTES // 2**20} MB"
    fx = st.file_uploader(f"input x, or one .npz holding arrays x and y ({cap})", key=KEY + "x_file")
    fy = st.file_uploader("output y (not needed with such an .npz)", key=KEY + "y_file")
    ids = (fx.file_id if fx else None, fy.file_id if fy else None)
    if ids != st.session_state.get(KEY + "upload_ids"):
        st.session_state[KEY + "upload_ids"] = ids
        st.session_state[KEY + "upload_error"] = None
        st.session_state[KEY + "waiting"] = False
        if fx is not None or fy is not None:
            try:
                got = _load(fx, fy) if fx is not None else None
                if got is None:
                    st.session_state[KEY + "waiting"] = True
                else:
                    st.session_state[KEY + "pair"] = got
            except InputError as err:
                st.session_state[KEY + "upload_error"] = str(err)
    kept: Check | None = st.session_state.get(KEY + "pair")
    if st.session_state.get(KEY + "upload_error"):
        st.error(st.session_state[KEY + "upload_error"])
        if kept is not None:
            st.caption(f"Still showing your previous pair ({kept.title}).")
    elif st.session_state.get(KEY + "waiting"):
        st.info("Now upload the output y (or one .npz holding arrays x and y)." if fx is not None
                else "Upload the input x too (or one .npz holding arrays x and y).")
    elif kept is None:
        st.info("Upload the layer's input and its output (.npy, .npz, .pt or .csv), or one .npz holding arrays x and "
                "y; the pair stays in this session only.")
    if kept is not None:
        st.caption(f"{kept.title}: {kept.description}")
        fits = [lay for lay in LAYOUTS if len(lay.split()) == len(kept.shape)]
        layout = st.selectbox("what the dims mean", fits + ["dims only"], key=KEY + "check_layout") if fits else None
        kept = Check(kept.source, kept.title, kept.description, kept.report, kept.shape,
                     None if layout in (None, "dims only") else layout)
    return kept


def check_controls() -> tuple[str, Check | None]:
    """The pair to check: a built-in example or an upload; returns (example key, check or None)."""
    if st.session_state.get(KEY + "example") not in EXAMPLE.choices:
        st.session_state[KEY + "example"] = EXAMPLE.default
    source = st.selectbox("pair", list(EXAMPLE.choices), key=KEY + "example", help=EXAMPLE.help,
                          format_func=lambda n: "upload my own input and output" if n == UPLOAD else EXAMPLES[n].title)
    if source == UPLOAD:
        return source, upload_check()
    check = example_check(source)
    st.caption(check.description)
    return source, check


def report_markdown(check: Check) -> str:
    """The report's fields as a two-column table."""
    letters = tuple(check.layout.split()) if check.layout else None
    return _table(report_rows(check.report, letters, check.shape))
