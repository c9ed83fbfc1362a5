"""Axis check: which axes a normalization reduces over, and which layer an (input, output) pair came from."""
from __future__ import annotations

import streamlit as st

from vnviz.analysis.axis_report import report_verdict
from vnviz.analysis.traps import KNOWN_TRAPS
from vnviz.figures import axes as fig
from vnviz.figures.norm import group_map, group_map_caption, picture_of
from vnviz.ui import axis_check as ui
from vnviz.ui import state
from vnviz.i18n import N_
from vnviz.ui.lang import plot, t
from vnviz.ui.presenter import presenter_mode

scale = presenter_mode()
st.title(t(N_("Axis check")))
ui.read_state()

st.header(t(N_("Which axes?")))
left, right = st.columns([1, 2], gap="large")
with left.container(border=True):
    choice = ui.plan_controls()
for notice in state.notices():
    st.info(t(notice))
plan = choice.plan
if plan is None:
    right.info(t(N_("Tick at least one axis to reduce over.")))
else:
    right.markdown(ui.plan_markdown(plan))
    summary = fig.cube_summary(plan.groups, plan.letters, ui.cube_channel(plan))
    st.caption(t(ui.PLAN_HELP))
    plot(fig.group_cubes(summary, scale), key="cubes")
    with st.expander(t(N_("Every statistic group: one panel per sample"))):
        picture = picture_of(summary.groups, summary.labels[2] if summary.labels[2] != "—" else "")
        st.caption(t(group_map_caption(picture, None, plan.pattern)))
        plot(group_map(picture, scale=scale), key="group_map")

st.header(t(N_("Check my layer")))
left, right = st.columns([1, 2], gap="large")
with left.container(border=True):
    example, check = ui.check_controls()
state.controls_drawn()
if check is not None:
    letters = tuple(check.layout.split()) if check.layout else None
    kind, verdict = report_verdict(check.report, letters)
    show = {"ok": right.success, "mistake": right.warning, "unusual": right.warning, "none": right.info}[kind]
    show(t(verdict))
    right.markdown(ui.report_markdown(check))
    right.markdown(t(check.report.explanation))
    st.caption(t(ui.CANDIDATES_HELP))
    plot(fig.candidates_chart(fig.candidate_bars(check.report, letters), scale), key="candidates")

with st.expander(t(N_("Known traps"))):
    st.markdown("\n".join(f"- {t(trap)}" for trap in KNOWN_TRAPS))
