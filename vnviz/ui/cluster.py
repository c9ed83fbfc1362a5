"""Controls, caching and wording of the ClusterNorm page.

The link keys are the data panel's: ``source`` (default ``mixture`` here), ``shape``,
``seed``, ``layout``, ``channel_axis``; every ClusterNorm parameter that applies under its
API name (``method=kmeans``, ``n_clusters=3``, ``mode=soft``); and ``channel``, the channel
the per-cluster histograms show. The page's one ``seed`` makes the data and seeds the
clustering. ``n_clusters`` is at most the number of samples (a larger one is lowered, with a notice).
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import streamlit as st
import torch

from vnviz.analysis.cluster_view import MAX_CHANNELS, ClusterView, cluster_view
from vnviz.data.generators import fmt_shape
from vnviz.i18n import N_, Msg
from vnviz.ui import state
from vnviz.ui.compute import CACHE_ENTRIES, TTL, on_device, resolve_device, with_cpu_fallback
from vnviz.ui.data_panel import SOURCE_PARAMS, Data, data_panel, legacy as data_legacy
from vnviz.ui.lang import t
from vnviz.ui.presenter import is_presenting
from vnviz.ui.sidebar import device_picker, seed_picker
from vnviz.ui.widgets import link_params, linked, variant_widgets
from vnviz.variants.cluster import CLUSTER_NORM
from vnviz.variants.registry import Param

VARIANT = CLUSTER_NORM
DEFAULT_SOURCE = "mixture"  # three separated Gaussian clusters with their true labels
CHANNEL = Param("channel", "int", 0, N_("The channel whose values the per-cluster histograms show."), low=0)
COMPARE_TEXT = N_(
    "BatchNorm normalizes every channel with the statistics of the whole batch, so each cluster keeps its own "
    "offset and spread: the modes stay apart (or pile up). ClusterNorm normalizes each cluster with its own "
    "statistics, so every cluster ends up centred on 0 with std 1."
)
SOFT_TEXT = N_(
    "Soft mode (Mixture Normalization) blends the components' statistics by each sample's posteriors, and "
    "scales component k by 1/√π_k, so clusters are centred but their spread is not exactly 1; rows here group "
    "the samples by their most likely component, and faint markers in the scatter are samples the mixture is "
    "unsure about."
)


def _link_params(raw: Mapping[str, Any]) -> dict[str, Param]:
    return {**{p.name: p for p in SOURCE_PARAMS + (CHANNEL,)}, **link_params(VARIANT, raw)}


PAGE = state.Page("cluster_norm", _link_params, legacy=data_legacy,
                  known=frozenset(p.name for p in SOURCE_PARAMS + (CHANNEL,) + VARIANT.widget_params))


@dataclass(frozen=True)
class Controls:
    """What the user chose on the ClusterNorm page."""

    data: Data  # the input, channel-first, with true labels when the source has them
    params: dict[str, Any]  # ClusterNorm's keyword parameters (seed included)
    params_key: str  # the parameters as link text (the cache key)
    device: str  # "auto", "cuda", "mps" or "cpu"
    channels: int  # channels the histograms can show (the first MAX_CHANNELS)
    notices: list[str]  # link values that were invalid and replaced
    headline: str = ""  # what is shown, in a few words (presenter mode's title)


def controls() -> Controls | None:
    """Render the page's controls; None while an upload is awaited."""
    state.open_page(PAGE)
    device = device_picker()
    seed = seed_picker(N_("Seeds the data generator and the clustering (k-means++, PCA, scikit-learn)."))
    # presenter mode: the controls fold away, the figures get the screen, the title says what is shown
    holder = st.expander(t(N_("data and ClusterNorm")), expanded=False, icon=":material/tune:") if is_presenting() else st
    left, right = holder.columns([1, 1], gap="large")
    with left.container(border=True):
        st.markdown(t(N_("**Data**")))
        data = data_panel(DEFAULT_SOURCE)
    with right.container(border=True):
        st.markdown(f"**{t(VARIANT.title)}**")
        st.caption(t(Msg("{summary}  \nReduces `{pattern}` · reference: `{reference}`", summary=VARIANT.summary,
                         pattern=VARIANT.pattern, reference=VARIANT.reference)))
        shape = tuple(data.x.shape) if data is not None else ()
        params = variant_widgets(VARIANT, shape, skip=("seed",)) if shape else {}
        params["seed"] = seed
    if data is None:
        return None
    channels = min(int(data.x.shape[1]), MAX_CHANNELS)
    params_key = "&".join(f"{k}={VARIANT.param(k).to_text(v)}" for k, v in sorted(params.items()))
    shown_params = ", ".join(f"{k}={VARIANT.param(k).to_text(v)}" for k, v in params.items()
                             if k in ("method", "n_clusters", "mode"))
    headline = Msg("ClusterNorm({params}) on {data} {shape}", params=shown_params, data=data.title,
                   shape=fmt_shape(tuple(data.x.shape)))
    return Controls(data, params, params_key, device, channels, state.notices(), headline)


