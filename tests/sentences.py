"""The one-sentence rule for InputError messages, shared by the library tests."""
from __future__ import annotations

import re

from vnviz.errors import InputError


def assert_one_sentence(err: BaseException) -> None:
    """An InputError (a ValueError) whose message is one plain sentence under 300 characters."""
    assert type(err) is InputError, f"expected InputError, got {type(err).__name__}: {err}"
    assert isinstance(err, ValueError)
    msg = str(err)
    assert msg, "empty message"
    assert "\n" not in msg, f"message spans lines: {msg!r}"
    assert msg.endswith("."), f"message does not end with '.': {msg!r}"
    assert len(msg) < 300, f"message too long ({len(msg)}): {msg!r}"
    body = msg[:-1].replace("e.g.", "eg").replace("i.e.", "ie")
    assert not re.search(r"\.\s+[A-Z]", body), f"more than one sentence: {msg!r}"
