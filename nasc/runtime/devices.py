"""`--devices cuda:0,cuda:1`: one device per local worker, assigned round robin.

    parse_devices(text, here) -> ["cuda:0", "cuda:1"]   (a bad name: one line)
    assign_devices(devices, workers) -> the device of each worker, in worker order

Worker i trains on `devices[i % len(devices)]`: with 4 workers on two GPUs, workers
0 and 2 share cuda:0 and 1 and 3 share cuda:1. A worker that is replaced (it died)
keeps its slot's device.
"""

from __future__ import annotations

from nasc.errors import NascError


def parse_devices(text: str, here: bool = True) -> list[str]:
    """The comma-separated device names in `text`, each one torch knows and children can
    train on; with `here`, each must also exist on this machine."""
    names = [part.strip() for part in text.split(",")]
    if not text.strip() or any(not name for name in names):
        raise NascError(f"--devices {text!r}: expected device names separated by commas, "
                        f"e.g. cuda:0,cuda:1")
    from nasc.device import TRAIN, check_device

    for name in names:
        check_device(name, here=here, what="--devices", allowed=TRAIN)
    return names


def assign_devices(devices: list[str], workers: int) -> list[str]:
    """Round robin: worker i gets `devices[i % len(devices)]`."""
    if not devices:
        raise NascError("--devices needs at least one device")
    if workers < 1:
        raise NascError(f"--workers must be at least 1, got {workers}")
    return [devices[i % len(devices)] for i in range(workers)]
