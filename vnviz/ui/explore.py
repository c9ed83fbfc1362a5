"""Controls of the Explore page: link state, data, variant and view options.

Link keys: the data panel's (``source``, ``shape``, ``seed``, ``layout``, ``channel_axis``,
``nonfinite``), ``variant`` and each of its parameters under its API name (``eps``,
``num_groups``, ``normalized_shape``, ...), the dtype the variant runs in ``compute_in``
(``vnviz.ui.precision``), the view options ``bins``, ``clip``, ``log_y``, the open ``tab`` and
the highlighted statistic ``group``, and the element inspector's ``element`` and ``step``
(``vnviz.ui.inspect``). ClusterNorm's own seed follows ``seed``.
"""
from __future__ import annotations

import io
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import streamlit as st
import torch

from vnviz.analysis.histogram import DEFAULT_BINS
from vnviz.analysis.precision import COMPUTE_IN
from vnviz.analysis.view import ExploreView
from vnviz.data.generators import fmt_shape
from vnviz.figures.norm import GROUP_PALETTE
from vnviz.i18n import N_, Msg
from vnviz.ui import inspect, precision, state
from vnviz.ui.compute import cached_view, on_device, resolve_device, with_cpu_fallback
from vnviz.ui.data_panel import SOURCE_PARAMS, UPLOAD, Data, data_panel, legacy as data_legacy
from vnviz.ui.lang import t
from vnviz.ui.presenter import is_presenting
from vnviz.ui.sidebar import device_picker, seed_picker
from vnviz.ui.tabs import LinkedTabs
from vnviz.ui.widgets import link_params, linked, variant_widgets
from vnviz.variants.norms import dtype_name
from vnviz.variants.registry import VARIANTS, Param, Variant, apply

NORMS = tuple(n for n, v in VARIANTS.items() if v.family == "norm")
TABS = (N_("Distributions"), N_("Per-axis statistics"), N_("Statistic groups"), inspect.TAB, N_("Verification"),
        N_("Share & export"))
CLIPS = (0.0, 0.1, 0.5, 1.0, 2.0, 5.0)  # the percentile clips offered
VARIANT = Param("variant", "choice", NORMS[0], N_("The layer to apply (its torch functional name)."), choices=NORMS)
BINS = Param("bins", "int", DEFAULT_BINS, N_("Histogram bins."), low=5, high=200)
CLIP = Param("clip", "choice", 0.0, N_("Clip histogram ranges to the [p, 100 - p] percentiles (0 = full range)."),
             choices=CLIPS)
LOG_Y = Param("log_y", "bool", False, N_("Logarithmic counts: shows the tails."))
TABBED = LinkedTabs(TABS)  # the open tab in the link (``tab``), by its label
TAB = TABBED.param
GROUP = Param("group", "int", 0, N_("The statistic group drawn in colour in the group map."), low=0)
VIEW_PARAMS = (VARIANT, BINS, CLIP, LOG_Y, TAB, GROUP, COMPUTE_IN) + inspect.LINK_PARAMS


def _link_params(raw: Mapping[str, Any]) -> dict[str, Param]:
    name = raw.get("variant", VARIANT.default)
    out = {p.name: p for p in SOURCE_PARAMS + VIEW_PARAMS}
    return {**out, **link_params(VARIANTS[name if name in NORMS else VARIANT.default], raw)}


def _legacy(raw: dict[str, Any]) -> dict[str, Any]:
    """The data panel's older link forms, and the open tab by its label in this run's language: the tabs know only
    the labels they show, so a link shared across languages (``lang=zh&tab=Verification``) is rewritten (one rerun)."""
    return TABBED.legacy(data_legacy(raw))


PAGE = state.Page(
    "explore", _link_params, legacy=_legacy,
    known=frozenset(p.name for p in SOURCE_PARAMS + VIEW_PARAMS) | {
        p.name for n in NORMS for p in VARIANTS[n].widget_params if p.name != "seed"},
)


