"""Hostile and broken uploads through the Explore page: one sentence each, nothing lost, no code run.

The files come from the corpus of tests/test_uploads_hostile.py (which checks the
parser itself); here each is uploaded into a live page session, after a good
file, and the page must show exactly one error sentence naming the file, keep
showing the good data, and never execute a pickled payload.
"""
from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import numpy as np
import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

sys.path.insert(0, str(Path(__file__).resolve().parent))
import test_uploads_hostile as corpus  # noqa: E402

PAGE = str(Path(__file__).resolve().parents[1] / "app_pages" / "explore.py")
# every bomb, every pickle, and one in three of the rest: at least 40 files
CASES = [row[0] for i, row in enumerate(corpus.BAD_FILES)
         if row[0] in corpus.BOMBS or "pickle" in row[0] or row[0].startswith(("npy_object", "npz_object", "pt_"))
         or i % 3 == 0]


@pytest.fixture(scope="module")
def session():
    st.cache_data.clear()
    st.cache_resource.clear()
    at = AppTest.from_file(PAGE, default_timeout=120)
    at.query_params.update({"source": "upload", "variant": "batch_norm"})
    at.run()
    good = np.random.default_rng(0).normal(2, 3, size=(12, 4, 5)).astype(np.float32)
    buf = io.BytesIO()
    np.save(buf, good)
    at.file_uploader(key="upload_file").upload("good.npy", buf.getvalue()).run()
    assert not at.exception and not at.error
    return at, first_histogram(at)


def first_histogram(at: AppTest) -> list:
    return json.loads(at.get("plotly_chart")[0].proto.spec)["data"][0]["y"]


def test_corpus_is_large_enough():
    assert len(CASES) >= 40


@pytest.mark.parametrize("case", CASES)
def test_hostile_upload_is_one_sentence_and_keeps_the_data(session, case):
    at, good_hist = session
    filename, data = corpus.built(case)
    at.file_uploader(key="upload_file").upload(filename, data).run()
    assert not at.exception, [e.value for e in at.exception]
    errors = [e.value for e in at.error]
    assert len(errors) == 1, errors
    message = errors[0]
    assert "\n" not in message and "Traceback" not in message and len(message) < 400 + len(filename)
    assert "previous data is still in use" in message
    assert first_histogram(at) == good_hist  # what the user had is still there


@pytest.mark.parametrize("fmt", ["npy", "npz", "pt"])
def test_pickled_payload_never_runs_in_the_app(session, fmt, tmp_path):
    at, good_hist = session
    target = tmp_path / "pwned"
    filename, data = corpus.PAYLOADS[fmt](corpus.RunShell(target))
    at.file_uploader(key="upload_file").upload(filename, data).run()
    assert not target.exists()
    assert not at.exception
    assert any("never unpickles" in e.value for e in at.error)
    assert first_histogram(at) == good_hist
