"""The Streamlit command line with timers: where each script run's time goes on the server.

    VNVIZ_TIMINGS=runs.jsonl .venv/bin/python scripts/timed_app.py run app.py --server.headless true

Behaves like ``python -m streamlit`` (the arguments are Streamlit's), after
installing wall-clock timers around the functions a run spends its time in.
``--preload`` (first) also imports what scripts/serve.py imports before the server
starts, as scripts/app.sh serves the app.
scripts/latency.py starts the app through it with ``--server-timing``; the app
and the library are not changed. Each script run appends one JSON line to the
file named by ``VNVIZ_TIMINGS``: its start (``time.time()``) and the seconds
spent per category (one session at a time: concurrent runs would mix):

- ``import``: Python imports made during the run (a fresh server's first run
  imports torch, plotly, scikit-learn and the app);
- ``data``: making the input (``vnviz.data`` generators and datasets);
- ``analysis``: the library's view computations (``explore_view``,
  ``cluster_view``, ``compare_views``, ``equivalences``, ``mask_view``,
  ``slice_view``, ``summarize``, ``axis_plan``, ``infer_axes``);
- ``figures``: vnviz's figure builders (``vnviz.figures.*``: building the
  ``go.Figure``, plotly's validation of every property included);
- ``st.plotly_chart``: Streamlit's marshalling of a figure, split into
  ``to_dict`` (the figure copied out to a dict), ``to_json`` (serialisation)
  and ``element id`` (hashing the spec to identify the element), the rest of
  the call staying under ``st.plotly_chart``;
- ``other``: everything else in the run (widgets, text, tables, caches'
  lookups, Streamlit's bookkeeping).

It also appends each websocket message's send time and size to
``VNVIZ_TIMINGS`` + ``.sent`` (``time.time()`` and bytes, one a line), so that
the server's last message can be set against the moment the browser handled it.

Each category's time is its own (exclusive): a timed function called inside
another is counted in its own category and not in the caller's, so the
categories add up to the run's ``total``. A function is timed wherever a module
holds it (``from x import f`` included); functions of modules imported during
a run are timed from the next run on, so a fresh server's first run shows
``import``, ``other`` and ``total`` only. The timers cost about a microsecond a
call.
"""
from __future__ import annotations

import builtins
import functools
import inspect
import json
import os
import sys
import threading
import time

TARGETS = {  # category: "module:function" or "module:Class.method"
    "data": ["vnviz.data:make_source", "vnviz.data.matrices:make_matrix", "vnviz.data:load_arrays"],
    "analysis": [
        "vnviz.analysis.view:explore_view", "vnviz.analysis.cluster_view:cluster_view",
        "vnviz.analysis.compare:compare_views", "vnviz.analysis.compare:equivalences",
        "vnviz.figures.matrix:mask_view", "vnviz.figures.matrix:slice_view", "vnviz.analysis.stats:summarize",
        "vnviz.analysis.axes:axis_plan", "vnviz.analysis.infer:infer_axes",
    ],
    "st.plotly_chart": ["streamlit.elements.plotly_chart:PlotlyMixin.plotly_chart"],
    "to_dict": ["plotly.basedatatypes:BaseFigure.to_dict"],
    "to_json": ["plotly.io:to_json", "plotly.io._json:to_json"],
    "element id": ["streamlit.elements.plotly_chart:compute_and_register_element_id"],
}
FIGURE_MODULES = ("vnviz.figures.norm", "vnviz.figures.axes", "vnviz.figures.cluster", "vnviz.figures.compare",
                  "vnviz.figures.matrix")  # every public function there is a figure builder (but the two *_view)

_local = threading.local()  # per thread: the stack of open timers
_run: dict[str, float] | None = None  # the categories' seconds of the run in progress (script thread)
_patched: set[int] = set()
_seen_modules = 0


