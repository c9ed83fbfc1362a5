"""Plotly figures for the training lab: recorded histories in, ``go.Figure`` out.

A history holds only what its evaluations recorded (a few numbers, three
percentiles and a 64-bin histogram per layer per evaluation), so a figure's
size grows with the number of evaluations, never with the data or the
network. Each norm has one colour in every figure (``norm_color``); held-out
curves are solid, training-batch curves dotted.
"""
from __future__ import annotations

import math
import statistics
from typing import Mapping, Sequence

import plotly.graph_objects as go
import torch
from plotly.subplots import make_subplots

from vnviz.figures.norm import FONT_SIZE, GROUP_PALETTE, _rgba
from vnviz.figures.text import markup, size_texts
from vnviz.i18n import N_, Msg
from vnviz.train.config import norm_specs, spec_title
from vnviz.train.experiments import SweepRow
from vnviz.train.history import HIST_RANGE, History

NONE_COLOR = "#7f7f7f"  # no norm, everywhere
BAND_ALPHA = 0.22  # opacity of the percentile and landscape bands
HEIGHT = 380  # px of one row of charts
MARGIN = dict(l=10, r=10, t=70, b=10)
HEATMAP_SCALE = "Blues"
TRAIN_DASH = "dot"  # training-batch curves (training mode)
SHOWN_FRACTION = 1e-3  # the heatmap's value axis spans the bins holding at least this fraction at some step
SWEEP_DASH = {"test": "solid", "train": "dot", "batch": "dash"}


def norm_color(spec: str) -> str:
    """The colour of a norm spec, the same in every figure ("none" is grey)."""
    if spec == "none":
        return NONE_COLOR
    specs = [s for s in norm_specs() if s != "none"]
    return GROUP_PALETTE[specs.index(spec) % len(GROUP_PALETTE)] if spec in specs else GROUP_PALETTE[-1]


def _layout(fig: go.Figure, scale: float, height: int = HEIGHT, **kw) -> go.Figure:
    fig.update_layout(height=int(height * scale), margin={**MARGIN, "t": int(MARGIN["t"] * scale)},
                      font=dict(size=int(FONT_SIZE * scale)), legend=dict(orientation="h", y=-0.18),
                      **kw)
    size_texts(fig, scale)
    fig.update_annotations(font_size=int((FONT_SIZE + 1) * scale))  # subplot titles
    return fig


def _empty(title: str, scale: float) -> go.Figure:
    return _layout(go.Figure(), scale, title=title)


def curves(runs: Mapping[str, History], scale: float = 1.0, steps: int | None = None) -> go.Figure:
    """Loss and accuracy against steps for each norm: held-out (eval mode) solid, training batches dotted.

    ``steps`` fixes the step axis at [0, steps] (the live chart, while a run grows into it).
    """
    fig = make_subplots(1, 2, subplot_titles=(N_("Loss"), N_("Accuracy")), horizontal_spacing=0.08)
    for spec, h in runs.items():
        color, name = norm_color(spec), spec_title(spec)
        for col, test, train in ((1, h.test_loss, h.train_loss), (2, h.test_accuracy, h.train_accuracy)):
            fig.add_trace(go.Scatter(x=h.steps, y=test, name=Msg("{name}, held-out", name=name), legendgroup=spec, mode="lines",
                                     line=dict(color=color, width=2.5 * scale), showlegend=col == 1), 1, col)
            fig.add_trace(go.Scatter(x=h.steps, y=train, name=Msg("{name}, training batches", name=name), legendgroup=spec,
                                     mode="lines", line=dict(color=color, width=1.5 * scale, dash=TRAIN_DASH),
                                     showlegend=col == 1), 1, col)
    fig.update_xaxes(title_text=N_("step"), range=None if steps is None else [0, steps])
    fig.update_yaxes(title_text=N_("cross-entropy"), col=1, rangemode="tozero")
    fig.update_yaxes(title_text=N_("fraction correct"), col=2, range=[0, 1.02])
    return _layout(fig, scale, title=N_("Loss and accuracy"))


def _grid(runs: Mapping[str, History], **kw) -> go.Figure:
    return make_subplots(1, max(1, len(runs)), subplot_titles=[spec_title(s) for s in runs], shared_yaxes=True,
                         horizontal_spacing=0.04, **kw)


