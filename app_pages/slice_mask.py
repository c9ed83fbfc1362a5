"""Slice & Mask: a matrix before | after slicing (views vs copies) or masking (zero vs −inf)."""
from __future__ import annotations

import streamlit as st

from vnviz.analysis.matrix import SLICING_FORMS
from vnviz.errors import InputError
from vnviz.figures import matrix as fig
from vnviz.ui import slice_mask as ui
from vnviz.i18n import N_
from vnviz.ui.lang import plot, t
from vnviz.ui.presenter import page_top

c, scale = page_top(N_("Slice & Mask a matrix"), ui.controls)
try:
    view, notes = ui.run_view(c)
except InputError as err:
    st.error(t(err))
    st.stop()
for text in notes:
    st.info(t(text))
plot(fig.before_after(view.before, view.after, ui.titles(c), scale=scale), key="before_after")

if isinstance(view, fig.SliceView):
    facts, write = st.columns([2, 3], gap="large")
    with facts:
        st.subheader(t(N_("Where y lives in memory")))
        st.table(t(fig.facts_rows(view.facts)))
        (st.success if view.facts.is_view else st.warning)(t(view.facts.note))
    with write:
        st.subheader(t(N_("Write through y")))
        plot(fig.before_after(view.write_before, view.write_after,
                                               (N_("x before"), N_("x after y.fill_(big)")),
                                               scale=scale, height=fig.SMALL_HEIGHT + 40), key="write_through")
        st.caption(t(ui.write_text(view)))
    st.subheader(t(N_("Which slicing forms copy, which stay views")))
    st.table(t(fig.forms_rows(SLICING_FORMS)))
else:
    e = view.effects
    for col, (label, value, help_text) in zip(st.columns(4), ui.mask_metrics(view)):
        col.metric(t(label), t(value), help=t(help_text))
    mask_tab, product_tab, softmax_tab = st.tabs([t(N_("Mask")), t(N_("Effect on y = A·v")), t(N_("Effect on a softmax"))])
    with mask_tab:
        left, right = st.columns([2, 3])
        plot(fig.mask_picture(view.mask, scale), key="mask", where=left)
        plot(fig.kept_counts(view.kept_rows, view.kept_cols, e.shape, scale), key="kept", where=right)
    with product_tab:
        plot(fig.products(e, view.product_mode, scale), key="products")
        st.caption(t(ui.product_text(view, c.params.get("mode", "multiply"))))
    with softmax_tab:
        st.markdown(t(ui.softmax_text(e)))
        warning = ui.nan_rows_text(e)
        if warning:
            st.warning(t(warning))
            st.code(ui.SAFE_SOFTMAX, language="python")
        else:
            st.caption(t(N_("No row is fully masked here. A row with every entry removed (e.g. padding length 0) "
                            "would be all −inf, and its plain softmax 0/0 = NaN.")))
        plot(fig.softmax_probs(e, scale), key="softmax_probs")
        plot(fig.softmax_rows(view.softmax, scale), key="softmax_rows")
