"""The sidebar widgets the pages share: where to compute, and the seed.

A page calls ``device_picker()`` (not in the link: a link opened elsewhere must not ask for a device
that machine lacks; kept for the session with ``persist_state``) and ``seed_picker()`` (linked as
``seed``). Both keep one value for the whole session, whichever page draws them.
"""
from __future__ import annotations

import streamlit as st

from vnviz.device import DEVICE_CHOICES, available_devices
from vnviz.i18n import N_, Msg
from vnviz.ui import state
from vnviz.ui.lang import t
from vnviz.ui.widgets import linked
from vnviz.variants.registry import Param

DEVICE = Param("device", "choice", "auto", N_("Where to compute: auto picks CUDA, then MPS, then the CPU."),
               choices=DEVICE_CHOICES)
SEED = Param("seed", "int", 0, N_("Seed of the generator (same seed, same data)."), low=0, high=2**31 - 1)


def device_picker() -> str:
    """The sidebar's device choice: auto / cuda / mps / cpu, marking what this machine lacks."""
    have = available_devices()

    def label(d: str) -> str:
        if d == "auto":
            return f"auto ({have[0]})"
        return d if d in have else t(Msg("{device} (not available here)", device=d))

    with state.app_wide():  # one device for the whole app, kept while a page without it is shown
        return st.sidebar.selectbox(t(N_("device")), list(DEVICE_CHOICES), key="device", help=t(DEVICE.help),
                                    format_func=label, persist_state="session")


def seed_picker(help: str = SEED.help) -> int:
    """The sidebar's seed box (link key ``seed``)."""
    return int(linked(SEED, help=help, container=st.sidebar))
