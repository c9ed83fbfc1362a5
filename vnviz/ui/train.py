"""Controls, result cache and live training of the Training lab page (/train).

Every control is a widget bound to the URL (``bind="query-params"``): its key
is the link key of ``vnviz.train.views`` (``dataset``, ``norms``, ``lr``,
``batch_size``, ``steps``, ``seeds``, ``group_norm.num_groups``, ...), so
Streamlit keeps the link and the widgets in step and drops invalid link
values; the one thing written here is the notice saying which link value was
dropped (Streamlit drops it silently).

Finished runs are kept in one store shared by every session (a
``cache_resource``), keyed on ``TrainConfig.key()``: a shared link replays at
once. Missing runs train one after the other with a progress bar, a chart
redrawn as they learn (``on_eval``) and a stop button; a click on any control
interrupts the run (Streamlit stops the script at its next call) and the
page reruns with the new choice.
"""
from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from dataclasses import replace
from typing import Any

import streamlit as st

from vnviz.device import available_devices
from vnviz.errors import InputError
from vnviz.i18n import N_, Msg, translate
from vnviz.figures import train as fig
from vnviz.lessons import LESSONS
from vnviz.train import History, check, train
from vnviz.train.config import spec_title
from vnviz.train.data import DATASETS
from vnviz.train.experiments import EXPERIMENTS, Experiment, results_csv, run_table, runs, snippet, summarize
from vnviz.train.views import (CNN_HIDDEN, CONFIG_PARAMS, DEFAULT, VIEW_PARAMS, experiment_from, link_params,
                               norm_param_items, values_of)
from vnviz.ui.compute import TTL
from vnviz.ui.lang import current, plot, t
from vnviz.ui.state import GLOBAL_KEYS
from vnviz.variants.registry import Param

STORE_ENTRIES = 256  # finished runs kept (each a few tens of KB)
LIVE_EVERY = 0.5  # seconds between redraws of the live chart
PRESET = "_train_preset"  # session key of the experiment menu (not in the link)
STOPPED = "_train_stopped"  # session key: the view whose training the stop button interrupted
PARTIAL = "_train_partial"  # session key: (view key, {run key: History}) of the run being trained
SEEN_QUERY = "_train_seen_query"  # session key: the query string as the previous run left it
LAYER_KEY = "hidden_layer"  # link key of the layer whose pre-activations are drawn (Axis check's "layer" is a norm)
NO_PRESET = ""
CAPTIONS = {  # what each chart shows, under it
    "curves": N_("Solid: the held-out set in eval mode (running statistics). Dotted: the mean over the training "
              "batches since the previous evaluation, in training mode (batch statistics), as the optimizer saw them."),
    "percentiles": N_("The band runs from the 15th to the 85th percentile, the line is the median, of one unit's input "
                   "to its activation over the held-out set (the Batch Normalization paper, Figure 1b, c): a band "
                   "that drifts is a layer whose input keeps changing under it."),
    "heatmaps": N_("Every pre-activation of the layer over the held-out set at each evaluation, binned (colour: √ of "
                "the fraction in a bin, one scale for all panels; values beyond ±8 count in the end bins)."),
    "grad_norms": N_("‖∇W‖ of each hidden layer's weights at the step just before each evaluation."),
    "landscape": N_("Every landscape_every steps, on that step's batch: the loss L(w − ηg) (left) and the gradient "
                 "change ‖∇L(w − ηg) − ∇L(w)‖ (right) for η = 0.25 to 4 learning rates along the gradient g. The "
                 "band is their range over η (Santurkar et al., Figure 4): a narrow band is a smooth landscape."),
    "sweep": N_("Median over the seeds. Solid: held-out error in eval mode; dotted: the last training batches "
             "(training mode); dashed: the held-out set normalized with batch statistics (norms that keep running "
             "statistics). × marks a run that did not learn (below twice chance) or diverged."),
}
Result = tuple[str, float, int, History]  # (norm spec, swept value or nan, seed, history)