@dataclass(frozen=True)
class Controls:
    """What the user chose on the Explore page."""

    data: Data  # the input, channel-first
    variant: Variant  # the layer
    params: dict[str, Any]  # its keyword parameters
    params_key: str  # the parameters as link text (cache key)
    bins: int  # histogram bins
    clip: float | None  # percentile clip, or None for the full range
    log_y: bool  # log counts
    device: str  # "auto", "cuda", "mps" or "cpu"
    notices: list[str]  # link values that were invalid and replaced
    caption: Any = None  # where the variant's caption for this data goes (an st.empty in the variant box)
    headline: str = ""  # what is shown, in a few words (presenter mode's title)
    precision: Any = None  # the "compute in" choice (vnviz.ui.precision.Precision); data is cast to its dtype


def controls(families: tuple[str, ...] = ("norm",)) -> Controls | None:
    """Render the page's controls; None when there is no data yet (an upload is awaited)."""
    state.open_page(PAGE)
    device = device_picker()
    seed_picker()
    with st.sidebar.expander(t(N_("view options")), expanded=False):
        bins = int(linked(BINS, style="slider"))
        clip = float(linked(CLIP, options=CLIPS, style="select_slider", label=N_("clip to percentiles")))
        log_y = bool(linked(LOG_Y, label=N_("log counts")))
    # on a projector the controls fold away so that the figures fill the first screen; the title says what is shown
    holder = st.expander(t(N_("data and variant")), expanded=False, icon=":material/tune:") if is_presenting() else st.container()
    left, right = holder.columns([1, 1], gap="large")
    with left.container(border=True):
        st.markdown(t(N_("**Data**")))
        data = data_panel()
    names = [n for n, v in VARIANTS.items() if v.family in families]
    with right.container(border=True):
        st.markdown(t(N_("**Variant**")))
        variant = VARIANTS[linked(VARIANT, options=names)]
        caption = st.empty()
        caption.caption(t(variant.summary))
        shape = tuple(data.x.shape) if data is not None else ()
        # a variant's own seed (ClusterNorm's) follows the page's seed: one "seed" key in the link
        params = variant_widgets(variant, shape, skip=("seed",)) if shape else {}
        if "seed" in variant.param_names:
            params["seed"] = int(st.session_state.get("seed", 0))
        data, compute = precision.compute_in_control(data)  # data cast to the dtype chosen
    if data is None:
        return None
    params_key = "&".join(f"{k}={variant.param(k).to_text(v)}" for k, v in sorted(params.items()))
    chosen = ", ".join(f"{k}={variant.param(k).to_text(v)}" for k, v in params.items()
                       if k != "seed" and v != variant.param(k).default and v is not None
                       and k not in ("normalized_shape",))
    headline = Msg("{title}({chosen}) on {data} {shape}", title=variant.title, chosen=chosen, data=data.title,
                   shape=fmt_shape(tuple(data.x.shape))) if chosen else \
        Msg("{title} on {data} {shape}", title=variant.title, data=data.title, shape=fmt_shape(tuple(data.x.shape)))
    return Controls(data, variant, params, params_key, bins, clip or None, log_y, device, state.notices(),
                    caption, compute.headline(headline), compute)


def group_picker(view: ExploreView) -> int | None:
    """The group drawn in colour when the picture holds too many groups for a colour each (link key ``group``)."""
    picture = view.group_map
    if picture is None or len(picture.drawn) <= len(GROUP_PALETTE):
        return None
    first = int(picture.ids[0, 0, 0])
    return int(linked(GROUP, options=picture.drawn, default=first, label=N_("group shown in colour"),
                      container=st.columns([1, 2])[0]))


def run_view(c: Controls) -> tuple[ExploreView, list[str]]:
    """Compute (or fetch) the view on the chosen device; returns it with the device notices (fallbacks)."""
    device, note = resolve_device(c.device)

    def run(dev: str) -> ExploreView:
        x = on_device(c.data.key, dev, c.data.x)
        return cached_view(c.data.key, dev, c.variant.name, c.params_key, c.data.layout, c.bins, c.clip, x, c.params)

    view, oom = with_cpu_fallback(device, run)
    return view, [n for n in (note, oom) if n]


