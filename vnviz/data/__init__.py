"""Data for vnviz: seeded generators, small bundled datasets and safe upload parsing.

``SOURCES`` lists every generator, then every dataset, by name;
``make_source(name, shape, seed)`` builds one. ``load_array`` / ``load_arrays``
read an uploaded file without ever unpickling it.
"""
from __future__ import annotations

from vnviz.data.datasets import DATASETS
from vnviz.data.generators import GENERATORS, MAX_ELEMENTS, Sample, Source, check_seed
from vnviz.data.upload import EXTENSIONS, MAX_UPLOAD_BYTES, load_array, load_arrays
from vnviz.errors import InputError

SOURCES: dict[str, Source] = {**GENERATORS, **DATASETS}


def make_source(name: str, shape: tuple[int, ...] | None = None, seed: int = 0) -> Sample:
    """Build the data of a generator or dataset in :data:`SOURCES`.

    Args:
        name: a key of :data:`SOURCES`, e.g. ``"gaussian"`` or ``"digits"``.
        shape: the shape to make; None gives the source's ``default_shape``.
            Generators take any 2-d to 5-d shape (``images`` 4-d, ``tokens`` 3-d)
            with at most :data:`MAX_ELEMENTS` elements; datasets take only a
            smaller N (and ``photos`` another H, W). Default: None.
        seed: seed of the CPU ``torch.Generator``, 0 to 2**63 - 1; datasets
            ignore it. Default: 0.

    Returns:
        A :class:`Sample` whose ``x`` is float32 on the CPU.

    Raises:
        InputError: unknown name, a shape the source does not accept, or a bad seed.
    """
    source = SOURCES.get(name) if isinstance(name, str) else None
    if source is None:
        raise InputError("There is no data source named {name!r:.40}; choose one of {names}.",
                         name=name, names=', '.join(SOURCES))
    check_seed(seed)
    return source.make(source.default_shape if shape is None else shape, seed)


__all__ = [
    "EXTENSIONS",
    "MAX_ELEMENTS",
    "MAX_UPLOAD_BYTES",
    "SOURCES",
    "Sample",
    "Source",
    "load_array",
    "load_arrays",
    "make_source",
]
