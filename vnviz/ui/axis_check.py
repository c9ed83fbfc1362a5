"""Controls, caching and wording of the Axis check page.

Link keys: ``dims`` (the layout, what each dim means); ``by`` (``variant``: a torch layer,
or ``axes``: ticked axes); ``layer`` (with ``groups`` for GroupNorm; in axes mode the layer
whose axes the ticks start from) and, ticking axes, ``reduce`` (repeated letters,
``reduce=N&reduce=H&reduce=W``); and ``example`` (a built-in pair's name, or ``upload``). A link key means one thing on every page (``vnviz.ui.state``): ``layout``,
``variant`` and ``num_groups`` are Explore's, for its data. Older links with those names,
or with ``reduce=N,H,W``, are rewritten (axes to reduce imply ``by=axes``).
"""
from __future__ import annotations

from collections.abc import Mapping
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
from vnviz.i18n import N_, Msg, plural_msg
from vnviz.ui import state
from vnviz.ui.compute import SUMMARY_ENTRIES, TTL, digest, upload_arrays
from vnviz.ui.lang import t
from vnviz.ui.upload import kept_upload
from vnviz.ui.widgets import linked
from vnviz.variants.norms import resolve_num_groups
from vnviz.variants.params import LINK
from vnviz.variants.registry import VARIANTS, Param, quote

KEY = "ax:"  # prefix of this page's session keys that are not in the link (uploads)
UPLOAD = "upload"
DIMS_ONLY = N_("dims only")  # the check's layout choice when none of LAYOUTS is meant (not in the link)
MODES = {"variant": N_("a torch layer"), "axes": N_("ticking axes")}
AXIS_LETTERS = tuple(dict.fromkeys(t for lay in LAYOUTS for t in lay.split()))


class ReduceParam(Param):
    """Letters of the axes to reduce over; as link text comma-separated (``N,H,W``) or repeated."""

    def from_text(self, text: str, where: str = LINK) -> Any:
        letters = [t.strip().upper() for t in text.replace(" ", ",").split(",") if t.strip()]
        bad = [t for t in letters if t not in AXIS_LETTERS]
        if bad or not letters:
            raise InputError("{where}: reduce must be comma-separated axis letters such as N,H,W; got {got}.",
                             where=where, got=quote(text))
        return list(dict.fromkeys(letters))

    def to_text(self, value: Any) -> str:
        return "none" if value is None else ",".join(value)


LAYOUT = Param("dims", "choice", "N C H W", N_("What each dim of the tensor means (its layout)."), choices=LAYOUTS)
BY = Param("by", "choice", "variant", N_("Pick a torch layer to see its axes, or tick axes to find the layer."),
           choices=tuple(MODES))
REDUCE = ReduceParam("reduce", "str", [], N_("The axes the mean and variance are taken over."), choices=AXIS_LETTERS)
GROUPED = frozenset(v for v in PLAN_VARIANTS if "num_groups" in VARIANTS[v].param_names)  # take num_groups
VARIANT = Param("layer", "choice", PLAN_VARIANTS[0], N_("The layer whose axes to show."), choices=PLAN_VARIANTS)
NUM_GROUPS = Param("groups", "int", None, N_("GroupNorm's number of groups G; it must divide the channels."),
                   low=1, optional=True)
OLD_NAMES = {"layout": "dims", "variant": "layer", "num_groups": "groups"}  # older links
EXAMPLE = Param("example", "choice", "bn1d_tokens", N_("A built-in (input, output) pair, or your own files."),
                choices=tuple(EXAMPLES) + (UPLOAD,))
LINK = (LAYOUT, BY, REDUCE, VARIANT, NUM_GROUPS, EXAMPLE)
PLAN_HELP = N_("Each box is the small tensor drawn in 3-D: samples go back (N), channels across (features for "
             "tokens), the other axes flattened down. "
             "The coloured cells share one mean and variance: they form one statistic group. Each box highlights "
             "another group.")
CANDIDATES_HELP = N_("Every set of axes infer_axes tried, with its best eps and affine. Dark blue: the fit chosen, the "
                   "one with the fewest affine parameters among those that explain y; light blue: others that explain "
                   "y as well (often only because a large affine could undo any normalization); grey: they do not.")


def _legacy(raw: dict[str, Any]) -> dict[str, Any]:
    """Older links: ``layout``, ``variant``, ``num_groups`` by their new names; ``reduce=N,H,W`` as repeated
    letters; a link with axes to reduce is in axes mode."""
    raw = {OLD_NAMES.get(k, k) if OLD_NAMES.get(k, k) not in raw else k: v for k, v in raw.items()}
    r = raw.get("reduce")
    r = [r] if isinstance(r, str) else r
    if isinstance(r, list) and len(r) == 1 and "," in r[0]:
        raw["reduce"] = [t for t in r[0].split(",") if t]
    if raw.get("reduce") and "by" not in raw:
        try:
            REDUCE.from_text(",".join(raw["reduce"]) if isinstance(raw["reduce"], list) else raw["reduce"])
            raw["by"] = "axes"
        except InputError:
            pass  # the check says why reduce is dropped; the page stays in its default mode
    return raw


