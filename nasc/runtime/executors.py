"""Executors: where trials run. One interface, three places.

    inline   this process, one trial at a time, deterministic (debugging)
    local    K worker processes on this machine (spawn), each limited to
             `threads` torch threads (and with `devices`, each on its own device,
             round robin); a worker that dies or overruns its hard
             time limit is replaced and its trial recorded as failed
    ray      Ray tasks on an existing cluster (`address`), with per-trial CPU
             and GPU requests

    submit(spec)          start a trial (only while `free() > 0`)
    poll(timeout) -> [(trial_id, result)]   finished trials, waiting up to timeout
    close()               stop everything still running
"""

from __future__ import annotations

import logging
import multiprocessing as mp
import os
import signal
import socket
import threading
import time
from collections import deque
from dataclasses import replace
from multiprocessing.connection import Connection, wait
from typing import Any

from nasc.errors import NascError
from nasc.runtime.child import TrialSpec, run_trial
from nasc.runtime.devices import assign_devices, parse_devices

Result = tuple[int, dict[str, Any]]


def hard_limit(spec: TrialSpec) -> float | None:
    """When an executor kills a trial that ignores its own (cooperative) time limit."""
    limit = spec.config.time_limit  # both count from the start of training
    return None if limit is None else limit * 1.5 + 2.0


def _failed(spec: TrialSpec, error: str, worker: str | None = None) -> dict[str, Any]:
    return {"status": "failed", "reward": spec.config.failure_reward, "error": error,
            "metrics": [], "worker": worker}


class Executor:
    """The common interface (see the module docstring)."""

    name = "executor"
    capacity = 1

    def __repr__(self) -> str:
        return f"{type(self).__name__}(capacity={self.capacity})"

    def submit(self, spec: TrialSpec) -> None:
        raise NotImplementedError

    def poll(self, timeout: float) -> list[Result]:
        raise NotImplementedError

    def in_flight(self) -> int:
        raise NotImplementedError

    def free(self) -> int:
        return self.capacity - self.in_flight()

    def close(self) -> None:
        """Stop everything still running."""


class InlineExecutor(Executor):
    """Runs each trial in this process when polled; `kill`/`hang` faults are refused."""

    name = "inline"

    def __init__(self) -> None:
        self.queue: deque[TrialSpec] = deque()

    def submit(self, spec: TrialSpec) -> None:
        self.queue.append(spec)

    def in_flight(self) -> int:
        return len(self.queue)

    def poll(self, timeout: float) -> list[Result]:
        if not self.queue:
            return []
        spec = self.queue.popleft()
        if spec.fault in ("kill", "hang"):
            return [(spec.trial_id, _failed(spec, f"fault {spec.fault!r} needs a worker process"))]
        return [(spec.trial_id, run_trial(spec))]


# --- local process pool --------------------------------------------------------------
def _watch_parent(parent: int) -> None:
    while True:
        if os.getppid() != parent:
            os._exit(0)  # the search was killed: do not train on as an orphan
        time.sleep(0.5)


def worker_main(conn: Connection, threads: int, parent: int) -> None:
    """A local worker: receive specs, send back ("started"|"result", trial_id, result)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the search's to handle
    import torch

    torch.set_num_threads(threads)
    threading.Thread(target=_watch_parent, args=(parent,), daemon=True).start()
    _warm_up()
    while True:
        try:
            spec = conn.recv()
        except (EOFError, OSError):
            return

        def started(trial_id: int = spec.trial_id) -> None:
            conn.send(("started", trial_id, None))  # the hard time limit counts from here

        conn.send(("result", spec.trial_id, run_trial(spec, started)))


def _warm_up() -> None:
    """Pay a fresh process's one-off costs (imports, first kernels, autograd) before any
    trial's clock starts."""
    import torch

    import nasc.api  # noqa: F401
    import nasc.runtime.train_cnn  # noqa: F401
    import nasc.runtime.train_rnn  # noqa: F401

    layer = torch.nn.Conv2d(1, 4, 3, padding=1)
    opt = torch.optim.SGD(layer.parameters(), lr=0.1, momentum=0.9, nesterov=True)
    loss = torch.nn.functional.cross_entropy(layer(torch.randn(2, 1, 8, 8)).mean((2, 3)),
                                             torch.tensor([0, 1]))
    loss.backward()
    opt.step()