def shown(c: Controls) -> str:
    """One line with every value the output was computed from (the variant's parameters by their link text)."""
    d = c.data
    data = N_("an upload") if d.source == UPLOAD else Msg("{source}, seed {seed}", source=d.source, seed=d.seed)
    params = ", ".join(f"{k}={c.variant.param(k).to_text(v)}" for k, v in c.params.items())
    cast = c.precision is not None and c.precision.cast
    dtype = dtype_name(d.x.dtype)
    if cast:
        dtype = Msg("{dtype} (cast from {given})", dtype=dtype, given=dtype_name(c.precision.given.x.dtype))
    if d.axis != 1:
        return Msg("Shown: `{calls}` on {data}, shape {shape}, layout {layout}, channel axis {axis}, dtype {dtype}.",
                   calls=f"{c.variant.name}({params})", data=data, shape=fmt_shape(tuple(d.x.shape)), layout=d.layout,
                   axis=d.axis, dtype=dtype)
    return Msg("Shown: `{calls}` on {data}, shape {shape}, layout {layout}, dtype {dtype}.",
               calls=f"{c.variant.name}({params})", data=data, shape=fmt_shape(tuple(d.x.shape)), layout=d.layout,
               dtype=dtype)


def npy_bytes(c: Controls) -> bytes:
    """The output as a .npy file, computed again on the CPU when asked for (views keep no tensors).

    float16, float32 and float64 keep their dtype; numpy has no bfloat16, so a bfloat16 output is widened
    to float32 (exactly: every bfloat16 is a float32) — ``pt_bytes`` keeps it as it is.
    """
    y = apply(c.variant.name, c.data.x, **c.params).detach().cpu()
    buf = io.BytesIO()
    np.save(buf, (y.float() if y.dtype == torch.bfloat16 else y).numpy(), allow_pickle=False)
    return buf.getvalue()


def pt_bytes(c: Controls) -> bytes:
    """The output as a torch .pt file in its own dtype (bfloat16 included), computed again on the CPU."""
    buf = io.BytesIO()
    torch.save(apply(c.variant.name, c.data.x, **c.params).detach().cpu().contiguous(), buf)
    return buf.getvalue()


def output_download(c: Controls, container: Any = st) -> None:
    """The output's download button: .npy, or .pt for bfloat16 (which .npy cannot hold), with a caption saying so."""
    name = c.variant.name
    if c.data.x.dtype == torch.bfloat16:
        container.download_button(t(N_("output (.pt, bfloat16)")), lambda: pt_bytes(c), f"{name}_output.pt",
                                  "application/octet-stream", key="dl_npy")
        container.caption(t(N_("numpy's .npy has no bfloat16: the output comes as a torch .pt file in bfloat16 "
                               "(`torch.load(path)`; `vnviz.load_array` reads it too).")))
        return
    container.download_button(t(Msg("output (.npy, {dtype})", dtype=dtype_name(c.data.x.dtype))),
                              lambda: npy_bytes(c),
                              f"{name}_output.npy", "application/octet-stream", key="dl_npy")


def stats_csv(view: ExploreView) -> str:
    """Per-axis statistics before and after, one row per (side, axis, index)."""
    rows = ["side,axis,index,mean,std,min,max"]
    for side, axes in (("before", view.before.axes), ("after", view.after.axes)):
        for a in axes:
            for i in range(a.index.numel()):
                rows.append(f"{side},{a.name},{int(a.index[i])},{float(a.mean[i]):.9g},{float(a.std[i]):.9g},"
                            f"{float(a.min[i]):.9g},{float(a.max[i]):.9g}")
    return "\n".join(rows) + "\n"


def snippet(c: Controls) -> str:
    """A "reproduce in Python" snippet calling vnviz.apply with the exact parameters."""
    d = c.data
    if d.source == UPLOAD:
        load = 'x = vnviz.load_array(open("YOUR_FILE", "rb").read(), "YOUR_FILE")'
    else:
        load = f"x = vnviz.data.make_source({d.source!r}, shape={d.shape}, seed={d.seed}).x"
    lines = ["import torch", "import vnviz", "", load]
    if d.permuted:
        order = [0, d.axis] + [i for i in range(1, d.x.ndim) if i != d.axis]
        lines.append(f"x = x.permute({order}).contiguous()  # {d.permuted}")
    if c.precision is not None and c.precision.snippet:
        lines.append(c.precision.snippet)
    args = ", ".join(f"{k}={v!r}" for k, v in c.params.items() if v != c.variant.param(k).default)
    lines.append(f"y = vnviz.apply({c.variant.name!r}, x{', ' if args else ''}{args})")
    return "\n".join(lines) + "\n"
