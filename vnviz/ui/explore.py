"""Controls of the Explore page: link state, data, variant and view options."""
from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any

import numpy as np
import streamlit as st

from vnviz.analysis.histogram import DEFAULT_BINS
from vnviz.analysis.view import ExploreView
from vnviz.device import DEVICE_CHOICES, available_devices
from vnviz.ui.data_panel import SOURCE_PARAMS, UPLOAD, Data, data_panel
from vnviz.ui.presenter import is_presenting
from vnviz.ui.state import read_link, seed_defaults, write_link
from vnviz.ui.widgets import variant_widgets
from vnviz.variants.registry import VARIANTS, Param, Variant, apply

PAGE = "explore"
VIEW_PARAMS = (
    Param("variant", "choice", "batch_norm", "The layer to apply.", choices=tuple(VARIANTS)),
    Param("bins", "int", DEFAULT_BINS, "Histogram bins.", low=5, high=200),
    Param("clip", "float", 0.0, "Clip histogram ranges to the [p, 100 - p] percentiles (0 = full range).", low=0.0, high=10.0),
    Param("log_y", "bool", False, "Logarithmic counts: shows the tails."),
)
DEVICE = Param("device", "choice", "auto", "Where to compute: auto picks CUDA, then MPS, then the CPU.", choices=DEVICE_CHOICES)


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


def _variant_of(state) -> Variant:
    name = state.get("variant", "batch_norm")
    return VARIANTS.get(name, VARIANTS["batch_norm"])


def device_picker() -> str:
    """The sidebar's device choice: auto / cuda / mps / cpu, marking what this machine lacks."""
    have = available_devices()
    st.session_state.setdefault("device", "auto")

    def label(d: str) -> str:
        if d == "auto":
            return f"auto ({have[0]})"
        return d if d in have else f"{d} (not available here)"

    return st.sidebar.selectbox("device", list(DEVICE_CHOICES), key="device", help=DEVICE.help, format_func=label)


def seed_picker(help: str = SOURCE_PARAMS[2].help) -> None:
    """The sidebar's seed box (session key "seed", shared by the data pages)."""
    st.sidebar.number_input("seed", min_value=0, max_value=2**31 - 1, step=1, key="seed", help=help)


def controls(families: tuple[str, ...] = ("norm",)) -> Controls | None:
    """Render the page's controls; None when there is no data yet (an upload is awaited)."""
    notices = read_link(PAGE, SOURCE_PARAMS + VIEW_PARAMS, _variant_of)
    seed_defaults(SOURCE_PARAMS + VIEW_PARAMS)
    device = device_picker()
    seed_picker()
    with st.sidebar.expander("view options", expanded=False):
        bins = st.slider("bins", 5, 200, key="bins", help=VIEW_PARAMS[1].help)
        clip = st.select_slider("clip to percentiles", [0.0, 0.1, 0.5, 1.0, 2.0, 5.0], key="clip", help=VIEW_PARAMS[2].help)
        log_y = st.toggle("log counts", key="log_y", help=VIEW_PARAMS[3].help)
    # on a projector the controls fold away so that the figures fill the first screen
    holder = st.expander("data and variant", expanded=False) if is_presenting() else st.container()
    left, right = holder.columns([1, 1], gap="large")
    with left.container(border=True):
        st.markdown("**Data**")
        data = data_panel()
    names = [n for n, v in VARIANTS.items() if v.family in families]
    if st.session_state.get("variant") not in names:
        st.session_state["variant"] = names[0]
    with right.container(border=True):
        st.markdown("**Variant**")
        variant = VARIANTS[st.selectbox("variant", names, key="variant", format_func=lambda n: VARIANTS[n].title,
                                        help=VIEW_PARAMS[0].help)]
        st.caption(f"{variant.summary}  \nReduces `{variant.pattern}` · torch: `{variant.reference}`")
        shape = tuple(data.x.shape) if data is not None else ()
        # a variant's own seed (ClusterNorm's) follows the page's seed: one "seed" key in the link
        params = variant_widgets(variant, shape, skip=("seed",)) if shape else {}
        if "seed" in variant.param_names:
            params["seed"] = int(st.session_state["seed"])
    if data is None:
        return None
    values = {p.name: st.session_state[p.name] for p in SOURCE_PARAMS if p.name != "shape"}
    values["shape"] = st.session_state.get("shape")
    if values["source"] == UPLOAD:
        values.pop("shape")
    values.update(variant=variant.name, bins=bins, clip=clip, log_y=log_y)
    linked = {p.name: p for p in SOURCE_PARAMS + VIEW_PARAMS + variant.widget_params}
    values.update(params)
    write_link(PAGE, values, linked)
    params_key = "&".join(f"{k}={variant.param(k).to_text(v)}" for k, v in sorted(params.items()))
    return Controls(data, variant, params, params_key, bins, clip or None, log_y, device, notices)


def npy_bytes(c: Controls) -> bytes:
    """The output as a .npy file, computed again on the CPU when asked for (views keep no tensors)."""
    buf = io.BytesIO()
    np.save(buf, apply(c.variant.name, c.data.x, **c.params).detach().cpu().numpy(), allow_pickle=False)
    return buf.getvalue()


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
    src = st.session_state.get("source")
    if src == UPLOAD:
        load = 'x = vnviz.load_array(open("YOUR_FILE", "rb").read(), "YOUR_FILE")'
    else:
        shape = tuple(c.data.x.shape) if not c.data.permuted else st.session_state.get("shape")
        load = f"x = vnviz.data.make_source({src!r}, shape={tuple(shape) if shape else None}, seed={int(st.session_state['seed'])}).x"
    lines = ["import torch", "import vnviz", "", load]
    if c.data.permuted:
        axis = int(st.session_state["channel_axis"])
        order = [0, axis] + [i for i in range(1, c.data.x.ndim) if i != axis]
        lines.append(f"x = x.permute({order}).contiguous()  # {c.data.permuted}")
    args = ", ".join(f"{k}={v!r}" for k, v in c.params.items() if v != c.variant.param(k).default)
    lines.append(f"y = vnviz.apply({c.variant.name!r}, x{', ' if args else ''}{args})")
    return "\n".join(lines) + "\n"
