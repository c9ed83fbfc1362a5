"""Margins that already hold the axes' labels, so that the browser draws a chart once instead of twice.

Streamlit's plotly theme turns ``automargin`` on for every axis. Plotly then draws a chart with the
margins the figure asks for, measures the tick labels, axis titles and colour bars that stick out,
and, when they need more room, draws the whole chart a second time with wider margins. Every vnviz
figure asked for 10 px and relied on that: each chart was drawn twice for its margins (plus once
more by Streamlit's own second render). ``settle`` estimates, from the figure alone, the room its
outer axes and colour bars will take, and raises the figure's margins to it (never lowers them).
When the estimate holds, plotly finds nothing to push and draws once; when a label is wider than
estimated, ``automargin`` is still on and widens the margin as before: the estimate can cost time,
never a clipped label. scripts/margins.py shows, chart by chart in the running app, whether
plotly still had to widen a margin.

The estimate follows plotly's own rules where they decide a label's width: the tick spacing of a
linear axis (``autoTicks``: 4 to 9 ticks, one per 40 px of a y axis, a step of 1, 2 or 5 × 10^k),
the SI suffixes past 10^4 and under 10^-3 (``exponentformat`` "B"), decades on a log axis, the
labels as given on a category axis or with ``ticktext``; the text width uses the average advance
of Streamlit's font (Source Sans) per kind of character, plus a few pixels to spare.
"""
from __future__ import annotations

import math
import re
from typing import Any

import numpy as np

SPARE_EM = 0.6  # room to spare on every estimated side, in ems of the tick labels (7 px at 12 px)
HEATMAP_EM = 0.6  # a heatmap's axes take this much more, in ems of the tick labels (measured: 7 px at 12 px)
THEME_STANDOFF_PX = {"x": 20, "y": 24}  # its axis titles' standoff (spacing "xl", "twoXL")
TICK_PX = 12.0  # plotly's tick font size when a figure sets none (vnviz's figures always set one)
TITLE_PX = 14.0
PLOT_PX = 300  # a plot's width where an estimate needs one (a colour bar placed past x = 1): a half-width chart
SI = {-12: "p", -9: "n", -6: "µ", -3: "m", 3: "k", 6: "M", 9: "B", 12: "T"}


def _advance(ch: str) -> float:
    """Average advance of a character of Source Sans, in em."""
    if ch.isdigit():
        return 0.5
    if ch in ".,:;|!'":
        return 0.26
    if ch in "−-+–":
        return 0.5
    if ch.isspace():
        return 0.22
    if ord(ch) > 0x2E80:  # CJK: a full em, and a fallback font's spacing
        return 1.15
    return 0.62 if ch.isupper() else 0.53


def text_px(text: str, size: float) -> float:
    """The estimated width of one line of ``text`` at font ``size`` px."""
    return sum(_advance(ch) for ch in text) * size


def line_px(lines: list[str], size: float) -> float:
    """The height of ``lines`` of text at ``size`` px (a Chinese font's lines are taller)."""
    return sum(size * (1.45 if any(ord(ch) > 0x2E80 for ch in line) else 1.36) for line in lines)


def _lines(text: str) -> list[str]:
    """The lines of a plotly text as shown: tags other than <br> dropped."""
    plain = re.sub(r"<(?!br)[^>]*>", "", text or "")
    return re.split(r"<br\s*/?>", plain) if plain else []


def _fmt(value: float, decimals: int, exponent: int) -> str:
    scaled = value / 10 ** exponent
    s = f"{abs(scaled):.{max(decimals, 0)}f}"
    sign = "−" if scaled < 0 and float(s) != 0 else ""
    return sign + s + (SI.get(exponent, f"e{exponent}") if exponent else "")


