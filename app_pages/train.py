"""Training lab: train small networks with and without each norm, side by side, live."""
from __future__ import annotations

import streamlit as st

from vnviz.errors import InputError
from vnviz.figures import train as fig
from vnviz.train.views import describe
from vnviz.ui import train as ui
from vnviz.i18n import N_, Msg
from vnviz.ui.lang import plot, t
from vnviz.ui.presenter import presenter_mode

scale = presenter_mode()
st.title(t(N_("Training lab: what a norm does to a network that learns")))
exp, notices = ui.controls(presenting=scale > 1)
for text in notices:
    st.info(t(text))
if exp is None:
    st.stop()
st.markdown(t(Msg("**Training:** {what}", what=describe(exp))))
lesson = ui.lesson_for(exp)
if lesson is not None:
    st.info(t(Msg("**{title}.** {paragraph}\n\n**Ask:** {question}", title=lesson.title, paragraph=lesson.paragraph,
                  question=lesson.question)), icon=":material/school:")
try:
    results = ui.train_all(exp, scale)
except InputError as err:
    st.error(t(err))
    st.stop()
if not results:
    st.stop()
ui.summary_table(results)


def chart(figure, name: str) -> None:
    plot(figure, key=f"chart_{name}")
    st.caption(t(ui.CAPTIONS[name]))


if exp.sweep != "none":
    chart(fig.sweep(ui.sweep_rows(results), exp.sweep, scale), "sweep")
else:
    shown = ui.first_seed(exp, results)
    chart(fig.curves(shown, scale), "curves")
    layer = ui.layer_picker(shown)
    chart(fig.percentile_bands(shown, layer, scale), "percentiles")
    chart(fig.preactivation_heatmaps(shown, layer, scale), "heatmaps")
    chart(fig.gradient_norms(shown, scale), "grad_norms")
    if exp.config.landscape_every:
        chart(fig.landscape(shown, scale), "landscape")
ui.export(exp, results)
