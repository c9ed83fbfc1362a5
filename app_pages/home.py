"""Home: what vnviz shows, the variants and what they reduce over, the device in use."""
from __future__ import annotations

import streamlit as st

import vnviz
from vnviz.device import describe_device
from vnviz.i18n import N_, Msg
from vnviz.ui.lang import t
from vnviz.ui.presenter import presenter_mode

presenter_mode()
st.title(t(N_("vnviz: see what a normalization does")))
st.markdown(t(N_(
    "Every normalization gives each element a **statistic group**, standardizes each group to mean 0 and "
    "variance 1 (biased variance, plus eps), then applies an optional affine. The variants differ only in "
    "their groups: the axes they reduce over. Pick one on **Explore** and see before | after side by side, "
    "checked against torch.")))
st.markdown(t(N_("Start on [Explore](explore), compare variants on [Compare](compare), or teach with the "
                 "[Lessons](lessons).")))
rows = [
    {t(N_("variant")): t(v.title), t(N_("reduces (N, C, H, W)")): v.pattern, "torch": v.reference,
     t(N_("what it does")): t(v.summary)}
    for v in vnviz.VARIANTS.values()
]
st.table(rows, hide_index=True)  # a static table: its text wraps at any width (a dataframe cuts it)
st.caption(t(Msg("Computing on {device}.", device=describe_device(vnviz.pick_device()))))
