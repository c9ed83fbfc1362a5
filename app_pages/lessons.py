"""Lessons: one idea per card, a question for the class, and a link that opens the exact view."""
from __future__ import annotations

from urllib.parse import urlencode

import streamlit as st

from vnviz.i18n import N_, Msg
from vnviz.lessons import LESSONS, PAGES
from vnviz.ui.lang import link_query, t
from vnviz.ui.presenter import presenter_mode

presenter_mode()
st.title(t(N_("Lessons")))
st.markdown(t(N_("Each lesson is one idea: read the paragraph, ask the class the question, then open the view. "
                 "**present** opens it with big fonts and no sidebar, for a projector; every link can be shared.")))


def open_links(lesson, container) -> None:
    """Open / present buttons: page links when the app's navigation knows the page, plain links otherwise.

    The links keep the app's language (``lang``)."""
    left, right = container.columns(2)
    where = PAGES[lesson.page]
    for col, present, label, icon in ((left, False, Msg("open on {page}", page=where), ":material/open_in_new:"),
                                      (right, True, Msg("present on {page}", page=where),
                                       ":material/present_to_all:")):
        query = link_query(dict(lesson.query) | ({"present": "1"} if present else {}))
        try:
            col.page_link(f"app_pages/{lesson.page.strip('/') or 'home'}.py", label=t(label), icon=icon,
                          query_params=query)
        except st.errors.StreamlitAPIException:  # the page is not in the navigation (run alone, or not built yet)
            url = f"{lesson.page}?{urlencode(query, doseq=True, safe=',:-')}" if query else lesson.page
            col.markdown(f"[{t(label)}]({url})")


for i in range(0, len(LESSONS), 2):
    for n, (col, lesson) in enumerate(zip(st.columns(2, gap="medium"), LESSONS[i : i + 2]), start=i + 1):
        with col.container(border=True):
            st.subheader(f"{n}. {t(lesson.title)}")
            st.markdown(t(lesson.paragraph))
            st.info(t(Msg("**Ask:** {question}", question=lesson.question)), icon=":material/help:")
            st.caption(t(Msg("**Look at:** {where}", where=lesson.look_at)))
            open_links(lesson, st)
