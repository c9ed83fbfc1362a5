"""The training lab's data: bundled datasets with a fixed stratified train/test split.

The samples come from ``vnviz.data`` (scikit-learn's bundled datasets and the
project's ``mixture`` generator), so nothing is downloaded. The split is the
same for every config (a fixed seed, stratified by class, a quarter held out);
the digits' grey levels 0..16 are scaled to [0, 1] as the Batch Normalization
paper's MNIST pixels were; the tables' features are standardized with the
training split's mean and std (their raw scales differ by up to 10^5), so the
comparison is about what a norm does inside the network, not about unscaled inputs.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass

import torch

from vnviz.data import make_source
from vnviz.i18n import N_, Msg

TEST_FRACTION = 0.25  # held out, stratified by class
SPLIT_SEED = 0  # the split never changes with the config's seed
MIXTURE_SHAPE = (600, 8)  # the mixture generator's samples: 3 Gaussian clusters, their labels the classes

# name -> (data source, shape or None for the natural one, images?, title)
DATASETS: dict[str, tuple[str, tuple[int, ...] | None, bool, str]] = {
    "digits": ("digits", None, True, N_("Handwritten digits (8×8, 10 classes)")),
    "iris": ("iris", None, False, N_("Iris (4 features, 3 classes)")),
    "wine": ("wine", None, False, N_("Wine (13 features, 3 classes)")),
    "breast_cancer": ("breast_cancer", None, False, N_("Breast cancer (30 features, 2 classes)")),
    "mixture": ("mixture", MIXTURE_SHAPE, False, N_("Gaussian mixture (8 features, 3 clusters)")),
}


@dataclass(frozen=True)
class Split:
    """A dataset split once, on the CPU; ``x`` keeps the sample shape ((1, 8, 8) for digits, (F,) for tables)."""

    x_train: torch.Tensor  # float32 (n_train, *shape)
    y_train: torch.Tensor  # int64 (n_train,)
    x_test: torch.Tensor  # float32 (n_test, *shape)
    y_test: torch.Tensor  # int64 (n_test,)
    classes: int  # number of classes
    images: bool  # True when the samples are (C, H, W) images (the cnn needs them)
    description: str  # one sentence for the app (a Msg)

    @property
    def sample_shape(self) -> tuple[int, ...]:
        return tuple(self.x_train.shape[1:])


def _stratified(labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Indices (train, test) holding out TEST_FRACTION of every class, from a fixed generator."""
    g = torch.Generator().manual_seed(SPLIT_SEED)
    train, test = [], []
    for c in torch.unique(labels).tolist():
        idx = torch.nonzero(labels == c).flatten()
        idx = idx[torch.randperm(idx.numel(), generator=g)]
        k = max(1, round(TEST_FRACTION * idx.numel()))
        test.append(idx[:k])
        train.append(idx[k:])
    return torch.cat(train).sort().values, torch.cat(test).sort().values


@functools.lru_cache(maxsize=None)
def load_split(name: str) -> Split:
    """The dataset ``name`` (a key of DATASETS), split, scaled and cached (callers must not write into it)."""
    source, shape, images, title = DATASETS[name]
    sample = make_source(source, shape, SPLIT_SEED)
    x, y = sample.x.float(), sample.labels.long()
    train, test = _stratified(y)
    xtr, xte = x[train], x[test]
    if images:
        xtr, xte = xtr / 16.0, xte / 16.0  # grey levels 0..16 -> [0, 1]
    else:
        mean, std = xtr.mean(0), xtr.std(0).clamp_min(1e-8)
        xtr, xte = (xtr - mean) / std, (xte - mean) / std
    classes = int(y.max()) + 1
    return Split(
        xtr.contiguous(), y[train].contiguous(), xte.contiguous(), y[test].contiguous(), classes, images,
        Msg("{title}: {train} training and {test} held-out samples (a fixed stratified split).",
            title=title, train=train.numel(), test=test.numel()),
    )
