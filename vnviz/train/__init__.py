"""The training lab: train small networks with and without each norm, side by side (torch only).

::

    from vnviz.train import TrainConfig, train
    cfg = TrainConfig(dataset="digits", model="mlp", hidden=(100, 100, 100), activation="sigmoid",
                      norm="batch_norm", batch_size=60, steps=3000, optimizer="sgd", lr=1.0,
                      seed=0, eval_every=50, device="auto")
    h = train(cfg, on_eval=None)   # on_eval(h_so_far) at each evaluation; return False to stop
    h.steps, h.test_accuracy, h.train_accuracy, h.train_loss, h.test_loss
    h.percentiles   # {hidden layer: (len(steps), 3)} one unit's 15/50/85th percentile pre-activation
    h.histograms    # {hidden layer: (len(steps), bins)} distribution of all its pre-activations
    h.grad_norms    # {hidden layer: (len(steps),)} norm of its weight gradient

Modules: ``config`` (TrainConfig and its checks), ``data`` (datasets and the
fixed split), ``layers`` (norm layers built from the variant declarations),
``models`` (the mlp and the cnn), ``loop`` (``train``), ``history`` (what is
recorded), ``experiments`` (the five presets, sweeps and their summaries).
"""
from __future__ import annotations

from vnviz.train.config import MAX_STEPS, TrainConfig, check_config, norm_names
from vnviz.train.history import History
from vnviz.train.loop import check, train

__all__ = ["TrainConfig", "History", "train", "check", "check_config", "norm_names", "MAX_STEPS"]