class _Worker:
    def __init__(self, ctx: Any, threads: int, device: str | None = None) -> None:
        self.device = device  # trains every trial here (--devices), else the trial's own
        self.conn, child = ctx.Pipe()
        self.process = ctx.Process(target=worker_main, args=(child, threads, os.getpid()),
                                   daemon=True)
        self.process.start()
        child.close()
        self.spec: TrialSpec | None = None
        self.started: float | None = None  # when the worker began the trial

    def stop(self) -> None:
        if self.process.is_alive():
            self.process.kill()
        self.process.join(5)
        self.conn.close()


class LocalExecutor(Executor):
    """`workers` processes, each running one trial at a time with `threads` torch threads."""

    name = "local"

    def __init__(self, workers: int = 2, threads: int = 1,
                 devices: list[str] | None = None) -> None:
        if workers < 1:
            raise NascError(f"--workers must be at least 1, got {workers}")
        self.capacity, self.threads = workers, threads
        self.devices: list[str | None] = (list(assign_devices(devices, workers)) if devices
                                          else [None] * workers)
        self.ctx = mp.get_context("spawn")
        self.workers = [_Worker(self.ctx, threads, d) for d in self.devices]

    def in_flight(self) -> int:
        return sum(w.spec is not None for w in self.workers)

    def submit(self, spec: TrialSpec) -> None:
        i, worker = next((i, w) for i, w in enumerate(self.workers) if w.spec is None)
        if not worker.process.is_alive():  # died while idle (OOM killer, ...): replace it
            worker.stop()
            worker = self.workers[i] = _Worker(self.ctx, self.threads, self.devices[i])
        if worker.device is not None:
            spec = replace(spec, config=replace(spec.config, device=worker.device))
        worker.spec, worker.started = spec, None
        worker.conn.send(spec)

    def poll(self, timeout: float) -> list[Result]:
        busy = [w for w in self.workers if w.spec is not None]
        if not busy:
            return []
        handles = [w.conn for w in busy] + [w.process.sentinel for w in busy]
        wait(handles, timeout=self._wait_time(busy, timeout))
        out: list[Result] = []
        for i, worker in enumerate(self.workers):
            if worker.spec is not None:
                result = self._check(worker)
                if result is not None:
                    out.append(result)
                    if not worker.process.is_alive():
                        self.workers[i] = _Worker(self.ctx, self.threads, self.devices[i])
        return out

    def _check(self, worker: _Worker) -> Result | None:
        """Read the worker's messages; a result, or a failure if it died or overran."""
        spec = worker.spec
        assert spec is not None
        try:
            while worker.conn.poll():
                kind, _, result = worker.conn.recv()
                if kind == "started":
                    worker.started = time.monotonic()
                else:
                    worker.spec = None
                    return spec.trial_id, result
        except (EOFError, OSError):
            pass
        limit = hard_limit(spec)
        overrun = (limit is not None and worker.started is not None
                   and time.monotonic() - worker.started > limit)
        if worker.process.is_alive() and not overrun:
            return None
        worker.stop()
        worker.spec = None
        error = (f"over the time limit of {spec.config.time_limit:g} s (worker killed)"
                 if overrun else f"worker process died (exit code {worker.process.exitcode})")
        return spec.trial_id, _failed(spec, error, f"pid:{worker.process.pid}")

    @staticmethod
    def _wait_time(busy: list[_Worker], timeout: float) -> float:
        now, wait_s = time.monotonic(), timeout
        for w in busy:
            assert w.spec is not None
            limit = hard_limit(w.spec)
            if limit is not None and w.started is not None:
                wait_s = min(wait_s, max(0.0, w.started + limit - now) + 0.01)
        return wait_s

    def close(self) -> None:
        for worker in self.workers:
            worker.stop()


