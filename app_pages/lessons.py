"""Lessons: one idea per card, a question for the class, and a link that opens the exact view."""
from __future__ import annotations

import streamlit as st

from vnviz.lessons import LESSONS, PAGES
from vnviz.ui.presenter import presenter_mode

presenter_mode()
st.title("Lessons")
st.markdown("Each lesson is one idea: read the paragraph, ask the class the question, then open the view. "
            "**present** opens it with big fonts and no sidebar, for a projector; every link can be shared.")


def open_links(lesson, container) -> None:
    """Open / present buttons: page links when the app's navigation knows the page, plain links otherwise."""
    left, right = container.columns(2)
    where = PAGES[lesson.page]
    for col, present, label, icon in ((left, False, f"open on {where}", ":material/open_in_new:"),
                                      (right, True, f"present on {where}", ":material/present_to_all:")):
        query = dict(lesson.query) | ({"present": "1"} if present else {})
        try:
            col.page_link(f"app_pages/{lesson.page.strip('/') or 'home'}.py", label=label, icon=icon, query_params=query)
        except st.errors.StreamlitAPIException:  # the page is not in the navigation (run alone, or not built yet)
            col.markdown(f"[{label}]({lesson.link(present)})")


for i in range(0, len(LESSONS), 2):
    for n, (col, lesson) in enumerate(zip(st.columns(2, gap="medium"), LESSONS[i : i + 2]), start=i + 1):
        with col.container(border=True):
            st.subheader(f"{n}. {lesson.title}")
            st.markdown(lesson.paragraph)
            st.info(f"**Ask:** {lesson.question}", icon=":material/help:")
            st.caption(f"**Look at:** {lesson.look_at}")
            open_links(lesson, st)
