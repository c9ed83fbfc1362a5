"""Lessons: at least eight, every link one its page accepts, every lesson opens cleanly on its page."""
from __future__ import annotations

import importlib
import importlib.util
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from vnviz.errors import InputError
from vnviz.lessons import LESSONS, PAGES, Lesson, lesson
from vnviz.variants.registry import VARIANTS, Param

ROOT = Path(__file__).resolve().parents[1]
TIMEOUT = 120
AXIS_CHECK_KEYS = ("layout", "variant", "example")  # the Axis check page's link keys, as agreed (page not built yet)


def as_tuples(query) -> dict[str, tuple[str, ...]]:
    """A query (a dict whose tuple values are repeated keys, or a query string) as key -> every value."""
    if isinstance(query, str):
        out: dict[str, tuple[str, ...]] = {}
        for k, v in parse_qsl(query):
            out[k] = out.get(k, ()) + (v,)
        return out
    return {k: v if isinstance(v, tuple) else (v,) for k, v in query.items()}


def page_file(page: str) -> Path:
    return ROOT / "app_pages" / f"{page.strip('/') or 'home'}.py"


PAGE_MODULES = {"/explore": "explore", "/compare": "compare", "/cluster_norm": "cluster", "/slice_mask": "slice_mask",
                "/axis_check": "axis_check"}


def accepted(page: str, query: dict[str, str]) -> dict[str, Param] | None:
    """The Params a page reads from its link, given the link (the variant decides some), from the page's own
    declaration (``vnviz.ui.<page>.PAGE``, the training lab's ``link_params``); None: keys only known."""
    if page == "/train":
        from vnviz.train.views import link_params

        read = dict(link_params())
    elif page not in PAGE_MODULES:
        read = {}
    else:
        spec = importlib.util.find_spec(f"vnviz.ui.{PAGE_MODULES[page]}")
        module = importlib.import_module(f"vnviz.ui.{PAGE_MODULES[page]}") if spec else None
        declared = getattr(module, "PAGE", None)
        if declared is None:
            return None
        raw = declared.legacy(dict(query)) if declared.legacy else dict(query)
        read = declared.params(raw)
    return read


def test_at_least_eight_lessons_with_everything_filled_in():
    assert len(LESSONS) >= 8
    assert len({item.slug for item in LESSONS}) == len(LESSONS)
    for item in LESSONS:
        assert isinstance(item, Lesson) and item.page in PAGES
        assert item.title and item.paragraph.endswith(".") and item.question.endswith("?") and item.look_at
        assert "present" not in item.query
        with pytest.raises(Exception):
            item.title = "changed"  # frozen: a lesson is a value
    pages = {item.page for item in LESSONS}
    assert {"/explore", "/compare", "/cluster_norm", "/slice_mask", "/axis_check"} <= pages


@pytest.mark.parametrize("item", LESSONS, ids=lambda item: item.slug)
def test_every_link_is_valid_for_its_page(item: Lesson):
    query = dict(item.query)
    params = accepted(item.page, query)
    if params is None:
        assert set(query) <= set(AXIS_CHECK_KEYS), query
        if "variant" in query:
            assert query["variant"] in VARIANTS
        return
    unknown = set(query) - set(params)
    assert not unknown, f"{item.slug}: {item.page} does not read {sorted(unknown)}"
    for key, texts in query.items():
        for text in texts if isinstance(texts, tuple) else (texts,):  # a tuple: a repeated key (norms=a&norms=b)
            try:
                params[key].from_text(text)
            except InputError as err:
                pytest.fail(f"{item.slug}: {key}={text!r} is not valid on {item.page}: {err}")


@pytest.mark.parametrize("item", LESSONS, ids=lambda item: item.slug)
def test_link_text_round_trips(item: Lesson):
    url = urlsplit(item.link())
    assert url.path == item.page
    assert as_tuples(url.query) == as_tuples(item.query)  # a tuple value is a repeated key
    presented = dict(parse_qsl(urlsplit(item.link(present=True)).query))
    assert presented["present"] == "1" and set(presented) == set(item.query) | {"present"}
    assert "%2C" not in item.link()  # commas stay readable in a shared link


@pytest.fixture
def clean_caches():
    st.cache_data.clear()
    st.cache_resource.clear()
    yield