# --- ray ------------------------------------------------------------------------
def _ray_trial(spec: TrialSpec, threads: int) -> dict[str, Any]:
    import torch

    torch.set_num_threads(threads)
    return run_trial(spec)


def _probe(address: str, timeout: float = 5.0) -> None:
    """Fail fast when nothing listens at a HOST:PORT Ray address (ray.init would retry for
    minutes); "auto" and addresses without a port are left to Ray."""
    host, _, port = address.removeprefix("ray://").rpartition(":")
    if not host or not port.isdigit():
        return
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=timeout).close()
    except OSError as exc:
        raise NascError(f"no Ray cluster answers at {address} "
                        f"({exc.strerror or type(exc).__name__})") from None


class RayExecutor(Executor):
    """Trials as Ray tasks on the cluster at `address` ("auto" or HOST:PORT)."""

    name = "ray"

    def __init__(self, address: str, capacity: int = 2, cpus_per_trial: float = 1.0,
                 gpus_per_trial: float = 0.0) -> None:
        try:
            import ray
        except ImportError:
            raise NascError("--executor ray needs Ray: pip install 'nasc[search]'") from None
        self.ray = ray
        _probe(address)
        try:
            ray.init(address=address, log_to_driver=False, logging_level=logging.ERROR,
                     ignore_reinit_error=True)
        except (ConnectionError, RuntimeError, ValueError) as exc:
            raise NascError(f"cannot connect to the Ray cluster at {address}: {exc}") from None
        self.capacity = capacity
        self.threads = max(1, int(cpus_per_trial))
        self.remote = ray.remote(_ray_trial).options(num_cpus=cpus_per_trial,
                                                     num_gpus=gpus_per_trial, max_retries=0)
        self.refs: dict[Any, tuple[TrialSpec, float]] = {}

    def in_flight(self) -> int:
        return len(self.refs)

    def submit(self, spec: TrialSpec) -> None:
        self.refs[self.remote.remote(spec, self.threads)] = (spec, time.monotonic())

    def poll(self, timeout: float) -> list[Result]:
        if not self.refs:
            return []
        done, _ = self.ray.wait(list(self.refs), num_returns=1, timeout=timeout)
        out: list[Result] = []
        for ref in done:
            spec, _ = self.refs.pop(ref)
            try:
                out.append((spec.trial_id, self.ray.get(ref)))
            except Exception as exc:  # noqa: BLE001 - a crashed Ray worker is a failed trial
                name = type(exc).__name__
                out.append((spec.trial_id, _failed(spec, f"ray task failed ({name})")))
        for ref, (spec, started) in list(self.refs.items()):
            limit = hard_limit(spec)  # counted from submission: queueing and setup get 60 s
            if limit is not None and time.monotonic() - started > limit + 60.0:
                self.ray.cancel(ref, force=True)
                self.refs.pop(ref)
                error = f"over the time limit of {spec.config.time_limit:g} s (task cancelled)"
                out.append((spec.trial_id, _failed(spec, error)))
        return out

    def close(self) -> None:
        for ref in list(self.refs):
            self.ray.cancel(ref, force=True)
        self.refs.clear()
        self.ray.shutdown()


def make_executor(name: str, workers: int = 2, threads: int = 1, address: str | None = None,
                  gpus_per_trial: float = 0.0, devices: str | None = None) -> Executor:
    """The executor called `name` (`devices`: local workers' devices, "cuda:0,cuda:1")."""
    if devices is not None and name != "local":
        raise NascError(f"--devices gives local workers their devices; with --executor {name} "
                        f"use --device" + (" or --gpus-per-trial" if name == "ray" else ""))
    if name == "inline":
        return InlineExecutor()
    if name == "local":
        return LocalExecutor(workers, threads,
                             None if devices is None else parse_devices(devices, here=False))
    if name == "ray":
        return RayExecutor(address or "auto", workers, float(threads), gpus_per_trial)
    raise NascError(f"unknown executor {name!r}: inline, local or ray")
