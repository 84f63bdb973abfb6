"""What people read: `report --json` times in ISO 8601, `report --csv`, accuracy beside the
reward in the summary, and the progress line (terminal width, first ETA)."""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from nasc.cli import cli
from nasc.cli.progress import ProgressLine
from nasc.runtime.store import Store, Trial

TINY = ["--trials", "3", "--epochs", "1", "--max-batches", "2", "--max-layers", "1",
        "--executor", "inline", "--strategy", "random"]


@pytest.fixture(scope="module")
def searched(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    path = tmp_path_factory.mktemp("report") / "s.db"
    result = CliRunner().invoke(cli, ["search", "--store", str(path), *TINY])
    assert result.exit_code == 0, result.output
    return path, result.output


def test_the_summary_prints_accuracy_beside_the_reward(searched: tuple[Path, str]) -> None:
    path, output = searched
    store = Store.open(path, readonly=True)
    best = max(store.trials("done"), key=lambda t: (t.reward or 0.0, -t.id))
    store.close()
    line = next(x for x in output.splitlines() if x.startswith("  1. reward"))
    assert line.startswith(f"  1. reward {best.reward:.4f}  acc "
                           f"{best.summary['accuracy']:.3f}  trial {best.id}")


def test_json_times_are_iso(searched: tuple[Path, str]) -> None:
    doc = json.loads(CliRunner().invoke(cli, ["report", str(searched[0]), "--json"]).output)
    created = datetime.fromisoformat(doc["experiment"]["created"])
    assert created.utcoffset() is not None and created.utcoffset().total_seconds() == 0
    for trial in doc["trials"]:
        started, finished = (datetime.fromisoformat(trial[k]) for k in ("started", "finished"))
        assert created <= datetime.fromisoformat(trial["created"]) <= started <= finished


def test_csv_has_one_row_per_trial(searched: tuple[Path, str]) -> None:
    path = searched[0]
    result = CliRunner().invoke(cli, ["report", str(path), "--csv"])
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.output)))
    store = Store.open(path, readonly=True)
    trials = store.trials()
    store.close()
    assert [int(r["id"]) for r in rows] == [t.id for t in trials]
    for row, t in zip(rows, trials, strict=True):
        assert (row["store"], row["status"], row["arch"]) == (str(path), t.status, t.arch)
        assert float(row["reward"]) == pytest.approx(t.reward)
        assert float(row["accuracy"]) == pytest.approx(t.summary["accuracy"])
        assert int(row["params"]) == t.params and row["pareto"] == "0"
        datetime.fromisoformat(row["finished"])
    both = CliRunner().invoke(cli, ["report", str(path), "--csv", "--json"])
    assert both.exit_code == 2
    assert both.output.strip().splitlines()[-1] == "Error: give --json or --csv, not both"


def trial(i: int, reward: float, seconds: float = 10.0, status: str = "done") -> Trial:
    return Trial(i, "conv 3x3 24", 1, status=status, reward=reward, seconds=seconds,
                 summary={"accuracy": reward ** (1 / 3)})


def counts(done: int, failed: int = 0) -> dict[str, int]:
    return {"pending": 0, "running": 0, "done": done, "failed": failed, "pruned": 0}


def test_the_first_eta_comes_from_trial_durations(capsys: pytest.CaptureFixture[str]) -> None:
    progress = ProgressLine(total=10, workers=2)
    progress({"trial": trial(1, 0.729), "counts": counts(1)})
    line = capsys.readouterr().err.strip()
    assert line.endswith("1/10 trials, 0 failed, best 0.7290 (acc 0.900), ETA 0m45s")


def test_later_etas_come_from_the_wall_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = iter([100.0, 100.0, 101.0])  # three trials finish: at 100 s, 100 s and 101 s
    monkeypatch.setattr("nasc.cli.progress.time.monotonic", lambda: next(clock))
    progress = ProgressLine(total=12, workers=2)
    for i in (1, 2, 3):
        progress.seen += 1
        eta = progress.eta(trial(i, 0.5, seconds=30.0), 12 - i)
    assert eta == pytest.approx(9 * 1.0 / 2)  # two trials in the 1 s after the first


def test_the_line_fits_the_terminal(monkeypatch: pytest.MonkeyPatch,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr("nasc.cli.progress.shutil.get_terminal_size",
                        lambda fallback=(80, 24): __import__("os").terminal_size((50, 24)))
    progress = ProgressLine(total=200, workers=1)
    progress.tty = True
    progress({"trial": trial(7, 0.125, status="failed"), "counts": counts(3, 4)})
    out = capsys.readouterr().err
    assert out.startswith("\r") and len(out) == 1 + 49  # padded to the width, not past it
    assert out[1:].startswith("7/200 trials, 4 failed")  # the bar gave way to the text
    wide = ProgressLine(total=200, workers=1)
    assert wide.line(counts(3, 4), 5.0, 200).startswith("[")
    assert len(wide.line(counts(3, 4), 5.0, 30)) == 30
