"""Translations: English (the default) and Simplified Chinese, from standard gettext catalogs.

The library speaks English to Python users; every sentence a user reads is
marked in the code and resolved in the chosen language when it is drawn::

    TITLE = N_("GroupNorm")                       # constant text: marked for extraction, a Msg (a str)
    m = Msg("{title} needs {n} dims; got shape {shape}.", title=TITLE, n=3, shape=(2, 6))
    str(m)                                        # the English sentence (m is a str: every str use works)
    m.template, m.values                          # "{title} needs {n} dims; ...", {"title": ..., "n": 3, ...}
    m.translate("zh")                             # the zh template formatted with the same values;
                                                  # values that are Msgs (TITLE) are translated too
    plural_msg("{n} value", "{n} values", n, n=n) # a count: the language's plural form
    Msg.join([m1, m2])                            # sentences joined (" " in English, nothing in Chinese)
    translate(obj, "zh")                          # a str, Msg or InputError in that language, as a plain str

Values that are plain strings or numbers (the quoted bad value "got 4", a
shape, a dtype name) are kept as they are in every language.

Catalogs: ``vnviz/locale/<lang>/LC_MESSAGES/vnviz.po``, compiled to the ``.mo``
beside it that the standard library's ``gettext`` reads (both are committed, so
running the app needs no extra package); the template
``vnviz/locale/vnviz.pot`` is extracted from the code with Babel:
``python scripts/i18n.py extract update compile`` (docs/i18n.md).
"""
from __future__ import annotations

import functools
import gettext as _gettext
from pathlib import Path
from typing import Any, Callable, Iterable

LANGUAGES = ("en", "zh")  # what the app offers; the catalogs under locale/
DEFAULT_LANG = "en"  # the language of the code, of str(Msg) and of links without lang=
LANGUAGE_NAMES = {"en": "English", "zh": "简体中文"}  # each in its own language, for a switch
DOMAIN = "vnviz"  # the catalogs' file name: locale/<lang>/LC_MESSAGES/vnviz.mo
LOCALE_DIR = Path(__file__).resolve().parent / "locale"
# What Msg.join puts between parts, per language, for the separators English uses (a translator of a new language
# adds its row): Chinese sentences end with "。" and follow each other without a space, lists take full-width
# punctuation, and "and" joins nouns (和) otherwise than clauses (Msg.join(..., clauses=True): "，并且").
JOINERS = {"zh": {" ": "", ", ": "，", "; ": "；", ": ": "：", " and ": " 和 ", " or ": " 或 ",
                  " and |clauses": "，并且", " or |clauses": "，或者"}}


def pick_lang(value: Any) -> str:
    """A language of LANGUAGES for ``value`` ("zh", "zh-CN", "zh_Hans_CN", "en-US", None, ...); DEFAULT_LANG otherwise."""
    if isinstance(value, str):
        tag = value.strip().replace("_", "-").lower().split("-")[0]
        if tag in LANGUAGES:
            return tag
    return DEFAULT_LANG


@functools.lru_cache(maxsize=None)
def catalog(lang: str) -> _gettext.NullTranslations:
    """The compiled catalog of ``lang`` (stdlib gettext); a pass-through one when it has none."""
    return _gettext.translation(DOMAIN, LOCALE_DIR, languages=[pick_lang(lang)], fallback=True)


def gettext(lang: str) -> Callable[[Any], str]:
    """A function that translates into ``lang``, for ``_ = gettext(lang); _(text)``: ``translate(text, lang)``."""
    return functools.partial(_translate_to, lang)


def _translate_to(lang: str, text: Any) -> str:
    return translate(text, lang)


def ngettext(singular: str, plural: str, n: int, lang: str) -> str:
    """The form of a counted phrase in ``lang`` (not formatted; ``plural_msg`` formats)."""
    return catalog(lang).ngettext(str(singular), str(plural), n)


def translate(text: Any, lang: str) -> Any:
    """``text`` in ``lang``, as a plain str: a Msg by its template and values, an InputError by its message, a
    plain str as a msgid (unchanged when the catalog has none); None and other objects are returned as they are."""
    if isinstance(text, Msg):
        return text.translate(lang)
    if isinstance(text, BaseException):
        msg = getattr(text, "msg", None)
        return translate(msg, lang) if isinstance(msg, Msg) else str(text)
    if isinstance(text, str):
        return catalog(lang).gettext(text) if text else text
    return text


def N_(text: str) -> Msg:
    """Mark constant ``text`` for extraction; the Msg (a str holding ``text``) is translated when drawn."""
    return Msg(text)