class ResultStore:
    """Finished histories by config key, least recently used dropped first; shared by every session."""

    def __init__(self, entries: int = STORE_ENTRIES):
        self._data: OrderedDict[str, History] = OrderedDict()
        self._lock = threading.Lock()
        self._entries = entries

    def get(self, key: str) -> History | None:
        with self._lock:
            h = self._data.get(key)
            if h is not None:
                self._data.move_to_end(key)
            return h

    def put(self, key: str, h: History) -> None:
        with self._lock:
            self._data[key] = h
            self._data.move_to_end(key)
            while len(self._data) > self._entries:
                self._data.popitem(last=False)


@st.cache_resource(ttl=TTL, show_spinner=False)
def results_store() -> ResultStore:
    """The one store of finished runs (bounded, dropped after TTL)."""
    return ResultStore()


# -- controls -------------------------------------------------------------------


def _help(p: Param) -> str:
    if p.kind in ("float", "int"):
        return t(Msg.join([p.help, Msg("Allowed: {allowed}.", allowed=p.allowed())]))
    return t(p.help)


def _widget(p: Param, key: str | None = None, container: Any = st, label: str | None = None) -> Any:
    """One widget bound to the link key ``key`` (default: the parameter's name), built from its declaration."""
    key = key or p.name
    label = t(label or p.name)
    kw = dict(key=key, help=_help(p), bind="query-params")
    if p.kind == "choice":
        return container.selectbox(label, list(p.choices), index=list(p.choices).index(p.default), **kw)
    if p.kind == "bool":
        return container.toggle(label, value=bool(p.default), **kw)
    if p.kind in ("int", "float"):
        is_int = p.kind == "int"
        low = None if p.low is None else (int(p.low) if is_int else float(p.low))
        if low is not None and p.low_open:
            low = low + 1 if is_int else 1e-6
        high = None if p.high is None else (int(p.high) if is_int else float(p.high))
        value = p.default if p.default is None or is_int else float(p.default)
        fmt = "%d" if is_int else ("%.1e" if p.name == "eps" or (value is not None and 0 < abs(value) < 1e-3) else "%g")
        return container.number_input(label, min_value=low, max_value=high, value=value, step=1 if is_int else None,
                                      format=fmt, placeholder=t(N_("default")), **kw)
    return container.text_input(label, value=p.to_text(p.default) if p.kind != "str" else p.default, **kw)


def _apply_preset() -> None:
    """Menu callback: put every widget of the chosen experiment to its value (the link follows)."""
    slug = st.session_state.get(PRESET)
    if not slug:
        return
    params = link_params()
    for key, value in values_of(EXPERIMENTS[slug]).items():
        p = params[key]
        if p.kind in ("shape", "ints"):
            value = p.to_text(value)
        elif key == "norms":
            value = list(value)
        elif p.kind == "float" and value is not None:
            value = float(value)
        st.session_state[key] = value
    st.session_state[PRESET] = NO_PRESET


def _suggest_cnn_widths() -> None:
    """Model callback: the mlp's default widths are too wide for the cnn, and the other way round."""
    hidden = st.session_state.get("hidden", "")
    if st.session_state.get("model") == "cnn" and hidden == CONFIG_PARAMS[2].to_text(DEFAULT.config.hidden):
        st.session_state["hidden"] = CONFIG_PARAMS[2].to_text(CNN_HIDDEN)
    elif st.session_state.get("model") == "mlp" and hidden == CONFIG_PARAMS[2].to_text(CNN_HIDDEN):
        st.session_state["hidden"] = CONFIG_PARAMS[2].to_text(DEFAULT.config.hidden)


def _link_notices(raw: dict[str, list[str]]) -> list[str]:
    """Sentences for link values Streamlit dropped as invalid (it drops them without a word).

    Only for a link that is new to this session: a rerun after a click starts
    from the query the previous run left, whose values the widgets already hold.
    """
    seen = st.session_state.get(SEEN_QUERY)
    st.session_state[SEEN_QUERY] = {k: st.query_params.get_all(k) for k in st.query_params.keys()}
    if seen == raw:
        return []
    notices = []
    params = link_params()
    for key, texts in raw.items():
        if key in GLOBAL_KEYS or key == LAYER_KEY or key.startswith("_"):  # app-wide, or bound here directly
            continue
        if key not in params:
            notices.append(Msg("The link's key {key!r} is not used on this page and was ignored.", key=key))
        elif key not in st.query_params and texts and any(t != "" for t in texts):
            shown = ",".join(texts)
            current = st.session_state.get(key)
            if key == "norms" and sorted(texts) == sorted(current or []):
                continue
            if current is not None and not isinstance(current, list) and str(current) in texts:
                continue  # the link held the default value: Streamlit drops it from the URL, nothing was lost
            notices.append(Msg("The link's {key}={shown!r} is not valid here ({allowed}); the default is used "
                               "instead.", key=key, shown=shown, allowed=params[key].allowed()))
    return notices


