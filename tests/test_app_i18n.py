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


def _explore(query: dict) -> AppTest:
    at = support.open_page(str(ROOT / "app_pages" / "explore.py"), query)
    support.assert_clean(at)
    return at


def _chart_texts(spec: dict) -> list[str]:
    layout = spec["layout"]
    return [layout["title"]["text"], *(a["text"] for a in layout.get("annotations", ())),
            *(t.get("name", "") for t in spec["data"])]


def test_the_inspector_speaks_chinese_and_its_english_is_unchanged():
    query = {"tab": "Follow one element", "variant": "batch_norm", "step": "2", "element": "1,2,3,4"}
    en, zh = _explore(query), _explore({**query, LANG: "zh", "tab": "跟随一个元素"})
    assert [b.label for b in en.button][:2] == ["previous", "next"]
    assert [b.label for b in zh.button][:2] == ["上一步", "下一步"]
    [en_chart], [zh_chart] = support.charts(en), support.charts(zh)
    assert _chart_texts(en_chart)[:3] == ["Step 2 of 5: Its mean", "x, sample 1", "statistic groups, sample 1"]
    assert _chart_texts(zh_chart)[:3] == ["第 2 步（共 5 步）：它的均值", "x，样本 1", "统计组，样本 1"]
    assert zh_chart["layout"]["yaxis"]["title"]["text"] == "通道（第 1 维）"
    cells = zh_chart["data"][-1]
    assert cells["hovertemplate"] == en_chart["data"][-1]["hovertemplate"]  # x[%{customdata[0]}, ...]: no words
    assert cells["text"][0].endswith(en_chart["data"][-1]["text"][0].split(", group ")[1]) and "，组 " in cells["text"][0]
    boxed = [c.value for c in zh.caption if c.value.startswith("x[1, 2, 3, 4] 已框出")]
    assert boxed and CJK.search(boxed[0])
    assert any(s.value.startswith("y = ") and "与输出一致" in s.value for s in zh.success)


def test_compute_in_and_the_precision_view_speak_chinese():
    query = {"source": "heavy_tailed", "variant": "layer_norm", "compute_in": "float16"}
    en, zh = _explore(query), _explore({**query, LANG: "zh"})
    assert en.selectbox(key="compute_in").label == "compute in" and zh.selectbox(key="compute_in").label == "计算精度"
    assert any(c.value.startswith("Computing in float16: the float32 data is cast") for c in en.caption)
    assert any(c.value.startswith("以 float16 计算：float32 数据") for c in zh.caption)
    assert any(m.value.startswith("**精度：float16 下的层归一化**（由 float32 转换而来）") for m in zh.markdown)
    en_spec, zh_spec = (support.charts(at)[0] for at in (en, zh))  # the precision view is above the tabs
    assert _chart_texts(en_spec)[0].startswith("LayerNorm in float16: max error ")
    assert _chart_texts(zh_spec)[0].startswith("float16 下的层归一化：最大误差 ")
    assert [t["name"] for t in zh_spec["data"]] == ["原样数据", "仅内核（数据先舍入）", "最差的组", "输出"]
    assert "为什么 torch 的 autocast 以 float32 运行 layer_norm 和 group_norm" in [e.label for e in zh.expander]


def test_a_bfloat16_download_is_labelled_in_chinese():
    at = _explore({"compute_in": "bfloat16", LANG: "zh", "tab": "分享与导出"})
    labels = [e.proto.label for e in at.get("download_button")]
    assert "输出（.pt，bfloat16）" in labels
    assert any(c.value.startswith("numpy 的 .npy 没有 bfloat16") for c in at.caption)


def test_explores_tab_opens_by_its_label_in_either_language():
    # a link shared across languages: the tabs show only this language's labels, the link's is rewritten
    for tab in ("Follow one element", "跟随一个元素"):
        at = _explore({LANG: "zh", "tab": tab})
        assert support.link(at)["tab"] == "跟随一个元素"
        assert [b.label for b in at.button][:2] == ["上一步", "下一步"]  # the inspector is the tab drawn
    at = _explore({"tab": "验证"})  # and the other way round
    assert support.link(at)["tab"] == "Verification" and "tab" in support.link(at)
    assert any(m.value.startswith(":green[**Verified**]") for m in at.markdown)


def test_a_language_switch_keeps_the_open_tab():
    at = app({"tab": "Verification"}, page="explore")
    support.assert_clean(at)
    switch(at).set_value("zh").run()
    support.assert_clean(at)
    assert at.session_state["tab"] == "验证"
    assert any(m.value.startswith(":green[**已验证**]") for m in at.markdown)


def test_compares_tab_opens_by_its_label_in_either_language_and_a_switch_keeps_it():
    small = {"shape": "8,4,6,6"}
    at = support.open_page(str(ROOT / "app_pages" / "compare.py"), {**small, LANG: "zh", "section": "Equivalences"})
    support.assert_clean(at)
    assert support.link(at)["section"] == "等价关系" and len(support.charts(at)) == 5
    at = app({**small, "section": "Per-axis statistics"}, page="compare")
    support.assert_clean(at)
    switch(at).set_value("zh").run()
    support.assert_clean(at)
    assert at.session_state["section"] == "逐轴统计量"
    assert len(support.charts(at)) == 1 and "yaxis4" in support.charts(at)[0]["layout"]  # the per-axis grid's rows
