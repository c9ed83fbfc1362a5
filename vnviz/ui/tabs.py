"""A page's tabs, bound to its link, with only the open one drawn (Explore's and Compare's).

The tabs are ``st.tabs(..., key=..., bind="query-params")``: the link names the open tab by its shown
label (``tab=Per-axis+statistics``), Streamlit reruns the page when another one is picked, and each
tab knows whether it is open (``.open``). ``LinkedTabs.draw`` draws only that one: a closed tab's
figures are neither computed, built nor sent, and the browser draws only what is seen.

The labels are translated, and the tabs know only the labels they show: a link's label in another
language is rewritten on arrival (``legacy``, a page's ``Page.legacy`` step), and the session's
after a language switch (``tabs``).
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import streamlit as st

from vnviz.i18n import N_
from vnviz.ui import state
from vnviz.ui.lang import in_every_language, t
from vnviz.variants.registry import Param


class LinkedTabs:
    """Tabs with the marked ``labels`` (the first open by default), their open one in the link under ``key``."""

    def __init__(self, labels: tuple[str, ...], key: str = "tab") -> None:
        self.labels = labels
        self.param = Param(key, "choice", labels[0], N_("The tab shown."), choices=in_every_language(labels))

    @property
    def key(self) -> str:
        return self.param.name

    def here(self, value: Any) -> Any:
        """The label, in this run's language, of the tab whose label ``value`` is in either language (else ``value``)."""
        if isinstance(value, str):
            for x in self.labels:
                if value in in_every_language((x,)):
                    return t(x)
        return value

    def legacy(self, raw: dict[str, Any]) -> dict[str, Any]:
        """``raw`` (a link) with its open tab's label in this run's language: a link shared across languages
        (``lang=zh&tab=Verification``) is rewritten (one rerun)."""
        if self.key in raw:
            raw[self.key] = self.here(raw[self.key])
        return raw

    def tabs(self) -> list[Any]:
        """The tabs, drawn app-wide (``state.app_wide``: the open one is kept while another page is shown)."""
        labels = [t(x) for x in self.labels]
        if st.session_state.get(self.key) not in (None, *labels):  # after a language switch
            st.session_state[self.key] = self.here(st.session_state[self.key])
        with state.app_wide():
            return st.tabs(labels, key=self.key, bind="query-params")

    def draw(self, views: Mapping[str, Callable[[], None]]) -> str:
        """Draw the tabs, and inside the open one its view: ``views`` maps each label to its drawing.

        A new view is one more label and one more entry in ``views``. Returns the open tab's label.
        """
        missing = set(self.labels) ^ set(views)
        if missing:
            raise ValueError(f"views and tab labels differ: {sorted(missing)}")
        shown = self.labels[0]
        for label, tab in zip(self.labels, self.tabs()):
            if tab.open is False:  # None: the tabs do not track state (they always do here): draw it
                continue
            shown = label
            with tab:
                views[label]()
        return shown
