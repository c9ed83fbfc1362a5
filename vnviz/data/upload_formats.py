"""The parser of each upload extension (``upload.load_arrays`` dispatches on the file name's extension)."""
from __future__ import annotations

from typing import Callable

import torch

from vnviz.data.upload_image import read_image
from vnviz.data.upload_numpy import read_npy, read_npz
from vnviz.data.upload_text import read_text, read_tsv
from vnviz.data.upload_torch import read_torch

READERS: dict[str, Callable[[bytes, str], dict[str, torch.Tensor]]] = {
    ".npy": read_npy,
    ".npz": read_npz,
    ".csv": read_text,
    ".tsv": read_tsv,
    ".txt": read_text,
    ".pt": read_torch,
    ".pth": read_torch,
    ".png": read_image,
    ".jpg": read_image,
    ".jpeg": read_image,
}
