"""Controls, caching and wording of the Compare page.

The link keys are DESIGN.md's data keys (``source``, ``shape``, ``seed``,
``layout``, ``channel_axis``), ``variants`` (comma-separated registry names,
``variants=batch_norm,layer_norm``) and, when those variants are chosen,
GroupNorm's ``num_groups`` and ClusterNorm's ``n_clusters``. Every other
parameter keeps its registry default; the page's ``seed`` also seeds the
clustering.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import streamlit as st
import torch

from vnviz.analysis.compare import (
    CompareView,
    Equivalence,
    compare_views,
    equivalences,
    unavailable,
)
from vnviz.data import SOURCES
from vnviz.device import describe_device
from vnviz.errors import InputError
from vnviz.ui.compute import CACHE_ENTRIES, on_device, resolve_device
from vnviz.ui.data_panel import SOURCE_PARAMS, UPLOAD, Data, data_panel
from vnviz.ui.explore import device_picker, seed_picker
from vnviz.ui.presenter import is_presenting
from vnviz.ui.state import read_link, seed_defaults, write_link
from vnviz.ui.widgets import data_choices, param_widget
from vnviz.variants.norms import resolve_num_groups
from vnviz.variants.registry import VARIANTS, Param, quote

PAGE = "compare"
NORMS = tuple(n for n, v in VARIANTS.items() if v.family == "norm")
DEFAULT_VARIANTS = ("batch_norm", "layer_norm", "instance_norm", "group_norm", "cluster_norm")


class VariantsParam(Param):
    """A list of norm variant names; the link text is comma-separated (``batch_norm,layer_norm``)."""

    def from_text(self, text: str, where: str = "link") -> Any:
        names = [t.strip() for t in text.split(",") if t.strip()]
        bad = [n for n in names if n not in NORMS]
        if bad or not names:
            got = ", ".join(map(quote, bad)) if bad else "no name"
            raise InputError(f"{where}: variants must be comma-separated names among {', '.join(NORMS)}; got {got}.")
        return list(dict.fromkeys(names))  # in order, without repeats

    def to_text(self, value: Any) -> str:
        return ",".join(value)


VARIANTS_PARAM = VariantsParam("variants", "str", list(DEFAULT_VARIANTS), "The normalizations to compare side by side.")
NUM_GROUPS = VARIANTS["group_norm"].param("num_groups")
N_CLUSTERS = VARIANTS["cluster_norm"].param("n_clusters")
LINK = SOURCE_PARAMS + (VARIANTS_PARAM, NUM_GROUPS, N_CLUSTERS)
GRID_TEXT = {
    "dist": "All values of the input (grey) and of each output (blue). A ✓ in a title: the output was checked "
            "against torch and a float64 formula (details under Verification).",
    "axes": "For every axis (rows) and every index along it: the :orange[**mean**] and the :blue[**std**] over all "
            "the other axes. A variant equalises an axis when both lines are flat there, at 0 and 1 (dotted).",
    "groups": "The statistic groups of the first samples, side by side (channels down, positions across): "
              "one colour = one group = one mean and one variance. BatchNorm's colours run across samples, "
              "LayerNorm's fill a sample, InstanceNorm's fill a (sample, channel) row, GroupNorm's a band of channels.",
    "equiv": "The classic identities, checked on this data with a seeded per-channel weight w and bias b. "
             "Each heatmap is the mean |difference| of the two outputs: white means identical (float rounding only).",
}


@dataclass(frozen=True)
class Controls:
    """What the user chose on the Compare page."""

    data: Data  # the input, channel-first
    variants: tuple[tuple[str, dict[str, Any]], ...]  # (name, params) per column
    key: str  # the variants and their parameters as text (the cache key)
    device: str  # "auto", "cuda", "mps" or "cpu"
    notices: list[str]  # link values that were invalid and replaced


def _variant_params(names: list[str], seed: int) -> list[tuple[str, dict[str, Any]]]:
    """Each variant's parameters: those its declaration offers on this page, and the page's seed as its own."""
    out = []
    for name in names:
        v = VARIANTS[name]
        p: dict[str, Any] = {k: st.session_state.get(k, v.param(k).default) for k in v.compare_params}
        if "seed" in v.param_names:
            p["seed"] = seed
        out.append((name, p))
    return out


def controls() -> Controls | None:
    """Render the page's controls and write the link; None while an upload or a variant choice is awaited."""
    notices = list(read_link(PAGE, LINK))
    seed_defaults(LINK)
    device = device_picker()
    seed_picker()
    # presenter mode: the controls fold away, the figures get the screen
    outer = st.expander("data and variants", expanded=False, icon=":material/tune:") if is_presenting() else st
    left, right = outer.columns([1, 1], gap="large")
    with left.container(border=True):
        st.markdown("**Data**")
        data = data_panel()
    with right.container(border=True):
        st.markdown("**Variants**")
        st.session_state["variants"] = [n for n in st.session_state["variants"] if n in NORMS]
        names = st.multiselect("variants", list(NORMS), key="variants", format_func=lambda n: VARIANTS[n].title,
                               help=VARIANTS_PARAM.help, placeholder="choose the normalizations to compare")
        cols = st.columns(2)
        if "group_norm" in names and data is not None:
            choices = data_choices(VARIANTS["group_norm"], tuple(data.x.shape)).get("num_groups", [1])
            value, default = st.session_state.get("num_groups"), resolve_num_groups(None, choices[-1])
            if value not in choices:  # None is GroupNorm's own default, said explicitly
                if value is not None:
                    cols[0].info(f"num_groups={value} does not fit this data (allowed: "
                                 f"{', '.join(map(str, choices))}); using {default}.")
                st.session_state["num_groups"] = default
            param_widget(NUM_GROUPS, "num_groups", choices, label="GroupNorm: num_groups", container=cols[0])
        if "cluster_norm" in names:
            param_widget(N_CLUSTERS, "n_clusters", label="ClusterNorm: n_clusters", container=cols[1])
        st.caption("Every other parameter keeps its default; open a variant on Explore to change more.")
    if data is None:
        return None
    if not names:
        st.info("Choose at least one variant to compare.")
        return None
    values = {p.name: st.session_state.get(p.name) for p in SOURCE_PARAMS}
    if values["source"] == UPLOAD:
        values.pop("shape")
    values["variants"] = list(names)
    if "group_norm" in names:
        values["num_groups"] = st.session_state["num_groups"]
    if "cluster_norm" in names:
        values["n_clusters"] = st.session_state["n_clusters"]
    write_link(PAGE, values, {p.name: p for p in LINK})
    variants = tuple(_variant_params(list(names), int(st.session_state["seed"])))
    key = ";".join(f"{n}:" + ",".join(f"{k}={v}" for k, v in sorted(p.items())) for n, p in variants)
    return Controls(data, variants, key, device, notices)


