"""Read an uploaded file into float tensors, treating every byte as hostile.

Formats, chosen by the file name's extension (case-insensitive): ``.npy``,
``.npz``, ``.csv`` / ``.tsv`` / ``.txt``, ``.pt`` / ``.pth`` and ``.png`` /
``.jpg`` / ``.jpeg``.

Nothing is ever unpickled: ``.npy`` headers are parsed and checked before any
data is read, ``.npz`` members are read with bounded sizes after the zip's
directory has been checked, and ``.pt`` files go through
``torch.load(weights_only=True)``. Sizes are capped before anything large is
allocated (:data:`MAX_UPLOAD_BYTES` for the file, :data:`MAX_ELEMENTS` per
array). Every problem raises :class:`~vnviz.errors.InputError` with one sentence.

Bool and integer arrays become float32, float16 and bfloat16 become float32,
float32 and float64 are kept; the dict ``load_arrays`` returns says what each
array was stored as (``Arrays.stored``), so that a caller can tell the user.
NaN and Inf are returned as they are, but an array with no finite value at all
is refused.
"""
from __future__ import annotations

import array
import csv
import io
import math
import os
import pickle
import struct
import warnings
import zipfile
from dataclasses import dataclass
from typing import IO, Callable, Iterator

import numpy as np
import torch
from numpy.lib import format as npy_format
from PIL import Image

from vnviz.data.generators import MAX_ELEMENTS, fmt_shape
from vnviz.errors import InputError

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
_ALLOWED = ", ".join(EXTENSIONS[:-1]) + " or " + EXTENSIONS[-1]


# --------------------------------------------------------------------------- public


class Arrays(dict):
    """The arrays of a file by name (a plain dict), and ``stored``: each one's dtype in the file."""

    def __init__(self, arrays: dict[str, torch.Tensor], stored: dict[str, str]) -> None:
        super().__init__(arrays)
        self.stored = stored  # name -> dtype as stored ("float16", "int64", "text", "8-bit image", ...)

    def conversion(self, name: str) -> str:
        """One sentence when the array was converted to another dtype to be read, else ""."""
        stored, now = self.stored.get(name, ""), str(self[name].dtype).replace("torch.", "")
        if not stored or stored == now or stored in ("text", "8-bit image", "16-bit image"):
            return ""
        if stored in ("float16", "bfloat16"):
            why = " (it does not compute in half precision yet)"
        elif stored.startswith(("int", "uint")) and now == "float32":
            why = " (whole numbers above 2^24 are rounded)"
        else:
            why = ""
        what = "its values" if len(self) == 1 else f"the array {name!r}"
        return f"The file stores {what} as {stored}; vnviz converted them to {now}{why}."


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
        ``dict[str, Tensor]`` in file order; each tensor on the CPU, contiguous,
        float32 (float64 if it was stored as float64), 1 to 6 dims, no dim 0,
        at most :data:`MAX_ELEMENTS` elements, at least one finite value.
        Images are ``(1, C, H, W)`` in [0, 1]; text tables are ``(rows, cols)``.

    Raises:
        InputError: the file is too big, damaged, of an unknown type, holds
            Python objects or an array vnviz cannot use.
    """
    label = _quote(os.path.basename(filename) if isinstance(filename, str) else filename)
    if not isinstance(filename, str):
        raise InputError(f"The file name must be a string, got {label}.")
    ext = os.path.splitext(filename)[1].lower()
    if ext not in EXTENSIONS:
        got = f"the extension {_quote(ext)}" if ext else "no extension"
        raise InputError(f"The file {label} has {got}, which vnviz cannot read; upload a {_ALLOWED} file.")
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise InputError(f"The contents of {label} must be bytes, got {type(data).__name__}.")
    if len(data) > MAX_UPLOAD_BYTES:
        raise InputError(
            f"The file {label} has {len(data):,} bytes, more than the upload cap of {MAX_UPLOAD_BYTES:,} bytes."
        )
    if len(data) == 0:
        raise InputError(f"The file {label} is empty (0 bytes); upload a file that holds an array.")
    data = bytes(data)
    stored: dict[str, str] = {}
    return Arrays(_READERS[ext](data, label, stored), stored)


def load_array(data: bytes, filename: str) -> torch.Tensor:
    """Read the one array of an uploaded file.

    That is the array named ``"x"`` if the file has one, else the first in file
    order. See :func:`load_arrays` for formats, conversions and errors.
    """
    arrays = load_arrays(data, filename)
    return arrays["x"] if "x" in arrays else next(iter(arrays.values()))


# --------------------------------------------------------------------------- shared checks


def _quote(value: object, limit: int = 60) -> str:
    """repr() of a name, shortened, so a hostile name cannot break the one-line message."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 4] + "...'"