def percentile_bands(runs: Mapping[str, History], layer: str, scale: float = 1.0) -> go.Figure:
    """One unit's 15/50/85th percentile pre-activation against steps, one panel per norm (BN paper, Fig. 1b,c)."""
    title = Msg("{layer}, unit 0: input to its activation", layer=layer)
    if not runs:
        return _empty(title, scale)
    fig = _grid(runs)
    for col, (spec, h) in enumerate(runs.items(), start=1):
        p = h.percentiles.get(layer)
        if p is None:
            continue
        color = norm_color(spec)
        low, mid, high = (p[:, i].tolist() for i in range(3))
        fig.add_trace(go.Scatter(x=h.steps, y=high, mode="lines", line=dict(width=0), hoverinfo="skip",
                                 showlegend=False), 1, col)
        fig.add_trace(go.Scatter(x=h.steps, y=low, mode="lines", line=dict(width=0), fill="tonexty",
                                 fillcolor=_rgba(color, BAND_ALPHA), name=N_("15th–85th"), showlegend=False,
                                 hovertemplate=N_("step %{x}: 15th %{y:.3f}<extra></extra>")), 1, col)
        fig.add_trace(go.Scatter(x=h.steps, y=mid, mode="lines", line=dict(color=color, width=2.5 * scale),
                                 name=N_("median"), showlegend=False,
                                 hovertemplate=N_("step %{x}: median %{y:.3f}<extra></extra>")), 1, col)
        for values in (low, high):
            fig.add_trace(go.Scatter(x=h.steps, y=values, mode="lines", line=dict(color=color, width=1 * scale),
                                     hoverinfo="skip", showlegend=False), 1, col)
    fig.update_xaxes(title_text=N_("step"))
    fig.update_yaxes(title_text=N_("pre-activation"), col=1)
    return _layout(fig, scale, title=title)


def preactivation_heatmaps(runs: Mapping[str, History], layer: str, scale: float = 1.0) -> go.Figure:
    """The distribution of all of a layer's pre-activations at each evaluation: step × value, one panel per norm.

    Colour is the square root of the fraction of values in each bin, on one
    scale for every panel (so a spread-out distribution stays visible beside a
    peaked one; the hover gives the fraction itself). Values beyond
    ±HIST_RANGE are counted in the end bins (the hover says how many lie
    beyond); the value axis spans the bins that hold at least SHOWN_FRACTION
    of the values at some step.
    """
    title = Msg("{layer}: all pre-activations, step × value", layer=layer)
    shown = {s: h for s, h in runs.items() if layer in h.histograms}
    if not shown:
        return _empty(title, scale)
    fig = _grid(shown)
    edges = next(iter(shown.values())).hist_edges
    centres = ((edges[1:] + edges[:-1]) / 2).tolist()
    used = torch.zeros(len(centres), dtype=torch.bool)
    peak = 0.0
    for h in shown.values():
        hist = h.histograms[layer]
        used |= (hist >= SHOWN_FRACTION).any(0)
        peak = max(peak, float(hist.max()))
    idx = torch.nonzero(used).flatten()
    lo, hi = (float(edges[int(idx[0])]), float(edges[int(idx[-1]) + 1])) if idx.numel() else (-HIST_RANGE, HIST_RANGE)
    for col, (spec, h) in enumerate(shown.items(), start=1):
        hist = h.histograms[layer]  # (E, bins)
        outside = [o * 100 for o in h.outside[layer].tolist()]
        fig.add_trace(go.Heatmap(
            x=h.steps, y=centres, z=hist.sqrt().T.tolist(), coloraxis="coloraxis",
            customdata=[[[f, o] for f, o in zip(row, outside)] for row in hist.T.tolist()],
            hovertemplate=Msg("step %{{x}}, value %{{y:.2f}}: %{{customdata[0]:.3f}} of the values<br>beyond "
                              "±{range:g}: %{{customdata[1]:.1f}}{pct}<extra></extra>", range=HIST_RANGE, pct="%")),
            1, col)
    fig.update_xaxes(title_text=N_("step"))
    fig.update_yaxes(range=[lo, hi])
    fig.update_yaxes(title_text=N_("pre-activation"), col=1)
    return _layout(fig, scale, title=title,
                   coloraxis=dict(colorscale=HEATMAP_SCALE, cmin=0, cmax=math.sqrt(peak) if peak > 0 else 1,
                                  colorbar=dict(title=dict(text=N_("√fraction")), thickness=12)))


def gradient_norms(runs: Mapping[str, History], scale: float = 1.0) -> go.Figure:
    """Each hidden layer's weight-gradient norm at the evaluations, one panel per norm (log scale)."""
    title = N_("Weight-gradient norm per hidden layer")
    if not runs:
        return _empty(title, scale)
    fig = _grid(runs)
    layers = next(iter(runs.values())).layers
    for col, (spec, h) in enumerate(runs.items(), start=1):
        for i, layer in enumerate(layers):
            g = h.grad_norms.get(layer)
            if g is None:
                continue
            fig.add_trace(go.Scatter(x=h.steps[1:], y=g[1:].tolist(), mode="lines", name=layer, legendgroup=layer,
                                     showlegend=col == 1, line=dict(color=GROUP_PALETTE[i % len(GROUP_PALETTE)],
                                                                    width=2 * scale)), 1, col)
    fig.update_xaxes(title_text=N_("step"))
    fig.update_yaxes(type="log", dtick=1, exponentformat="power")
    fig.update_yaxes(title_text="‖∇W‖", col=1)
    return _layout(fig, scale, title=title)


