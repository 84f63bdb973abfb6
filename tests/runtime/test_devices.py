"""`--devices`: one device per local worker, round robin (tested with fake device names: no
GPU is touched), and one error line for each bad use."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch
from click.testing import CliRunner

from nasc.cli import cli
from nasc.errors import NascError
from nasc.runtime import executors
from nasc.runtime.child import TrainConfig, TrialSpec
from nasc.runtime.devices import assign_devices, parse_devices


def test_round_robin() -> None:
    assert assign_devices(["cuda:0", "cuda:1"], 4) == ["cuda:0", "cuda:1", "cuda:0", "cuda:1"]
    assert assign_devices(["cuda:0", "cuda:1", "cuda:2"], 2) == ["cuda:0", "cuda:1"]
    assert assign_devices(["cpu"], 3) == ["cpu"] * 3
    with pytest.raises(NascError):
        assign_devices([], 2)


def test_parse_devices_checks_names() -> None:
    assert parse_devices(" cuda:0, cuda:1 ", here=False) == ["cuda:0", "cuda:1"]
    assert parse_devices("cpu,cpu") == ["cpu", "cpu"]
    for bad, message in [("gpu0", "Invalid device string"), ("cuda:0,", "separated by commas"),
                         ("", "separated by commas"), ("meta", "networks train on")]:
        with pytest.raises(NascError, match=message):
            parse_devices(bad, here=False)


class FakeWorker:
    """A worker that records what it is sent (no process is started)."""

    def __init__(self, ctx: Any, threads: int, device: str | None = None) -> None:
        self.device, self.spec, self.started, self.sent = device, None, None, []
        self.conn = self
        self.process = self

    def send(self, spec: TrialSpec) -> None:
        self.sent.append(spec)

    def is_alive(self) -> bool:
        return True


def test_each_local_worker_trains_on_its_own_device(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(executors, "_Worker", FakeWorker)
    pool = executors.make_executor("local", workers=3, devices="cuda:0,cuda:1")
    assert isinstance(pool, executors.LocalExecutor)
    for i in range(3):
        pool.submit(TrialSpec(i, "conv 3x3 24", "cnn", "digits", TrainConfig(device="cpu")))
    sent = [w.sent[0] for w in pool.workers]  # type: ignore[attr-defined]
    assert [(s.trial_id, s.config.device) for s in sent] == \
        [(0, "cuda:0"), (1, "cuda:1"), (2, "cuda:0")]
    assert sent[0].config.epochs == TrainConfig().epochs  # only the device changes
    plain = executors.make_executor("local", workers=2)
    plain.submit(TrialSpec(7, "conv 3x3 24", "cnn", "digits", TrainConfig(device="cpu")))
    assert plain.workers[0].sent[0].config.device == "cpu"  # type: ignore[attr-defined]


def test_a_search_runs_on_devices(tmp_path: Path) -> None:
    store = tmp_path / "s.db"
    result = CliRunner().invoke(cli, ["search", "--store", str(store), "--trials", "2",
                                      "--epochs", "1", "--max-batches", "1", "--max-layers",
                                      "1", "--strategy", "random", "--workers", "2",
                                      "--devices", "cpu,cpu"])
    assert result.exit_code == 0, result.output
    assert "2 done, 0 failed" in result.output


@pytest.mark.parametrize("args, message", [
    (["--devices", "gpu0"], "nasc: error: --devices 'gpu0': Invalid device string: 'gpu0'"),
    (["--devices", "cpu,,cpu"], "nasc: error: --devices 'cpu,,cpu': expected device names separated by commas, "
     "e.g. cuda:0,cuda:1"),
    (["--devices", "cpu", "--executor", "inline"],
     "nasc: error: --devices gives local workers their devices; with --executor inline use "
     "--device"),
    (["--devices", "cpu", "--device", "mps"], "nasc: error: give --device (every worker) or "
     "--devices (one per worker), not both"),
    pytest.param(["--devices", "cuda:0"],
                 "nasc: error: --devices cuda:0: CUDA is not available on this machine",
                 marks=pytest.mark.skipif(torch.cuda.is_available(), reason="has CUDA")),
])
def test_bad_devices_are_one_line(tmp_path: Path, args: list[str], message: str) -> None:
    store = tmp_path / "s.db"
    result = CliRunner().invoke(cli, ["search", "--store", str(store), *args])
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    assert result.output.strip().splitlines()[-1] == message
    assert not store.exists()
