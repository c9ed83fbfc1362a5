"""Read an uploaded file into tensors, treating every byte as hostile: the public calls, the caps and the checks.

Formats, chosen by the file name's extension (case-insensitive): ``.npy``,
``.npz``, ``.csv`` / ``.tsv`` / ``.txt``, ``.pt`` / ``.pth`` and ``.png`` /
``.jpg`` / ``.jpeg``. Each has its parser in its own module
(``upload_numpy``: .npy, .npz and the zip guards; ``upload_torch``: .pt;
``upload_text``: tables; ``upload_image``: images); this one holds what they
share: the caps, the checks every array passes, and the dtype policy.

Nothing is ever unpickled: ``.npy`` headers are parsed and checked before any
data is read, ``.npz`` members are read with bounded sizes after the zip's
directory has been checked, and ``.pt`` files go through
``torch.load(weights_only=True)``. Sizes are capped before anything large is
allocated (:data:`MAX_UPLOAD_BYTES` for the file, :data:`MAX_ELEMENTS` per
array). Every problem raises :class:`~vnviz.errors.InputError` with one sentence.

Dtypes: a float array keeps the file's dtype, float16, bfloat16 (``.pt``;
numpy has none), float32 and float64 alike, as every norm computes in them;
numpy floats longer than 8 bytes (``longdouble``) become float64 and torch's
other float dtypes (float8) float32, torch having no kernels for them. Bool and
integer arrays become float32 (whole numbers beyond 2**24 = 16,777,216 are then
rounded to the nearest float32). Text tables and images are float32 (images
scaled to [0, 1]). The dict ``load_arrays`` returns says what each array was
stored as (``Arrays.stored``), so that a caller can say what was converted.
NaN and Inf are returned as they are, but an array with no finite value at all
is refused.
"""
from __future__ import annotations

import math
import os

import torch

from vnviz.data.generators import MAX_ELEMENTS, fmt_shape
from vnviz.errors import InputError
from vnviz.i18n import N_, Msg

MAX_UPLOAD_BYTES = 200 * 2**20  # cap on an uploaded file's size
MAX_DIMS = 6  # most dimensions an uploaded array may have
MAX_ARRAYS = 1024  # most arrays (or zip members) one .npz or .pt file may hold
MAX_ARCHIVE_ELEMENTS = 4 * MAX_ELEMENTS  # cap on the elements of all arrays of one .npz or .pt together
MAX_MEMBER_BYTES = 16 * MAX_ELEMENTS + 2**16  # largest zip member: MAX_ELEMENTS 16-byte values plus header room
MAX_ARCHIVE_BYTES = 4 * MAX_ELEMENTS * 8  # cap on the uncompressed size of all members together
MAX_ZIP_DIRECTORY_BYTES = 2**20  # zipfile parses the whole central directory at once; bound it first
MAX_COMPRESSION_RATIO = 1100  # deflate never exceeds about 1032 to 1; more means a lying or hostile zip
MAX_IMAGE_PIXELS = MAX_ELEMENTS // 3  # so an RGB image stays within MAX_ELEMENTS

EXTENSIONS = (".npy", ".npz", ".csv", ".tsv", ".txt", ".pt", ".pth", ".png", ".jpg", ".jpeg")
_ALLOWED = Msg("{extensions} or {last}", extensions=", ".join(EXTENSIONS[:-1]), last=EXTENSIONS[-1])


# --------------------------------------------------------------------------- public


class Arrays(dict):
    """The arrays of a file by name (a plain dict), and ``stored``: each one's dtype in the file."""

    def __init__(self, arrays: dict[str, torch.Tensor], stored: dict[str, str] | None = None) -> None:
        super().__init__(arrays)
        self.stored = dict(stored or {})  # name -> dtype as stored ("float16", "int64", "text", "8-bit image", ...)

    def conversion(self, name: str) -> str:
        """One sentence when the array was converted to another dtype to be read, else ""."""
        stored, now = self.stored.get(name, ""), str(self[name].dtype).replace("torch.", "")
        if not stored or stored == now or stored in ("text", "image"):
            return ""
        what = N_("its values") if len(self) == 1 else Msg("the array {name!r}", name=name)
        if stored.startswith(("int", "uint")):
            return Msg("The file stores {what} as {stored}; vnviz converted them to {now} (whole numbers above 2^24 "
                       "are rounded).", what=what, stored=stored, now=now)
        return Msg("The file stores {what} as {stored}; vnviz converted them to {now}.", what=what, stored=stored, now=now)