def _check_shape(shape: tuple[int, ...], where: str) -> None:
    """Refuse 0-d, more than MAX_DIMS dims, a 0 or negative dim, or more than MAX_ELEMENTS elements."""
    if len(shape) == 0:
        raise InputError(
            f"{where} is a single number (a 0-d scalar, shape ()); vnviz needs an array with 1 to {MAX_DIMS} dims."
        )
    if len(shape) > MAX_DIMS:
        raise InputError(
            f"{where} has {len(shape)} dims (shape {fmt_shape(shape)}); vnviz reads arrays with at most {MAX_DIMS}."
        )
    if any(d < 0 for d in shape):
        raise InputError(f"{where} declares a negative dimension (shape {fmt_shape(shape)}), so the file is damaged.")
    if 0 in shape:
        raise InputError(f"{where} is empty (shape {fmt_shape(shape)}); every dimension needs at least 1 element.")
    numel = math.prod(shape)
    if numel > MAX_ELEMENTS:
        raise InputError(
            f"{where} has {numel:,} elements (shape {fmt_shape(shape)}), more than the cap of {MAX_ELEMENTS:,}."
        )


def _finish(t: torch.Tensor, where: str) -> torch.Tensor:
    """Refuse an array without a single finite value; return it contiguous."""
    if not bool(torch.isfinite(t).any()):
        raise InputError(f"{where} has no finite value: every one of its {t.numel():,} entries is NaN or infinite.")
    return t.contiguous()


class _Budget:
    """Counts the arrays of one file, and their elements, against MAX_ARRAYS and MAX_ARCHIVE_ELEMENTS."""

    def __init__(self, label: str) -> None:
        self.label, self.used, self.arrays = label, 0, 0

    def take(self, numel: int) -> None:
        self.used += numel
        self.arrays += 1
        if self.arrays > MAX_ARRAYS:
            raise InputError(
                f"The file {self.label} holds more than {MAX_ARRAYS:,} arrays, the most vnviz reads from one file."
            )
        if self.used > MAX_ARCHIVE_ELEMENTS:
            raise InputError(
                f"The arrays in {self.label} have more than {MAX_ARCHIVE_ELEMENTS:,} elements together, "
                "the cap for one file."
            )


# --------------------------------------------------------------------------- .npy


@dataclass(frozen=True)
class _NpyHeader:
    shape: tuple[int, ...]  # declared shape, already checked
    fortran: bool  # True if the data is in Fortran (column-major) order
    dtype: np.dtype  # declared dtype, already checked (bool, int, uint or float)
    target: np.dtype  # float32, or float64 for 8-byte (and longer) floats


def _numpy_target(dtype: np.dtype, where: str) -> np.dtype:
    """The float dtype an array of ``dtype`` becomes, or raise for dtypes vnviz refuses."""
    kind = dtype.kind
    if dtype.fields is not None or dtype.subdtype is not None:
        names = ", ".join(_quote(n, 20) for n in (dtype.names or ())[:4])
        raise InputError(
            f"{where} is a structured array (fields {names or 'none'}); save one numeric field as a plain array "
            "instead."
        )
    if kind in "biu":
        return np.dtype(np.float32)
    if kind == "f":
        return np.dtype(np.float64 if dtype.itemsize >= 8 else np.float32)
    if kind == "O":
        raise InputError(
            f"{where} holds Python objects (dtype object), which only unpickling could read, and vnviz never "
            "unpickles; save a numeric array instead."
        )
    if kind in "US":
        raise InputError(f"{where} holds text (dtype {dtype.str}), not numbers; save a numeric array instead.")
    if kind == "c":
        raise InputError(
            f"{where} holds complex numbers (dtype {dtype.name}); vnviz shows real values, so save x.real, x.imag "
            "or abs(x) instead."
        )
    if kind in "Mm":
        raise InputError(f"{where} holds dates or time spans (dtype {dtype.str}); save them as plain numbers instead.")
    raise InputError(f"{where} has dtype {dtype.str!r}, which vnviz cannot read; allowed are bool, integer and float.")


