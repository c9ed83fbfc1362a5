"""Controls, caching and wording of the Compare page.

The link keys are the data panel's (``source``, ``shape``, ``seed``, ``layout``,
``channel_axis``), ``variants`` (repeated: ``variants=batch_norm&variants=layer_norm``;
the older comma-separated form is read too), when those variants are chosen,
GroupNorm's ``num_groups`` and ClusterNorm's ``n_clusters``, and the open tab ``section``
(its label, as on Explore's ``tab``: ``section=Equivalences``). Every other parameter keeps
its registry default; the page's ``seed`` also seeds the clustering.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
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
from vnviz.data.generators import fmt_shape
from vnviz.errors import InputError
from vnviz.i18n import N_, Msg
from vnviz.ui import state
from vnviz.ui.compute import CACHE_ENTRIES, TTL, on_device, resolve_device, with_cpu_fallback
from vnviz.ui.data_panel import SOURCE_PARAMS, Data, data_panel, legacy as data_legacy
from vnviz.ui.lang import t
from vnviz.ui.presenter import is_presenting
from vnviz.ui.sidebar import device_picker, seed_picker
from vnviz.ui.tabs import LinkedTabs
from vnviz.ui.widgets import data_bounds, data_choices, linked
from vnviz.variants.params import LINK
from vnviz.variants.registry import VARIANTS, Param, quote

NORMS = tuple(n for n, v in VARIANTS.items() if v.family == "norm")
DEFAULT_VARIANTS = tuple(n for n in NORMS if VARIANTS[n].compared)  # the columns a plain link opens
# the parameters the page offers, and whose they are: each declaration's ``compare_params``
EXTRA = {k: n for n in NORMS for k in VARIANTS[n].compare_params}
# the page's tabs, only the open one computed and drawn; their own key, since their labels are not Explore's ``tab``'s
TABS = (N_("Distributions"), N_("Per-axis statistics"), N_("Statistic groups"), N_("Equivalences"), N_("Verification"))
TABBED = LinkedTabs(TABS, key="section")


class VariantsParam(Param):
    """A list of norm variant names; as link text comma-separated (``batch_norm,layer_norm``) or repeated."""

    def from_text(self, text: str, where: str = LINK) -> Any:
        names = [t.strip() for t in text.split(",") if t.strip()]
        bad = [n for n in names if n not in NORMS]
        if bad or not names:
            got = ", ".join(map(quote, bad)) if bad else N_("no name")
            raise InputError("{where}: variants must be comma-separated names among {names}; got {got}.", where=where,
                             names=", ".join(NORMS), got=got)
        return list(dict.fromkeys(names))  # in order, without repeats

    def to_text(self, value: Any) -> str:
        return ",".join(value)


VARIANTS_PARAM = VariantsParam("variants", "str", list(DEFAULT_VARIANTS), N_("The normalizations to compare side by side."),
                               choices=NORMS)
PARAMS = {name: VARIANTS[owner].param(name) for name, owner in EXTRA.items()}
GRID_TEXT = {
    "dist": N_("All values of the input (grey) and of each output (blue). A ✓ in a title: the output was checked "
               "against torch and a float64 formula (details under Verification)."),
    "axes": N_("For every axis (rows) and every index along it: the :orange[**mean**] and the :blue[**std**] over "
               "all the other axes. A variant equalises an axis when both lines are flat there, at 0 and 1 (dotted)."),
    "groups": N_("The statistic groups of the first samples, side by side (channels down, positions across, the "
                 "dims after C flattened): in blue the group of the first element (sample 0, channel 0, position 0), "
                 "the elements that share its mean and variance; the other groups grey. BatchNorm's runs across "
                 "samples, LayerNorm's fills a sample, InstanceNorm's a (sample, channel) row, GroupNorm's a band of "
                 "channels."),
    "equiv": N_("The classic identities, checked on this data with a seeded per-channel weight w and bias b. Each "
                "heatmap is the mean |difference| of the two outputs: white means identical (float rounding only)."),
}


def _legacy(raw: dict[str, Any]) -> dict[str, Any]:
    """The comma-separated ``variants=a,b`` of older links, as the repeated keys Streamlit reads."""
    raw = TABBED.legacy(data_legacy(raw))
    v = raw.get("variants")
    v = [v] if isinstance(v, str) else v
    if isinstance(v, list) and len(v) == 1 and "," in v[0]:
        raw["variants"] = [t for t in v[0].split(",") if t]
    return raw


def _link_params(raw: Mapping[str, Any]) -> dict[str, Param]:
    out = {p.name: p for p in SOURCE_PARAMS + (VARIANTS_PARAM, TABBED.param)}
    chosen = raw.get("variants", list(DEFAULT_VARIANTS))
    chosen = chosen if isinstance(chosen, list) else [chosen]
    out.update({k: p for k, p in PARAMS.items() if EXTRA[k] in chosen})
    return out


PAGE = state.Page("compare", _link_params,
                  known=frozenset(p.name for p in SOURCE_PARAMS) | {"variants", TABBED.key} | set(EXTRA),
                  multi=frozenset({"variants"}), legacy=_legacy)


@dataclass(frozen=True)
class Controls:
    """What the user chose on the Compare page."""

    data: Data  # the input, channel-first
    variants: tuple[tuple[str, dict[str, Any]], ...]  # (name, params) per column
    key: str  # the variants and their parameters as text (the cache key)
    device: str  # "auto", "cuda", "mps" or "cpu"
    notices: list[str]  # link values that were invalid and replaced
    headline: str = ""  # what is compared, in a few words (presenter mode's title)


def controls() -> Controls | None:
    """Render the page's controls; None while an upload or a variant choice is awaited."""
    state.open_page(PAGE)
    device = device_picker()
    seed = seed_picker()
    # presenter mode: the controls fold away, the figures get the screen, the title says what is compared
    outer = st.expander(t(N_("data and variants")), expanded=False, icon=":material/tune:") if is_presenting() else st
    left, right = outer.columns([1, 1], gap="large")
    with left.container(border=True):
        st.markdown(t(N_("**Data**")))
        data = data_panel()
    with right.container(border=True):
        st.markdown(t(N_("**Variants**")))
        names = linked(VARIANTS_PARAM, options=NORMS, style="multiselect")
        params: dict[str, dict[str, Any]] = {}
        cols = st.columns(2)  # one place per parameter, whichever variants are chosen (see widgets._slots)
        places = {k: cols[i % 2].empty() for i, k in enumerate(EXTRA)}
        for name in names:
            v = VARIANTS[name]
            p: dict[str, Any] = {"seed": seed} if "seed" in v.param_names else {}
            for k in v.compare_params if data is not None else ():
                shape = tuple(data.x.shape)
                choices, default = data_choices(v, shape).get(k, (None, PARAMS[k].default))
                low, high = data_bounds(v, shape).get(k, (None, None))
                value = linked(PARAMS[k], options=choices, default=default, low=low, high=high,
                               label=Msg("{title}'s {name}", title=v.title, name=k), container=places[k].container())
                p[k] = int(value) if PARAMS[k].kind == "int" and value is not None else value
            params[name] = p
        st.caption(t(N_("Every other parameter keeps its default; open a variant on Explore to change more.")))
    if data is None:
        return None
    if not names:
        st.info(t(N_("Choose at least one variant to compare.")))
        return None
    variants = tuple((n, params.get(n, {})) for n in names)
    key = ";".join(f"{n}:" + ",".join(f"{k}={v}" for k, v in sorted(p.items())) for n, p in variants)
    return Controls(data, variants, key, device, state.notices(), headline(variants, data))