def load_arrays(data: bytes, filename: str) -> Arrays:
    """Read every array in an uploaded file, by name.

    Single-array formats (``.npy``, text tables, images, a ``.pt`` holding one
    tensor) give ``{"x": tensor}``; ``.npz`` gives its member names without
    ``.npy``; a ``.pt`` holding a dict gives its keys, one holding a list or
    tuple gives ``"0"``, ``"1"``, ...

    Args:
        data: the file's bytes.
        filename: the file's name; only its extension is used (and quoted in errors).

    Returns:
        ``Arrays`` (a ``dict[str, Tensor]`` with ``stored``) in file order; each tensor on the CPU, contiguous,
        in the file's float dtype (float16, bfloat16, float32 or float64; bool
        and integers as float32, see the module's dtype policy), 1 to 6 dims,
        no dim 0, at most :data:`MAX_ELEMENTS` elements, at least one finite value.
        Images are ``(1, C, H, W)`` in [0, 1]; text tables are ``(rows, cols)``.

    Raises:
        InputError: the file is too big, damaged, of an unknown type, holds
            Python objects or an array vnviz cannot use.
    """
    label = quote_name(os.path.basename(filename) if isinstance(filename, str) else filename)
    if not isinstance(filename, str):
        raise InputError("The file name must be a string, got {label}.", label=label)
    ext = os.path.splitext(filename)[1].lower()
    if ext not in EXTENSIONS:
        got = Msg("the extension {ext}", ext=quote_name(ext)) if ext else N_("no extension")
        raise InputError("The file {label} has {got}, which vnviz cannot read; upload a {allowed} file.",
                         label=label, got=got, allowed=_ALLOWED)
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise InputError("The contents of {label} must be bytes, got {type}.", label=label, type=type(data).__name__)
    if len(data) > MAX_UPLOAD_BYTES:
        raise InputError(
            "The file {label} has {n:,} bytes, more than the upload cap of {cap:,} bytes.",
            label=label, n=len(data), cap=MAX_UPLOAD_BYTES,
        )
    if len(data) == 0:
        raise InputError("The file {label} is empty (0 bytes); upload a file that holds an array.", label=label)
    data = bytes(data)
    from vnviz.data.upload_formats import READERS  # the parsers import this module's caps and checks

    arrays = READERS[ext](data, label)
    if isinstance(arrays, Arrays):  # the .npy, .npz and .pt parsers say what each array was stored as
        return arrays
    return Arrays(arrays, {k: "text" if ext in (".csv", ".tsv", ".txt") else "image" for k in arrays})


def load_array(data: bytes, filename: str) -> torch.Tensor:
    """Read the one array of an uploaded file.

    That is the array named ``"x"`` if the file has one, else the first in file
    order. See :func:`load_arrays` for formats, conversions and errors.
    """
    arrays = load_arrays(data, filename)
    return arrays["x"] if "x" in arrays else next(iter(arrays.values()))


# --------------------------------------------------------------------------- shared checks


def quote_name(value: object, limit: int = 60) -> str:
    """repr() of a name, shortened, so a hostile name cannot break the one-line message."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 4] + "...'"


def check_shape(shape: tuple[int, ...], where: str) -> None:
    """Refuse 0-d, more than MAX_DIMS dims, a 0 or negative dim, or more than MAX_ELEMENTS elements."""
    if len(shape) == 0:
        raise InputError(
            "{where} is a single number (a 0-d scalar, shape ()); vnviz needs an array with 1 to {most} dims.",
            where=where, most=MAX_DIMS,
        )
    if len(shape) > MAX_DIMS:
        raise InputError(
            "{where} has {n} dims (shape {shape}); vnviz reads arrays with at most {most}.",
            where=where, n=len(shape), shape=fmt_shape(shape), most=MAX_DIMS,
        )
    if any(d < 0 for d in shape):
        raise InputError("{where} declares a negative dimension (shape {shape}), so the file is damaged.",
                         where=where, shape=fmt_shape(shape))
    if 0 in shape:
        raise InputError("{where} is empty (shape {shape}); every dimension needs at least 1 element.",
                         where=where, shape=fmt_shape(shape))
    numel = math.prod(shape)
    if numel > MAX_ELEMENTS:
        raise InputError(
            "{where} has {numel:,} elements (shape {shape}), more than the cap of {cap:,}.",
            where=where, numel=numel, shape=fmt_shape(shape), cap=MAX_ELEMENTS,
        )


def finish(t: torch.Tensor, where: str) -> torch.Tensor:
    """Refuse an array without a single finite value; return it contiguous."""
    if not bool(torch.isfinite(t).any()):
        raise InputError("{where} has no finite value: every one of its {n:,} entries is NaN or infinite.",
                         where=where, n=t.numel())
    return t.contiguous()


class Budget:
    """Counts the arrays of one file, and their elements, against MAX_ARRAYS and MAX_ARCHIVE_ELEMENTS."""

    def __init__(self, label: str) -> None:
        self.label, self.used, self.arrays = label, 0, 0

    def take(self, numel: int) -> None:
        self.used += numel
        self.arrays += 1
        if self.arrays > MAX_ARRAYS:
            raise InputError(
                "The file {label} holds more than {cap:,} arrays, the most vnviz reads from one file.",
                label=self.label, cap=MAX_ARRAYS,
            )
        if self.used > MAX_ARCHIVE_ELEMENTS:
            raise InputError(
                "The arrays in {label} have more than {cap:,} elements together, the cap for one file.",
                label=self.label, cap=MAX_ARCHIVE_ELEMENTS,
            )