def _link_params(raw: Mapping[str, Any]) -> dict[str, Param]:
    axes = raw.get("by", BY.default) == "axes"
    keep = {LAYOUT.name, BY.name, EXAMPLE.name, VARIANT.name} | ({REDUCE.name} if axes else set())
    if not axes and raw.get(VARIANT.name) in GROUPED:
        keep.add(NUM_GROUPS.name)
    return {p.name: p for p in LINK if p.name in keep}


PAGE = state.Page("axis_check", _link_params, known=frozenset(p.name for p in LINK),
                  multi=frozenset({"reduce"}), legacy=_legacy)


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


def read_state() -> list[str]:
    """Read this page's link (on arrival); returns its notices."""
    return state.open_page(PAGE)


# -- which axes? --------------------------------------------------------------------------------


def plan_controls() -> PlanChoice:
    """The layout, the layer, then (ticking axes) the axes, which start from the layer's.

    The layer is drawn in both modes: in axes mode it is where the ticks start (their default), so
    a link in axes mode says which ticks it means even when it leaves them out.
    """
    layout = linked(LAYOUT, label=N_("layout"))
    letters = layout.split()
    mode = linked(BY, style="radio", label=N_("choose by"), captions=[t(MODES[m]) for m in MODES])
    names = [v for v in PLAN_VARIANTS if VARIANTS[v].min_ndim <= len(letters)]
    asked = state.peek_pending().get(VARIANT.name)
    if asked in set(PLAN_VARIANTS) - set(names):
        state.pending(VARIANT.name)
        state.add_notice(Msg("{asked} needs a spatial axis and {layout} has none; showing {shown}.",
                             asked=TITLES[asked], layout=layout, shown=TITLES[names[0]]))
    variant = linked(VARIANT, options=names, label=N_("layer"), describe=lambda v: TITLES.get(v, str(v)))
    groups, reduce, plan = None, (), None
    if mode == "axes":
        wanted = state.peek_pending().get("reduce") or []
        dropped = [t for t in wanted if t not in letters]
        if dropped:  # said in the layout's words (the widget would say "does not fit this data")
            state.pending("reduce")
            state.add_notice(plural_msg("reduce: {letters} is not an axis of {layout}; ignored.",
                                        "reduce: {letters} are not axes of {layout}; ignored.", len(dropped),
                                        letters=", ".join(dropped), layout=layout))
        start = list(axis_plan(layout, None, variant).reduce)
        picked = linked(REDUCE, options=letters, default=start, style="pills", label=N_("reduce over"))
        st.caption(t(Msg("The ticks start from {layer}'s axes; tick others to find their layer.",
                         layer=TITLES.get(variant, variant))))
        reduce = tuple(t for t in letters if t in picked)
        if reduce:
            plan = axis_plan(layout, reduce)
    else:
        if variant in GROUPED:
            choices = group_choices(layout)
            fallback = resolve_num_groups(None, max(choices))
            groups = linked(NUM_GROUPS, options=choices, default=fallback if fallback in choices else choices[0],
                            label="num_groups", context=Msg("{layout}'s example", layout=layout))
        plan = axis_plan(layout, None, variant, groups)
    return PlanChoice(layout, mode, reduce, variant, groups, plan)


def _table(rows: list[tuple[str, str]] | tuple[tuple[str, str], ...]) -> str:
    """A two-column markdown table whose first row is its header."""
    (a, b), rest = t(rows[0]), rows[1:]
    return "\n".join([f"| {a} | {b} |", "|---|---|"] + [f"| {t(x)} | {t(y)} |" for x, y in rest])


def _code(text: str) -> str:
    return f"`{text}`"


def plan_markdown(plan: AxisPlan) -> str:
    """The plan as a heading line and a two-column table."""
    sizes = ", ".join(f"{k} = {v}" for k, v in plan.sizes.items())
    head = t(Msg("**Reduces over {letters}** · `{pattern}`", letters=letters_text(plan.reduce), pattern=plan.pattern))
    first = plan.layers[0]
    if plan.standard:
        rows = [(N_("torch layer"), _code(first.layer)), (N_("functional call"), _code(first.call))]
    else:
        recipe = f"{_code(first.call)} ({t(first.note)})"
        if first.layer != "no standard layer":
            recipe = t(Msg("{layer}, i.e. {recipe}", layer=_code(first.layer), recipe=recipe))
        rows = [(N_("torch layer"), N_("no standard layer reduces over exactly these axes")),
                (N_("exact recipe"), recipe)]
    rows += [(N_("mean / variance shape (keepdim)"), f"{_code(plan.stat_shape)} = {plan.stat_size}"),
             (N_("affine weight / bias"), f"{t(plan.affine)}, {_code(plan.affine_shape)}" if plan.standard else "—")]
    for layer in plan.layers[1:]:
        closest = "closest" in layer.note
        label = N_("closest standard layer") if closest else N_("same statistics")
        note = layer.note
        if closest and isinstance(note, Msg) and "letters" in note.values:  # the label says it already
            note = Msg("it reduces over ({letters}), which {diff}", letters=note.values["letters"],
                       diff=note.values.get("diff", ""))
        rows.append((label, f"{_code(layer.layer)}: {t(note)}"))
    rows.append((N_("statistic groups"), plan.summary))
    table = _table(rows)
    notes = "\n".join(f"- {t(n)}" for n in plan.notes)
    drawn = t(Msg("Drawn for shape {shape} ({sizes}).", shape=plan.shape, sizes=sizes))
    return f"{head}\n\n{table}\n\n{drawn}\n\n{notes}"


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