def _npy_header(f: IO[bytes], size: int, where: str) -> _NpyHeader:
    """Read and check a .npy header from ``f`` (``size`` bytes in all), leaving ``f`` at the data.

    Checks the dtype, the shape and that exactly the declared number of data bytes follow.
    """
    magic = f.read(len(npy_format.MAGIC_PREFIX))
    if magic != npy_format.MAGIC_PREFIX:
        raise InputError(f"{where} is not a .npy file: it does not start with numpy's magic bytes, got {magic[:8]!r}.")
    version = tuple(f.read(2))
    if len(version) == 2 and version not in ((1, 0), (2, 0)):
        raise InputError(
            f"{where} uses .npy format version {version}, which vnviz does not read; allowed are (1, 0) and (2, 0)."
        )
    try:
        read_header = npy_format.read_array_header_1_0 if version == (1, 0) else npy_format.read_array_header_2_0
        shape, fortran, dtype = read_header(f)
    except Exception:  # numpy raises ValueError, ast SyntaxError, ... for a damaged or truncated header
        raise InputError(f"{where} has a damaged .npy header that numpy cannot parse.") from None
    target = _numpy_target(dtype, where)
    shape = tuple(shape)
    _check_shape(shape, where)
    expected = math.prod(shape) * dtype.itemsize
    present = size - f.tell()
    if present < expected:
        raise InputError(
            f"{where} is truncated: its header declares {expected:,} bytes of data for shape {fmt_shape(shape)} "
            f"but only {max(present, 0):,} follow."
        )
    if present > expected:
        raise InputError(
            f"{where} is damaged: {present - expected:,} bytes follow the {expected:,} bytes of data its header "
            "declares."
        )
    return _NpyHeader(shape, bool(fortran), dtype, target)


def _npy_tensor(buf: bytes, offset: int, header: _NpyHeader, where: str) -> torch.Tensor:
    """The array of a checked header, from ``buf[offset:]``, converted to the target float dtype."""
    arr = np.frombuffer(buf, dtype=header.dtype, count=math.prod(header.shape), offset=offset)
    arr = arr.reshape(header.shape, order="F" if header.fortran else "C")
    return _finish(torch.from_numpy(arr.astype(header.target, order="C")), where)


def _read_npy(data: bytes, label: str, stored: dict[str, str]) -> dict[str, torch.Tensor]:
    f = io.BytesIO(data)
    header = _npy_header(f, len(data), f"The file {label}")
    stored["x"] = header.dtype.name
    return {"x": _npy_tensor(data, f.tell(), header, f"The array in {label}")}


# --------------------------------------------------------------------------- zip (.npz and .pt)


def _zip_directory_size(data: bytes) -> int | None:
    """Size of the zip's central directory as zipfile will read it, or None if there is no end record.

    Mirrors ``zipfile._EndRecData`` (and its zip64 step) so that the number
    checked here is the one zipfile then trusts.
    """
    end = None
    if len(data) >= 22 and data[-22:-18] == b"PK\x05\x06" and data[-2:] == b"\x00\x00":
        end = len(data) - 22
    else:
        start = data.rfind(b"PK\x05\x06", max(len(data) - 2**16 - 22, 0))
        if start >= 0 and len(data) - start >= 22:
            end = start
    if end is None:
        return None
    size = struct.unpack("<I", data[end + 12 : end + 16])[0]
    locator = end - 20
    if locator >= 0 and data[locator : locator + 4] == b"PK\x06\x07":
        record = locator - 56
        if record >= 0 and data[record : record + 4] == b"PK\x06\x06":
            size = struct.unpack("<Q", data[record + 40 : record + 48])[0]
    return size