def landscape(runs: Mapping[str, History], scale: float = 1.0) -> go.Figure:
    """Santurkar et al., Fig. 4: along the gradient, the range of the loss and of the gradient change, per step.

    At each probed step the loss L(w - ηg) and the gradient change
    ‖∇L(w - ηg) - ∇L(w)‖ were measured for several step sizes η; the band is
    their range over η, the line its middle.
    """
    title = N_("Along the gradient: loss and gradient change")
    probed = {s: h for s, h in runs.items() if h.landscape_steps}
    fig = make_subplots(1, 2, subplot_titles=(N_("loss L(w − ηg)"), N_("gradient change ‖∇L(w − ηg) − ∇L(w)‖")),
                        horizontal_spacing=0.08)
    for spec, h in probed.items():
        color, name = norm_color(spec), spec_title(spec)
        for col, table in ((1, h.landscape_loss), (2, h.landscape_grad_change)):
            low, high = table.min(1).values.tolist(), table.max(1).values.tolist()
            fig.add_trace(go.Scatter(x=h.landscape_steps, y=high, mode="lines", line=dict(color=color, width=1),
                                     legendgroup=spec, showlegend=False, hoverinfo="skip"), 1, col)
            fig.add_trace(go.Scatter(x=h.landscape_steps, y=low, mode="lines", line=dict(color=color, width=1),
                                     fill="tonexty", fillcolor=_rgba(color, BAND_ALPHA), name=name, legendgroup=spec,
                                     showlegend=col == 1,
                                     customdata=list(zip(low, high)),
                                     hovertemplate=Msg("step %{{x}}: %{{customdata[0]:.3g}} to "
                                                       "%{{customdata[1]:.3g}}<extra>{name}</extra>", name=name)), 1, col)
    fig.update_xaxes(title_text=N_("step"))
    fig.update_yaxes(type="log", dtick=1, exponentformat="power")
    if not probed:
        fig.add_annotation(text=N_("Set landscape_every above 0 to probe the landscape."), showarrow=False,
                           xref="paper", yref="paper", x=0.5, y=0.5)
    return _layout(fig, scale, title=title)


def _median(values: Sequence[float | None]) -> float | None:
    present = [v for v in values if v is not None and not math.isnan(v)]
    return statistics.median(present) if present else None


def sweep(rows: Sequence[SweepRow], swept: str, scale: float = 1.0) -> go.Figure:
    """Final error against the swept value for each norm (median over seeds; a cross marks a run that failed:
    it diverged or ended below twice the chance accuracy).

    Solid: held-out error in eval mode (running statistics); dotted: error on
    the last training batches (training mode); dashed: held-out error with
    batch statistics (norms that keep running statistics).
    """
    label = {"batch_size": N_("batch size"), "lr": N_("learning rate")}.get(swept, swept)
    title = Msg("Final error against the {label}", label=label)
    fig = go.Figure()
    specs = list(dict.fromkeys(r.norm for r in rows))
    for spec in specs:
        mine = [r for r in rows if r.norm == spec]
        values = sorted({r.value for r in mine})
        color, name = norm_color(spec), spec_title(spec)
        for kind, attr in (("test", "test_error"), ("train", "train_error"), ("batch", "batch_stats_error")):
            what = {"test": N_("held-out"), "train": N_("training batches"), "batch": N_("held-out, batch statistics")}[kind]
            ys = [_median([getattr(r, attr) for r in mine if r.value == v]) for v in values]
            if all(y is None for y in ys):
                continue
            crossed = [any(r.failed for r in mine if r.value == v) for v in values]
            fig.add_trace(go.Scatter(
                x=values, y=ys, name=markup("{name}, {what}", name=name, what=what), legendgroup=spec,
                mode="lines+markers", line=dict(color=color, width=(2.5 if kind == "test" else 1.5) * scale,
                                                dash=SWEEP_DASH[kind]),
                marker=dict(symbol=["x" if c else "circle" for c in crossed], size=(11 if kind == "test" else 6) * scale),
                hovertemplate=Msg("{label} %{{x:g}}: error %{{y:.3f}}<extra>{name}, {what}</extra>", label=label,
                                  name=name, what=what)))
    ticks = sorted({r.value for r in rows})
    fig.update_xaxes(title_text=label, type="log", tickvals=ticks, ticktext=[f"{v:g}" for v in ticks])
    fig.update_yaxes(title_text=N_("error (1 − accuracy)"), range=[0, 1.02])
    return _layout(fig, scale, height=int(HEIGHT * 1.2), title=title)