# -- caching: keyed on strings, the tensors ride along unhashed -----------------------------------


@st.cache_resource(max_entries=CACHE_ENTRIES, ttl=TTL, show_spinner=False)
def cached_compare(data_key: str, device: str, key: str, layout: str, _x: torch.Tensor,
                   _variants: tuple[tuple[str, dict[str, Any]], ...]) -> CompareView:
    return compare_views(_x, [(n, dict(p)) for n, p in _variants], layout=layout)


@st.cache_resource(max_entries=CACHE_ENTRIES, ttl=TTL, show_spinner=False)
def cached_equivalences(data_key: str, device: str, _x: torch.Tensor) -> tuple[list[Equivalence], list[str]]:
    return equivalences(_x), unavailable(_x)


def _on_device(c: Controls, work: Callable[[str, torch.Tensor], Any]) -> tuple[Any, list[str]]:
    """``work(device, x)`` on the chosen device (on the CPU when that one runs out of memory), and the notices."""
    device, note = resolve_device(c.device)
    result, oom = with_cpu_fallback(device, lambda dev: work(dev, on_device(c.data.key, dev, c.data.x)))
    return result, [n for n in (note, oom) if n]


def run_views(c: Controls) -> tuple[CompareView, list[str]]:
    """The compare view on the chosen device, with the device notices (fallbacks)."""
    with st.spinner(t(Msg("Running {n} normalizations…", n=len(c.variants)))):
        return _on_device(c, lambda dev, x: cached_compare(c.data.key, dev, c.key, c.data.layout, x, c.variants))