_ZIP_METHODS = {
    zipfile.ZIP_STORED: "stored (uncompressed)",
    zipfile.ZIP_DEFLATED: "deflate",
    zipfile.ZIP_BZIP2: "bzip2",
    zipfile.ZIP_LZMA: "lzma",
}


def _open_zip(
    data: bytes, label: str, kind: str, methods: tuple[int, ...]
) -> tuple[zipfile.ZipFile, list[zipfile.ZipInfo]]:
    """Open a zip after checking its directory, and check every member's sizes and compression.

    Returns the open ZipFile and its non-directory members in file order.
    """
    directory = _zip_directory_size(data)
    if directory is None:
        raise InputError(f"The file {label} is not a valid {kind} file: it is not a zip archive.")
    if directory > MAX_ZIP_DIRECTORY_BYTES:
        raise InputError(
            f"The file {label} has a zip directory of {directory:,} bytes, far more than a {kind} file with at most "
            f"{MAX_ARRAYS:,} arrays needs."
        )
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
        members = [info for info in zf.infolist() if not info.is_dir()]
    except Exception:  # BadZipFile, struct.error, UnicodeDecodeError, ... on a damaged zip
        raise InputError(f"The file {label} is not a valid {kind} file: its zip structure is damaged.") from None
    if len(members) > MAX_ARRAYS:
        raise InputError(f"The file {label} has {len(members):,} zip members; vnviz reads at most {MAX_ARRAYS:,}.")
    total = 0
    for info in members:
        name = _quote(info.filename, 40)
        if info.flag_bits & 0x1:
            raise InputError(f"The zip member {name} of {label} is encrypted; upload an unencrypted {kind} file.")
        if info.compress_type not in methods:
            method = _ZIP_METHODS.get(info.compress_type, f"method {info.compress_type}")
            allowed = " or ".join(_ZIP_METHODS[m] for m in methods)
            raise InputError(
                f"The zip member {name} of {label} uses {method} compression, which vnviz does not read in a {kind} "
                f"file; allowed: {allowed}."
            )
        if info.file_size > MAX_MEMBER_BYTES:
            raise InputError(
                f"The zip member {name} of {label} would expand to {info.file_size:,} bytes, more than the "
                f"{MAX_MEMBER_BYTES:,} bytes an array within the cap of {MAX_ELEMENTS:,} elements needs."
            )
        if info.compress_type == zipfile.ZIP_STORED and info.compress_size != info.file_size:
            raise InputError(
                f"The zip member {name} of {label} is stored uncompressed but its sizes differ "
                f"({info.compress_size:,} and {info.file_size:,} bytes), so the file is damaged."
            )
        if info.file_size > MAX_COMPRESSION_RATIO * max(info.compress_size, 1):
            raise InputError(
                f"The zip member {name} of {label} would expand from {info.compress_size:,} to {info.file_size:,} "
                "bytes, a ratio no real data reaches, so it looks like a zip bomb."
            )
        total += info.file_size
        if total > MAX_ARCHIVE_BYTES:
            raise InputError(
                f"The members of {label} would expand to more than {MAX_ARCHIVE_BYTES:,} bytes together, "
                "more than the cap for one file."
            )
    return zf, members


def _read_npz(data: bytes, label: str, stored: dict[str, str]) -> dict[str, torch.Tensor]:
    zf, members = _open_zip(data, label, ".npz", (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED))
    if not members:
        raise InputError(f"The file {label} is an empty .npz archive with no arrays in it.")
    budget = _Budget(label)
    checked: list[tuple[zipfile.ZipInfo, str, str]] = []
    with zf:
        for info in members:  # first pass: every header, so the total is known before any data is read
            if not info.filename.endswith(".npy"):
                raise InputError(
                    f"The member {_quote(info.filename, 40)} of {label} is not a .npy array; a .npz file holds only "
                    "members named like 'x.npy', as numpy.savez writes them."
                )
            key = info.filename[: -len(".npy")]
            where = f"The array {_quote(key, 40)} in {label}"
            with _open_member(zf, info, where) as f:
                header = _npy_header(f, info.file_size, where)
            budget.take(math.prod(header.shape))
            checked.append((info, key, where))
        arrays: dict[str, torch.Tensor] = {}
        for info, key, where in checked:  # second pass: the data, at most what each header declares
            with _open_member(zf, info, where) as f:
                header = _npy_header(f, info.file_size, where)
                expected = math.prod(header.shape) * header.dtype.itemsize
                buf = f.read(expected + 1)
            if len(buf) != expected:
                raise InputError(
                    f"{where} is truncated: {expected:,} bytes of data were declared and {len(buf):,} found."
                )
            arrays[key] = _npy_tensor(buf, 0, header, where)
            stored[key] = header.dtype.name
    return arrays


