"""Choose and describe the torch device: CUDA, then MPS, then CPU."""
from __future__ import annotations

import torch

from vnviz.errors import InputError
from vnviz.i18n import Msg

DEVICE_CHOICES = ("auto", "cuda", "mps", "cpu")


def _mps_available() -> bool:
    mps = getattr(torch.backends, "mps", None)
    return bool(mps is not None and mps.is_available())


def available_devices() -> list[str]:
    """The device kinds this machine can run on, best first ("cuda", "mps", "cpu")."""
    found = []
    if torch.cuda.is_available():
        found.append("cuda")
    if _mps_available():
        found.append("mps")
    found.append("cpu")
    return found


def pick_device(prefer: str = "auto") -> torch.device:
    """The device to compute on.

    Args:
        prefer: "auto" (CUDA, then MPS, then CPU) or one of "cuda", "mps", "cpu".

    Raises InputError when the device asked for is not present.
    """
    if prefer not in DEVICE_CHOICES:
        raise InputError("The device must be one of {choices}; got {prefer!r}.", choices=", ".join(DEVICE_CHOICES),
                         prefer=prefer)
    have = available_devices()
    if prefer == "auto":
        return torch.device(have[0])
    if prefer not in have:
        raise InputError("This machine has no {device} device; available: {have}.", device=prefer.upper(),
                         have=", ".join(have))
    return torch.device(prefer)


def describe_device(device: torch.device | str) -> str:
    """A human description, e.g. "CUDA: NVIDIA H100 80GB HBM3 (79.1 GiB)" or "CPU (2 threads)" (a Msg)."""
    device = torch.device(device)
    if device.type == "cuda":
        index = device.index if device.index is not None else torch.cuda.current_device()
        props = torch.cuda.get_device_properties(index)
        return f"CUDA: {props.name} ({props.total_memory / 2**30:.1f} GiB)"
    if device.type == "mps":
        return "MPS: Apple GPU (Metal)"
    return Msg("CPU ({n} threads)", n=torch.get_num_threads())


def synchronize(device: torch.device | str) -> None:
    """Wait for queued work on ``device`` (for honest timings)."""
    device = torch.device(device)
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    elif device.type == "mps":
        torch.mps.synchronize()
