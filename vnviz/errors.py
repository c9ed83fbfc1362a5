"""The one exception vnviz raises for bad inputs and parameters."""
from __future__ import annotations

from typing import Any

from vnviz.i18n import Msg


class InputError(ValueError):
    """A bad input or parameter, explained in one plain sentence.

    The message says what is wrong, quotes the bad value ("got ...") and says
    what is allowed, so the app can show it to a student as it is. ``str(err)``
    is the English sentence; ``err.msg`` is the same sentence as a ``Msg``
    (its template and values), so the app can show it in another language with
    the quoted values kept: ``err.translate("zh")``.

    ``InputError(template, **values)`` formats the template (a msgid, marked by
    the extraction as the first argument of ``InputError``) with the values;
    ``InputError(msg)`` takes a ready ``Msg``; ``InputError(text)`` plain text.
    """

    msg: Msg  # the sentence: str(msg) is str(err)

    def __init__(self, message: Any, /, **values: Any) -> None:
        msg = message if isinstance(message, Msg) and not values else Msg(str(message), **values)
        super().__init__(msg)
        self.msg = msg

    def translate(self, lang: str) -> str:
        """The sentence in ``lang`` (vnviz.i18n.LANGUAGES), the quoted values as they are."""
        return self.msg.translate(lang)