def channel_picker(c: Controls) -> int:
    """The histogram channel (link key ``channel``): one of the first channels of the data."""
    return int(linked(CHANNEL, options=list(range(c.channels)), label=N_("histogram channel"),
                      container=st.columns([1, 4])[0]))


@st.cache_resource(max_entries=CACHE_ENTRIES, ttl=TTL, show_spinner=False)
def cached_cluster_view(data_key: str, device: str, params_key: str, _x: torch.Tensor, _params: dict[str, Any],
                        _labels: torch.Tensor | None) -> ClusterView:
    """``cluster_view`` cached on (data, device, parameters); the tensors are not hashed."""
    return cluster_view(_x, _params, _labels)


def run_view(c: Controls) -> tuple[ClusterView, list[str]]:
    """Compute (or fetch) the view under a spinner, with the device notices (fallbacks)."""
    device, note = resolve_device(c.device)
    method = c.params.get("method", "torch_kmeans")

    def run(dev: str) -> ClusterView:
        x = on_device(c.data.key, dev, c.data.x)
        return cached_cluster_view(c.data.key, dev, c.params_key, x, c.params, c.data.labels)

    with st.spinner(t(Msg("Clustering {n} samples with {method}, then normalizing…", n=c.data.x.shape[0],
                          method=method)), show_time=True):
        view, oom = with_cpu_fallback(device, run)
    return view, [n for n in (note, oom) if n]


def shown(c: Controls) -> str:
    """One line with every value the output was computed from."""
    d = c.data
    data = N_("an upload") if d.source == "upload" else Msg("{source}, seed {seed}", source=d.source, seed=d.seed)
    params = ", ".join(f"{k}={VARIANT.param(k).to_text(v)}" for k, v in c.params.items())
    return Msg("Shown: `{calls}` on {data}, shape {shape}, layout {layout}.", calls=f"cluster_norm({params})",
               data=data, shape=fmt_shape(tuple(d.x.shape)), layout=d.layout)


def metrics(view: ClusterView) -> list[tuple[str, str, str]]:
    """(label, value, help) for the row of numbers above the figures."""
    found = Msg("{n} + {noise} noise", n=view.n_clusters, noise=view.n_noise) if view.n_noise else f"{view.n_clusters}"
    ari = "n/a" if view.ari is None else f"{view.ari:.3f}"
    ari_help = N_("Adjusted Rand index of the clusters against the data's true classes: 1 = the same partition, "
                  "0 = no better than chance.") if view.ari is not None else N_("This data has no true classes.")
    failed = [name for name, v in (("BatchNorm", view.bn_check), ("ClusterNorm", view.cn_check)) if not v.ok]
    if not failed:
        checks = N_("both pass")
    elif len(failed) == 1:
        checks = Msg("{name} fails", name=failed[0])
    else:
        checks = N_("BatchNorm and ClusterNorm fail")
    return [
        (N_("clusters found"), found, Msg("{method}, {mode} mode, {n} samples.", method=view.method, mode=view.mode,
                                          n=view.n_samples)),
        (N_("ARI vs true classes"), ari, ari_help),
        (N_("ClusterNorm time"), f"{view.cluster_seconds * 1e3:.0f} ms",
         Msg("Clustering and normalization on {device}; the whole view took {ms:.0f} ms.",
             device=view.cn_check.device, ms=view.seconds * 1e3)),
        (N_("verified"), checks, N_("Each output checked against torch and a float64 formula (details below).")),
    ]
