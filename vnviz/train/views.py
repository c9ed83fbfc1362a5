"""What the /train page shows, as data: its link keys, and the experiment a link describes.

The page's state is an :class:`~vnviz.train.experiments.Experiment` (a base
config, the norms, the seeds, an optional sweep). Every field has a link key,
declared here as a registry ``Param`` so that the widgets, the links of the
lessons and their tests read one declaration: the config's fields under their
own names (``dataset``, ``lr``, ``batch_size``, ...), ``norms`` (repeated:
``norms=none&norms=batch_norm``), ``seeds`` (``0,1,2``), ``sweep``,
``sweep_values``, ``scale_lr``, ``same_samples``, and each norm parameter a
layer takes as ``{variant}.{param}`` (``group_norm.num_groups=4``).
"""
from __future__ import annotations

import math
from dataclasses import replace
from typing import Any, Mapping

from vnviz.errors import InputError
from vnviz.i18n import N_, Msg, plural_msg
from vnviz.train.config import ACTIVATIONS, MAX_STEPS, MODELS, NONE, OPTIMIZERS, norm_specs, parse_spec
from vnviz.train.data import DATASETS
from vnviz.train.experiments import FIG1, SWEEPS, Experiment
from vnviz.train.layers import layer_params
from vnviz.variants.registry import VARIANTS, Param, quote

YOURS = N_("Your comparison")  # the title of the experiment a link describes
DEFAULT = Experiment("custom", YOURS, FIG1.with_(steps=1000), ("none", "batch_norm"))
MAX_RUNS = 60  # norms × seeds × swept values one view may train
CNN_HIDDEN = (8, 16)  # the hidden widths the page suggests for the cnn

_cfg = DEFAULT.config
CONFIG_PARAMS: tuple[Param, ...] = (
    Param("dataset", "choice", _cfg.dataset, N_("The data: scikit-learn's bundled datasets (a fixed stratified split, "
          "a quarter held out) or the project's Gaussian mixture."), choices=tuple(DATASETS)),
    Param("model", "choice", _cfg.model, N_("mlp: linear layers; cnn: 3×3 convolutions for the 8×8 digits."),
          choices=MODELS),
    Param("hidden", "shape", _cfg.hidden, N_("Units per hidden layer (mlp) or channels per conv layer (cnn), "
          "comma-separated, e.g. 100,100,100 or 8,16.")),
    Param("activation", "choice", _cfg.activation, N_("The nonlinearity after each norm."), choices=ACTIVATIONS),
    Param("optimizer", "choice", _cfg.optimizer, N_("sgd (with momentum) or adam."), choices=OPTIMIZERS),
    Param("lr", "float", _cfg.lr, N_("Learning rate."), low=0.0, low_open=True, high=100.0),
    Param("momentum", "float", _cfg.momentum, N_("SGD momentum (adam ignores it)."), low=0.0, high=0.999),
    Param("batch_size", "int", _cfg.batch_size, N_("Samples per training step."), low=1, high=100_000),
    Param("steps", "int", _cfg.steps, Msg("Training steps (at most {max:,}).", max=MAX_STEPS), low=1, high=MAX_STEPS),
    Param("eval_every", "int", _cfg.eval_every, N_("Evaluate on the held-out set every this many steps."), low=1,
          high=MAX_STEPS),
    Param("landscape_every", "int", _cfg.landscape_every, N_("Probe the loss landscape along the gradient every this "
          "many steps (0 = never; experiment 4)."), low=0, high=MAX_STEPS),
    Param("affine", "bool", _cfg.affine, N_("Learnable weight and bias in each norm layer, where the variant has them.")),
    Param("device", "choice", _cfg.device, N_("auto: CUDA when present, else the CPU."), choices=("auto", "cpu", "cuda")),
)
VIEW_PARAMS: tuple[Param, ...] = (
    Param("norms", "choice", DEFAULT.norms, N_("The norms to compare side by side (each after every hidden layer)."),
          choices=norm_specs()),
    Param("seeds", "ints", DEFAULT.seeds, N_("Seeds, comma-separated: every norm trains once per seed (the charts "
          "show the first; the table every one).")),
    Param("sweep", "choice", DEFAULT.sweep, N_("none: one run per norm and seed; batch_size or lr: train each value "
          "of sweep_values and draw the error against it."), choices=SWEEPS),
    Param("sweep_values", "str", "32,16,8,4,2", N_("The swept values, comma-separated.")),
    Param("scale_lr", "bool", False, N_("Batch-size sweep: scale the learning rate with the batch "
          "(lr × batch / batch_size).")),
    Param("same_samples", "bool", False, N_("Batch-size sweep: scale the steps so every run sees as many samples as "
          "steps × batch_size.")),
)


def norm_param_key(name: str, p: Param) -> str:
    """The link key of a norm parameter: ``{variant}.{param}``."""
    return f"{name}.{p.name}"


def norm_param_items() -> tuple[tuple[str, str, Param], ...]:
    """(link key, variant name, Param) for every parameter a norm layer takes, in registry order."""
    out = []
    for spec in norm_specs():
        name, _ = parse_spec(spec)
        if name == NONE or ":" in spec:
            continue
        for p in layer_params(VARIANTS[name]):
            out.append((norm_param_key(name, p), name, p))
    return tuple(out)


