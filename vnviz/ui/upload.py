"""A file uploader that keeps the last good file: a bad upload costs the user nothing."""
from __future__ import annotations

from typing import Any, Callable

import streamlit as st

from vnviz.errors import InputError
from vnviz.i18n import Msg
from vnviz.ui.lang import t


def kept_upload(container: Any, label: str, key: str, read: Callable[[bytes, str], Any], what: str,
                help: str | None = None) -> Any | None:
    """Render ``st.file_uploader`` and return what ``read`` made of the last good file, or None.

    ``read(data, filename)`` checks and converts a new file; an InputError
    becomes one ``st.error`` sentence ("NAME: why. Your previous WHAT is still
    in use.", in the app's language, the quoted values kept) and the previous good value stays. No ``type=`` filter is set, so
    a wrong extension gets vnviz's sentence rather than Streamlit's exception.
    """
    file = container.file_uploader(t(label), key=key, help=t(help))
    ident, good, error = f"_{key}:id", f"_{key}:good", f"_{key}:error"
    if file is not None and st.session_state.get(ident) != file.file_id:
        try:
            st.session_state[good] = read(file.getvalue(), file.name)
            st.session_state[error] = None
        except InputError as err:
            st.session_state[error] = Msg("{name}: {error}", name=file.name, error=err.msg)
        st.session_state[ident] = file.file_id
    if st.session_state.get(error):
        said = st.session_state[error]
        if st.session_state.get(good) is not None:
            said = Msg.join([said, Msg("Your previous {what} is still in use.", what=what)])
        container.error(t(said))
    return st.session_state.get(good)
