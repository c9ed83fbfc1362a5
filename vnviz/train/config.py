"""What to train: one frozen ``TrainConfig``, its checks, and its text forms.

A config is a value: equal configs give equal histories, bit for bit (on the
CPU). Its ``key()`` is the canonical text the app caches results on, and
``snippet()`` the Python that reproduces a run.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, fields, replace
from typing import Any, Mapping

from vnviz.device import DEVICE_CHOICES
from vnviz.errors import InputError
from vnviz.i18n import N_, Msg
from vnviz.variants.registry import VARIANTS, quote

NONE = "none"  # the norm value for "no normalization layer"
MODELS = ("mlp", "cnn")
ACTIVATIONS = ("sigmoid", "tanh", "relu")
OPTIMIZERS = ("sgd", "adam")
MAX_STEPS = 20_000  # the most training steps one run may take (about 10 s on a laptop CPU for the digits MLP)
MAX_LAYERS = 6  # hidden layers (MLP) or conv layers (CNN)
MAX_WIDTH = {"mlp": 1024, "cnn": 64}  # units per hidden layer / channels per conv layer
MAX_LR = 100.0
MAX_SEED = 2**31 - 1


def norm_names() -> tuple[str, ...]:
    """"none" and every norm variant of the registry, in registry order."""
    return (NONE,) + tuple(name for name, v in VARIANTS.items() if v.family == "norm")


def norm_specs() -> tuple[str, ...]:
    """What the lab can compare: each norm name, and ``name:mode`` for every other mode a variant declares.

    A variant with a ``mode`` choice (ClusterNorm: hard, soft = Mixture
    Normalization) is listed once per mode, so its modes can train side by side.
    """
    out = []
    for name in norm_names():
        out.append(name)
        variant = VARIANTS.get(name)
        mode = next((p for p in variant.params if p.name == "mode" and p.kind == "choice"), None) if variant else None
        if mode is not None:
            out += [f"{name}:{m}" for m in mode.choices if m != mode.default]
    return tuple(out)


def parse_spec(spec: str) -> tuple[str, dict[str, Any]]:
    """``"cluster_norm:soft"`` -> ``("cluster_norm", {"mode": "soft"})``; a plain name -> (name, {})."""
    name, _, mode = spec.partition(":")
    return name, ({"mode": mode} if mode else {})


def spec_title(spec: str) -> str:
    """A spec as people read it: "no norm", "BatchNorm", "ClusterNorm (soft)" (a Msg)."""
    name, params = parse_spec(spec)
    if name == NONE:
        return N_("no norm")
    title = VARIANTS[name].title if name in VARIANTS else name
    return Msg("{title} ({mode})", title=title, mode=params["mode"]) if params else title


@dataclass(frozen=True)
class TrainConfig:
    """One training run: data, model, normalization, optimizer and what to record.

    ``norm_params`` passes keyword parameters to the norm variant (e.g.
    ``{"num_groups": 4}`` for GroupNorm, ``{"n_clusters": 3, "mode": "soft"}``
    for ClusterNorm); a dict is accepted and stored as sorted pairs.
    """

    dataset: str = "digits"  # "digits" (8x8 images), "iris", "wine", "breast_cancer", "mixture"
    model: str = "mlp"  # "mlp" or "cnn" (3x3 convolutions; image datasets only)
    hidden: tuple[int, ...] = (100, 100, 100)  # units per hidden layer (mlp) or channels per conv layer (cnn)
    activation: str = "sigmoid"  # "sigmoid", "tanh" or "relu"
    norm: str = NONE  # "none" or a norm variant of the registry, placed after each hidden linear/conv layer
    norm_params: tuple[tuple[str, Any], ...] = ()  # the variant's parameters, passed through
    affine: bool = True  # learnable weight and bias in the norm layers, where the variant has them
    batch_size: int = 60  # samples per training step
    steps: int = 3000  # training steps (at most MAX_STEPS)
    optimizer: str = "sgd"  # "sgd" (with ``momentum``) or "adam"
    lr: float = 1.0  # learning rate
    momentum: float = 0.0  # SGD momentum (ignored by adam)
    seed: int = 0  # initial weights and batch order (two separate generators)
    eval_every: int = 50  # evaluate (and record) every this many steps, and at step 0 and the last step
    landscape_every: int = 0  # probe the loss landscape along the gradient every this many steps (0 = never)
    device: str = "auto"  # "auto" (CUDA, then CPU), "cuda", "mps" or "cpu"

    def __post_init__(self) -> None:
        params = self.norm_params
        if isinstance(params, Mapping):
            params = tuple(sorted(params.items()))
        elif isinstance(params, (list, tuple)) and all(isinstance(p, (list, tuple)) and len(p) == 2 for p in params):
            params = tuple(sorted((str(k), v) for k, v in params))
        else:
            raise InputError("norm_params must be a dict of the norm's parameters; got {got}.", got=quote(params))
        object.__setattr__(self, "norm_params", params)
        if isinstance(self.hidden, int) and not isinstance(self.hidden, bool):
            object.__setattr__(self, "hidden", (self.hidden,))
        elif isinstance(self.hidden, list):
            object.__setattr__(self, "hidden", tuple(self.hidden))

    @property
    def spec(self) -> str:
        """The norm as the lab lists it (``name`` or ``name:mode``, see ``norm_specs``)."""
        mode = self.params.get("mode")
        return f"{self.norm}:{mode}" if mode is not None and f"{self.norm}:{mode}" in norm_specs() else self.norm

    @property
    def params(self) -> dict[str, Any]:
        """``norm_params`` as a dict."""
        return dict(self.norm_params)

    def with_(self, **changes: Any) -> TrainConfig:
        """A copy with some fields changed (``dataclasses.replace``)."""
        return replace(self, **changes)

    def key(self) -> str:
        """The canonical text of the config (every field): the cache key of its result."""
        parts = []
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name == "norm_params":
                value = ",".join(f"{k}:{v!r}" for k, v in value)
            elif f.name == "hidden":
                value = ",".join(map(str, value))
            parts.append(f"{f.name}={value!r}" if isinstance(value, float) else f"{f.name}={value}")
        return "&".join(parts)

    def snippet(self) -> str:
        """Python code that trains this config again and prints its final accuracy."""
        changed = []
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name == "norm_params":
                if value:
                    changed.append(f"norm_params={dict(value)!r}")
            elif value != f.default or f.name in ("dataset", "model", "norm", "steps", "lr", "seed"):
                changed.append(f"{f.name}={value!r}")
        args = ",\n    ".join(changed)
        return (
            "from vnviz.train import TrainConfig, train\n\n"
            f"cfg = TrainConfig(\n    {args},\n)\n"
            "h = train(cfg)\n"
            "print(f\"step {h.steps[-1]}: test accuracy {h.test_accuracy[-1]:.4f}, "
            "train loss {h.train_loss[-1]:.4f}\")\n"
        )


def _whole(value: Any, name: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise InputError("{name} must be a whole number from {low:,} to {high:,}; got {got}.",
                         name=name, low=low, high=high, got=quote(value))
    return value


def _choice(value: Any, name: str, choices: tuple[str, ...]) -> str:
    if not isinstance(value, str) or value not in choices:
        raise InputError("{name} must be one of {choices}; got {got}.", name=name, choices=", ".join(choices),
                         got=quote(value))
    return value


def check_config(cfg: TrainConfig) -> TrainConfig:
    """Check every field that does not depend on the data; raise InputError with one sentence.

    What depends on the data and the model (a norm that cannot fit a layer,
    ``num_groups`` that does not divide the width, batch size 1 with
    BatchNorm, more samples per batch than the training set holds) is checked
    by ``vnviz.train.loop.check`` on one probe batch, before training.
    """
    from vnviz.train.data import DATASETS

    if not isinstance(cfg, TrainConfig):
        raise InputError("train needs a TrainConfig; got {type}.", type=type(cfg).__name__)
    _choice(cfg.dataset, "dataset", tuple(DATASETS))
    _choice(cfg.model, "model", MODELS)
    if not isinstance(cfg.hidden, tuple) or not 1 <= len(cfg.hidden) <= MAX_LAYERS or not all(
        isinstance(h, int) and not isinstance(h, bool) and 1 <= h <= MAX_WIDTH[cfg.model] for h in cfg.hidden
    ):
        raise InputError(
            "hidden must list 1 to {layers} layer widths, each a whole number from 1 to {width} for the {model}; "
            "got {got}.",
            layers=MAX_LAYERS, width=MAX_WIDTH[cfg.model], model=cfg.model, got=quote(cfg.hidden),
        )
    _choice(cfg.activation, "activation", ACTIVATIONS)
    _choice(cfg.norm, "norm", norm_names())
    if cfg.norm == NONE and cfg.norm_params:
        raise InputError("norm_params must be empty without a norm; got {got}.", got=quote(cfg.params))
    if not isinstance(cfg.affine, bool):
        raise InputError("affine must be True or False; got {got}.", got=quote(cfg.affine))
    _whole(cfg.batch_size, "batch_size", 1, 100_000)
    _whole(cfg.steps, "steps", 1, MAX_STEPS)
    _choice(cfg.optimizer, "optimizer", OPTIMIZERS)
    for name, value, high in (("lr", cfg.lr, MAX_LR), ("momentum", cfg.momentum, 0.999)):
        ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
        if not ok or not (0 < value <= high if name == "lr" else 0 <= value <= high):
            low = N_("above 0") if name == "lr" else N_("from 0")
            raise InputError("{name} must be a number {low} and at most {high:g}; got {got}.",
                             name=name, low=low, high=high, got=quote(value))
    _whole(cfg.seed, "seed", 0, MAX_SEED)
    _whole(cfg.eval_every, "eval_every", 1, MAX_STEPS)
    _whole(cfg.landscape_every, "landscape_every", 0, MAX_STEPS)
    _choice(cfg.device, "device", DEVICE_CHOICES)
    return cfg


FIELD_NAMES = tuple(f.name for f in fields(TrainConfig))
DEFAULTS = TrainConfig()
__all__ = ["TrainConfig", "check_config", "norm_names", "norm_specs", "parse_spec", "spec_title", "NONE", "MODELS", "ACTIVATIONS", "OPTIMIZERS",
           "MAX_STEPS", "FIELD_NAMES", "DEFAULTS"]
