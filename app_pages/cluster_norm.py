"""ClusterNorm: cluster the samples, BatchNorm each cluster, and compare with plain BatchNorm."""
from __future__ import annotations

import streamlit as st

from vnviz.errors import InputError
from vnviz.figures import cluster as fig
from vnviz.ui import cluster as ui
from vnviz.i18n import N_
from vnviz.ui.lang import plot, t
from vnviz.ui.presenter import page_top
from vnviz.ui.report import verification_text

c, scale = page_top(N_("ClusterNorm: BatchNorm per cluster of samples"), ui.controls)
try:
    view, notes = ui.run_view(c)
except InputError as err:
    st.error(t(err))
    st.stop()
st.caption(t(ui.shown(c)))
for text in notes + [c.data.permuted]:
    if text:
        st.info(t(text))
for text in view.warnings:
    st.warning(t(text))
for col, (label, value, help_text) in zip(st.columns(4), ui.metrics(view)):
    col.metric(t(label), t(value), help=t(help_text))
left, right = st.columns([3, 2], gap="medium")
plot(fig.scatter(view, scale), key="scatter", where=left)
plot(fig.sizes(view, scale), key="sizes", where=right)

st.subheader(t(N_("BatchNorm vs ClusterNorm, cluster by cluster")))
st.caption(t(ui.COMPARE_TEXT) + (" " + t(ui.SOFT_TEXT) if view.mode == "soft" else ""))
channel = ui.channel_picker(c)
plot(fig.histograms(view, channel, scale), key="histograms")
plot(fig.statistics(view, scale), key="statistics")
for note in view.notes:
    st.caption(t(note))

st.subheader(t(N_("Verification")))
bn, cn = st.columns(2, gap="large")
bn.markdown(f"**{t(N_('BatchNorm'))}**\n\n" + t(verification_text(view.bn_check)))
cn.markdown(f"**{t(N_('ClusterNorm'))}**\n\n" + t(verification_text(view.cn_check)))
