"""A one-figure Streamlit script for the element figure's browser test (not a page of the app).

It draws ``element_figure`` of a fixed GroupNorm input and, below it, the
selected element's index and steps; a click on a cell selects that element
through ``st.plotly_chart(on_select="rerun")``, as the Explore page will.
"""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import streamlit as st  # noqa: E402
import torch  # noqa: E402

from vnviz.analysis.element_picture import element_picture  # noqa: E402
from vnviz.figures.explain import element_figure  # noqa: E402

X = torch.randn(4, 6, 5, 4, generator=torch.Generator().manual_seed(0))  # the test builds the same tensor
PARAMS = {"num_groups": 3, "weight": 2.0}

index = st.session_state.get("element", (1, 2, 3, 1))
pic = element_picture("group_norm", X, index, **PARAMS)
event = st.plotly_chart(element_figure(pic, step=4), on_select="rerun", selection_mode="points", key="picture")
points = event.selection.points if event and event.selection else []
if points and tuple(points[0]["customdata"]) != tuple(index):
    st.session_state["element"] = tuple(points[0]["customdata"])
    st.rerun()
st.markdown("selected: " + ", ".join(map(str, index)))
for step in pic.explanation.steps:
    st.markdown(step.text)