def controls(presenting: bool = False) -> tuple[Experiment | None, list[str]]:
    """Draw the controls (bound to the link); return the experiment they describe, and notices.

    In presenter mode they fold into an expander under a one-line summary, so
    the charts are on the first screen.
    """
    raw = {k: st.query_params.get_all(k) for k in st.query_params.keys()}
    if presenting:
        with st.expander(t(N_("controls")), icon=":material/tune:"):
            return _controls(raw)
    return _controls(raw)


def _controls(raw: dict[str, list[str]]) -> tuple[Experiment | None, list[str]]:
    st.selectbox(t(N_("load an experiment")), [NO_PRESET] + list(EXPERIMENTS), key=PRESET, on_change=_apply_preset,
                 format_func=lambda s: t(N_("choose one of the five experiments…")) if not s else
                 f"{list(EXPERIMENTS).index(s) + 1}. {t(EXPERIMENTS[s].title)}",
                 help=t(N_("Sets every control to one of the five experiments (each is also a lesson and a link).")))
    p = {q.name: q for q in CONFIG_PARAMS + VIEW_PARAMS}
    with st.container(border=True):
        data, optim, norms = st.columns([1, 1, 1.3], gap="medium")
        data.markdown(t(N_("**Data and network**")))
        _widget(p["dataset"], container=data)
        data.caption(t(DATASETS.get(st.session_state.get("dataset"), DATASETS["digits"])[3]))
        m, a = data.columns(2)
        m.selectbox("model", list(p["model"].choices), key="model", help=_help(p["model"]), bind="query-params",
                    on_change=_suggest_cnn_widths)
        _widget(p["activation"], container=a)
        _widget(p["hidden"], container=data)
        optim.markdown(t(N_("**Optimizer**")))
        o, lr = optim.columns(2)
        _widget(p["optimizer"], container=o)
        _widget(p["lr"], container=lr)
        b, s = optim.columns(2)
        _widget(p["batch_size"], container=b)
        _widget(p["steps"], container=s)
        mo, ev = optim.columns(2)
        _widget(p["momentum"], container=mo)
        _widget(p["eval_every"], container=ev)
        norms.markdown(t(N_("**Norms to compare**")))
        norms.multiselect("norms", list(p["norms"].choices), default=list(DEFAULT.norms), key="norms",
                          help=_help(p["norms"]), bind="query-params", placeholder=t(N_("choose norms…")))
        _widget(p["seeds"], container=norms)
        norms.segmented_control("sweep", list(p["sweep"].choices), default=DEFAULT.sweep, key="sweep",
                                help=_help(p["sweep"]), bind="query-params", required=True)
        if st.session_state.get("sweep") not in (None, "none"):
            _widget(p["sweep_values"], container=norms)
            sl, ss = norms.columns(2)
            _widget(p["scale_lr"], container=sl)
            _widget(p["same_samples"], container=ss)
        with st.expander(t(N_("more: norm parameters, affine, loss landscape, device"))):
            cols = st.columns(4)
            _widget(p["affine"], container=cols[0])
            _widget(p["landscape_every"], container=cols[1])
            have = available_devices()  # a link's device=cuda on a machine without one: dropped with a notice
            _widget(replace(p["device"], choices=tuple(c for c in p["device"].choices if c == "auto" or c in have)),
                    container=cols[2])
            chosen = {n.partition(":")[0] for n in st.session_state.get("norms") or []}
            items = [(key, name, q) for key, name, q in norm_param_items() if name in chosen]
            if items:
                st.caption(t(N_("Parameters passed to each chosen norm's layers (the variant's own; "
                                "the layer sets training mode, the affine and the buffers itself).")))
            grid = st.columns(4)
            for i, (key, name, q) in enumerate(items):
                _widget(q, key=key, container=grid[i % 4], label=Msg("{title}: {name}", title=spec_title(name), name=q.name))
    values, notices = _read(p)
    notices = _link_notices(raw) + notices
    try:
        return experiment_from(values), notices
    except InputError as err:
        st.error(t(err))
        return None, notices


