"""Controls, caching and wording of the ClusterNorm page.

The link keys are DESIGN.md's: ``source`` (default ``mixture``), ``shape``,
``seed``, ``layout``, ``channel_axis``, every ClusterNorm parameter that
applies under its API name (``method=kmeans``, ``n_clusters=3``,
``mode=soft``), and ``channel``, the channel the per-cluster histograms show.
The page's one ``seed`` makes the data and seeds the clustering.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import streamlit as st
import torch

from vnviz.analysis.cluster_view import MAX_CHANNELS, ClusterView, cluster_view
from vnviz.device import describe_device
from vnviz.errors import InputError
from vnviz.ui.compute import CACHE_ENTRIES, on_device, resolve_device
from vnviz.ui.data_panel import SOURCE_PARAMS, UPLOAD, Data, data_panel
from vnviz.ui.explore import device_picker, seed_picker
from vnviz.ui.state import read_link, seed_defaults, write_link
from vnviz.ui.widgets import variant_widgets
from vnviz.variants.registry import VARIANTS, Param

PAGE = "cluster_norm"
VARIANT = VARIANTS["cluster_norm"]
DEFAULT_SOURCE = "mixture"  # three separated Gaussian clusters with their true labels
COMMON = (replace(SOURCE_PARAMS[0], default=DEFAULT_SOURCE),) + SOURCE_PARAMS[1:]
CHANNEL = Param("channel", "int", 0, "The channel whose values the per-cluster histograms show.", low=0)
COMPARE_TEXT = (
    "BatchNorm normalizes every channel with the statistics of the whole batch, so each cluster keeps its own "
    "offset and spread: the modes stay apart (or pile up). ClusterNorm normalizes each cluster with its own "
    "statistics, so every cluster ends up centred on 0 with std 1."
)
SOFT_TEXT = (
    "Soft mode (Mixture Normalization) blends the components' statistics by each sample's posteriors, and "
    "scales component k by 1/√π_k, so clusters are centred but their spread is not exactly 1; rows here group "
    "the samples by their most likely component, and faint markers in the scatter are samples the mixture is "
    "unsure about."
)


@dataclass(frozen=True)
class Controls:
    """What the user chose on the ClusterNorm page."""

    data: Data  # the input, channel-first, with true labels when the source has them
    params: dict[str, Any]  # ClusterNorm's keyword parameters (seed included)
    params_key: str  # the parameters as link text (the cache key)
    device: str  # "auto", "cuda", "mps" or "cpu"
    channels: int  # channels the histograms can show (the first MAX_CHANNELS)
    notices: list[str]  # link values that were invalid and replaced


def controls() -> Controls | None:
    """Render the page's controls and write the link; None while an upload is awaited."""
    notices = list(read_link(PAGE, COMMON + (CHANNEL,), lambda _: VARIANT))
    seed_defaults(COMMON + (CHANNEL,))
    device = device_picker()
    seed_picker("Seeds the data generator and the clustering (k-means++, PCA, scikit-learn).")
    left, right = st.columns([1, 1], gap="large")
    with left.container(border=True):
        st.markdown("**Data**")
        data = data_panel()
    with right.container(border=True):
        st.markdown("**ClusterNorm**")
        st.caption(f"{VARIANT.summary}  \nReduces `{VARIANT.pattern}` · reference: `{VARIANT.reference}`")
        shape = tuple(data.x.shape) if data is not None else ()
        params = variant_widgets(VARIANT, shape, skip=("seed",)) if shape else {}
        params["seed"] = int(st.session_state["seed"])
    if data is None:
        return None
    channels = min(int(data.x.shape[1]), MAX_CHANNELS)
    if st.session_state.get("channel") not in range(channels):
        notices.append(f"channel={st.session_state.get('channel')} is not one of the first {channels} channels "
                       "of this data; showing channel 0.")
        st.session_state["channel"] = 0
    values = {p.name: st.session_state.get(p.name) for p in COMMON}
    if values["source"] == UPLOAD:
        values.pop("shape")
    values.update(params, channel=int(st.session_state["channel"]))
    write_link(PAGE, values, {p.name: p for p in COMMON + (CHANNEL,) + VARIANT.widget_params})
    params_key = "&".join(f"{k}={VARIANT.param(k).to_text(v)}" for k, v in sorted(params.items()))
    return Controls(data, params, params_key, device, channels, notices)


def channel_picker(c: Controls) -> int:
    """The histogram channel (its value was checked against the data and linked by ``controls``)."""
    return st.columns([1, 4])[0].selectbox("histogram channel", list(range(c.channels)), key="channel",
                                           help=CHANNEL.help)


@st.cache_resource(max_entries=CACHE_ENTRIES, show_spinner=False)
def cached_cluster_view(data_key: str, device: str, params_key: str, _x: torch.Tensor, _params: dict[str, Any],
                        _labels: torch.Tensor | None) -> ClusterView:
    """``cluster_view`` cached on (data, device, parameters); the tensors are not hashed."""
    return cluster_view(_x, _params, _labels)


def run_view(c: Controls) -> tuple[ClusterView, str | None]:
    """Compute (or fetch) the view under a spinner; on a GPU out-of-memory, retry on the CPU with a notice."""
    device, note = resolve_device(c.device)
    method = c.params.get("method", "torch_kmeans")
    with st.spinner(f"Clustering {c.data.x.shape[0]} samples with {method}, then normalizing…", show_time=True):
        try:
            xd = on_device(c.data.key, str(device), c.data.x)
            return cached_cluster_view(c.data.key, str(device), c.params_key, xd, c.params, c.data.labels), note
        except torch.OutOfMemoryError:
            if device.type == "cpu":
                raise InputError("The computation ran out of memory; choose a smaller shape.") from None
            torch.cuda.empty_cache()
            note = f"{describe_device(device)} ran out of memory for this tensor; computed on the CPU instead."
            return cached_cluster_view(c.data.key, "cpu", c.params_key, c.data.x, c.params, c.data.labels), note


def metrics(view: ClusterView) -> list[tuple[str, str, str]]:
    """(label, value, help) for the row of numbers above the figures."""
    found = f"{view.n_clusters}" + (f" + {view.n_noise} noise" if view.n_noise else "")
    ari = "n/a" if view.ari is None else f"{view.ari:.3f}"
    ari_help = ("Adjusted Rand index of the clusters against the data's true classes: 1 = the same partition, "
                "0 = no better than chance." if view.ari is not None else "This data has no true classes.")
    failed = [name for name, v in (("BatchNorm", view.bn_check), ("ClusterNorm", view.cn_check)) if not v.ok]
    checks = "both pass" if not failed else f"{' and '.join(failed)} fail{'s' if len(failed) == 1 else ''}"
    return [
        ("clusters found", found, f"{view.method}, {view.mode} mode, {view.n_samples} samples."),
        ("ARI vs true classes", ari, ari_help),
        ("ClusterNorm time", f"{view.cluster_seconds * 1e3:.0f} ms",
         f"Clustering and normalization on {view.cn_check.device}; the whole view took {view.seconds * 1e3:.0f} ms."),
        ("verified", checks, "Each output checked against torch and a float64 formula (details below)."),
    ]