def _open_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, where: str) -> _GuardedStream:
    try:
        return _GuardedStream(zf.open(info), where)
    except Exception:  # BadZipFile on a bad local header, NotImplementedError, ...
        raise InputError(f"{where} cannot be opened: its zip entry is damaged.") from None


class _GuardedStream:
    """A read-only view of a zip member stream that turns decompression errors into InputError."""

    def __init__(self, f: IO[bytes], where: str) -> None:
        self._f, self._where = f, where

    def read(self, n: int = -1) -> bytes:
        try:
            return self._f.read(n)
        except Exception:  # zlib.error, BadZipFile (bad CRC), EOFError on damaged deflate data
            raise InputError(f"{self._where} cannot be decompressed: its zip data is damaged.") from None

    def tell(self) -> int:
        return self._f.tell()

    def __enter__(self) -> _GuardedStream:
        return self

    def __exit__(self, *exc: object) -> None:
        self._f.close()


# --------------------------------------------------------------------------- .pt


def _read_torch(data: bytes, label: str, stored: dict[str, str]) -> dict[str, torch.Tensor]:
    # torch.save writes a zip of uncompressed records (since PyTorch 1.6); the older
    # format is refused, since it allocates storages of whatever size the file declares.
    zf, _ = _open_zip(data, label, ".pt", (zipfile.ZIP_STORED,))
    zf.close()
    try:
        obj = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    except Exception as e:
        if isinstance(e, pickle.UnpicklingError) and "weights only" in str(e).lower():
            raise InputError(
                f"The file {label} holds Python objects, not only tensors, and vnviz never unpickles those; "
                "save a tensor or a dict, list or tuple of tensors instead."
            ) from None
        raise InputError(
            f"The file {label} could not be read by torch.load: it is damaged or not a torch.save file."
        ) from None
    if isinstance(obj, torch.Tensor):
        items = [("x", obj)]
    elif isinstance(obj, dict):
        items = [(str(k), v) for k, v in obj.items()]
    elif isinstance(obj, (list, tuple)):
        items = [(str(i), v) for i, v in enumerate(obj)]
    else:
        raise InputError(
            f"The file {label} holds a value of type {type(obj).__name__}, not a tensor; save a tensor or a dict, "
            "list or tuple of tensors."
        )
    if not items:
        raise InputError(f"The file {label} holds an empty {type(obj).__name__} with no tensors in it.")
    budget = _Budget(label)
    checked: list[tuple[str, torch.Tensor, str]] = []
    for key, value in items:  # check all before converting any
        where = f"The file {label}" if isinstance(obj, torch.Tensor) else f"The entry {_quote(key, 40)} of {label}"
        if not isinstance(value, torch.Tensor):
            raise InputError(
                f"{where} is a value of type {type(value).__name__}, not a tensor; save a tensor or a flat dict, list "
                "or tuple of tensors."
            )
        _check_torch(value, where)
        budget.take(value.numel())
        checked.append((key, value, where))
    stored.update({key: str(value.dtype).replace("torch.", "") for key, value, _ in checked})
    return {key: _torch_to_float(value, where) for key, value, where in checked}


_TORCH_BOOL_AND_INTS = (
    torch.bool, torch.uint8, torch.int8, torch.int16, torch.int32, torch.int64, torch.uint16, torch.uint32, torch.uint64
)


