"""The one exception vnviz raises for bad inputs and parameters."""
from __future__ import annotations


class InputError(ValueError):
    """A bad input or parameter, explained in one plain sentence.

    The message says what is wrong, quotes the bad value ("got ...") and says
    what is allowed, so the app can show it to a student as it is.
    """