def _read(data: bytes, name: str) -> tuple[str, str, dict[str, torch.Tensor]]:
    """A file of the pair: (digest, name, its arrays); parsed and cached now, so a bad file is refused here."""
    d = digest(data)
    try:
        return d, name, upload_arrays(d, name, data)
    except InputError as err:
        text = str(err)
        said = err.msg if name in text else Msg("{name}: {error}", name=name, error=err.msg)
        raise InputError(said) from None


def _pair(fx: tuple[str, str, dict], fy: tuple[str, str, dict] | None) -> Check | None:
    """The checked pair of the uploaded files; None while the output file is awaited."""
    (dx, nx, first), (dy, ny, second) = fx, fy or ("", "", None)
    pair = pair_from_arrays(first, second)
    if pair is None:
        return None
    x, y = pair
    names = nx if fy is None else f"{nx} → {ny}"
    try:
        report = pair_report(f"{dx}:{dy}", x, y)
    except (RuntimeError, ValueError) as err:
        if isinstance(err, InputError):
            raise
        raise InputError("Could not check this pair ({error}); try float32 arrays of a smaller shape.",
                         error=type(err).__name__) from None
    dtypes = str(x.dtype)[6:] if x.dtype == y.dtype else f"{str(x.dtype)[6:]} → {str(y.dtype)[6:]}"
    return Check(UPLOAD, names, Msg("Your pair, shape {shape}, {dtypes}.", shape=tuple(x.shape), dtypes=dtypes), report,
                 tuple(x.shape), None)


def upload_check() -> Check | None:
    """Two uploaders (input, output) or one .npz with x and y; a bad file or pair keeps the last good pair."""
    fx = kept_upload(st, Msg("input x, or one .npz holding arrays x and y (up to {mb} MB)", mb=MAX_UPLOAD_BYTES // 2**20),
                     KEY + "x_file", _read, N_("input"))
    fy = kept_upload(st, N_("output y (not needed with such an .npz)"), KEY + "y_file", _read, N_("output"))
    kept: Check | None = st.session_state.get(KEY + "pair")
    if fx is None:
        if fy is not None:
            st.info(t(N_("Upload the input x too (or one .npz holding arrays x and y).")))
        elif kept is None:
            st.info(t(N_("Upload the layer's input and its output (.npy, .npz, .pt or .csv), or one .npz holding "
                         "arrays x and y; the pair stays in this session only.")))
    else:
        ids = (fx[0], fy[0] if fy else None)
        if ids != st.session_state.get(KEY + "pair_ids"):  # a new pair of files: check it once
            st.session_state[KEY + "pair_ids"] = ids
            st.session_state[KEY + "pair_error"] = None
            try:
                got = _pair(fx, fy)
                st.session_state[KEY + "waiting"] = got is None
                if got is not None:
                    st.session_state[KEY + "pair"] = kept = got
            except InputError as err:
                st.session_state[KEY + "pair_error"] = err.msg
                st.session_state[KEY + "waiting"] = False
        if st.session_state.get(KEY + "pair_error"):
            st.error(t(st.session_state[KEY + "pair_error"]))
            if kept is not None:
                st.caption(t(Msg("Still showing your previous pair ({title}).", title=kept.title)))
        elif st.session_state.get(KEY + "waiting"):
            st.info(t(N_("Now upload the output y (or one .npz holding arrays x and y).")))
    if kept is not None:
        st.caption(f"{t(kept.title)}: {t(kept.description)}")
        fits = [lay for lay in LAYOUTS if len(lay.split()) == len(kept.shape)]
        layout = st.selectbox(t(N_("what the dims mean")), fits + ["dims only"], key=KEY + "check_layout",
                              format_func=lambda v: t(DIMS_ONLY) if v == "dims only" else v,
                              persist_state="session") if fits else None
        kept = Check(kept.source, kept.title, kept.description, kept.report, kept.shape,
                     None if layout in (None, "dims only") else layout)
    return kept


def check_controls() -> tuple[str, Check | None]:
    """The pair to check: a built-in example or an upload; returns (example key, check or None)."""
    source = linked(EXAMPLE, label=N_("pair"), describe=lambda n: "upload" if n == UPLOAD else str(n))
    if source == UPLOAD:
        return source, upload_check()
    check = example_check(source)
    st.caption(f"{t(check.title)}: {t(check.description)}")
    return source, check


def report_markdown(check: Check) -> str:
    """The report's fields as a two-column table."""
    letters = tuple(check.layout.split()) if check.layout else None
    return _table(report_rows(check.report, letters, check.shape))
