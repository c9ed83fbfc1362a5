"""The language switch under AppTest (issue 18): link key ``lang``, English by default, the sidebar's radio, lang kept
across page changes and in the lessons' links, and the library's sentences shown in the chosen language."""
from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import parse_qs

import apptest_support as support
from streamlit.testing.v1 import AppTest

from vnviz.i18n import translate
from vnviz.lessons import LESSONS, PAGES
from vnviz.ui.lang import LANG

ROOT = Path(__file__).resolve().parents[1]
CJK = re.compile(r"[\u4e00-\u9fff]")


def app(query: dict | None = None, page: str | None = None) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=support.TIMEOUT)
    if query:
        at.query_params.update(query)
    if page:
        at.switch_page(f"app_pages/{page}.py")
    return at.run()


def switch(at: AppTest) -> object:
    return next(r for r in at.sidebar.radio if r.key == LANG)


def test_english_is_the_default():
    at = app()
    support.assert_clean(at)
    assert switch(at).value == "en"
    assert at.title[0].value == "vnviz: see what a normalization does"
    assert LANG not in dict(at.query_params.items())


def test_a_link_with_lang_zh_opens_in_chinese():
    at = app({LANG: "zh"}, "compare")
    support.assert_clean(at)
    assert switch(at).value == "zh"
    assert at.title[0].value == translate("Compare normalizations", "zh") == "比较归一化"
    assert all(CJK.search(s.value) for s in at.subheader)
    assert dict(at.query_params.items())[LANG] == "zh"


def test_the_switch_changes_the_language_and_writes_the_link():
    at = app(page="lessons")
    assert at.title[0].value == "Lessons"
    switch(at).set_value("zh").run()
    support.assert_clean(at)
    assert at.title[0].value == "课程"  # (the browser writes lang=zh to the URL: tests/test_browser_i18n.py)
    switch(at).set_value("en").run()
    assert at.title[0].value == "Lessons"


def test_lang_survives_page_changes():
    at = app({LANG: "zh"}, "explore")
    support.assert_clean(at)
    for page, title in (("compare", "比较归一化"), ("axis_check", "轴检查"), ("home", "vnviz：看看归一化做了什么"),
                        ("explore", "探索一种归一化")):
        kept = {k: v for k, v in at.query_params.items() if k == LANG}  # the sidebar keeps its app-wide keys
        at.query_params.clear()
        at.query_params.update(kept)
        at.switch_page(f"app_pages/{page}.py").run()
        support.assert_clean(at)
        assert at.title[0].value == title, page
        assert switch(at).value == "zh"
        assert dict(at.query_params.items()).get(LANG) == "zh", page


def test_lesson_links_keep_the_language():
    at = app({LANG: "zh"}, "lessons")
    support.assert_clean(at)
    links = [(p.proto.page, p.proto.label, parse_qs(p.proto.query_string)) for p in at.get("page_link")]
    assert len(links) == 2 * len(LESSONS)
    for page, label, query in links:
        assert query.get(LANG) == ["zh"], (page, query)
        assert CJK.search(label), label
    first = LESSONS[0]
    assert (first.page.strip("/"), f"在{translate(PAGES[first.page], 'zh')}中演示") in {(p, l) for p, l, _ in links}
    english = app(page="lessons")  # no lang: the links are the lessons' own
    assert all(LANG not in parse_qs(p.proto.query_string) for p in english.get("page_link"))


def test_a_bad_value_in_the_link_is_explained_in_chinese():
    at = support.open_page(str(ROOT / "app_pages" / "explore.py"), {LANG: "zh", "eps": "-1"})
    assert not at.exception
    notices = [i.value for i in at.info]
    assert any("eps" in n and "-1" in n and "链接" in n for n in notices), notices  # the value quoted, "link" too


def test_an_impossible_parameter_is_explained_in_chinese():
    at = support.open_page(str(ROOT / "app_pages" / "compare.py"),
                           {LANG: "zh", "variants": ["batch_norm"], "shape": "1,4"})
    assert not at.exception
    shown = [w.value for w in at.warning] + [e.value for e in at.error]
    assert shown and all(CJK.search(s) for s in shown), shown
