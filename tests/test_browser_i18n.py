"""The app in Simplified Chinese in a real browser (issue 18): every page with lang=zh shows its title, navigation
and main text in Chinese, a bad upload is explained in Chinese with its quoted values, English stays the default,
the sidebar's switch changes the language and the link, and lang survives a page change.

Served by Streamlit and driven by Playwright in the system Chromium, as tests/test_browser.py.
Screenshots go to artifacts/i18n_*.png.
"""
from __future__ import annotations

import re

import pytest
from browser_support import shot

pytestmark = pytest.mark.browser
CJK = re.compile(r"[\u4e00-\u9fff]")
NAV_ZH = ("首页", "探索", "比较", "训练实验室", "课程", "切片与掩码", "聚类归一化", "轴检查")
NAV_EN = ("Home", "Explore", "Compare", "Training lab", "Lessons", "Slice & Mask", "ClusterNorm", "Axis check")
# page path -> (its title in Chinese, a sentence of its main text in Chinese, plotly charts to wait for)
PAGES = {
    "": ("vnviz：看看归一化做了什么", "每种归一化都给每个元素分配一个", 0),
    "explore": ("探索一种归一化", "所示：", 1),
    "compare": ("比较归一化", "输入（灰色）和每个输出（蓝色）的全部取值", 1),
    "train": ("训练实验室：归一化对正在学习的网络有什么作用", "要比较的归一化", 0),
    "lessons": ("课程", "每节课讲一个要点", 0),
    "slice_mask": ("对矩阵切片与掩码", "对 softmax 的影响", 1),
    "cluster_norm": ("聚类归一化：对每个样本簇做批量归一化", "批量归一化用整个批次的统计量对每个通道做归一化", 1),
    "axis_check": ("轴检查", "每个方块是画成三维的小张量", 1),
}


def _open(browser, url: str, charts: int = 0, height: int = 1600, locale: str = "en-US"):
    context = browser.new_context(viewport={"width": 1500, "height": height}, locale=locale)
    page = context.new_page()
    page.goto(url)
    page.wait_for_selector('[data-testid="stSidebarNav"]', timeout=90_000)
    if charts:
        page.wait_for_function(f"document.querySelectorAll('.js-plotly-plot .main-svg').length >= {charts}",
                               timeout=90_000)
    page.wait_for_selector("h1", timeout=90_000)
    page.wait_for_timeout(1200)
    return page


def _nav(page) -> str:
    return page.locator('[data-testid="stSidebarNav"]').inner_text()


def _main(page) -> str:
    return page.locator('[data-testid="stMain"]').inner_text()


@pytest.mark.parametrize("path", list(PAGES))
def test_every_page_in_chinese(browser, app_url, path):
    title, sentence, charts = PAGES[path]
    page = _open(browser, f"{app_url}/{path}?lang=zh", charts)
    try:
        assert page.locator("h1").first.inner_text().strip() == title
        nav = _nav(page)
        assert all(name in nav for name in NAV_ZH), nav
        assert not any(name in nav for name in NAV_EN if name != "ClusterNorm"), nav
        main = _main(page)
        assert sentence in main, main[:600]
        if charts:  # the charts speak Chinese too, in a font with Chinese glyphs
            texts = page.evaluate("[...document.querySelectorAll('.js-plotly-plot svg text')].map(t => "
                                  "[t.textContent, getComputedStyle(t).fontFamily])")
            chinese = [(words, family) for words, family in texts if CJK.search(words or "")]
            assert chinese, texts[:10]
            assert all("Noto Sans CJK SC" in family for _, family in chinese), [c for c in chinese if "Noto Sans CJK SC" not in c[1]][:3]
        assert "lang=zh" in page.url
        shot(page, f"i18n_{path or 'home'}", full=True)
    finally:
        page.context.close()


def test_english_is_the_default_and_the_browser_language_picks_chinese(browser, app_url):
    page = _open(browser, f"{app_url}/compare", 1)
    try:
        assert page.locator("h1").first.inner_text().strip() == "Compare normalizations"
        assert all(name in _nav(page) for name in NAV_EN) and not CJK.search(_nav(page))
        assert "lang=" not in page.url
    finally:
        page.context.close()
    page = _open(browser, f"{app_url}/compare", 1, locale="zh-CN")  # a Chinese browser, a link without lang
    try:
        assert page.locator("h1").first.inner_text().strip() == "比较归一化"
    finally:
        page.context.close()


def test_the_switch_changes_the_language_and_lang_survives_a_page_change(browser, app_url):
    page = _open(browser, f"{app_url}/lessons")
    try:
        assert page.locator("h1").first.inner_text().strip() == "Lessons"
        page.locator('[data-testid="stSidebar"] [data-testid="stRadio"] label').filter(has_text="zh").click()
        page.wait_for_function("document.querySelector('h1') && document.querySelector('h1').innerText === '课程'",
                               timeout=60_000)
        page.wait_for_timeout(800)
        assert "lang=zh" in page.url
        page.locator('[data-testid="stSidebarNav"] a').filter(has_text="比较").click()
        page.wait_for_function("document.querySelector('h1') && document.querySelector('h1').innerText === "
                               "'比较归一化'", timeout=90_000)
        page.wait_for_timeout(800)
        assert "lang=zh" in page.url and "/compare" in page.url
    finally:
        page.context.close()


def test_a_bad_upload_is_explained_in_chinese(browser, app_url, tmp_path):
    page = _open(browser, f"{app_url}/explore?lang=zh&source=upload")
    try:
        page.locator('[data-testid="stFileUploaderDropzoneInput"]').first.set_input_files(
            files=[{"name": "table.csv", "mimeType": "text/csv", "buffer": b"1,2,3\n4,5\n"}])
        error = page.locator('[data-testid="stAlertContentError"]').first
        error.wait_for(timeout=60_000)
        text = error.inner_text()
        assert CJK.search(text) and "'table.csv'" in text and "2 个单元格" in text, text
        assert "table.csv：" in text  # the file's name, then the sentence, with Chinese punctuation
        shot(page, "i18n_bad_upload")
    finally:
        page.context.close()


@pytest.mark.parametrize("query", ["variant=group_norm&num_groups=5", "tab=Follow+one+element&element=1,0,2,3"])
def test_a_link_the_page_corrects_keeps_chinese(browser, app_url, query):
    # the page rewrites such a link (a value that does not fit, a tab named in English); the language is bound to
    # the sidebar's switch, drawn before the page, and the rewrite must leave it alone (it raised here once)
    page = _open(browser, f"{app_url}/explore?lang=zh&{query}", 1)
    try:
        assert not page.locator('[data-testid="stException"]').count()
        assert page.locator("h1").first.inner_text().strip() == PAGES["explore"][0]
        assert "lang=zh" in page.url and "num_groups=5" not in page.url and "Follow" not in page.url
    finally:
        page.context.close()
