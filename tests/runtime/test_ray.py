"""A real Ray cluster on loopback: `nasc search --executor ray` against it.

Ray binds to the machine's primary interface whatever --node-ip-address says
(ray-project/ray#26293), so the cluster and the driver run inside a network
namespace that has only loopback; the namespace is deleted afterwards, also
when the test fails.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from runtime_helpers import tiny_config

from nasc.runtime.search import run_search
from nasc.runtime.store import Store

PORT = 6399


def _netns_available() -> str | None:
    if shutil.which("ip") is None:
        return "the `ip` command (iproute2) is not installed"
    if os.geteuid() != 0:
        return "network namespaces need root"
    if importlib.util.find_spec("ray") is None:  # this Python's ray, not one on PATH
        return "ray is not installed (pip install 'nasc[search]')"
    return None


def _session(sid: int) -> list[int]:
    """Live processes of session `sid` (everything the cluster started)."""
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[3]) == sid and fields[0] != "Z":
                out.append(int(entry.name))
    return out


def _stop(head: subprocess.Popen[bytes]) -> None:
    """SIGTERM the cluster's process group, then SIGKILL whatever is left of its session."""
    try:
        os.killpg(head.pid, signal.SIGTERM)
    except ProcessLookupError:
        pass
    deadline = time.monotonic() + 2
    while time.monotonic() < deadline and _session(head.pid):
        time.sleep(0.2)
    for pid in _session(head.pid):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    head.wait(10)


@pytest.fixture(scope="module")
def ray_cluster() -> Iterator[list[str]]:
    """Yields the `ip netns exec NAME` prefix of a namespace running a Ray head."""
    reason = _netns_available()
    if reason:
        pytest.skip(reason)
    name = f"nasc-ray-{os.getpid()}"
    made = subprocess.run(["ip", "netns", "add", name], capture_output=True, text=True)
    if made.returncode != 0:
        pytest.skip(f"cannot create a network namespace: {made.stderr.strip()}")
    temp = tempfile.mkdtemp(prefix="nray", dir="/tmp")
    head = None
    try:
        prefix = ["ip", "netns", "exec", name]
        subprocess.run(prefix + ["ip", "link", "set", "lo", "up"], check=True)
        head = subprocess.Popen(
            prefix + [sys.executable, "-m", "ray.scripts.scripts",  # this Python's ray
                      "start", "--head", "--block", "--port", str(PORT), "--num-cpus", "2",
                      "--include-dashboard=false", "--disable-usage-stats", "--temp-dir", temp],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        _wait_for_head(prefix, head)
        yield prefix
    finally:
        if head is not None:
            _stop(head)
        subprocess.run(["ip", "netns", "delete", name], capture_output=True)
        shutil.rmtree(temp, ignore_errors=True)


def _wait_for_head(prefix: list[str], head: subprocess.Popen[bytes]) -> None:
    probe = "import ray; ray.init(address='127.0.0.1:%d', logging_level='ERROR'); ray.shutdown()"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if head.poll() is not None:
            raise RuntimeError(f"ray start exited with {head.returncode}")
        ok = subprocess.run(prefix + [sys.executable, "-c", probe % PORT], capture_output=True)
        if ok.returncode == 0:
            return
        time.sleep(1)
    raise RuntimeError("the Ray head did not come up in 60 s")


def test_search_on_a_ray_cluster(ray_cluster: list[str], tmp_path: Path) -> None:
    store = tmp_path / "ray.db"
    args = ["--strategy", "random", "--trials", "5", "--epochs", "1", "--max-batches", "4",
            "--max-layers", "3", "--seed", "0", "--workers", "2"]
    run = subprocess.run(ray_cluster + [sys.executable, "-m", "nasc", "search", "--executor",
                                        "ray", "--address", f"127.0.0.1:{PORT}",
                                        "--store", str(store)] + args,
                         capture_output=True, text=True, timeout=180)
    assert run.returncode == 0, run.stderr[-2000:]
    assert "5 done, 0 failed" in run.stdout, run.stdout[-2000:]

    # the same search inline: the same records (up to timing)
    inline = tiny_config(tmp_path / "inline.db", "random", trials=5, max_layers=3)
    run_search(inline)
    ray_trials = Store.open(store).trials()
    inline_trials = Store.open(inline.store).trials()
    assert [t.arch for t in ray_trials] == [t.arch for t in inline_trials]
    assert all(t.status == "done" for t in ray_trials)
    for a, b in zip(ray_trials, inline_trials, strict=True):
        assert a.reward == pytest.approx(b.reward, abs=1e-3)
    assert Store.open(store).experiment()["config"]["executor"] == "ray"


def test_ray_needs_an_address(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from nasc.cli import cli

    result = CliRunner().invoke(cli, ["search", "--executor", "ray", "--store",
                                      str(tmp_path / "s.db")])
    assert result.exit_code == 1
    assert "--executor ray needs --address" in result.output
    assert not (tmp_path / "s.db").exists()


DRIVER = """
import sys
from dataclasses import replace
sys.path.insert(0, {helpers!r})
from runtime_helpers import tiny_config
from nasc.runtime.search import run_search
config = replace(tiny_config({store!r}, "random", trials=2, executor="ray", max_layers=3),
                 address="127.0.0.1:{port}", faults={{1: "kill", 2: "raise"}})
print(run_search(config).counts)
"""


def test_ray_task_failures_are_failed_trials(ray_cluster: list[str], tmp_path: Path) -> None:
    store = tmp_path / "faults.db"
    script = DRIVER.format(helpers=str(Path(__file__).parent), store=str(store), port=PORT)
    run = subprocess.run(ray_cluster + [sys.executable, "-c", script], capture_output=True,
                         text=True, timeout=180)
    assert run.returncode == 0, run.stderr[-2000:]
    trials = Store.open(store).trials()
    assert [t.status for t in trials] == ["failed", "failed"]
    assert trials[0].error.startswith("ray task failed")
    assert "RuntimeError: injected fault" in trials[1].error