def _timed(category: str, fn):
    """``fn`` with an exclusive timer of ``category`` (only in a script run; other threads pass through)."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        run, stack = _run, getattr(_local, "stack", None)
        if run is None or stack is None:  # not in a script run's thread
            return fn(*args, **kwargs)
        stack.append(0.0)  # time taken by timed callees
        t = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            elapsed = time.perf_counter() - t
            inner = stack.pop()
            run[category] = run.get(category, 0.0) + elapsed - inner
            if stack:
                stack[-1] += elapsed

    wrapper.__vnviz_timed__ = True
    return wrapper


def _replace_everywhere(original, wrapped) -> None:
    """Point every module attribute that holds ``original`` (``from x import f`` copies) at ``wrapped``."""
    for mod in list(sys.modules.values()):
        d = getattr(mod, "__dict__", None)
        if not d:
            continue
        for k, v in list(d.items()):
            if v is original:
                d[k] = wrapped


def _patch(category: str, target: str) -> None:
    modname, _, qual = target.partition(":")
    mod = sys.modules.get(modname)
    if mod is None:
        return
    owner, _, attr = qual.rpartition(".")
    holder = getattr(mod, owner) if owner else mod
    fn = inspect.getattr_static(holder, attr, None)
    if fn is None or getattr(fn, "__vnviz_timed__", False) or id(fn) in _patched:
        return
    wrapped = _timed(category, fn)
    _patched.add(id(wrapped))
    setattr(holder, attr, wrapped)
    if not owner:
        _replace_everywhere(fn, wrapped)


def _patch_all() -> None:
    """Install the timers on whatever target modules are imported by now (cheap when nothing new was imported)."""
    global _seen_modules
    if len(sys.modules) == _seen_modules:
        return
    for category, targets in TARGETS.items():
        for t in targets:
            _patch(category, t)
    for name in FIGURE_MODULES:
        mod = sys.modules.get(name)
        for attr, fn in list(vars(mod).items()) if mod else []:
            if (inspect.isfunction(fn) and fn.__module__ == name and not attr.startswith("_")
                    and not attr.endswith("_view")):
                _patch("figures", f"{name}:{attr}")
    _seen_modules = len(sys.modules)


_import = builtins.__import__
builtins.__import__ = _timed("import", _import)


def _timed_run(exec_run):
    """Wrap Streamlit's "execute the script" step: one record per script run."""

    @functools.wraps(exec_run)
    def wrapper(*args, **kwargs):
        global _run
        _patch_all()
        _local.stack = [0.0]
        _run = {}
        start, t = time.time(), time.perf_counter()
        try:
            return exec_run(*args, **kwargs)
        finally:
            total = time.perf_counter() - t
            seconds, _run, _local.stack = _run, None, None
            seconds["other"] = total - sum(seconds.values())
            seconds["total"] = total
            path = os.environ.get("VNVIZ_TIMINGS")
            if path:
                with open(path, "a") as f:
                    f.write(json.dumps({"start": start, "seconds": seconds}) + "\n")

    return wrapper


def _logged_send(send_bytes):
    """Wrap the websocket's send: each message's send time and size go to ``VNVIZ_TIMINGS`` + ``.sent``."""

    @functools.wraps(send_bytes)
    async def wrapper(self, data):
        result = await send_bytes(self, data)
        path = os.environ.get("VNVIZ_TIMINGS")
        if path:
            with open(path + ".sent", "a") as f:
                f.write(f"{time.time()} {len(data)}\n")
        return result

    return wrapper


def main() -> None:
    from starlette.websockets import WebSocket
    from streamlit.runtime.scriptrunner import script_runner
    from streamlit.web.cli import main as streamlit_main

    script_runner.exec_func_with_error_handling = _timed_run(script_runner.exec_func_with_error_handling)
    WebSocket.send_bytes = _logged_send(WebSocket.send_bytes)
    args = sys.argv[1:]
    if "--preload" in args:  # as scripts/serve.py (scripts/app.sh) starts the app: its imports before the first run
        args.remove("--preload")
        sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
        from serve import preload

        preload()
    sys.argv = ["streamlit", *args]
    streamlit_main(prog_name="streamlit")


if __name__ == "__main__":
    main()
