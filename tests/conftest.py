"""Shared test setup: every test starts from the same random state."""
from __future__ import annotations

import pytest
import torch


@pytest.fixture(autouse=True)
def _seed() -> None:
    torch.manual_seed(0)


@pytest.fixture(autouse=True)
def _clear_page_caches(request):
    """Page tests start with empty Streamlit caches (their keys would otherwise carry over)."""
    if request.module.__name__.startswith("test_app_"):
        import streamlit as st

        st.cache_data.clear()
        st.cache_resource.clear()
    yield


def pytest_collection_modifyitems(config, items):
    """Browser tests share one xdist worker: Chromium and a Streamlit server per file are heavy on 2 cores."""
    for item in items:
        if item.get_closest_marker("browser"):
            item.add_marker(pytest.mark.xdist_group("browser"))


@pytest.fixture(scope="module")
def app_url():
    """A fresh app server per browser test file, on a free loopback port."""
    from browser_support import free_port, start_server

    proc = start_server(free_port())
    yield proc.url
    proc.terminate()
    proc.wait(timeout=20)


@pytest.fixture(scope="module")
def browser():
    """The system Chromium, headless, driven by Playwright."""
    from browser_support import CHROMIUM, CHROMIUM_ARGS, sync_api

    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()
