"""Keep the translation catalogs in step with the code (Babel's pybabel, with vnviz's keywords).

    python scripts/i18n.py extract    # the code's marked strings -> vnviz/locale/vnviz.pot
    python scripts/i18n.py update     # new and changed msgids into every vnviz/locale/<lang>/LC_MESSAGES/vnviz.po
    python scripts/i18n.py compile    # each .po -> the .mo beside it (what vnviz.i18n reads at run time)
    python scripts/i18n.py all        # the three, in that order
    python scripts/i18n.py missing zh # the msgids of zh's catalog without a translation (or fuzzy)

The same commands for pybabel by hand: ``python scripts/i18n.py commands``. See docs/i18n.md.
"""
from __future__ import annotations

import re
import shlex
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LOCALE = ROOT / "vnviz" / "locale"
POT = LOCALE / "vnviz.pot"
MAPPING = ROOT / "babel.cfg"
# What marks a string for translation: N_(text), Msg(template, ...), InputError(template, ...) and
# plural_msg(singular, plural, n, ...).
KEYWORDS = ("N_", "Msg", "InputError", "plural_msg:1,2")
EXTRACT_OPTIONS = ("--no-default-keywords", "--sort-output", "--add-location=file", "--project=vnviz",
                   "--copyright-holder=the vnviz contributors",
                   "--add-comments=TRANSLATORS:", "--width=100")


def version() -> str:
    """vnviz.__version__, read from the source (the script runs without importing vnviz and torch)."""
    text = (ROOT / "vnviz" / "__init__.py").read_text()
    return re.search(r'^__version__ = "([^"]+)"', text, re.M).group(1)


def extract_args(output: Path) -> list[str]:
    """``pybabel extract`` arguments writing the template to ``output`` (paths relative to the repository)."""
    keys = [f"--keyword={k}" for k in KEYWORDS]
    return ["extract", "-F", str(MAPPING), *keys, *EXTRACT_OPTIONS, f"--version={version()}", "-o", str(output), "."]


def update_args() -> list[str]:
    return ["update", "-i", str(POT), "-d", str(LOCALE), "-D", "vnviz", "--ignore-obsolete", "--width=100"]


def compile_args() -> list[str]:
    return ["compile", "-d", str(LOCALE), "-D", "vnviz", "--statistics"]


def pybabel(args: list[str]) -> None:
    """Run ``pybabel`` with ``args`` from the repository root (the template's locations are relative to it)."""
    import os

    from babel.messages.frontend import CommandLineInterface

    here = os.getcwd()
    os.chdir(ROOT)
    try:
        CommandLineInterface().run(["pybabel", *args])
    finally:
        os.chdir(here)


def missing(lang: str) -> list[str]:
    """The msgids of ``lang``'s .po without a translation, or marked fuzzy."""
    from babel.messages.pofile import read_po

    with open(LOCALE / lang / "LC_MESSAGES" / "vnviz.po", "rb") as f:
        cat = read_po(f)
    out = []
    for m in cat:
        if not m.id:
            continue
        strings = m.string if isinstance(m.string, tuple) else (m.string,)
        if m.fuzzy or not all(strings):
            out.append(m.id if isinstance(m.id, str) else m.id[0])
    return out


def main(argv: list[str]) -> int:
    todo = argv or ["all"]
    if todo[0] == "missing":
        for mid in missing(todo[1] if len(todo) > 1 else "zh"):
            print(mid)
        return 0
    if todo[0] == "commands":
        for args in (extract_args(POT.relative_to(ROOT)), update_args(), compile_args()):
            print("pybabel " + shlex.join(a.replace(str(ROOT) + "/", "") for a in args))
        return 0
    steps = ["extract", "update", "compile"] if todo == ["all"] else todo
    for step in steps:
        if step == "extract":
            pybabel(extract_args(POT))
        elif step == "update":
            pybabel(update_args())
        elif step == "compile":
            pybabel(compile_args())
        else:
            print(f"unknown step {step!r}; use extract, update, compile, all, missing or commands", file=sys.stderr)
            return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
