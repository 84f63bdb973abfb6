"""`nasc search`, `nasc report`, `nasc export` through click's CliRunner."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner

from nasc.cli import cli
from nasc.compiler.frontend import parse
from nasc.runtime.store import Store

TINY = ["--trials", "4", "--epochs", "1", "--max-batches", "3", "--max-layers", "2",
        "--executor", "inline", "--strategy", "random"]


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("cli") / "s.db"
    result = CliRunner().invoke(cli, ["search", "--store", str(path), *TINY])
    assert result.exit_code == 0, result.output
    assert "4 done, 0 failed" in result.output
    assert "best architecture (trial" in result.output and "total" in result.output
    return path


def test_search_refuses_to_overwrite(store: Path) -> None:
    result = CliRunner().invoke(cli, ["search", "--store", str(store), *TINY])
    assert result.exit_code == 1
    assert result.output.startswith("nasc: error: store") and "--resume" in result.output


def test_resume_with_more_trials(store: Path, tmp_path: Path) -> None:
    copy = tmp_path / "copy.db"
    copy.write_bytes(store.read_bytes())
    args = ["search", "--store", str(copy), *TINY[2:], "--trials", "6", "--resume"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert "6 done" in result.output and "this run trained 2" in result.output


def test_report_table_and_json(store: Path) -> None:
    table = CliRunner().invoke(cli, ["report", str(store), "--top", "2"])
    assert table.exit_code == 0
    lines = table.output.splitlines()
    assert "random on digits (cnn), 4 done, 0 failed" in lines[0]
    assert lines[1].split()[:4] == ["rank", "trial", "reward", "acc"]
    assert len(lines) == 4
    doc = json.loads(CliRunner().invoke(cli, ["report", str(store), "--json"]).output)
    assert doc["experiment"]["config"]["strategy"]["name"] == "random"
    assert [t["id"] for t in doc["trials"]] == [1, 2, 3, 4]
    keys = {"id", "arch", "status", "reward", "params", "macs", "seconds", "error"}
    assert all(keys <= set(t) and t["status"] == "done" for t in doc["trials"])


def test_report_plot_of_several_stores(store: Path, tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    out = tmp_path / "plot.png"
    result = CliRunner().invoke(cli, ["report", str(store), str(store), "--plot", str(out)])
    assert result.exit_code == 0, result.output
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_export_best_is_a_valid_architecture(store: Path, tmp_path: Path) -> None:
    out = tmp_path / "best.arch"
    result = CliRunner().invoke(cli, ["export", str(store), "-o", str(out)])
    assert result.exit_code == 0, result.output
    text = out.read_text()
    assert text.startswith("# exported from")
    doc = json.loads(CliRunner().invoke(cli, ["report", str(store), "--json"]).output)
    best = max(doc["trials"], key=lambda t: (t["reward"], -t["id"]))
    assert str(parse(text, "cnn").arch) == str(parse(best["arch"], "cnn").arch)
    second = CliRunner().invoke(cli, ["export", str(store), "--rank", "2"])
    assert second.exit_code == 0 and second.output.startswith("# exported")


@pytest.mark.parametrize("args, message", [
    (["report", "missing.db"], "store missing.db does not exist"),
    (["export", "missing.db"], "store missing.db does not exist"),
    (["search", "--data", "imagenet", "--store", "{tmp}/x.db"], "unknown data source 'imagenet'"),
    (["search", "--data", "ptb:/nonexistent", "--store", "{tmp}/x.db"], "space 'cnn' is a cnn space"),
])
def test_bad_input_is_one_line(args: list[str], message: str, tmp_path: Path) -> None:
    args = [a.replace("{tmp}", str(tmp_path)) for a in args]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 1
    assert result.output.startswith("nasc: error: ") and message in result.output
    assert len(result.output.strip().splitlines()) == 1
    assert not (tmp_path / "x.db").exists()


def test_export_rank_out_of_range(store: Path) -> None:
    result = CliRunner().invoke(cli, ["export", str(store), "--rank", "9"])
    assert result.exit_code == 1 and "no rank 9 (4 finished trials)" in result.output


def test_reinforce_store_keeps_every_update_and_exports_its_controller(tmp_path: Path) -> None:
    path = tmp_path / "r.db"
    args = ["search", "--store", str(path), *TINY[:-1], "reinforce", "--trials", "8",
            "--controller-batch", "2"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    doc = json.loads(CliRunner().invoke(cli, ["report", str(path), "--json"]).output)
    assert [s["step"] for s in doc["controller"]] == [1, 2, 3, 4]  # one per update
    assert {"loss", "baseline", "reward", "entropy"} <= set(doc["controller"][0])
    rewards = {t["step"]: [] for t in doc["trials"]}
    for t in doc["trials"]:
        rewards[t["step"]].append(t["reward"])
    for step in doc["controller"]:  # each update saw the mean reward of its own step
        assert step["reward"] == pytest.approx(sum(rewards[step["step"]]) / 2, rel=1e-5)
    store = Store.open(path)
    assert [c for (c,) in store.conn.execute("SELECT step FROM checkpoints")] == [3, 4]
    store.close()
    table = CliRunner().invoke(cli, ["report", str(path)]).output
    assert "controller: 4 updates" in table.splitlines()[1]
    out = tmp_path / "controller.pt"
    exported = CliRunner().invoke(cli, ["export", str(path), "--controller", "-o", str(out)])
    assert exported.exit_code == 0 and "after update 4" in exported.output
    sampled = CliRunner().invoke(cli, ["sample", "--controller", str(out), "-n", "5",
                                       "--max-layers", "2", "--seed", "1"])
    assert sampled.exit_code == 0, sampled.output
    lines = sampled.output.splitlines()
    assert len(lines) == 5
    assert all(len(parse(line, "cnn").arch.layers) <= 2 for line in lines)  # parse raises if invalid


def test_export_controller_of_a_random_search_is_one_line(store: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["export", str(store), "--controller", "-o",
                                      str(tmp_path / "c.pt")])
    assert result.exit_code == 1 and "no controller checkpoint" in result.output
    assert len(result.output.strip().splitlines()) == 1
    no_out = CliRunner().invoke(cli, ["export", str(store), "--controller"])
    assert no_out.exit_code == 2 and "give it with -o PATH" in no_out.output


def test_a_store_is_never_overwritten_by_an_output(store: Path, tmp_path: Path) -> None:
    before = store.read_bytes()
    for args in (["export", str(store), "-o", str(store)],
                 ["export", str(store), "--controller", "-o", str(store)],
                 ["report", str(store), "--plot", str(store)]):
        result = CliRunner().invoke(cli, args)
        assert result.exit_code == 2 and "not overwritten" in result.output, args
    assert store.read_bytes() == before


def test_report_leaves_a_file_that_is_not_a_store_untouched(tmp_path: Path) -> None:
    empty, other = tmp_path / "empty.db", tmp_path / "other.db"
    empty.write_bytes(b"")
    conn = sqlite3.connect(other)
    conn.execute("CREATE TABLE t (x)")
    conn.commit()
    conn.close()
    before = other.read_bytes()
    for path in (empty, other):
        for command in ("report", "export"):
            result = CliRunner().invoke(cli, [command, str(path)])
            assert result.exit_code == 1 and "is not a nasc store" in result.output
    assert empty.read_bytes() == b"" and other.read_bytes() == before