def _check_torch(t: torch.Tensor, where: str) -> None:
    """Check a loaded tensor's kind, dtype and shape before touching its data."""
    if t.layout != torch.strided or t.is_nested:
        kind = "nested" if t.is_nested else str(t.layout).removeprefix("torch.")
        raise InputError(f"{where} is a {kind} tensor; save a dense one (t.to_dense()) instead.")
    if t.device.type != "cpu":
        raise InputError(f"{where} is on the {t.device.type} device, which holds no data; save a CPU tensor instead.")
    if t.is_quantized:
        raise InputError(f"{where} is a quantized tensor ({t.dtype}); save it dequantized (t.dequantize()) instead.")
    if t.is_complex():
        raise InputError(
            f"{where} holds complex numbers (dtype {t.dtype}); vnviz shows real values, so save t.real, t.imag "
            "or t.abs() instead."
        )
    if not (t.is_floating_point() or t.dtype in _TORCH_BOOL_AND_INTS):
        raise InputError(f"{where} has dtype {t.dtype}, which vnviz cannot read; allowed are bool, integer and float.")
    _check_shape(tuple(t.shape), where)  # before any copy: a stride-0 view can declare a huge shape


def _torch_to_float(t: torch.Tensor, where: str) -> torch.Tensor:
    """A checked tensor as a plain, contiguous float32 (float64 kept) tensor that owns its storage."""
    target = torch.float64 if t.dtype == torch.float64 else torch.float32
    out = t.detach().as_subclass(torch.Tensor).to(target).contiguous()
    if out.untyped_storage().nbytes() > out.nbytes:  # a view into a bigger storage: keep only what it shows
        out = out.clone()
    return _finish(out, where)


# --------------------------------------------------------------------------- text tables


