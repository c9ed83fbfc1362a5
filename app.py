"""vnviz: the entry point. Page config once, then navigation over app_pages/."""
from __future__ import annotations

import streamlit as st

from vnviz.i18n import N_
from vnviz.ui.lang import language_switch, t
from vnviz.ui.compute import freeze_imports, server_threads
from vnviz.ui.state import note_page

server_threads()  # torch on half the CPU cores: the server's sessions and the browser share them
st.set_page_config(page_title="vnviz", page_icon=":material/stacked_bar_chart:", layout="wide")

language_switch()  # before the navigation: its titles are in the chosen language
pages = [
    st.Page("app_pages/home.py", title=t(N_("Home")), icon=":material/home:", url_path="", default=True),
    st.Page("app_pages/explore.py", title=t(N_("Explore")), icon=":material/insights:", url_path="explore"),
    st.Page("app_pages/compare.py", title=t(N_("Compare")), icon=":material/view_column:", url_path="compare"),
    st.Page("app_pages/train.py", title=t(N_("Training lab")), icon=":material/model_training:", url_path="train"),
    st.Page("app_pages/lessons.py", title=t(N_("Lessons")), icon=":material/school:", url_path="lessons"),
    st.Page("app_pages/slice_mask.py", title=t(N_("Slice & Mask")), icon=":material/grid_on:", url_path="slice_mask"),
    st.Page("app_pages/cluster_norm.py", title=t(N_("ClusterNorm")), icon=":material/bubble_chart:", url_path="cluster_norm"),
    st.Page("app_pages/axis_check.py", title=t(N_("Axis check")), icon=":material/straighten:", url_path="axis_check"),
]
page = st.navigation(pages)
note_page(page.url_path)
try:
    page.run()
finally:  # also when the page stops or reruns early
    freeze_imports()  # the garbage collection Streamlit runs after every run then skips the imports' objects