def link_params() -> dict[str, Param]:
    """Every link key of the page and its declaration."""
    return {p.name: p for p in CONFIG_PARAMS + VIEW_PARAMS} | {key: p for key, _, p in norm_param_items()}


def values_of(exp: Experiment) -> dict[str, Any]:
    """The value of every link key for ``exp`` (norm parameters at their defaults unless set)."""
    values: dict[str, Any] = {p.name: getattr(exp.config, p.name) for p in CONFIG_PARAMS}
    swept = exp.values or tuple(float(v) for v in VIEW_PARAMS[3].default.split(","))
    values |= {"norms": exp.norms, "seeds": exp.seeds, "sweep": exp.sweep, "sweep_values": _values_text(swept),
               "scale_lr": exp.scale_lr, "same_samples": exp.same_samples}
    for key, name, p in norm_param_items():
        values[key] = exp.norm_params.get(name, {}).get(p.name, p.default)
    return values


def _values_text(values: tuple[float, ...]) -> str:
    return ",".join(f"{v:g}" for v in values)


def link_query(exp: Experiment) -> dict[str, str | tuple[str, ...]]:
    """The query of a link that opens ``exp``: every key whose value differs from the page's default."""
    params = link_params()
    base, mine = values_of(DEFAULT), values_of(exp)
    out: dict[str, str | tuple[str, ...]] = {}
    for key, value in mine.items():
        if value == base[key]:
            continue
        if key == "norms":
            out[key] = tuple(value)
        elif key == "sweep_values":
            out[key] = value
        else:
            out[key] = params[key].to_text(value)
    return out


def describe(exp: Experiment) -> str:
    """One line saying what the view trains, e.g. "digits · mlp 100-100-100, sigmoid · sgd, lr 1, batch 60 · ..."
    (a Msg)."""
    from vnviz.train.config import spec_title

    c = exp.config
    optim = f"{c.optimizer}, lr {c.lr:g}" + (f", momentum {c.momentum:g}" if c.optimizer == "sgd" and c.momentum else "")
    seeds = ", ".join(map(str, exp.seeds))
    parts = [c.dataset, f"{c.model} {'-'.join(map(str, c.hidden))}, {c.activation}",
             Msg("{optim}, batch {batch}", optim=optim, batch=c.batch_size), Msg("{steps:,} steps", steps=c.steps),
             Msg.join((spec_title(s) for s in exp.norms), " vs "),
             plural_msg("seed {seeds}", "seeds {seeds}", len(exp.seeds), seeds=seeds)]
    if exp.sweep != "none":
        text = Msg("{sweep} swept over {values}", sweep=exp.sweep, values=", ".join(f"{v:g}" for v in exp.values))
        if exp.scale_lr and exp.sweep == "batch_size":
            text = Msg("{text}, lr scaled with the batch", text=text)
        if exp.same_samples and exp.sweep == "batch_size":
            text = Msg("{text}, same samples seen", text=text)
        parts.append(text)
    return Msg.join(parts, " · ")


def parse_values(text: str, sweep: str) -> tuple[float, ...]:
    """The swept values from their text ("32,16,8"); InputError with one sentence when they are not numbers."""
    parts = [t.strip() for t in str(text).split(",") if t.strip()]
    try:
        values = tuple(float(t) for t in parts)
    except ValueError:
        values = ()
    if not values or not all(math.isfinite(v) and v > 0 for v in values):
        raise InputError("sweep_values must be positive numbers separated by commas; got {got}.", got=quote(text))
    if sweep == "batch_size" and not all(v == int(v) for v in values):
        raise InputError("A batch-size sweep needs whole numbers in sweep_values; got {got}.", got=quote(text))
    return values


def experiment_from(values: Mapping[str, Any]) -> Experiment:
    """The experiment the page's values describe (keys as ``link_params``); InputError for a bad combination."""
    cfg = replace(DEFAULT.config, **{p.name: values[p.name] for p in CONFIG_PARAMS if p.name in values})
    norms = tuple(values.get("norms") or ())
    if not norms:
        raise InputError("Choose at least one norm to train (none is a choice too).")
    seeds = tuple(values.get("seeds") or (0,))
    sweep = values.get("sweep") or "none"
    swept = parse_values(values.get("sweep_values", ""), sweep) if sweep != "none" else ()
    chosen = {parse_spec(s)[0] for s in norms}
    params: dict[str, dict[str, Any]] = {}
    for key, name, p in norm_param_items():
        if name in chosen and key in values and values[key] != p.default:
            params.setdefault(name, {})[p.name] = values[key]
    exp = Experiment("custom", YOURS, cfg, norms, seeds, sweep, swept, bool(values.get("scale_lr")),
                     bool(values.get("same_samples")), params)
    count = len(norms) * len(seeds) * max(1, len(swept))
    if count > MAX_RUNS:
        raise InputError("This view would train {count} runs (norms × seeds × swept values); at most {most} "
                         "are allowed, so choose fewer.",
                         count=count, most=MAX_RUNS)
    return exp
