"""ClusterNorm: cluster the samples, BatchNorm each cluster, and compare with plain BatchNorm."""
from __future__ import annotations

import streamlit as st

from vnviz.errors import InputError
from vnviz.figures import cluster as fig
from vnviz.ui import cluster as ui
from vnviz.ui.presenter import page_top
from vnviz.ui.report import verification_text

c, scale = page_top("ClusterNorm: BatchNorm per cluster of samples", ui.controls)
try:
    view, notes = ui.run_view(c)
except InputError as err:
    st.error(str(err))
    st.stop()
st.caption(ui.shown(c))
for text in notes + [c.data.permuted]:
    if text:
        st.info(text)
for text in view.warnings:
    st.warning(text)
for col, (label, value, help_text) in zip(st.columns(4), ui.metrics(view)):
    col.metric(label, value, help=help_text)
left, right = st.columns([3, 2], gap="medium")
left.plotly_chart(fig.scatter(view, scale), key="scatter")
right.plotly_chart(fig.sizes(view, scale), key="sizes")

st.subheader("BatchNorm vs ClusterNorm, cluster by cluster")
st.caption(ui.COMPARE_TEXT + (" " + ui.SOFT_TEXT if view.mode == "soft" else ""))
channel = ui.channel_picker(c)
st.plotly_chart(fig.histograms(view, channel, scale), key="histograms")
st.plotly_chart(fig.statistics(view, scale), key="statistics")
for note in view.notes:
    st.caption(note)

st.subheader("Verification")
bn, cn = st.columns(2, gap="large")
bn.markdown("**BatchNorm**\n\n" + verification_text(view.bn_check))
cn.markdown("**ClusterNorm**\n\n" + verification_text(view.cn_check))