def _read(p: dict[str, Param]) -> tuple[dict[str, Any], list[str]]:
    """The widgets' values as the experiment's fields; text fields parsed (a bad one: a notice, its default)."""
    values: dict[str, Any] = {}
    notices = []
    for key, q in link_params().items():
        if key not in st.session_state:
            values[key] = q.default
            continue
        value = st.session_state[key]
        if q.kind in ("shape", "ints"):
            try:
                value = q.from_text(str(value), "This page")
            except InputError as err:
                notices.append(Msg.join([err.msg, Msg("Using {default} instead.", default=q.to_text(q.default))]))
                value = q.default
        elif key == "norms":
            value = tuple(value or ())
        values[key] = value
    if st.session_state.get("sweep") is None:
        values["sweep"] = "none"
    return values, notices


def lesson_for(exp: Experiment):
    """The lesson whose link opens exactly this experiment, if any."""
    mine = values_of(exp)
    for slug, e in EXPERIMENTS.items():
        if values_of(e) == mine:
            return next((item for item in LESSONS if item.slug == f"train_{slug}"), None)
    return None


# -- training -------------------------------------------------------------------


def _stop(view: str) -> None:
    st.session_state[STOPPED] = view


def _resume() -> None:
    st.session_state.pop(STOPPED, None)


def _view_key(plan: list[tuple[str, float, int, Any]]) -> str:
    return "|".join(cfg.key() for *_, cfg in plan)


def train_all(exp: Experiment, scale: float = 1.0) -> list[Result]:
    """Every run of ``exp``: from the store, or trained now with live progress; InputError for a bad run.

    Returns the finished runs (and a stopped one's partial history) in the
    experiment's order; runs not reached after a stop are left out.
    """
    plan = runs(exp)
    store = results_store()
    view = _view_key(plan)
    missing = [(i, r) for i, r in enumerate(plan) if store.get(r[3].key()) is None]
    partial: dict[str, History] = {}
    saved = st.session_state.get(PARTIAL)
    if saved and saved[0] == view:
        partial = saved[1]
        for h in partial.values():
            if not h.stopped:  # interrupted inside on_eval (the stop button, or another control)
                h.stopped = True
                h.notes.append(Msg("Stopped at step {step:,} of {steps:,}.", step=h.steps[-1], steps=h.config.steps))
    if missing and st.session_state.get(STOPPED) == view:
        done = len(plan) - len(missing)
        if partial:
            said = Msg("Training stopped: {done} of {n} runs finished and one partly. Change a control to train "
                       "something else.", done=done, n=len(plan))
        else:
            said = Msg("Training stopped: {done} of {n} runs finished. Change a control to train something else.",
                       done=done, n=len(plan))
        st.info(t(said))
        st.button(t(N_("train the rest")), icon=":material/play_arrow:", on_click=_resume, key="train_resume")
    elif missing:
        for _, (*_, cfg) in missing:
            check(cfg)
        _train_live(exp, plan, missing, view, scale)
        partial = {}
    if not partial:
        st.session_state.pop(PARTIAL, None)
    out = []
    for norm, value, seed, cfg in plan:
        h = store.get(cfg.key()) or partial.get(cfg.key())
        if h is not None:
            out.append((norm, value, seed, h))
    return out