def run_equivalences(c: Controls) -> tuple[list[Equivalence], list[str], list[str]]:
    """The equivalence checks on this data (computed when their tab is open), what was left out, the notices."""
    with st.spinner(t(N_("Checking the equivalences…"))):
        (eqs, missing), notes = _on_device(c, lambda dev, x: cached_equivalences(c.data.key, dev, x))
    return eqs, missing, notes


def problems(view: CompareView) -> list[tuple[str, str]]:
    """(kind, sentence) for each variant that could not run ("error") or met a known trap ("warning")."""
    out = []
    for name, v, err in zip(view.names, view.views, view.errors):
        title = VARIANTS[name].title
        if err:
            why = err.msg if isinstance(err, InputError) else err
            out.append(("error", Msg("{title} cannot run on this data: {error}", title=title, error=why)))
        for w in (v.warnings if v is not None else ()):  # a warning that names its layer already is not prefixed
            out.append(("warning", w if w.startswith(title) else Msg("{title}: {warning}", title=title, warning=w)))
    return out


def headline(variants: tuple[tuple[str, dict[str, Any]], ...], data: Data) -> str:
    """What is compared, in a few words: the variants (with the page's parameters) on the data."""
    parts = []
    for name, p in variants:
        extra = f"({p['num_groups']})" if "num_groups" in p else (f"({p['n_clusters']})" if "n_clusters" in p else "")
        parts.append(Msg("{title}{extra}", title=VARIANTS[name].title, extra=extra))
    return Msg("{variants} on {data} {shape}", variants=Msg.join(parts, ", "), data=data.title,
               shape=fmt_shape(tuple(data.x.shape)))


def shown(c: Controls) -> str:
    """One line with every value the outputs were computed from."""
    d = c.data
    data = N_("an upload") if d.source == "upload" else Msg("{source}, seed {seed}", source=d.source, seed=d.seed)
    calls = ", ".join(f"{n}({', '.join(f'{k}={v}' for k, v in p.items() if k != 'seed')})" for n, p in c.variants)
    return Msg("Shown: `{calls}` on {data}, shape {shape}, layout {layout}.", calls=calls, data=data,
               shape=fmt_shape(tuple(d.x.shape)), layout=d.layout)


def equivalence_header(eq: Equivalence) -> str:
    """Markdown: the equivalence's title in bold, then the two calls as code."""
    title = t(eq.title).replace("*", "\\*")  # "(C, *)" must not start an emphasis
    return t(Msg("**{title}**  \n`{left}`  \nvs `{right}`", title=title, left=eq.left_code, right=eq.right_code))
