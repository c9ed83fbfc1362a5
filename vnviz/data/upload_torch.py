""".pt / .pth uploads: ``torch.load(weights_only=True)`` after the zip guards, every tensor checked before it is kept.

torch.save writes a zip of uncompressed records (since PyTorch 1.6); the older
format is refused, since it allocates storages of whatever size the file
declares. A float tensor keeps its dtype (float16, bfloat16, float32,
float64); bool and integer tensors become float32, torch's float8 dtypes float32.
"""
from __future__ import annotations

import io
import pickle
import zipfile

import torch

from vnviz.data import upload as caps
from vnviz.data.upload_numpy import open_zip
from vnviz.errors import InputError
from vnviz.i18n import N_, Msg


def read_torch(data: bytes, label: str) -> dict[str, torch.Tensor]:
    # torch.save writes a zip of uncompressed records (since PyTorch 1.6); the older
    # format is refused, since it allocates storages of whatever size the file declares.
    zf, _ = open_zip(data, label, ".pt", (zipfile.ZIP_STORED,))
    zf.close()
    try:
        obj = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    except Exception as e:
        if isinstance(e, pickle.UnpicklingError) and "weights only" in str(e).lower():
            raise InputError(
                "The file {label} holds Python objects, not only tensors, and vnviz never unpickles those; save a "
                "tensor or a dict, list or tuple of tensors instead.",
                label=label,
            ) from None
        raise InputError(
            "The file {label} could not be read by torch.load: it is damaged or not a torch.save file.", label=label
        ) from None
    if isinstance(obj, torch.Tensor):
        items = [("x", obj)]
    elif isinstance(obj, dict):
        items = [(str(k), v) for k, v in obj.items()]
    elif isinstance(obj, (list, tuple)):
        items = [(str(i), v) for i, v in enumerate(obj)]
    else:
        raise InputError(
            "The file {label} holds a value of type {type}, not a tensor; save a tensor or a dict, list or tuple "
            "of tensors.",
            label=label, type=type(obj).__name__,
        )
    if not items:
        raise InputError("The file {label} holds an empty {type} with no tensors in it.",
                         label=label, type=type(obj).__name__)
    budget = caps.Budget(label)
    checked: list[tuple[str, torch.Tensor, str]] = []
    for key, value in items:  # check all before converting any
        where = (Msg("The file {label}", label=label) if isinstance(obj, torch.Tensor)
                 else Msg("The entry {name} of {label}", name=caps.quote_name(key, 40), label=label))
        if not isinstance(value, torch.Tensor):
            raise InputError(
                "{where} is a value of type {type}, not a tensor; save a tensor or a flat dict, list or tuple of "
                "tensors.",
                where=where, type=type(value).__name__,
            )
        _check_torch(value, where)
        budget.take(value.numel())
        checked.append((key, value, where))
    stored = {key: str(value.dtype).replace("torch.", "") for key, value, _ in checked}
    return caps.Arrays({key: _torch_to_float(value, where) for key, value, where in checked}, stored)


_TORCH_BOOL_AND_INTS = (
    torch.bool, torch.uint8, torch.int8, torch.int16, torch.int32, torch.int64, torch.uint16, torch.uint32, torch.uint64
)


def _check_torch(t: torch.Tensor, where: str) -> None:
    """Check a loaded tensor's kind, dtype and shape before touching its data."""
    if t.layout != torch.strided or t.is_nested:
        kind = N_("nested") if t.is_nested else str(t.layout).removeprefix("torch.")
        raise InputError("{where} is a {kind} tensor; save a dense one (t.to_dense()) instead.",
                         where=where, kind=kind)
    if t.device.type != "cpu":
        raise InputError("{where} is on the {device} device, which holds no data; save a CPU tensor instead.",
                         where=where, device=t.device.type)
    if t.is_quantized:
        raise InputError("{where} is a quantized tensor ({dtype}); save it dequantized (t.dequantize()) instead.",
                         where=where, dtype=t.dtype)
    if t.is_complex():
        raise InputError(
            "{where} holds complex numbers (dtype {dtype}); vnviz shows real values, so save t.real, t.imag or "
            "t.abs() instead.",
            where=where, dtype=t.dtype,
        )
    if not (t.is_floating_point() or t.dtype in _TORCH_BOOL_AND_INTS):
        raise InputError("{where} has dtype {dtype}, which vnviz cannot read; allowed are bool, integer and float.",
                         where=where, dtype=t.dtype)
    caps.check_shape(tuple(t.shape), where)  # before any copy: a stride-0 view can declare a huge shape


KEPT_DTYPES = (torch.float16, torch.bfloat16, torch.float32, torch.float64)  # read as they are; others: float32


def _torch_to_float(t: torch.Tensor, where: str) -> torch.Tensor:
    """A checked tensor as a plain, contiguous float tensor that owns its storage: its own dtype when that is one of
    KEPT_DTYPES, else float32 (bool, integers, float8)."""
    target = t.dtype if t.dtype in KEPT_DTYPES else torch.float32
    out = t.detach().as_subclass(torch.Tensor).to(target).contiguous()
    if out.untyped_storage().nbytes() > out.nbytes:  # a view into a bigger storage: keep only what it shows
        out = out.clone()
    return caps.finish(out, where)