def _train_live(exp: Experiment, plan: list, missing: list, view: str, scale: float) -> None:
    """Train the missing runs one after the other, drawing progress and a live chart; store each when done."""
    store = results_store()
    lang = current()  # the callbacks below draw in this run's language
    total = sum(cfg.steps for _, (*_, cfg) in missing)
    live = st.empty()
    with live.container(border=True):
        bar_col, stop_col = st.columns([6, 1], vertical_alignment="bottom")
        bar = bar_col.progress(0.0, text=t(N_("Starting…")))
        stop_col.button(t(N_("stop")), icon=":material/stop_circle:", key="train_stop", on_click=_stop, args=(view,),
                        help=t(N_("Stop training and show what has been recorded so far.")))
        chart = st.empty()
    done_steps = 0
    last = [0.0]
    finished: dict[str, History] = {}
    for n, (i, (norm, value, seed, cfg)) in enumerate(missing, start=1):
        what = Msg("{title}, seed {seed}", title=spec_title(norm), seed=seed) if math.isnan(value) else \
            Msg("{title}, seed {seed}, {sweep} {value:g}", title=spec_title(norm), seed=seed, sweep=exp.sweep,
                value=value)

        def on_eval(h: History, what=what, n=n, base=done_steps) -> None:
            step = h.steps[-1]
            bar.progress(min(1.0, (base + step) / total),
                         text=translate(Msg("Run {n} of {runs}: {what} — step {step:,} of {steps:,}, held-out accuracy "
                                    "{acc:.1%}", n=n, runs=len(missing), what=what, step=step, steps=h.config.steps,
                                    acc=h.test_accuracy[-1]), lang))
            st.session_state[PARTIAL] = (view, {h.config.key(): h})
            now = time.perf_counter()
            if now - last[0] >= LIVE_EVERY or step == h.config.steps:
                last[0] = now
                plot(fig.curves(_live_runs(finished, norm, h), scale, steps=h.config.steps), lang=lang, where=chart)

        h = train(cfg, on_eval=on_eval)
        store.put(cfg.key(), h)
        if math.isnan(value) and seed == exp.seeds[0]:
            finished[norm] = h
        done_steps += cfg.steps
    live.empty()


def _live_runs(finished: dict[str, History], norm: str, current: History) -> dict[str, History]:
    """What the live chart shows: the first-seed runs finished so far and the one training now."""
    return {**finished, norm: current}


# -- results --------------------------------------------------------------------


def first_seed(exp: Experiment, results: list[Result]) -> dict[str, History]:
    """Per norm, the first seed's history (what the charts show)."""
    return {norm: h for norm, value, seed, h in results if seed == exp.seeds[0] and math.isnan(value)}


def sweep_rows(results: list[Result]) -> list:
    return [summarize(norm, value, seed, h) for norm, value, seed, h in results]


def _cell(value: object) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def summary_table(results: list[Result]) -> None:
    """The table of runs (steps to 90%, accuracies, speed) as static text: readable on a projector."""
    rows = run_table(results)
    st.table([{t(k): t(_cell(v)) for k, v in row.items()} for row in rows], hide_index=True)
    st.caption(t(N_("Steps are the first evaluation at or past the mark (— = not reached); held-out accuracies are in "
               "eval mode; 'training batches' is the mean over the batches since the previous evaluation, in "
               "training mode; 'batch statistics' normalizes the held-out set in batches of batch_size.")))


def layer_picker(runs_: dict[str, History]) -> str:
    """The hidden layer the percentile and distribution charts show (default: the last, as Figure 1)."""
    layers = list(next(iter(runs_.values())).layers)
    return st.selectbox(t(N_("hidden layer")), layers, index=len(layers) - 1, key=LAYER_KEY, bind="query-params",
                        help=t(N_("Which hidden layer's pre-activations the next two charts show.")))


def export(exp: Experiment, results: list[Result]) -> None:
    """Download the histories as CSV, and the Python that reproduces every run."""
    left, right = st.columns([1, 3], gap="large")
    left.download_button(t(N_("history (CSV)")), results_csv(results), file_name="vnviz_training.csv", mime="text/csv",
                         icon=":material/download:", key="train_csv",
                         help=t(N_("One row per evaluation of every run: losses, accuracies, per-layer "
                                   "percentiles, gradient norms.")))
    with right.expander(t(N_("reproduce in Python")), icon=":material/code:"):
        st.code(snippet(exp), language="python")
