"""What a training run recorded, at its evaluation steps; CSV export and small summaries."""
from __future__ import annotations

import io
import math
from dataclasses import dataclass, field

import torch

from vnviz.train.config import TrainConfig

PERCENTILES = (0.15, 0.50, 0.85)  # the Batch Normalization paper's Figure 1 (b, c)
HIST_RANGE = 8.0  # histograms bin pre-activations in [-HIST_RANGE, HIST_RANGE]; the end bins hold what lies beyond
HIST_BINS = 64
LANDSCAPE_SCALES = (0.25, 0.5, 1.0, 2.0, 4.0)  # step sizes along the gradient, as multiples of the learning rate


@dataclass
class History:
    """A run's record; lists grow at each evaluation (``on_eval`` sees it growing).

    Train metrics are the mean over the training batches since the previous
    evaluation, the model in training mode (batch statistics), as the optimizer
    saw them (NaN at step 0: no batch yet); test metrics are the held-out set in
    one batch, the model in eval mode (running statistics).
    """

    config: TrainConfig
    layers: tuple[str, ...]  # hidden layer names, "hidden 1", ...
    device: str = "cpu"  # where it trained
    steps: list[int] = field(default_factory=list)  # the steps at which it evaluated
    test_accuracy: list[float] = field(default_factory=list)
    test_loss: list[float] = field(default_factory=list)
    train_accuracy: list[float] = field(default_factory=list)
    train_loss: list[float] = field(default_factory=list)
    percentiles: dict[str, torch.Tensor] = field(default_factory=dict)  # layer -> (len(steps), 3): one unit's 15/50/85th
    histograms: dict[str, torch.Tensor] = field(default_factory=dict)  # layer -> (len(steps), HIST_BINS) fractions
    outside: dict[str, torch.Tensor] = field(default_factory=dict)  # layer -> (len(steps),) fraction beyond ±HIST_RANGE
    grad_norms: dict[str, torch.Tensor] = field(default_factory=dict)  # layer -> (len(steps),) ‖∇W‖ of the last step
    cluster_counts: dict[str, torch.Tensor] = field(default_factory=dict)  # clustered norms: (len(steps), K) held-out samples per cluster
    landscape_steps: list[int] = field(default_factory=list)  # steps at which the loss landscape was probed
    landscape_loss: torch.Tensor = field(default_factory=lambda: torch.zeros(0, len(LANDSCAPE_SCALES)))  # (L, S)
    landscape_grad_change: torch.Tensor = field(default_factory=lambda: torch.zeros(0, len(LANDSCAPE_SCALES)))  # (L, S) ‖∇L(w - ηg) - g‖
    landscape_grad_norm: torch.Tensor = field(default_factory=lambda: torch.zeros(0))  # (L,) ‖g‖
    batch_stats_accuracy: float | None = None  # held-out accuracy with batch statistics (train mode, batches of batch_size), for norms with running statistics
    stopped: bool = False  # on_eval asked to stop early
    diverged: bool = False  # the loss or the activations became NaN or Inf
    notes: list[str] = field(default_factory=list)  # sentences for the app (device fallback, divergence, ...)
    seconds: float = 0.0  # wall time of the training loop, evaluations included

    @property
    def hist_edges(self) -> torch.Tensor:
        """The HIST_BINS + 1 bin edges of ``histograms``."""
        return torch.linspace(-HIST_RANGE, HIST_RANGE, HIST_BINS + 1)

    @property
    def landscape_etas(self) -> tuple[float, ...]:
        """The step sizes the landscape probes took (the learning rate times LANDSCAPE_SCALES)."""
        return tuple(self.config.lr * s for s in LANDSCAPE_SCALES)

    @property
    def steps_per_second(self) -> float:
        return self.steps[-1] / self.seconds if self.steps and self.seconds > 0 else 0.0

    def steps_to(self, accuracy: float) -> int | None:
        """The first evaluated step whose test accuracy reached ``accuracy``; None if none did."""
        return next((s for s, a in zip(self.steps, self.test_accuracy) if a >= accuracy), None)

    def best_accuracy(self) -> float:
        finite = [a for a in self.test_accuracy if not math.isnan(a)]
        return max(finite) if finite else float("nan")

    def to_csv(self) -> str:
        """One row per evaluation: the metrics, then per layer its percentiles, gradient norm and outside fraction."""
        out = io.StringIO()
        head = ["step", "train_loss", "train_accuracy", "test_loss", "test_accuracy"]
        for layer in self.layers:
            tag = layer.replace(" ", "")
            head += [f"{tag}_p15", f"{tag}_p50", f"{tag}_p85", f"{tag}_grad_norm", f"{tag}_outside"]
        out.write(",".join(head) + "\n")
        for i, step in enumerate(self.steps):
            row = [str(step)] + [repr(float(v[i])) for v in
                                 (self.train_loss, self.train_accuracy, self.test_loss, self.test_accuracy)]
            for layer in self.layers:
                row += [repr(float(v)) for v in self.percentiles[layer][i]]
                row += [repr(float(self.grad_norms[layer][i])), repr(float(self.outside[layer][i]))]
            out.write(",".join(row) + "\n")
        return out.getvalue()