@pytest.mark.parametrize("item", LESSONS, ids=lambda item: item.slug)
def test_every_lesson_opens_cleanly_on_its_page(item: Lesson, clean_caches):
    path = page_file(item.page)
    if not path.exists():
        pytest.skip(f"{path.name} is not built yet")
    at = AppTest.from_file(str(path), default_timeout=TIMEOUT)
    at.query_params.update({k: list(v) if isinstance(v, tuple) else v for k, v in item.query.items()})
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    params = accepted(item.page, dict(item.query)) or {}
    notices = " ".join(e.value for e in at.info)
    for key, text in item.query.items():
        assert f"'{key}' is not used" not in notices and f"'{key}' does not apply" not in notices
        assert f"{key}=" not in notices  # no value was dropped or replaced
        if isinstance(text, tuple):  # a repeated key (the training lab's norms): the page kept every value
            kept = at.query_params.get(key, [])
            assert tuple(kept if isinstance(kept, list) else [kept]) == text, key
        elif key in params and key in at.query_params:  # the page kept the lesson's value (repeated keys for a list)
            kept = at.query_params[key]
            kept = ",".join(kept) if isinstance(kept, list) else kept
            assert params[key].from_text(kept) == params[key].from_text(text), key


def test_lesson_lookup():
    assert lesson("bn_batch_of_one").query["training"] == "false"
    with pytest.raises(KeyError):
        lesson("nope")


def test_lessons_page_lists_every_lesson_with_links(clean_caches):
    at = AppTest.from_file(str(page_file("/lessons")), default_timeout=TIMEOUT).run()
    assert not at.exception and not at.error
    subheaders = [s.value for s in at.subheader]
    assert subheaders == [f"{i}. {item.title}" for i, item in enumerate(LESSONS, start=1)]
    asks = [i.value for i in at.info if i.value.startswith("**Ask:**")]
    assert len(asks) == len(LESSONS)
    links = [m.value for m in at.markdown if m.value.startswith("[")]
    for item in LESSONS:  # alone under AppTest there is no navigation: the plain-link fallback is used
        assert any(f"({item.link(present=True)})" in m for m in links), item.slug
        assert any(f"({item.link()})" in m for m in links), item.slug


def test_lessons_page_in_the_app_uses_page_links(clean_caches):
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT)
    at.switch_page("app_pages/lessons.py").run()
    assert not at.exception and not at.error
    links = [(p.proto.page, p.proto.label, as_tuples(p.proto.query_string)) for p in at.get("page_link")]
    for item in LESSONS:
        where = PAGES[item.page]
        if not page_file(item.page).exists():  # not in the navigation yet: a plain link instead
            assert any(f"({item.link(present=True)})" in m.value for m in at.markdown), item.slug
            continue
        path = item.page.strip("/")
        assert (path, f"open on {where}", as_tuples(item.query)) in links, item.slug
        assert (path, f"present on {where}", as_tuples(item.query) | {"present": ("1",)}) in links, item.slug


def test_home_in_presenter_mode(clean_caches):
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT)  # home's page_link needs the navigation
    at.query_params["present"] = "1"
    at.run()
    assert not at.exception
    assert any(b.label == "exit presenter mode" for b in at.button)
    assert not any(t.label == "presenter mode" for t in at.sidebar.toggle)


@pytest.mark.parametrize("page", ["/lessons", "/explore"])
def test_presenter_mode_sets_the_scale(page, clean_caches):
    at = AppTest.from_file(str(page_file(page)), default_timeout=TIMEOUT)
    at.query_params["present"] = "1"
    at.run()
    assert not at.exception
    assert not any("present" in e.value for e in at.info)  # no "unknown key" notice
    assert any(b.label == "exit presenter mode" for b in at.button)
    plain = AppTest.from_file(str(page_file(page)), default_timeout=TIMEOUT).run()
    assert any(t.label == "presenter mode" for t in plain.sidebar.toggle)
    if page == "/explore":  # the figures are drawn at the presenter scale, and only then
        import json

        big = [json.loads(c.proto.spec)["layout"]["font"]["size"] for c in at.get("plotly_chart")]
        small = [json.loads(c.proto.spec)["layout"]["font"]["size"] for c in plain.get("plotly_chart")]
        assert big and set(big) == {int(14 * 1.6)} and set(small) == {14}


def test_explore_lesson_in_presenter_mode_draws_big_figures(clean_caches):
    item = lesson("in_removes_contrast")
    at = AppTest.from_file(str(page_file(item.page)), default_timeout=TIMEOUT)
    at.query_params.update(dict(item.query) | {"present": "1"})
    at.run()
    assert not at.exception and not at.error
    assert at.query_params["present"] == "1" and at.query_params["variant"] == "instance_norm"
    assert at.title[0].value == "InstanceNorm on Image-like fields (16, 3, 32, 32)"  # the title says what is shown
    import json

    spec = json.loads(at.get("plotly_chart")[0].proto.spec)
    assert spec["layout"]["font"]["size"] == int(14 * 1.6)
