"""Which torch device a network may be built on: one check for the CLI and the Python API."""

from __future__ import annotations

import torch

from nasc.errors import NascError

BUILD = ("cpu", "cuda", "mps", "meta")  # meta: shapes and code without allocating weights
TRAIN = ("cpu", "cuda", "mps")


def check_device(device: torch.device | str | None, here: bool = True, what: str = "device",
                 allowed: tuple[str, ...] = BUILD) -> torch.device | None:
    """`device` as a torch.device, or a one-line NascError for one torch does not know, that
    networks cannot use, or (when they run `here`, not on a cluster's nodes) that this
    machine does not have."""
    if device is None:
        return None
    try:
        dev = torch.device(device)
    except (RuntimeError, ValueError, TypeError) as exc:
        raise NascError(f"{what} {device!r}: {exc}") from None
    if dev.type not in allowed:
        raise NascError(f"{what} {device}: networks {'train' if allowed == TRAIN else 'run'} "
                        f"on {', '.join(allowed[:-1])} or {allowed[-1]}")
    if not here:
        return dev
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise NascError(f"{what} {device}: CUDA is not available on this machine")
    if dev.type == "cuda" and dev.index is not None and dev.index >= torch.cuda.device_count():
        raise NascError(f"{what} {device}: this machine has {torch.cuda.device_count()} "
                        f"CUDA devices")
    if dev.type == "mps" and not torch.backends.mps.is_available():
        raise NascError(f"{what} {device}: MPS is not available on this machine")
    return dev
