""".npy and .npz uploads, and the zip guards .npz and .pt share: headers checked before any data is read.

A .npy header is parsed by numpy's own header reader and its dtype, shape and
byte count checked before the data is touched; a zip's central directory and
every member's sizes and compression are checked before anything is
inflated. Caps and shared checks come from ``upload`` (read when called, so
that a test can lower them).
"""
from __future__ import annotations

import io
import math
import struct
import zipfile
from dataclasses import dataclass
from typing import IO

import numpy as np
import torch
from numpy.lib import format as npy_format

from vnviz.data import upload as caps
from vnviz.data.generators import fmt_shape
from vnviz.errors import InputError
from vnviz.i18n import N_, Msg


@dataclass(frozen=True)
class _NpyHeader:
    shape: tuple[int, ...]  # declared shape, already checked
    fortran: bool  # True if the data is in Fortran (column-major) order
    dtype: np.dtype  # declared dtype, already checked (bool, int, uint or float)
    target: np.dtype  # the dtype it is read as: the file's float dtype (native order), float32 for bool/int


def _numpy_target(dtype: np.dtype, where: str) -> np.dtype:
    """The float dtype an array of ``dtype`` is read as (see ``upload``'s dtype policy), or raise for dtypes vnviz
    refuses."""
    kind = dtype.kind
    if dtype.fields is not None or dtype.subdtype is not None:
        names = ", ".join(caps.quote_name(n, 20) for n in (dtype.names or ())[:4])
        raise InputError(
            "{where} is a structured array (fields {fields}); save one numeric field as a plain array instead.",
            where=where, fields=names or N_("none"),
        )
    if kind in "biu":
        return np.dtype(np.float32)  # whole numbers beyond 2**24 round to the nearest float32
    if kind == "f":  # the file's float dtype, in native byte order; longdouble has no torch dtype: float64
        return np.dtype({2: np.float16, 4: np.float32}.get(dtype.itemsize, np.float64))
    if kind == "O":
        raise InputError(
            "{where} holds Python objects (dtype object), which only unpickling could read, and vnviz never "
            "unpickles; save a numeric array instead.",
            where=where,
        )
    if kind in "US":
        raise InputError("{where} holds text (dtype {dtype}), not numbers; save a numeric array instead.",
                         where=where, dtype=dtype.str)
    if kind == "c":
        raise InputError(
            "{where} holds complex numbers (dtype {dtype}); vnviz shows real values, so save x.real, x.imag or "
            "abs(x) instead.",
            where=where, dtype=dtype.name,
        )
    if kind in "Mm":
        raise InputError("{where} holds dates or time spans (dtype {dtype}); save them as plain numbers instead.",
                         where=where, dtype=dtype.str)
    raise InputError("{where} has dtype {dtype!r}, which vnviz cannot read; allowed are bool, integer and float.",
                     where=where, dtype=dtype.str)


def _npy_header(f: IO[bytes], size: int, where: str) -> _NpyHeader:
    """Read and check a .npy header from ``f`` (``size`` bytes in all), leaving ``f`` at the data.

    Checks the dtype, the shape and that exactly the declared number of data bytes follow.
    """
    magic = f.read(len(npy_format.MAGIC_PREFIX))
    if magic != npy_format.MAGIC_PREFIX:
        raise InputError("{where} is not a .npy file: it does not start with numpy's magic bytes, got {magic!r}.",
                         where=where, magic=magic[:8])
    version = tuple(f.read(2))
    if len(version) == 2 and version not in ((1, 0), (2, 0)):
        raise InputError(
            "{where} uses .npy format version {version}, which vnviz does not read; allowed are (1, 0) and (2, 0).",
            where=where, version=version,
        )
    try:
        read_header = npy_format.read_array_header_1_0 if version == (1, 0) else npy_format.read_array_header_2_0
        shape, fortran, dtype = read_header(f)
    except Exception:  # numpy raises ValueError, ast SyntaxError, ... for a damaged or truncated header
        raise InputError("{where} has a damaged .npy header that numpy cannot parse.", where=where) from None
    target = _numpy_target(dtype, where)
    shape = tuple(shape)
    caps.check_shape(shape, where)
    expected = math.prod(shape) * dtype.itemsize
    present = size - f.tell()
    if present < expected:
        raise InputError(
            "{where} is truncated: its header declares {expected:,} bytes of data for shape {shape} but only "
            "{present:,} follow.",
            where=where, expected=expected, shape=fmt_shape(shape), present=max(present, 0),
        )
    if present > expected:
        raise InputError(
            "{where} is damaged: {extra:,} bytes follow the {expected:,} bytes of data its header declares.",
            where=where, extra=present - expected, expected=expected,
        )
    return _NpyHeader(shape, bool(fortran), dtype, target)


