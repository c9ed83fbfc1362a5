"""The lab's two networks: an MLP for any dataset and a small CNN for the 8x8 digits.

Each hidden block is ``linear (or 3x3 conv) -> norm -> activation``; the norm
comes from ``vnviz.train.layers.norm_layer`` (the identity for "none"). The
weights are drawn from an explicit ``torch.Generator`` in a fixed order that
does not depend on the norm (norm layers start at weight 1, bias 0, and draw
nothing), so one seed gives the same initial network under every norm.
"""
from __future__ import annotations

import math

import torch
from torch import nn

from vnviz.i18n import Msg
from vnviz.train.config import TrainConfig
from vnviz.train.layers import norm_layer

ACTIVATION_MODULES = {"sigmoid": nn.Sigmoid, "tanh": nn.Tanh, "relu": nn.ReLU}
POOL = 2  # the cnn average-pools its last feature map 2x2 before the linear classifier


class Net(nn.Module):
    """Hidden blocks (linear/conv, norm, activation) and a linear classifier.

    ``forward(x, record=True)`` also returns each hidden block's
    pre-activations: the norm's output, the input to the activation (the
    quantity of the Batch Normalization paper's Figure 1).
    """

    def __init__(self, cfg: TrainConfig, sample_shape: tuple[int, ...], classes: int):
        super().__init__()
        self.kind = cfg.model
        self.linears = nn.ModuleList()
        self.norms = nn.ModuleList()
        self.acts = nn.ModuleList()
        width = sample_shape[0] if cfg.model == "cnn" else math.prod(sample_shape)
        spatial = tuple(sample_shape[1:]) if cfg.model == "cnn" else ()
        for i, h in enumerate(cfg.hidden):
            if cfg.model == "cnn":
                self.linears.append(nn.Conv2d(width, h, 3, padding=1))
            else:
                self.linears.append(nn.Linear(width, h))
            where = Msg("hidden layer {i} of the {model}", i=i + 1, model=cfg.model)
            self.norms.append(norm_layer(cfg.norm, (h,) + spatial, cfg.params, cfg.affine, cfg.seed, where))
            self.acts.append(ACTIVATION_MODULES[cfg.activation]())
            width = h
        if cfg.model == "cnn":
            self.pool = nn.AvgPool2d(POOL)
            flat = width * math.prod(s // POOL for s in spatial)
        else:
            self.pool = None
            flat = width
        self.head = nn.Linear(flat, classes)

    @property
    def layer_names(self) -> tuple[str, ...]:
        return tuple(f"hidden {i + 1}" for i in range(len(self.linears)))

    def forward(self, x: torch.Tensor, record: bool = False):
        pre = []
        if self.kind == "mlp":
            x = x.flatten(1)
        for lin, norm, act in zip(self.linears, self.norms, self.acts):
            z = norm(lin(x))
            if record:
                pre.append(z)
            x = act(z)
        if self.pool is not None:
            x = self.pool(x)
        logits = self.head(x.flatten(1))
        return (logits, pre) if record else logits


def init_weights(model: Net, generator: torch.Generator) -> None:
    """torch's default init (uniform in ±1/√fan_in, weights and biases) drawn from ``generator``, layer by layer."""
    with torch.no_grad():
        for layer in list(model.linears) + [model.head]:
            fan_in = layer.weight[0].numel()
            bound = 1.0 / math.sqrt(fan_in)
            for p in (layer.weight, layer.bias):
                p.copy_(torch.rand(p.shape, generator=generator) * (2 * bound) - bound)


def build_model(cfg: TrainConfig, sample_shape: tuple[int, ...], classes: int) -> Net:
    """The network of ``cfg`` on the CPU, its weights drawn from a generator seeded with ``cfg.seed``."""
    model = Net(cfg, sample_shape, classes)
    init_weights(model, torch.Generator().manual_seed(cfg.seed))
    return model