class Msg(str):
    """A sentence the library builds: its str value is the English text; it translates with the same values.

    ``Msg(template, **values)``: the text is ``template.format(**values)``
    (``template`` itself when no values are given, so constant text needs no
    escaped braces); ``template`` is the msgid the catalogs translate.
    ``translate(lang)`` formats the translated template with the same
    values, translating the values that are Msgs. A str subclass: comparing,
    hashing, f-strings, json and every other str use see the English text.
    """

    template: str  # the English template with named {fields}: the msgid
    values: dict[str, Any]  # the values of the fields (Msgs among them are translated too)
    plural: str | None  # plural_msg: the English plural template (template is the singular)
    n: int | None  # plural_msg: the count that picks the form
    joined: str | None  # Msg.join: the English separator (+ "|clauses"); the parts are values["0"], values["1"], ...
    clause: bool  # without_period: the sentence's final full stop is left out, in every language
    formatter: Any  # Msg.using: the string.Formatter that fills the fields (None: str.format)

    def __new__(cls, template: str, /, **values: Any) -> Msg:
        template = str(template)
        self = super().__new__(cls, template.format(**values) if values else template)
        self.template, self.values, self.plural, self.n, self.joined = template, values, None, None, None
        self.clause, self.formatter = False, None
        return self

    @classmethod
    def using(cls, formatter: Any, template: str, /, **values: Any) -> Msg:
        """A sentence whose fields ``formatter`` (a ``string.Formatter``) fills, in English and when translated
        (explain's numbers: ``{mean:o}`` is an operand)."""
        template = str(template)
        self = str.__new__(cls, formatter.format(template, **values))
        self.template, self.values, self.plural, self.n, self.joined = template, values, None, None, None
        self.clause, self.formatter = False, formatter
        return self

    @classmethod
    def join(cls, parts: Iterable[Any], sep: str = " ", clauses: bool = False) -> Msg:
        """The parts joined by ``sep`` (English); translated part by part, with the language's separator
        (JOINERS; ``clauses=True``: the parts are clauses, not nouns, which some languages join otherwise)."""
        parts = [p for p in parts]
        self = str.__new__(cls, sep.join(str(p) for p in parts))
        self.template = sep.join(f"{{{i}}}" for i in range(len(parts)))
        self.values = {str(i): p for i, p in enumerate(parts)}
        self.plural, self.n, self.clause, self.formatter = None, None, False, None
        self.joined = sep + "|clauses" if clauses else sep
        return self

    def without_period(self) -> Msg:
        """This sentence as a clause: its final "." (Chinese "。") left out, in English and when translated."""
        out = _restore(str(self).rstrip("."), dict(self.__dict__))
        out.clause = True
        return out

    def translate(self, lang: str) -> str:
        """This sentence in ``lang`` (a plain str); English for DEFAULT_LANG and for text the catalog lacks."""
        text = self._translate(lang)
        return text.rstrip(".。") if self.clause else text

    def _translate(self, lang: str) -> str:
        if not self.template:
            return ""  # (gettext's "" is the catalog's header)
        values = {k: translate(v, lang) if isinstance(v, Msg) else v for k, v in self.values.items()}
        if self.joined is not None:
            english = self.joined.removesuffix("|clauses")
            row = JOINERS.get(pick_lang(lang), {})
            sep = row.get(self.joined, row.get(english, english))
            return sep.join(str(values[str(i)]) for i in range(len(values)))
        cat = catalog(lang)
        if self.plural is not None:
            text = cat.ngettext(self.template, self.plural, self.n)
            english = self.template if self.n == 1 else self.plural
        else:
            text = english = self.template
            text = cat.gettext(self.template)
        if not self.values:
            return str(text)
        fill = self.formatter.format if self.formatter is not None else str.format
        try:
            return fill(text, **values)
        except (KeyError, IndexError, ValueError, AttributeError, TypeError):  # a broken translation: English
            return fill(english, **values)

    def __reduce__(self) -> tuple[Any, ...]:  # pickled (Streamlit's caches) without formatting again
        return _restore, (str(self), dict(self.__dict__))


def _restore(text: str, state: dict[str, Any]) -> Msg:
    self = str.__new__(Msg, text)
    self.__dict__.update(state)
    return self


def plural_msg(singular: str, plural: str, n: int, /, **values: Any) -> Msg:
    """A counted sentence: ``singular`` or ``plural`` by ``n`` in English, the language's form when translated."""
    self = Msg(singular if n == 1 else plural, **values)
    self.template, self.plural, self.n = str(singular), str(plural), n
    return self