def _npy_tensor(buf: bytes, offset: int, header: _NpyHeader, where: str) -> torch.Tensor:
    """The array of a checked header, from ``buf[offset:]``, in its target float dtype (a copy, native order)."""
    arr = np.frombuffer(buf, dtype=header.dtype, count=math.prod(header.shape), offset=offset)
    arr = arr.reshape(header.shape, order="F" if header.fortran else "C")
    return caps.finish(torch.from_numpy(arr.astype(header.target, order="C")), where)


def read_npy(data: bytes, label: str) -> dict[str, torch.Tensor]:
    f = io.BytesIO(data)
    header = _npy_header(f, len(data), Msg("The file {label}", label=label))
    return caps.Arrays({"x": _npy_tensor(data, f.tell(), header, Msg("The array in {label}", label=label))},
                       {"x": header.dtype.name})



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
    zipfile.ZIP_STORED: N_("stored (uncompressed)"),
    zipfile.ZIP_DEFLATED: "deflate",
    zipfile.ZIP_BZIP2: "bzip2",
    zipfile.ZIP_LZMA: "lzma",
}


def open_zip(
    data: bytes, label: str, kind: str, methods: tuple[int, ...]
) -> tuple[zipfile.ZipFile, list[zipfile.ZipInfo]]:
    """Open a zip after checking its directory, and check every member's sizes and compression.

    Returns the open ZipFile and its non-directory members in file order.
    """
    directory = _zip_directory_size(data)
    if directory is None:
        raise InputError("The file {label} is not a valid {kind} file: it is not a zip archive.",
                         label=label, kind=kind)
    if directory > caps.MAX_ZIP_DIRECTORY_BYTES:
        raise InputError(
            "The file {label} has a zip directory of {directory:,} bytes, far more than a {kind} file with at most "
            "{cap:,} arrays needs.",
            label=label, directory=directory, kind=kind, cap=caps.MAX_ARRAYS,
        )
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
        members = [info for info in zf.infolist() if not info.is_dir()]
    except Exception:  # BadZipFile, struct.error, UnicodeDecodeError, ... on a damaged zip
        raise InputError("The file {label} is not a valid {kind} file: its zip structure is damaged.",
                         label=label, kind=kind) from None
    if len(members) > caps.MAX_ARRAYS:
        raise InputError("The file {label} has {n:,} zip members; vnviz reads at most {cap:,}.",
                         label=label, n=len(members), cap=caps.MAX_ARRAYS)
    total = 0
    for info in members:
        name = caps.quote_name(info.filename, 40)
        if info.flag_bits & 0x1:
            raise InputError("The zip member {name} of {label} is encrypted; upload an unencrypted {kind} file.",
                             name=name, label=label, kind=kind)
        if info.compress_type not in methods:
            method = _ZIP_METHODS.get(info.compress_type, Msg("method {number}", number=info.compress_type))
            allowed = Msg.join((_ZIP_METHODS[m] for m in methods), " or ")
            raise InputError(
                "The zip member {name} of {label} uses {method} compression, which vnviz does not read in a {kind} "
                "file; allowed: {allowed}.",
                name=name, label=label, method=method, kind=kind, allowed=allowed,
            )
        if info.file_size > caps.MAX_MEMBER_BYTES:
            raise InputError(
                "The zip member {name} of {label} would expand to {file_size:,} bytes, more than the {most:,} bytes an "
                "array within the cap of {cap:,} elements needs.",
                name=name, label=label, file_size=info.file_size, most=caps.MAX_MEMBER_BYTES, cap=caps.MAX_ELEMENTS,
            )
        if info.compress_type == zipfile.ZIP_STORED and info.compress_size != info.file_size:
            raise InputError(
                "The zip member {name} of {label} is stored uncompressed but its sizes differ ({compress_size:,} "
                "and {file_size:,} bytes), so the file is damaged.",
                name=name, label=label, compress_size=info.compress_size, file_size=info.file_size,
            )
        if info.file_size > caps.MAX_COMPRESSION_RATIO * max(info.compress_size, 1):
            raise InputError(
                "The zip member {name} of {label} would expand from {compress_size:,} to {file_size:,} bytes, a "
                "ratio no real data reaches, so it looks like a zip bomb.",
                name=name, label=label, compress_size=info.compress_size, file_size=info.file_size,
            )
        total += info.file_size
        if total > caps.MAX_ARCHIVE_BYTES:
            raise InputError(
                "The members of {label} would expand to more than {cap:,} bytes together, more than the cap for one "
                "file.",
                label=label, cap=caps.MAX_ARCHIVE_BYTES,
            )
    return zf, members


