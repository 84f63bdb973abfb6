"""A user evaluator on a real Ray cluster (the loopback cluster of test_ray.py): the
evaluator's module travels by name, so a worker that cannot import it fails the trial
with a message that says so."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from test_ray import PORT, ray_cluster  # noqa: F401 - the module-scoped cluster fixture

from nasc.runtime.store import Store

HERE = Path(__file__).resolve().parent


def test_user_evaluator_on_ray(ray_cluster: list[str], tmp_path: Path) -> None:  # noqa: F811
    store = tmp_path / "ray.db"
    args = ["--strategy", "random", "--trials", "2", "--epochs", "1", "--max-layers", "2",
            "--workers", "2", "--evaluate", "study_helpers:train_eval", "--objective",
            "accuracy", "--data", "study_helpers:small_digits"]
    run = subprocess.run(ray_cluster + [sys.executable, "-m", "nasc", "search", "--executor",
                                        "ray", "--address", f"127.0.0.1:{PORT}",
                                        "--store", str(store)] + args,
                         capture_output=True, text=True, timeout=180, cwd=HERE)
    assert run.returncode == 0, run.stderr[-2000:]
    trials = Store.open(store, readonly=True).trials()
    assert [t.status for t in trials] == ["done", "done"]
    assert all(t.reward == t.summary["accuracy"] and "loss" in t.summary for t in trials)


def test_an_evaluator_the_workers_cannot_import_fails_its_trials(ray_cluster: list[str],  # noqa: F811
                                                                 tmp_path: Path) -> None:
    """Importable by the driver (a folder on its PYTHONPATH), not by the Ray workers."""
    private = tmp_path / "private"
    private.mkdir()
    (private / "private_eval.py").write_text("def evaluate(model, trial):\n    return 1.0\n")
    store = tmp_path / "ray.db"
    env = {**os.environ, "PYTHONPATH": str(private)}
    run = subprocess.run(ray_cluster + [sys.executable, "-m", "nasc", "search", "--executor",
                                        "ray", "--address", f"127.0.0.1:{PORT}",
                                        "--store", str(store), "--strategy", "random",
                                        "--trials", "1", "--max-layers", "2",
                                        "--evaluate", "private_eval:evaluate"],
                         capture_output=True, text=True, timeout=180, cwd=tmp_path, env=env)
    assert run.returncode == 1  # every trial failed
    (trial,) = Store.open(store, readonly=True).trials()
    assert trial.status == "failed"
    assert trial.error == ("--evaluate private_eval:evaluate: cannot import module 'private_eval' "
                           "(No module named 'private_eval'); it must be importable where trials "
                           "run (on PYTHONPATH; with --executor ray, on every Ray worker)")
