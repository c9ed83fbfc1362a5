"""Translations (issue 18): the catalogs are complete and in step with the code, Msg is a str in English and
translates with its values, InputError keeps its English sentence and shows it in Chinese."""
from __future__ import annotations

import ast
import importlib.util
import pickle
import re
import string
from pathlib import Path

import pytest
import torch
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

import vnviz
from vnviz.errors import InputError
from vnviz.i18n import LANGUAGES, Msg, N_, gettext, ngettext, pick_lang, plural_msg, translate

ROOT = Path(__file__).resolve().parents[1]
LOCALE = ROOT / "vnviz" / "locale"
POT = LOCALE / "vnviz.pot"
CJK = re.compile(r"[\u4e00-\u9fff]")
MARKERS = {"N_", "Msg", "InputError", "plural_msg"}  # scripts/i18n.py KEYWORDS, by name


def _script():
    spec = importlib.util.spec_from_file_location("i18n_script", ROOT / "scripts" / "i18n.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _read_po(path: Path):
    with open(path, "rb") as f:
        return read_po(f)


def _ids(cat) -> set:
    return {m.id for m in cat if m.id}


def _fields(text: str) -> list[str]:
    """The {fields} of a template, with conversion and spec, sorted: "{got}", "{max:.6g}", "{name!r:.40}"."""
    out = []
    for _, name, spec, conv in string.Formatter().parse(text):
        if name is not None:
            out.append("{" + name + (f"!{conv}" if conv else "") + (f":{spec}" if spec else "") + "}")
    return sorted(out)


@pytest.fixture(scope="module")
def zh():
    return _read_po(LOCALE / "zh" / "LC_MESSAGES" / "vnviz.po")


# -- the catalogs ------------------------------------------------------------------------------------


def test_pot_is_up_to_date_with_the_code(tmp_path):
    script = _script()
    fresh = tmp_path / "fresh.pot"
    script.pybabel(script.extract_args(fresh))
    missing = _ids(_read_po(fresh)) - _ids(_read_po(POT))
    stale = _ids(_read_po(POT)) - _ids(_read_po(fresh))
    assert not missing and not stale, (
        f"vnviz/locale/vnviz.pot is out of date: {len(missing)} new msgid(s) (e.g. {sorted(map(str, missing))[:3]}), "
        f"{len(stale)} gone; run `python scripts/i18n.py all` and translate the new ones")


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_catalog_has_the_templates_msgids(lang):
    po = _read_po(LOCALE / lang / "LC_MESSAGES" / "vnviz.po")
    assert _ids(po) == _ids(_read_po(POT)), f"{lang}'s vnviz.po is not updated from the .pot (scripts/i18n.py update)"


def test_every_msgid_has_a_chinese_translation(zh):
    untranslated = [m.id for m in zh if m.id and (m.fuzzy or not all(m.string if isinstance(m.string, tuple)
                                                                      else (m.string,)))]
    assert not untranslated, f"{len(untranslated)} msgid(s) without a zh translation (or fuzzy): {untranslated[:5]}"
    assert len(_ids(zh)) > 700  # the library's sentences, not a stub


def test_translations_keep_exactly_the_placeholders(zh):
    bad = []
    for m in zh:
        if not m.id:
            continue
        ids = m.id if isinstance(m.id, tuple) else (m.id,)
        want = sorted(set(f for i in ids for f in _fields(i)))
        strings = m.string if isinstance(m.string, tuple) else (m.string,)
        for s in strings:
            if sorted(set(_fields(s))) != want:
                bad.append((ids[0], s))
    assert not bad, f"translations whose {{fields}} differ from their msgid: {bad[:3]}"


def test_chinese_translations_are_chinese(zh):
    """Every translation that says something in words is written in Chinese (code, formulas and names may stay)."""
    def words(text):
        return len(re.findall(r"[a-z]{3,}", re.sub(r"\{[^{}]*\}", "", text)))

    english = [m.id for m in zh if m.id and not isinstance(m.id, tuple) and words(m.id) >= 4
               and not CJK.search(m.string)]
    assert not english, f"zh msgstrs left in English: {english[:5]}"


@pytest.mark.parametrize("lang", LANGUAGES)
def test_compiled_mo_matches_its_po(lang):
    folder = LOCALE / lang / "LC_MESSAGES"
    po = _read_po(folder / "vnviz.po")
    with open(folder / "vnviz.mo", "rb") as f:
        mo = read_mo(f)
    def key(value):
        return tuple(value) if isinstance(value, (list, tuple)) else value

    want = {key(m.id): key(m.string) for m in po if m.id and not m.fuzzy and m.string and all(
        m.string if isinstance(m.string, tuple) else (m.string,))}
    got = {key(m.id): key(m.string) for m in mo if m.id}
    identity = {k: v for k, v in got.items() if k not in want and v == k}  # Babel writes an untranslated plural so
    assert {k: v for k, v in got.items() if k not in identity} == want, (
        f"{lang}'s vnviz.mo is older than its .po: run `python scripts/i18n.py compile`")


def test_no_msgid_reads_as_a_percent_format():
    """A msgid with "% o" or "90% first" is flagged python-format by the gettext tools, and its translation then
    fails their check: write the sign as a value ({pct} with pct="%")."""
    flagged = [m.id for m in _read_po(POT) if m.id and "python-format" in m.flags]
    assert not flagged, flagged


def _marked_calls():
    paths = [*(ROOT / "vnviz").rglob("*.py"), *(ROOT / "app_pages").glob("*.py"), ROOT / "app.py"]
    for path in sorted(paths):
        rel = path.relative_to(ROOT)
        if rel.name == "i18n.py":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and node.args:
                f = node.func
                name = f.id if isinstance(f, ast.Name) else f.attr if isinstance(f, ast.Attribute) else None
                if name in MARKERS:
                    yield f"{rel}:{node.lineno}", name, node


def test_marked_templates_are_literals_with_their_values():
    """A template the catalogs can hold: a string literal (no f-string, +, % or .format), and its {fields} are
    exactly the keyword values of the call; a ready Msg (a name) may be passed on without values."""
    bad, count = [], 0
    for where, name, node in _marked_calls():
        count += 1
        first = node.args[0]
        if isinstance(first, ast.Call) and ast.unparse(first) == "str(message)":
            continue  # errors.py: InputError(message, **values) formats the template it is given
        if not (isinstance(first, ast.Constant) and isinstance(first.value, str)):
            if isinstance(first, (ast.Name, ast.Attribute, ast.Subscript, ast.Call)) and not node.keywords:
                continue  # a Msg built elsewhere
            if name == "Msg" and isinstance(first, ast.Name):
                continue  # Msg(sentence, ...): a template marked where it is written (datasets' N_ sentences)
            bad.append(f"{where}: {ast.unparse(first)[:60]}")
            continue
        if name == "N_":
            continue
        fields = {f.strip("{}").split("!")[0].split(":")[0] for f in _fields(first.value)}
        if name == "plural_msg":
            fields |= {f.strip("{}").split("!")[0].split(":")[0] for f in _fields(node.args[1].value)}
        kw = {k.arg for k in node.keywords}
        if None in kw:
            continue  # **values
        if fields != kw and (fields or kw):
            bad.append(f"{where}: fields {sorted(fields)}, values {sorted(kw)}")
    assert count > 700
    assert not bad, bad[:5]


# -- the mechanism -------------------------------------------------------------------------------------


def test_pick_lang():
    assert pick_lang("zh") == pick_lang("zh-CN") == pick_lang("zh_Hans_CN") == pick_lang("ZH-tw") == "zh"
    assert pick_lang("en-US") == pick_lang(None) == pick_lang("fr") == pick_lang(3) == "en"


def test_msg_is_the_english_str_and_translates_with_its_values():
    m = Msg("GroupNorm: num_groups must divide the {channels} channels evenly (allowed: {listed}); got {got}.",
            channels=6, listed="1, 2, 3, 6", got="4")
    english = "GroupNorm: num_groups must divide the 6 channels evenly (allowed: 1, 2, 3, 6); got 4."
    assert m == english and isinstance(m, str) and hash(m) == hash(english)
    assert f"{m}" == english and type(str(m)) is str and m.upper() == english.upper()
    assert m.template.startswith("GroupNorm: num_groups must divide the {channels}")
    assert m.values == {"channels": 6, "listed": "1, 2, 3, 6", "got": "4"}
    assert m.translate("en") == english
    assert m.translate("zh") == "组归一化：num_groups 必须能整除 6 个通道（可选：1, 2, 3, 6）；当前为 4。"
    assert translate(m, "zh") == gettext("zh")(m) == m.translate("zh")


def test_values_that_are_msgs_translate_and_the_others_stay():
    m = Msg("{where}: {name} must be {kind}; got {got}.", where=N_("BatchNorm"), name="eps", kind=N_("a number"),
            got="'x'")
    assert m == "BatchNorm: eps must be a number; got 'x'."
    assert m.translate("zh") == "批量归一化：eps 必须是数字；当前为 'x'。"


def test_constant_text_needs_no_escaped_braces():
    assert N_("x{not a field}") == "x{not a field}" and N_("x{not a field}").translate("zh") == "x{not a field}"
    assert translate("a string no catalog has", "zh") == "a string no catalog has"
    assert translate("", "zh") == "" and Msg("").translate("zh") == ""  # not the catalog's header
    assert translate(None, "zh") is None and translate(3, "zh") == 3


def test_plural_msg_and_ngettext():
    one, many = (plural_msg("{n:,} cell", "{n:,} cells", n, n=n) for n in (1, 1200))
    assert (one, many) == ("1 cell", "1,200 cells")
    assert one.translate("zh") == "1 个单元格" and many.translate("zh") == "1,200 个单元格"
    assert ngettext("{n} row", "{n} rows", 2, "en") == "{n} rows" and ngettext("{n} row", "{n} rows", 2, "zh") == "{n} 行"


def test_join_uses_each_languages_separators():
    sentences = Msg.join([N_("No normalization explains this output."), Msg("CPU ({n} threads)", n=2)])
    assert sentences == "No normalization explains this output. CPU (2 threads)"
    assert sentences.translate("zh") == "没有任何归一化能解释这个输出。CPU（2 个线程）"
    nouns = Msg.join(["weight float32", "bias float16"], " and ")
    clauses = Msg.join([N_("eps is missing"), N_("eps is missing")], " and ", clauses=True)
    assert nouns.translate("zh") == "weight float32 和 bias float16"
    assert clauses == "eps is missing and eps is missing" and clauses.translate("zh") == "缺少 eps，并且缺少 eps"
    assert Msg.join([]) == "" and Msg.join([]).translate("zh") == ""


def test_without_period_and_using():
    clause = Msg("{title} has no torch module.", title=N_("RMSNorm")).without_period()
    assert clause == "RMSNorm has no torch module" and clause.translate("zh") == "均方根归一化没有对应的 torch 模块"
    from vnviz.analysis.explain_words import render

    step = render("mean", {"sum": -1.5, "count": 3, "mean": -0.5})
    assert step == "Mean of the group: μ = −1.5 / 3 = −0.5." and step.translate("zh") == "组的均值：μ = −1.5 / 3 = −0.5。"


def test_msgs_survive_pickling_as_streamlits_caches_do():
    m = Msg.join([Msg("a {x} {{literal}}", x=N_("BatchNorm")), plural_msg("{n} row", "{n} rows", 2, n=2)], "; ")
    back = pickle.loads(pickle.dumps(m))
    assert type(back) is Msg and back == m and back.translate("zh") == m.translate("zh") == "a 批量归一化 {literal}；2 行"
    err = pickle.loads(pickle.dumps(InputError("{what} must hold finite values only.", what=N_("LayerNorm"))))
    assert str(err) == "LayerNorm must hold finite values only." and err.translate("zh") == "层归一化 只能包含有限值。"


def test_a_broken_translation_falls_back_to_english(monkeypatch):
    class Broken:
        def gettext(self, text):
            return "坏了 {missing}"

    import vnviz.i18n

    monkeypatch.setattr(vnviz.i18n, "catalog", lambda lang: Broken())
    m = Msg("{n} values", n=3)
    assert m.translate("zh") == "3 values"


# -- InputError: English for Python, translated in the app ---------------------------------------------


def test_group_norm_num_groups_in_both_languages():
    with pytest.raises(InputError) as info:
        vnviz.apply("group_norm", torch.randn(2, 6, 4), num_groups=4)
    err = info.value
    assert str(err) == "GroupNorm: num_groups must divide the 6 channels evenly (allowed: 1, 2, 3, 6); got 4."
    assert err.msg.values == {"channels": 6, "listed": "1, 2, 3, 6", "got": "4"}
    assert err.translate("zh") == translate(err, "zh") == "组归一化：num_groups 必须能整除 6 个通道（可选：1, 2, 3, 6）；当前为 4。"


def test_a_bad_upload_in_chinese_keeps_the_quoted_values():
    with pytest.raises(InputError) as info:
        vnviz.load_array(b"1,2,3\n4,5\n", "table.csv")
    err = info.value
    assert str(err) == ("Line 2 of 'table.csv' has 2 cells but line 1 has 3; every row needs the same number of "
                        "columns.")
    zh = err.translate("zh")
    assert CJK.search(zh) and "'table.csv'" in zh and "2 个单元格" in zh and "第 1 行有 3 个" in zh


@pytest.mark.parametrize("call", [
    lambda: vnviz.apply("batch_norm", torch.randn(1, 3)),
    lambda: vnviz.apply("layer_norm", torch.randn(2, 3, 4), normalized_shape=(5,)),
    lambda: vnviz.apply("matrix_slice", torch.randn(4, 4), rows="::0"),
    lambda: vnviz.apply("cluster_norm", torch.randn(4, 3), n_clusters=9),
    lambda: vnviz.load_array(b"\x93NUMPY\x01\x00" + b"x" * 20, "a.npy"),
    lambda: vnviz.data.make_source("nope"),
    lambda: vnviz.analysis.axes.axis_plan("N C H W", variant="instance_norm", shape=(2, 4, 1, 1)),
])
def test_raise_sites_translate(call):
    with pytest.raises(InputError) as info:
        call()
    err = info.value
    zh = err.translate("zh")
    assert CJK.search(zh) and zh != str(err)
    quoted = re.findall(r"'[^']*'|\(\d[\d, ]*\)", str(err))
    assert all(q in zh for q in quoted), (str(err), zh)


def test_input_error_takes_plain_text_too():
    err = InputError("A sentence the UI built {with braces}.")
    assert str(err) == "A sentence the UI built {with braces}." and err.translate("zh") == str(err)


# -- what the library shows resolves in Chinese ------------------------------------------------------------


def _shown_words(text: str) -> bool:
    return len(re.findall(r"[A-Za-z]{3,}", text)) >= 2


def test_declarations_resolve_in_chinese():
    glossary = {"batch_norm": "批量归一化", "layer_norm": "层归一化", "instance_norm": "实例归一化",
                "group_norm": "组归一化", "rms_norm": "均方根归一化", "cluster_norm": "聚类归一化",
                "matrix_slice": "矩阵切片", "matrix_mask": "矩阵掩码", "layer_norm_2d": "通道层归一化"}
    for name, v in vnviz.VARIANTS.items():
        assert translate(v.title, "zh") == glossary[name]
        assert CJK.search(translate(v.summary, "zh"))
        for p in v.params:
            assert CJK.search(translate(p.help, "zh")), (name, p.name)
        for t in v.traps.known:
            assert CJK.search(translate(t, "zh"))
    from vnviz.analysis.traps import KNOWN_TRAPS

    assert all(CJK.search(translate(t, "zh")) for t in KNOWN_TRAPS)


def test_lessons_resolve_in_chinese():
    from vnviz.lessons import LESSONS, PAGES

    for item in LESSONS:
        for text in (item.title, item.paragraph, item.question, item.look_at):
            zh = translate(text, "zh")
            assert CJK.search(zh) and zh != text, (item.slug, text)
    assert translate(PAGES["/train"], "zh") == "训练实验室"


def test_reports_resolve_in_chinese():
    from vnviz.analysis.axes import axis_plan
    from vnviz.analysis.axis_report import report_rows, report_verdict

    x = torch.randn(4, 6, 5, 5)
    r = vnviz.infer_axes(x, torch.nn.functional.group_norm(x, 2))
    texts = [r.explanation, report_verdict(r, ("N", "C", "H", "W"))[1]]
    texts += [t for row in report_rows(r, ("N", "C", "H", "W"), tuple(x.shape)) for t in row]
    plan = axis_plan("N L D", variant="batch_norm")
    texts += [plan.summary, *plan.notes]
    e = vnviz.explain("batch_norm", x, (0, 1, 2, 3))
    texts += [s.title for s in e.steps] + [s.text for s in e.steps]
    for t in texts:
        if _shown_words(t):
            assert CJK.search(translate(t, "zh")), t


# -- what the app shows: every page with lang=zh, nothing left in English -----------------------------------------

_WORDS = re.compile(r"[A-Za-z]{2,}")
_FIELD = re.compile(r"%?\{\{?[^{}]*\}?\}")  # {field}, {{literal}} and plotly's %{x}


def _english_pieces(zh) -> tuple[set[str], list[str]]:
    """The zh catalog's msgids whose translation differs (as wholes), and their literal pieces of 3+ words."""
    whole, pieces = set(), set()
    for m in zh:
        if not m.id or isinstance(m.id, tuple) or not m.string or m.string == m.id:
            continue
        if len(_WORDS.findall(m.id)) >= 1 and not _FIELD.search(m.id):
            whole.add(m.id.strip())
        for piece in _FIELD.split(m.id):
            piece = piece.strip(" .,:;()")
            if len(_WORDS.findall(piece)) >= 3 and "`" not in piece:
                pieces.add(piece)
    return whole, sorted(pieces, key=len, reverse=True)


ZH_PAGES = {  # page file -> links to open with lang=zh (each view a page can show)
    "home": [{}],
    "explore": [{}, {"variant": "group_norm", "source": "images"}, {"source": "upload"},
                # the element inspector's tab (by its Chinese label), every step and one step with a bad element
                {"tab": translate(N_("Follow one element"), "zh")},
                {"tab": "Follow one element", "variant": "group_norm", "step": "2", "element": "9,9,9,9"},
                # "compute in" and the precision view (the autocast lesson's link), a bfloat16 run's download
                {"source": "heavy_tailed", "variant": "layer_norm", "compute_in": "float16"},
                {"compute_in": "bfloat16", "tab": translate(N_("Share & export"), "zh")}],
    "compare": [{}, {"section": translate(N_("Per-axis statistics"), "zh")}, {"section": "Statistic groups"},
                {"section": "Equivalences"}, {"section": translate(N_("Verification"), "zh")}],
    "lessons": [{}],
    "slice_mask": [{}, {"op": "matrix_slice"}],
    "cluster_norm": [{}],
    "axis_check": [{}, {"by": "axes", "reduce": ["N", "D"], "dims": "N L D"}],
    "train": [{"steps": "60", "eval_every": "20"}],
}


@pytest.mark.parametrize("page", list(ZH_PAGES))
def test_every_shown_string_has_a_translation(zh, page):
    """A page opened with lang=zh shows no English sentence, label or chart text that the catalog translates:
    a string drawn without ``t()``/``chart()``, or built as an f-string (so the catalog cannot find it), fails."""
    from apptest_support import open_page, shown_strings

    whole, pieces = _english_pieces(zh)
    left = []
    for query in ZH_PAGES[page]:
        at = open_page(str(ROOT / "app_pages" / f"{page}.py"), {"lang": "zh", **query})
        assert not at.exception, [e.value for e in at.exception]
        shown = shown_strings(at)
        assert any(CJK.search(text) for _, text in shown), f"{page}: nothing in Chinese"
        for kind, text in shown:
            if text.strip() in whole:
                left.append((kind, text))
                continue
            hit = next((p for p in pieces if p in text), None)
            if hit:
                left.append((kind, hit))
    assert not left, f"{page} shows {len(left)} English string(s) with lang=zh: {sorted(set(left))[:8]}"


def test_figures_translate_as_a_whole_and_english_is_left_alone():
    from vnviz.analysis.view import explore_view
    from vnviz.figures import norm as fig
    from vnviz.figures.text import CJK_FAMILY, localize

    v = explore_view(torch.randn(4, 3, 5, 5), "batch_norm", {}, layout="N C H W")
    english = fig.axis_profiles(v.before.axes, v.after.axes)
    assert localize(english, "en") is english  # nothing to do in the code's language
    zh = localize(english, "zh")
    titles = [a.text for a in zh.layout.annotations]
    assert titles[0] == "之前：按 N 索引" and titles[1] == "之后：按 N 索引"  # the axis letter is a value: kept
    assert zh.data[1].name == "之前均值" and "均值 %{y:.4g}" in zh.data[1].hovertemplate
    assert zh.layout.xaxis.title.text == english.layout.xaxis.title.text == "N"  # an axis name stays
    assert CJK_FAMILY in zh.layout.font.family and CJK_FAMILY in zh.layout.title.font.family
    assert [a.text for a in english.layout.annotations][0] == "before: per N index"  # the original is untouched
    assert list(zh.data[1].y) == list(english.data[1].y)
