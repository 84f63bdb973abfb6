"""The README's custom-evaluator example, run exactly as the README shows it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import torch

from nasc.runtime.store import Store

README = Path(__file__).resolve().parents[2] / "README.md"
MARKER = "<!-- this block runs as a test: tests/runtime/test_readme_example.py -->"


def readme_example() -> str:
    text = README.read_text(encoding="utf-8")
    assert MARKER in text, "the README lost its tested example"
    match = re.match(r"\s*```python\n(.*?)```", text.split(MARKER, 1)[1], re.DOTALL)
    assert match is not None, "the marker must be followed by a ```python block"
    return match.group(1)


def test_the_readme_custom_evaluator_example_runs(tmp_path: Path, capsys: pytest.CaptureFixture,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    torch.set_num_threads(1)
    monkeypatch.chdir(tmp_path)
    code = readme_example()
    assert len(code.splitlines()) <= 40  # a short example, as the README promises
    scope: dict = {"__name__": "readme_example"}
    exec(compile(code, str(README), "exec"), scope)  # noqa: S102 - our own README
    study = scope["study"]
    trials = study.trials
    assert len(trials) == 6 and all(t.status == "done" for t in trials), [t.error for t in trials]
    for t in trials:  # the user's loop reported two epochs; the objective is the reward
        assert [h["epoch"] for h in t.history] == [1, 2]
        assert t.reward == pytest.approx(t.metrics["accuracy"] - 1e-6 * t.params)
    best = study.best_trial
    assert capsys.readouterr().out.split()[-1] == str(best.params)
    assert best.metrics["accuracy"] > 0.1  # better than chance: the loop trains
    store = Store.open(study.path, readonly=True)
    assert store.experiment()["config"]["data"].startswith("__local__:my_data")
    store.close()
