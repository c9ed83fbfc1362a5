"""Compare: the same data through several normalizations side by side, and the equivalences between them."""
from __future__ import annotations

import streamlit as st

from vnviz.errors import InputError
from vnviz.figures import compare as fig
from vnviz.ui import compare as ui
from vnviz.i18n import N_, Msg
from vnviz.ui.lang import plot, t
from vnviz.ui.presenter import is_presenting, page_top
from vnviz.ui.report import verification_text

c, scale = page_top(N_("Compare normalizations"), ui.controls)
try:
    view, notes = ui.run_views(c)
except InputError as err:
    st.error(t(err))
    st.stop()
st.caption(t(ui.shown(c)))
for text in notes + [c.data.permuted]:
    if text:
        st.info(t(text))
for kind, text in ui.problems(view):
    st.warning(t(text), icon=":material/block:" if kind == "error" else None)
cols = fig.columns(view)


def distributions() -> None:
    st.caption(t(ui.GRID_TEXT["dist"]))
    plot(fig.distributions_grid(cols, scale=scale), key="dist_grid")


def axes() -> None:
    st.caption(t(ui.GRID_TEXT["axes"]))
    plot(fig.axes_grid(cols, scale), key="axes_grid")


def groups() -> None:
    st.caption(t(ui.GRID_TEXT["groups"]))
    plot(fig.groups_grid(cols, scale), key="groups_grid")


def equivalences() -> None:
    try:
        eqs, missing, eq_notes = ui.run_equivalences(c)
    except InputError as err:
        st.error(t(err))
        return
    for text in eq_notes:
        st.info(t(text))
    st.caption(t(ui.GRID_TEXT["equiv"]))
    for text in missing:
        st.caption(t(Msg("Left out: {what}", what=text)))
    per_row = 1 if is_presenting() else 2  # presenter mode's larger texts need the full width for a heatmap and its scale
    for i in range(0, len(eqs), per_row):
        for col, eq in zip(st.columns(per_row, gap="medium"), eqs[i : i + per_row]):
            with col.container(border=True):
                st.markdown(ui.equivalence_header(eq))
                plot(fig.diff_heatmap(eq, scale), key=f"diff_{i}_{eq.title}")
                if eq.as_expected:
                    st.markdown(t(eq.explanation))
                else:
                    said = N_("Unexpected on this data: the theory says they are equal.") if eq.expected else \
                        N_("Unexpected on this data: the theory says they differ.")
                    st.warning(t(Msg.join([said, eq.explanation])))


def verification() -> None:
    for name, v in zip(view.names, view.views):
        if v is not None:
            st.markdown(f"**{t(ui.VARIANTS[name].title)}**\n\n" + t(verification_text(v.verification)))


# one drawing per tab, by its label (ui.TABS): only the open tab is computed and drawn
ui.TABBED.draw(dict(zip(ui.TABS, (distributions, axes, groups, equivalences, verification))))
