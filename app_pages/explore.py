"""Explore: pick data and a variant, see before | after side by side."""
from __future__ import annotations

import streamlit as st

from vnviz.errors import InputError
from vnviz.figures import norm as fig
from vnviz.i18n import N_
from vnviz.ui import explore as ui
from vnviz.ui import inspect, precision
from vnviz.ui.lang import plot, t
from vnviz.ui.presenter import page_top
from vnviz.ui.report import problem_text, variant_caption, verification_text

c, scale = page_top(N_("Explore a normalization"), ui.controls)
try:
    view, notes = ui.run_view(c)
except InputError as err:
    st.error(t(err))
    st.stop()
c.caption.caption(t(variant_caption(c.variant, view)))
st.caption(t(ui.shown(c)))
for text in notes + [c.data.permuted]:
    if text:
        st.info(t(text))
for text in problem_text(view.verification):
    st.error(t(text))
for text in view.warnings:
    st.warning(t(text))
precision.view(c, scale)  # when a dtype is chosen, or the data is half precision


def distributions() -> None:
    plot(fig.distributions(view.before.hist, view.after.hist, c.log_y, scale), key="dist")
    left, right = st.columns(2)
    plot(fig.facets(view.before.facets, N_("before, per channel"), fig.BEFORE_COLOR, log_y=c.log_y,
                    scale=scale), key="facets_before", where=left)
    plot(fig.facets(view.after.facets, N_("after, per channel"), fig.AFTER_COLOR, log_y=c.log_y,
                    scale=scale), key="facets_after", where=right)


def axes() -> None:
    st.caption(t(N_("Mean ± std of every index of each axis, over all other axes. "
                    "An axis whose line is flat at 0 with std 1 after is one the variant equalises.")))
    plot(fig.axis_profiles(view.before.axes, view.after.axes, scale), key="axes")


def groups() -> None:
    group = ui.group_picker(view)
    st.caption(t(fig.group_map_caption(view.group_map, group, view.pattern)))
    plot(fig.group_map(view.group_map, highlight=group, scale=scale), key="group_map")
    plot(fig.group_heatmaps(view.before.groups, view.after.groups, view.group_grid,
                         c.variant.grid_labels, scale), key="group_stats")


def follow() -> None:
    inspect.element_view(c, scale)


def check() -> None:
    st.markdown(t(verification_text(view.verification)))


def share() -> None:
    st.markdown(t(N_("The address bar holds this exact view: copy it to share it.")))
    cols = st.columns(2)
    ui.output_download(c, cols[0])
    cols[1].download_button(t(N_("statistics (.csv)")), ui.stats_csv(view), f"{c.variant.name}_stats.csv", "text/csv",
                            key="dl_csv")
    st.markdown(t(N_("Reproduce in Python:")))
    st.code(ui.snippet(c), language="python")


# one drawing per tab, by its label (ui.TABS): only the open tab is drawn (vnviz.ui.tabs)
ui.TABBED.draw(dict(zip(ui.TABS, (distributions, axes, groups, follow, check, share))))