def linear_labels(lo: float, hi: float, length_px: float, letter: str = "y") -> list[str]:
    """The tick labels plotly's automatic ticks put on a linear axis over [lo, hi] of ``length_px``."""
    if not (math.isfinite(lo) and math.isfinite(hi)) or hi <= lo:
        return [_fmt(lo if math.isfinite(lo) else 0.0, 0, 0)]
    n = min(max(length_px / (40 if letter == "y" else 80), 4), 9) + 1
    rough = (hi - lo) / n
    base = 10 ** math.floor(math.log10(rough))
    step = base * next(r for r in (2, 5, 10) if r >= rough / base - 1e-9) if rough / base > 1 + 1e-9 else base
    big = max(abs(lo), abs(hi))
    exp_range = math.floor(math.log10(big)) if big > 0 else 0
    exponent = 3 * round((exp_range - 1) / 3) if abs(exp_range) > 3 else 0
    decimals = -math.floor(math.log10(step / 10 ** exponent) + 1e-9)
    first, last = math.ceil(lo / step - 1e-9), math.floor(hi / step + 1e-9)
    if last - first > 50:
        first, last = last - 50, last
    return [_fmt(k * step, decimals, exponent) for k in range(first, last + 1)] or [_fmt(lo, decimals, exponent)]


