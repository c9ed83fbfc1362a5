"""Every chart the app draws sizes its own texts, scaled in presenter mode.

Streamlit's plotly theme sizes the texts a figure leaves unset (titles, axis titles, ticks, legends,
hovers) in rem, converted in the browser with the page's root font size when the chart is drawn.
Presenter mode enlarges the root font with CSS, so a chart drawn before the CSS applied kept the
small sizes (the training lab's presenter test in tests/test_browser_train.py caught it under
load). Each figure therefore sets every such size itself (vnviz.figures.text.text_sizes): checked
here on every chart of every page, with and without ``present=1``.
"""
from __future__ import annotations

from pathlib import Path

import pytest

import apptest_support as support
from vnviz.figures.text import ROOT_PX, THEME_REM
from vnviz.ui.inspect import TAB as INSPECT_TAB

PAGES = Path(__file__).resolve().parents[1] / "app_pages"
SMALL = {"source": "gaussian", "shape": "4,3,5,5", "seed": "1"}
VIEWS = {  # page file, link: together they draw every figure builder the app has
    "explore_distributions": ("explore", {**SMALL, "variant": "batch_norm"}),
    "explore_axes": ("explore", {**SMALL, "variant": "layer_norm", "tab": "Per-axis statistics"}),
    "explore_groups": ("explore", {**SMALL, "variant": "group_norm", "num_groups": "1", "tab": "Statistic groups"}),
    "explore_inspect": ("explore", {**SMALL, "variant": "instance_norm", "tab": INSPECT_TAB}),
    "explore_precision": ("explore", {**SMALL, "variant": "layer_norm", "compute_in": "bfloat16",
                                      "tab": "Verification"}),
    "compare": ("compare", {**SMALL, "variants": "batch_norm,layer_norm,rms_norm"}),
    "compare_axes": ("compare", {**SMALL, "variants": "batch_norm,layer_norm,rms_norm", "section": "Per-axis statistics"}),
    "compare_groups": ("compare", {**SMALL, "variants": "batch_norm,layer_norm,rms_norm", "section": "Statistic groups"}),
    "compare_equivalences": ("compare", {**SMALL, "section": "Equivalences"}),
    "cluster_norm": ("cluster_norm", {}),
    "slice": ("slice_mask", {}),
    "mask": ("slice_mask", {"op": "matrix_mask", "kind": "causal"}),
    "axis_check": ("axis_check", {}),
    "train": ("train", {"steps": "40", "eval_every": "20", "norms": "batch_norm", "seeds": "1"}),
}


def sizes(spec: dict) -> dict[str, float | None]:
    """Every themed text size the figure's layout sets (None: left to the theme)."""
    layout = spec["layout"]

    def get(*path: str) -> float | None:
        node = layout
        for key in path:
            node = node.get(key) if isinstance(node, dict) else None
        return node

    out = {"title": get("title", "font", "size"), "legend": get("legend", "font", "size"),
           "legend title": get("legend", "title", "font", "size"), "hover": get("hoverlabel", "font", "size")}
    for name in layout:
        base = name.rstrip("0123456789")
        if base in ("xaxis", "yaxis"):
            out[f"{name} ticks"] = get(name, "tickfont", "size")
            out[f"{name} title"] = get(name, "title", "font", "size")
        elif base == "coloraxis":
            out[f"{name} bar ticks"] = get(name, "colorbar", "tickfont", "size")
            out[f"{name} bar title"] = get(name, "colorbar", "title", "font", "size")
    return out


def drawn(name: str, present: bool) -> list[dict]:
    page, query = VIEWS[name]
    at = support.open_page(str(PAGES / f"{page}.py"), {**query, **({"present": "1"} if present else {})})
    support.assert_clean(at)
    specs = support.charts(at)
    assert specs, f"{name} drew no chart"
    return specs


@pytest.mark.parametrize("name", list(VIEWS))
def test_every_chart_sets_its_text_sizes_and_presenter_mode_scales_them(name):
    normal, present = drawn(name, False), drawn(name, True)
    assert len(normal) == len(present)
    for i, (a, b) in enumerate(zip(normal, present)):
        small, big = sizes(a), sizes(b)
        unset = [part for part, size in {**small, **big}.items() if size is None]
        assert not unset, f"{name}, chart {i}: {unset} left to the theme's rem sizes"
        assert small.keys() == big.keys()
        for part in small:
            assert big[part] >= 1.15 * small[part], f"{name}, chart {i}: {part} {small[part]} -> {big[part]}"
        assert small["xaxis ticks"] == THEME_REM["tick"] * ROOT_PX  # outside presenter mode: the theme's own size
