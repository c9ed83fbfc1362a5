"""Training lab: train small networks with and without each norm, side by side, live."""
from __future__ import annotations

import streamlit as st

from vnviz.errors import InputError
from vnviz.figures import train as fig
from vnviz.ui import train as ui
from vnviz.ui.presenter import presenter_mode

scale = presenter_mode()
st.title("Training lab: what a norm does to a network that learns")
exp, notices = ui.controls()
for text in notices:
    st.info(text)
if exp is None:
    st.stop()
lesson = ui.lesson_for(exp)
if lesson is not None:
    st.info(f"**{lesson.title}.** {lesson.paragraph}\n\n**Ask:** {lesson.question}", icon=":material/school:")
try:
    results = ui.train_all(exp, scale)
except InputError as err:
    st.error(str(err))
    st.stop()
if not results:
    st.stop()
ui.summary_table(results)
if exp.sweep != "none":
    st.plotly_chart(fig.sweep(ui.sweep_rows(results), exp.sweep, scale), key="chart_sweep")
else:
    shown = ui.first_seed(exp, results)
    st.plotly_chart(fig.curves(shown, scale), key="chart_curves")
    layer = ui.layer_picker(shown)
    st.plotly_chart(fig.percentile_bands(shown, layer, scale), key="chart_percentiles")
    st.plotly_chart(fig.preactivation_heatmaps(shown, layer, scale), key="chart_heatmaps")
    st.plotly_chart(fig.gradient_norms(shown, scale), key="chart_grad_norms")
    if exp.config.landscape_every:
        st.plotly_chart(fig.landscape(shown, scale), key="chart_landscape")
ui.export(exp, results)