def _read_text(data: bytes, label: str, stored: dict[str, str], delimiter: str | None = None) -> dict[str, torch.Tensor]:
    """A table of numbers: comma, tab, semicolon or whitespace separated, with an optional header row."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise InputError(
            f"The file {label} is not UTF-8 text: the byte {data[e.start]:#04x} at offset {e.start:,} cannot be "
            "decoded; save the table as UTF-8."
        ) from None
    if "\x00" in text:
        raise InputError(f"The file {label} contains NUL bytes, so it is binary data, not a text table.")
    delimiter = delimiter or _delimiter(text, label)
    values = array.array("d")  # flat, row after row: 8 bytes a cell
    ncols, first_line, nrows = 0, 0, 0
    header: list[str] = []
    for line_no, cells in _text_rows(text, delimiter, label):
        cells = [c.strip() for c in cells]
        if not any(cells) and len(cells) <= 1:
            continue  # blank line
        if cells[0].startswith("#"):
            continue  # a comment, as numpy.savetxt(header=...) writes
        if not ncols:
            ncols, first_line = len(cells), line_no
            if not all(_is_number(c) for c in cells):
                header = cells  # a header row: skip it, but hold the data to its width
                continue
        elif len(cells) != ncols:
            raise InputError(
                f"Line {line_no} of {label} has {_cells(len(cells))} but line {first_line} has {ncols}; "
                "every row needs the same number of columns."
            )
        if len(values) + ncols > MAX_ELEMENTS:
            raise InputError(f"The table in {label} has more than {MAX_ELEMENTS:,} cells, the cap for one array.")
        for j, cell in enumerate(cells):
            try:
                values.append(float(cell))
            except ValueError:
                raise InputError(
                    f"Line {line_no}, column {j + 1} of {label} holds {_quote(cell, 40)}, which is not a number; "
                    "every cell after an optional header row must be a number such as 1.5, -2e3 or nan."
                ) from None
        nrows += 1
    if not nrows and not header:
        raise InputError(f"The file {label} holds no rows of numbers, only blank or comment lines.")
    if not nrows:
        word = next(c for c in header if not _is_number(c))
        raise InputError(
            f"The file {label} has no rows of numbers: its only row holds {_quote(word, 40)}, which is not a number, "
            "so it was taken as a header."
        )
    table = np.frombuffer(values, dtype=np.float64).reshape(nrows, ncols)  # (rows, cols)
    stored["x"] = "text"
    return {"x": _finish(torch.from_numpy(table.astype(np.float32)), f"The table in {label}")}


def _read_tsv(data: bytes, label: str, stored: dict[str, str]) -> dict[str, torch.Tensor]:
    return _read_text(data, label, stored, delimiter="\t")


def _cells(n: int) -> str:
    return "1 cell" if n == 1 else f"{n:,} cells"


def _is_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def _delimiter(text: str, label: str) -> str | None:
    """The delimiter the first non-blank line uses: comma, tab or semicolon; None for whitespace."""
    for line in _lines(text):
        if line.strip() and not line.lstrip().startswith("#"):
            for d in (",", "\t", ";"):
                if d in line:
                    return d
            return None
    raise InputError(f"The file {label} holds no rows of numbers, only blank or comment lines.")


def _line_spans(text: str) -> Iterator[tuple[int, int]]:
    """(start, end) of each line, newline included; unlike io.StringIO, copies nothing."""
    start = 0
    while start < len(text):
        end = text.find("\n", start)
        end = len(text) if end < 0 else end + 1
        yield start, end
        start = end


def _lines(text: str) -> Iterator[str]:
    return (text[start:end] for start, end in _line_spans(text))


def _text_rows(text: str, delimiter: str | None, label: str) -> Iterator[tuple[int, list[str]]]:
    """(line number, cells) per row: csv.reader for a delimiter, str.split() for whitespace."""

    def lines() -> Iterator[str]:
        for no, (start, end) in enumerate(_line_spans(text), 1):
            if delimiter:
                bound = text.count(delimiter, start, end)
            else:
                bound = text.count(" ", start, end) + text.count("\t", start, end)
            if bound >= MAX_ELEMENTS:  # a row this wide would exceed the cap: refuse it before splitting it
                raise InputError(f"Line {no} of {label} has more than {MAX_ELEMENTS:,} cells, the cap for one array.")
            yield text[start:end]

    if delimiter is None:
        for no, line in enumerate(lines(), 1):
            yield no, line.split()
        return
    reader = csv.reader(lines(), delimiter=delimiter)
    try:
        for cells in reader:
            yield reader.line_num, cells
    except csv.Error as e:
        raise InputError(f"Line {reader.line_num} of {label} is not valid CSV ({str(e).rstrip('.')}).") from None


# --------------------------------------------------------------------------- images


def _read_image(data: bytes, label: str, stored: dict[str, str]) -> dict[str, torch.Tensor]:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data), formats=["PNG", "JPEG"])
            width, height = image.size
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise InputError(
            f"The image {label} declares so many pixels that PIL refuses it as a decompression bomb; "
            f"vnviz reads images of at most {MAX_IMAGE_PIXELS:,} pixels."
        ) from None
    except Exception:  # UnidentifiedImageError, OSError, SyntaxError from a damaged header
        raise InputError(f"The file {label} is not a PNG or JPEG image that PIL can read.") from None
    if width * height > MAX_IMAGE_PIXELS:
        raise InputError(
            f"The image {label} has {width:,} x {height:,} = {width * height:,} pixels, more than the cap of "
            f"{MAX_IMAGE_PIXELS:,}; downscale it first."
        )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image.load()
            if image.mode.startswith("I"):  # 16-bit grey: keep the full range
                stored["x"] = "16-bit image"
                pixels = np.asarray(image, dtype=np.float32) / 65535.0
            else:
                image = image.convert("L" if image.mode in ("1", "L", "LA", "La") else "RGB")
                stored["x"] = "8-bit image"
                pixels = np.asarray(image, dtype=np.float32) / 255.0
    except Exception:  # OSError "image file is truncated", zlib errors, ... while decoding
        raise InputError(f"The image {label} is damaged or truncated, so PIL cannot decode its pixels.") from None
    pixels = np.clip(pixels, 0.0, 1.0)
    if pixels.ndim == 2:
        pixels = pixels[:, :, None]
    x = torch.from_numpy(np.ascontiguousarray(pixels.transpose(2, 0, 1)))[None]  # (1, C, H, W)
    return {"x": _finish(x, f"The image {label}")}


_READERS: dict[str, Callable[[bytes, str, dict[str, str]], dict[str, torch.Tensor]]] = {
    ".npy": _read_npy,
    ".npz": _read_npz,
    ".csv": _read_text,
    ".tsv": _read_tsv,
    ".txt": _read_text,
    ".pt": _read_torch,
    ".pth": _read_torch,
    ".png": _read_image,
    ".jpg": _read_image,
    ".jpeg": _read_image,
}