def log_labels(lo: float, hi: float) -> list[str]:
    """Decade labels of a log axis over values [lo, hi] (lo > 0), as plotly writes them."""
    if not (lo > 0 and hi > 0 and math.isfinite(lo) and math.isfinite(hi)):
        return ["1"]
    out = []
    for e in range(math.floor(math.log10(lo)), math.ceil(math.log10(hi)) + 1):
        if e < 0:
            out.append(_fmt(10.0 ** e, 0, e) if e <= -4 else f"{10.0 ** e:.{-e}f}")
        else:
            out.append(_fmt(10.0 ** e, 0, 3 * ((e - 1) // 3) if e > 3 else 0))
    return out


def _numbers(values: Any) -> np.ndarray | None:
    """``values`` as finite floats, or None when they are not numbers (categories)."""
    if values is None:
        return None
    try:
        a = np.asarray(values, dtype=float).ravel()
    except (TypeError, ValueError):
        return None
    a = a[np.isfinite(a)]
    return a if a.size else None


def _axis_values(trace: dict, letter: str) -> tuple[np.ndarray | None, list[str] | None]:
    """The numbers (or category labels) a trace puts on its ``letter`` axis."""
    kind = trace.get("type", "scatter")
    values = trace.get(letter)
    if values is None and kind == "heatmap":
        z = trace.get("z")
        shape = np.shape(z) if z is not None else (0, 0)
        n = shape[1 if letter == "x" else 0] if len(shape) == 2 else 0
        values = [-0.5, n - 0.5] if n else None
    nums = _numbers(values)
    if nums is not None and kind == "heatmap" and trace.get(letter) is not None:  # cells reach half a step beyond
        half = (nums.max() - nums.min()) / (2 * (nums.size - 1)) if nums.size > 1 else 0.5
        nums = np.array([nums.min() - half, nums.max() + half])
    if nums is None and values is not None and len(values):
        return None, [str(v) for v in values]
    if nums is not None and kind == "bar" and (letter == "y") != (trace.get("orientation") == "h"):
        nums = np.append(nums, 0.0)  # a bar's value axis starts at 0
    return nums, None


def _tick_labels(axis: dict, letter: str, traces: list[dict], length_px: float) -> list[str]:
    if axis.get("ticktext") is not None:
        return [str(t) for t in axis["ticktext"]]
    nums: list[np.ndarray] = []
    cats: list[str] = []
    for tr in traces:
        n, c = _axis_values(tr, letter)
        if n is not None:
            nums.append(n)
        if c:
            cats.extend(c)
    if axis.get("type") == "category" or (cats and not nums):
        return cats or [""]
    if axis.get("tickvals") is not None:
        values = _numbers(axis["tickvals"])
        return [f"{v:g}" for v in values] if values is not None else [""]
    rng = axis.get("range")
    if rng is not None and len(rng) == 2 and all(isinstance(v, (int, float)) for v in rng):
        lo, hi = sorted(rng)
        given = True  # in the axis's own units: exponents on a log axis
    elif nums:
        allv = np.concatenate(nums)
        lo, hi = float(allv.min()), float(allv.max())
        pad = 0.05 * (hi - lo)
        lo, hi = lo - pad, hi + pad
        given = False
    else:
        return [""]
    if axis.get("type") == "log":
        if given:
            lo, hi = 10 ** lo, 10 ** hi
        else:
            positive = np.concatenate(nums)
            positive = positive[positive > 0]
            if not positive.size:
                return ["1"]
            lo, hi = float(positive.min()), float(positive.max())
        return log_labels(lo, hi)
    return linear_labels(lo, hi, length_px, letter)


def _title(axis: dict) -> tuple[list[str], float]:
    title = axis.get("title")
    text = title.get("text") if isinstance(title, dict) else title
    size = ((title or {}).get("font") or {}).get("size", TITLE_PX) if isinstance(title, dict) else TITLE_PX
    return _lines(str(text)) if text else [], float(size)


def _standoff(axis: dict, letter: str) -> float:
    title = axis.get("title")
    given = title.get("standoff") if isinstance(title, dict) else None
    return float(given if given is not None else THEME_STANDOFF_PX[letter])


def _showing(axis: dict) -> bool:
    return axis.get("visible", True) is not False


def _colorbar_px(colorbar: dict, lo: float, hi: float, height_px: float, theme_em: float = 0.0,
                 font_px: float = TICK_PX) -> float:
    """The room a vertical colour bar at the right edge takes beyond the plot area (``theme_em``: what the theme's
    padding and outline add, in ems of the bar's labels: Streamlit's theme sets them on shared colour scales only)."""
    tick_size = float((colorbar.get("tickfont") or {}).get("size", font_px))
    if colorbar.get("ticktext") is not None:
        labels = [str(t) for t in colorbar["ticktext"]]
    else:
        labels = linear_labels(lo, hi, height_px * float(colorbar.get("len", 1.0)), "y")
    width = float(colorbar.get("thickness", 30)) + 2 * float(colorbar.get("outlinewidth", 1))
    width += max(text_px(s, tick_size) for s in labels)
    lines, size = _title(colorbar)
    if lines and (colorbar.get("title") or {}).get("side") == "right":
        width += line_px(lines, size)
    elif lines:  # above the bar, reaching past it
        width = max(width, max(text_px(s, size) for s in lines) + 10)
    # measured: the bar's box is its thickness, labels and title plus 30 px, and sits 10 px from the plot and 16 px
    # from the edge; at x > 1 it starts (x - 1) of the plot's width further right, a width only the browser knows
    offset = max(float(colorbar.get("x", 1.02)) - 1.0, 0.0) * PLOT_PX
    return width + 40 + offset + (theme_em + SPARE_EM) * tick_size


def legend_room(layout: dict, traces: list[dict], need: dict[str, float], plot_h: float) -> None:
    """Raise ``need`` to hold the legend: a vertical one right of the plot, a horizontal one above or below."""
    shown = [tr for tr in traces if tr.get("name") and (tr.get("showlegend") is True or (
        tr.get("showlegend") is None and tr.get("type", "scatter") != "heatmap"))]  # heatmaps: not unless asked
    if not layout.get("showlegend", len(shown) > 1) or not shown:
        return
    legend = layout.get("legend") or {}
    size = float((legend.get("font") or {}).get("size", TICK_PX))
    names = [str(tr["name"]) for tr in shown]
    title_lines, title_size = _title(legend)
    if legend.get("orientation", "v") == "v":
        width = max(text_px(n, size) for n in names) + 50
        if title_lines:
            width = max(width, max(text_px(s, title_size) for s in title_lines) + 20)
        if float(legend.get("x", 1.02)) >= 1.0:
            need["r"] = max(need["r"], width + SPARE_EM * size)
        return
    rows = max(1, math.ceil(sum(text_px(n, size) + 40 for n in names) / 900))  # items wrap past the plot's width
    rows_h = rows * size * 1.6 + 10 + (title_size * 1.4 * len(title_lines) if title_lines and legend.get("title", {}).get(
        "side", "left") == "top" else 0)
    y = float(legend.get("y", 1.02))
    if y >= 1.0:
        need["t"] = max(need["t"], (y - 1.0) * plot_h + rows_h + SPARE_EM * size)
    # A legend below the plot (y < 0) is placed at a fraction of the plot's height: a wider bottom margin makes the
    # plot shorter and moves the legend up into the x axis's title (the training lab's, in presenter mode at
    # 1024 px). Its room is left to plotly's auto-margins, which widen the margin after the plot is laid out.


def unplaced_colorbars(spec: dict) -> list[tuple[str, int | str]]:
    """The colour bars right of the plot at plotly's default place: ("trace", index) and ("layout", coloraxis name).

    Plotly puts a bar at x = 1.02 of the plot's width, so the room it needs grows with a width known only in the
    browser; ``settle`` pins these at x = 1 (the plot's right edge, 10 px of padding between) to know it."""
    out: list[tuple[str, int | str]] = []
    for i, tr in enumerate(spec.get("data") or []):
        if (tr.get("type") == "heatmap" and tr.get("showscale", True) is not False and not tr.get("coloraxis")
                and (tr.get("colorbar") or {}).get("x") is None):
            out.append(("trace", i))
    layout = spec.get("layout") or {}
    for name in [k for k in layout if k.startswith("coloraxis")]:
        ca = layout[name] or {}
        if ca.get("showscale", True) is not False and (ca.get("colorbar") or {}).get("x") is None:
            out.append(("layout", name))
    return out


def settle(spec: dict) -> dict:
    """``spec`` (a figure as a dict) with the colour bars of ``unplaced_colorbars`` pinned at x = 1 and the margins
    raised to what its outer axes, legend and colour bars need (in place)."""
    layout = spec.setdefault("layout", {})
    traces = spec.get("data") or []
    for kind, where in unplaced_colorbars(spec):
        holder = traces[where] if kind == "trace" else layout[where]
        holder["colorbar"] = {**(holder.get("colorbar") or {}), "x": 1.0}
    margin = dict(layout.get("margin") or {})
    need = {side: float(margin.get(side, 0) or 0) for side in "lrtb"}
    height = float(layout.get("height") or 450)
    plot_h = max(height - need["t"] - max(need["b"], 40), 50)
    by_axis: dict[str, list[dict]] = {}
    for tr in traces:
        for letter in "xy":
            by_axis.setdefault(letter + "axis" + (tr.get(letter + "axis") or letter)[1:], []).append(tr)
    names = [k for k in layout if k[:5] in ("xaxis", "yaxis")] or ["xaxis", "yaxis"]
    for name in dict.fromkeys(names + [k for k in by_axis if k in ("xaxis", "yaxis")]):
        axis = layout.get(name) or {}
        letter = name[0]
        if not _showing(axis) or not by_axis.get(name):
            continue
        other = layout.get((("yaxis" if letter == "x" else "xaxis") + (axis.get("anchor") or "")[1:])) or {}
        anchor_domain = other.get("domain") or [0.0, 1.0]
        domain = axis.get("domain") or [0.0, 1.0]
        tick_size = float((axis.get("tickfont") or {}).get("size", TICK_PX))
        lines, title_size = _title(axis)
        show_ticks = axis.get("showticklabels", True) is not False
        heat = HEATMAP_EM * tick_size if any(tr.get("type") == "heatmap" for tr in by_axis[name]) else 0
        if letter == "y":
            side = axis.get("side", "left")
            at_edge = anchor_domain[0] <= 0.01 if side == "left" else anchor_domain[1] >= 0.99
            if not at_edge:
                continue
            labels = _tick_labels(axis, "y", by_axis[name], plot_h * (domain[1] - domain[0])) if show_ticks else []
            room = max((text_px(s, tick_size) for s in labels), default=0.0)
            if lines:  # measured: labels, 10 px, the standoff, the title's line height
                room += 10 + _standoff(axis, "y") + line_px(lines, title_size)
            elif labels:  # and without a title: labels and 19 px
                room += 19
            if room:
                key = "l" if side == "left" else "r"
                need[key] = max(need[key], room + heat + SPARE_EM * tick_size)
        else:
            side = axis.get("side", "bottom")
            at_edge = anchor_domain[0] <= 0.01 if side == "bottom" else anchor_domain[1] >= 0.99
            if not at_edge:
                continue
            room = tick_size * 2.3 + 10 if show_ticks else 0.0  # measured: 35-37 px at 12 px
            if lines:  # measured: half the standoff and the title's line height
                room += _standoff(axis, "x") / 2 + line_px(lines, title_size) + (0 if show_ticks else 10)
            if room:
                key = "b" if side == "bottom" else "t"
                need[key] = max(need[key], room + heat + SPARE_EM * tick_size)
                if show_ticks and (domain[1] >= 0.99 or domain[0] <= 0.01):  # an end label sticks out by half its width
                    labels = _tick_labels(axis, "x", by_axis[name], 400)
                    half = max(text_px(s, tick_size) for s in labels) / 2 + 8 + SPARE_EM * tick_size
                    for edge, at in (("r", domain[1] >= 0.99), ("l", domain[0] <= 0.01)):
                        if at:
                            need[edge] = max(need[edge], half)
    for tr in traces:
        colorbar = None
        if tr.get("type") == "heatmap" and tr.get("showscale", True) is not False and not tr.get("coloraxis"):
            colorbar = tr.get("colorbar") or {}
            z = _numbers(tr.get("z"))
            lo = tr.get("zmin", float(z.min()) if z is not None else 0.0)
            hi = tr.get("zmax", float(z.max()) if z is not None else 1.0)
            font_px = float((layout.get("font") or {}).get("size", TICK_PX))  # a trace's bar: the layout's font
            need["r"] = max(need["r"], _colorbar_px(colorbar, float(lo), float(hi), plot_h, font_px=font_px))
    legend_room(layout, traces, need, plot_h)
    for name in [k for k in layout if k.startswith("coloraxis")]:
        ca = layout[name] or {}
        if ca.get("showscale", True) is not False:
            # theme_em holds the theme's padding and outline (measured when they came from a template); written
            # into the figure (vnviz.figures.theme), the outline is in the bar's dict too: count it once
            bar = {k: v for k, v in (ca.get("colorbar") or {}).items() if k != "outlinewidth"}
            need["r"] = max(need["r"], _colorbar_px(bar, float(ca.get("cmin", 0) or 0),
                                                    float(ca.get("cmax", 1) or 1), plot_h, theme_em=1.75))
    layout["margin"] = {**margin, **{side: int(math.ceil(v)) for side, v in need.items()}}
    return spec


def settle_figure(fig: Any) -> Any:
    """``settle`` for a ``go.Figure``: its colour bars pinned and its margins set, through plotly (other things are
    returned as they are)."""
    import plotly.graph_objects as go

    if not isinstance(fig, go.Figure):
        return fig
    spec = {"data": list(fig._data), "layout": dict(fig._layout)}  # plotly's own dicts: read, not written
    for kind, where in unplaced_colorbars(spec):
        (fig.data[where] if kind == "trace" else fig.layout[where]).colorbar.x = 1.0
    spec = {"data": list(fig._data), "layout": dict(fig._layout)}
    fig.layout.margin = settle(spec)["layout"]["margin"]
    return fig