# -- caching: keyed on strings, the tensors ride along unhashed -----------------------------------


@st.cache_resource(max_entries=CACHE_ENTRIES, show_spinner=False)
def cached_compare(data_key: str, device: str, key: str, layout: str, _x: torch.Tensor,
                   _variants: tuple[tuple[str, dict[str, Any]], ...]) -> CompareView:
    return compare_views(_x, [(n, dict(p)) for n, p in _variants], layout=layout)


@st.cache_resource(max_entries=CACHE_ENTRIES, show_spinner=False)
def cached_equivalences(data_key: str, device: str, _x: torch.Tensor) -> tuple[list[Equivalence], list[str]]:
    return equivalences(_x), unavailable(_x)


def run_views(c: Controls) -> tuple[CompareView, list[Equivalence], list[str], str | None]:
    """The compare view and the equivalences on the chosen device; on out-of-memory, the CPU with a notice."""
    device, note = resolve_device(c.device)
    with st.spinner(f"Running {len(c.variants)} normalizations and the equivalence checks…"):
        try:
            xd = on_device(c.data.key, str(device), c.data.x)
            view = cached_compare(c.data.key, str(device), c.key, c.data.layout, xd, c.variants)
            eqs, missing = cached_equivalences(c.data.key, str(device), xd)
        except torch.OutOfMemoryError:
            if device.type == "cpu":
                raise InputError("The computation ran out of memory; choose a smaller shape.") from None
            torch.cuda.empty_cache()
            note = f"{describe_device(device)} ran out of memory for this tensor; computed on the CPU instead."
            view = cached_compare(c.data.key, "cpu", c.key, c.data.layout, c.data.x, c.variants)
            eqs, missing = cached_equivalences(c.data.key, "cpu", c.data.x)
    return view, eqs, missing, note


def problems(view: CompareView) -> list[tuple[str, str]]:
    """(kind, sentence) for each variant that could not run ("error") or met a known trap ("warning")."""
    out = []
    for name, v, err in zip(view.names, view.views, view.errors):
        title = VARIANTS[name].title
        if err:
            out.append(("error", f"{title} cannot run on this data: {err}"))
        for w in (v.warnings if v is not None else ()):
            out.append(("warning", f"{title}: {w}"))
    return out


def summary(c: Controls) -> str:
    """One line saying what is compared (shown when the controls are folded away in presenter mode)."""
    parts = []
    for name, p in c.variants:
        extra = f" ({p['num_groups']} groups)" if "num_groups" in p else (
            f" ({p['n_clusters']} clusters)" if "n_clusters" in p else "")
        parts.append(VARIANTS[name].title + extra)
    source = st.session_state.get("source")
    name = SOURCES[source].title if source in SOURCES else "Uploaded data"
    return f"**{name}** {tuple(c.data.x.shape)} → " + ", ".join(parts)


def equivalence_header(eq: Equivalence) -> str:
    """Markdown: the equivalence's title in bold, then the two calls as code."""
    title = eq.title.replace("*", "\\*")  # "(C, *)" must not start an emphasis
    return f"**{title}**  \n`{eq.left_code}`  \nvs `{eq.right_code}`"