def read_npz(data: bytes, label: str) -> dict[str, torch.Tensor]:
    zf, members = open_zip(data, label, ".npz", (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED))
    if not members:
        raise InputError("The file {label} is an empty .npz archive with no arrays in it.", label=label)
    budget = caps.Budget(label)
    checked: list[tuple[zipfile.ZipInfo, str, str]] = []
    with zf:
        for info in members:  # first pass: every header, so the total is known before any data is read
            if not info.filename.endswith(".npy"):
                raise InputError(
                    "The member {name} of {label} is not a .npy array; a .npz file holds only members named like "
                    "'x.npy', as numpy.savez writes them.",
                    name=caps.quote_name(info.filename, 40), label=label,
                )
            key = info.filename[: -len(".npy")]
            where = Msg("The array {name} in {label}", name=caps.quote_name(key, 40), label=label)
            with _open_member(zf, info, where) as f:
                header = _npy_header(f, info.file_size, where)
            budget.take(math.prod(header.shape))
            checked.append((info, key, where))
        arrays: dict[str, torch.Tensor] = {}
        stored: dict[str, str] = {}
        for info, key, where in checked:  # second pass: the data, at most what each header declares
            with _open_member(zf, info, where) as f:
                header = _npy_header(f, info.file_size, where)
                expected = math.prod(header.shape) * header.dtype.itemsize
                buf = f.read(expected + 1)
            if len(buf) != expected:
                raise InputError(
                    "{where} is truncated: {expected:,} bytes of data were declared and {n:,} found.",
                    where=where, expected=expected, n=len(buf),
                )
            arrays[key] = _npy_tensor(buf, 0, header, where)
            stored[key] = header.dtype.name
    return caps.Arrays(arrays, stored)


def _open_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, where: str) -> _GuardedStream:
    try:
        return _GuardedStream(zf.open(info), where)
    except Exception:  # BadZipFile on a bad local header, NotImplementedError, ...
        raise InputError("{where} cannot be opened: its zip entry is damaged.", where=where) from None


class _GuardedStream:
    """A read-only view of a zip member stream that turns decompression errors into InputError."""

    def __init__(self, f: IO[bytes], where: str) -> None:
        self._f, self._where = f, where

    def read(self, n: int = -1) -> bytes:
        try:
            return self._f.read(n)
        except Exception:  # zlib.error, BadZipFile (bad CRC), EOFError on damaged deflate data
            raise InputError("{where} cannot be decompressed: its zip data is damaged.", where=self._where) from None

    def tell(self) -> int:
        return self._f.tell()

    def __enter__(self) -> _GuardedStream:
        return self

    def __exit__(self, *exc: object) -> None:
        self._f.close()
