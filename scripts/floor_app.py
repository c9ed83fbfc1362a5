"""The floor for scripts/latency.py: what any Streamlit page with a few plotly charts costs.

    .venv/bin/streamlit run scripts/floor_app.py

A bare page: one selectbox and four plotly bar charts of histograms that were
computed once, when the process first ran the page (numpy, seeded). Two charts
show one histogram of 60 bins each (like Explore's "all values" before and
after); two show 8 traces of 40 bins each (like Explore's per-channel
histograms). The selectbox picks which of six precomputed sets is shown, so a
change reruns the script and redraws all four charts with new data, and the
page does nothing else: no computing, no caching of figures, no link state.
A vnviz page can be no faster than this on the same machine; latency.py
reports vnviz's times as ratios to it.
"""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import streamlit as st

SETS = ("set 1", "set 2", "set 3", "set 4", "set 5", "set 6")
WIDE_BINS, TRACES, NARROW_BINS = 60, 8, 40


@st.cache_resource
def histograms() -> dict[str, dict[str, tuple[np.ndarray, np.ndarray]]]:
    """Per set: two 60-bin histograms (one trace each) and two 8 x 40-bin ones, as (bin centres, counts)."""
    rng = np.random.default_rng(0)
    out = {}
    for i, name in enumerate(SETS):
        x = rng.normal(i, 1 + i / 3, size=(TRACES, 4096))
        wide = {}
        for side, values in (("before", x), ("after", (x - x.mean()) / x.std())):
            counts, edges = np.histogram(values, WIDE_BINS)
            wide[side] = ((edges[:-1] + edges[1:]) / 2, counts)
            rows = [np.histogram(v, NARROW_BINS, range=(values.min(), values.max())) for v in values]
            wide[side + " per channel"] = ((rows[0][1][:-1] + rows[0][1][1:]) / 2, np.stack([r[0] for r in rows]))
        out[name] = wide
    return out


def figure(title: str, centers: np.ndarray, counts: np.ndarray) -> go.Figure:
    fig = go.Figure()
    for k, row in enumerate(np.atleast_2d(counts)):
        fig.add_trace(go.Bar(x=centers.tolist(), y=row.tolist(), name=f"trace {k}"))
    fig.update_layout(title=title, height=320, bargap=0, barmode="overlay", margin=dict(l=10, r=10, t=50, b=10))
    return fig


st.set_page_config(page_title="floor", layout="wide")
st.title("Floor: a bare Streamlit page")
choice = st.selectbox("data", SETS, key="data")
h = histograms()[choice]
left, right = st.columns(2)
for col, side in ((left, "before"), (right, "after")):
    col.plotly_chart(figure(f"{side}: all values", *h[side]), key=side)
for col, side in ((left, "before per channel"), (right, "after per channel")):
    col.plotly_chart(figure(side, *h[side]), key=side)
