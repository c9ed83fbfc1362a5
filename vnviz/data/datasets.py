"""Small real datasets that ship inside scikit-learn (nothing is downloaded).

Each dataset has a natural shape; the only changes a caller may ask for are
fewer samples (the first N are kept) and, for ``photos``, another height and
width (area-average resize). Loads are cached: scikit-learn reads them from
disk.
"""
from __future__ import annotations

import functools
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F

from vnviz.data.generators import Sample, Source, check_seed, check_shape_arg, fmt_shape
from vnviz.errors import InputError
from vnviz.i18n import N_, Msg, plural_msg

PHOTOS_SHAPE = (2, 3, 107, 160)  # default: the two 427x640 photos, area-downscaled 4x


@functools.lru_cache(maxsize=None)
def _sklearn_table(name: str) -> tuple[np.ndarray, np.ndarray, tuple[str, ...]]:
    """(x float32 (N, ...), labels int64 (N,), feature names) of a scikit-learn toy dataset, read once."""
    from sklearn import datasets as skd

    loader = {
        "digits": skd.load_digits,
        "iris": skd.load_iris,
        "wine": skd.load_wine,
        "breast_cancer": skd.load_breast_cancer,
    }[name]
    bunch = loader()
    x = np.asarray(bunch.images if name == "digits" else bunch.data, dtype=np.float32)
    labels = np.asarray(bunch.target, dtype=np.int64)
    x.flags.writeable = False  # the cache is shared: callers get copies
    labels.flags.writeable = False
    return x, labels, tuple(str(f) for f in bunch.feature_names)


@functools.lru_cache(maxsize=None)
def _photos_full() -> torch.Tensor:
    """The two scikit-learn sample photos as float32 (2, 3, 427, 640) in [0, 1], read once."""
    from sklearn.datasets import load_sample_images

    rgb = np.stack(load_sample_images().images)  # (2, 427, 640, 3) uint8
    return torch.from_numpy(rgb).permute(0, 3, 1, 2).float().div_(255.0).contiguous()


def _check_dataset_shape(
    name: str, shape: object, natural: tuple[int, ...], free_dims: tuple[int, ...], limits: tuple[int, ...]
) -> tuple[int, ...]:
    """Check that ``shape`` differs from ``natural`` only in ``free_dims``, each in 1..limit."""
    if shape is None:
        return natural
    shape = check_shape_arg(shape, Msg("dataset {name!r}", name=name))
    ok = len(shape) == len(natural) and all(
        (1 <= shape[i] <= limits[free_dims.index(i)]) if i in free_dims else shape[i] == natural[i]
        for i in range(len(natural))
    )
    if not ok:
        if free_dims == (0,):
            allowed = Msg("only its sample count N may change (1 to {n})", n=limits[0])
        else:
            allowed = Msg("only N (1 to {n}), H (1 to {h}) and W (1 to {w}) may change",
                          n=limits[0], h=limits[1], w=limits[2])
        raise InputError(
            "Dataset {name!r} has shape {natural} and {allowed}, got {shape}.",
            name=name, natural=fmt_shape(natural), allowed=allowed, shape=fmt_shape(shape),
        )
    return shape


def _table_maker(name: str, natural: tuple[int, ...], layout: str, sentence: str, named: bool) -> Callable[..., Sample]:
    def make(shape: tuple[int, ...] | None = None, seed: int = 0) -> Sample:
        check_seed(seed)  # datasets ignore the seed, but a bad one is still an error
        x, labels, names = _sklearn_table(name)
        shape = _check_dataset_shape(name, shape, natural, (0,), (natural[0],))
        n = shape[0]
        return Sample(
            x=torch.tensor(x[:n]).reshape(shape),
            labels=torch.tensor(labels[:n]),
            layout=layout,
            description=Msg(sentence, n=n, shape=fmt_shape(shape)),
            channel_names=names if named else None,
        )

    make.__name__ = name
    make.__doc__ = f"The {name!r} dataset from scikit-learn, natural shape {natural}; the first N samples if N is less."
    return make


def photos(shape: tuple[int, ...] | None = None, seed: int = 0) -> Sample:
    """The two scikit-learn sample photos (a temple in China, a flower) as (N, 3, H, W) in [0, 1].

    The 427x640 originals are resized with area averaging (``F.interpolate(mode="area")``).

    Args:
        shape: ``(N, 3, H, W)`` with N <= 2, H <= 427 and W <= 640, or None for
            (2, 3, 107, 160). Default: None.
        seed: ignored (checked only). Default: 0.
    """
    check_seed(seed)
    full = _photos_full()
    shape = _check_dataset_shape("photos", shape, PHOTOS_SHAPE, (0, 2, 3), (2, full.shape[2], full.shape[3]))
    n, _, h, w = shape
    x = full[:n] if (h, w) == tuple(full.shape[2:]) else F.interpolate(full[:n], size=(h, w), mode="area")
    return Sample(
        x=x.clone().contiguous(),
        labels=torch.arange(n, dtype=torch.int64),
        layout="N C H W",
        description=plural_msg("{n} colour photo from scikit-learn (a temple in China, a flower), RGB values in [0, 1], "
                               "shape {shape}.",
                               "{n} colour photos from scikit-learn (a temple in China, a flower), RGB values in "
                               "[0, 1], shape {shape}.", n, n=n, shape=fmt_shape(shape)),
        channel_names=(N_("red"), N_("green"), N_("blue")),
    )


digits = _table_maker(
    "digits",
    (1797, 1, 8, 8),
    "N C H W",
    N_("{n} handwritten digits from scikit-learn as 8x8 grey images with levels 0 to 16, shape {shape}, labels 0 to "
       "9."),
    named=False,
)
iris = _table_maker(
    "iris",
    (150, 4),
    "N C",
    N_("{n} iris flowers with 4 measurements in cm (sepal and petal length and width), shape {shape}, 3 species."),
    named=True,
)
wine = _table_maker(
    "wine",
    (178, 13),
    "N C",
    N_("{n} wines with 13 chemical measurements on very different scales, shape {shape}, 3 cultivars."),
    named=True,
)
breast_cancer = _table_maker(
    "breast_cancer",
    (569, 30),
    "N C",
    N_("{n} breast tumour scans with 30 features on wildly different scales (feature means from 0.004 to 880), "
       "shape {shape}, labels malignant 0 or benign 1."),
    named=True,
)


def _dataset(make: Callable[..., Sample], title: str, shape: tuple[int, ...], layout: str, help: str) -> Source:
    return Source(make.__name__, title, "dataset", shape, layout, help, False, make)


DATASETS: dict[str, Source] = {
    s.name: s
    for s in (
        _dataset(digits, N_("Handwritten digits"), (1797, 1, 8, 8), "N C H W",
                 N_("1,797 8x8 grey digit images, labels 0-9.")),
        _dataset(iris, N_("Iris flowers"), (150, 4), "N C", N_("150 flowers, 4 measurements, 3 species.")),
        _dataset(wine, N_("Wine"), (178, 13), "N C", N_("178 wines, 13 chemical measurements on different scales.")),
        _dataset(
            breast_cancer,
            N_("Breast cancer"),
            (569, 30),
            "N C",
            N_("569 tumours, 30 features whose means range from 0.004 to 880."),
        ),
        _dataset(photos, N_("Photos"), PHOTOS_SHAPE, "N C H W", N_("Two colour photos (2, 3, H, W) in [0, 1].")),
    )
}
