"""NAS-Bench-201 as a data source (`--data nb201:DIR[:DATASET]`), on a 300-row extract of the
real table that the tests carry (tests/fixtures/make_nb201_mini.py): rewards, the hidden
test column, strings not in the table, the wrong space, the CLI and report."""

from __future__ import annotations

import csv
import itertools
import shutil
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from nasc.cli import cli
from nasc.controller import Budget, DecisionTable, RandomSampler
from nasc.errors import NascError
from nasc.grammar import load_space
from nasc.runtime.child import TrialSpec, run_trial
from nasc.runtime.data import load_data
from nasc.runtime.nb201 import load_nb201, load_table
from nasc.runtime.search import SearchConfig, run_search
from nasc.runtime.store import Store
from nasc.runtime.strategies import StrategyConfig

ROOT = Path(__file__).resolve().parents[2]
MINI = ROOT / "tests" / "fixtures" / "nb201-mini.csv"
SPACE = ROOT / "examples" / "spaces" / "nb201.lark"
BEST_C10 = ("|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|"
            "nor_conv_1x1~2|")  # the table's best cell on CIFAR-10 (94.37 after 200 epochs)
OPS = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")


def rows() -> list[dict[str, str]]:
    with MINI.open(newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture
def table_dir(tmp_path: Path) -> Path:
    shutil.copy(MINI, tmp_path / "nb201.csv")
    return tmp_path


def test_fixture_is_an_extract_with_the_extremes() -> None:
    table = rows()
    assert len(table) == 300 and len({r["arch"] for r in table}) == 300
    best = max(table, key=lambda r: float(r["cifar10_test_200ep"]))
    assert best["arch"] == BEST_C10 and float(best["cifar10_test_200ep"]) == pytest.approx(94.3733)
    assert max(float(r["cifar100_test_200ep"]) for r in table) == pytest.approx(73.5133)
    assert max(float(r["imagenet16_test_200ep"]) for r in table) == pytest.approx(47.3111)


@pytest.mark.parametrize("suffix,prefix", [("", "cifar10"), (":cifar10", "cifar10"),
                                           (":cifar100", "cifar100"),
                                           (":imagenet16", "imagenet16"),
                                           (":ImageNet16-120", "imagenet16")])
def test_reward_is_validation_and_test_is_recorded(table_dir: Path, suffix: str,
                                                   prefix: str) -> None:
    for row in rows()[:20]:
        result = run_trial(TrialSpec(1, row["arch"], str(SPACE), f"nb201:{table_dir}{suffix}"))
        assert result["status"] == "done", result
        assert result["reward"] == pytest.approx(float(row[f"{prefix}_valid_12ep"]) / 100)
        metrics = result["metrics"][-1]
        assert metrics["test_acc_200ep"] == pytest.approx(float(row[f"{prefix}_test_200ep"]) / 100)
        assert metrics["test_acc_12ep"] == pytest.approx(float(row[f"{prefix}_test_12ep"]) / 100)
        assert metrics["valid_acc"] == pytest.approx(result["reward"])


def test_string_not_in_table_is_a_failed_trial(table_dir: Path) -> None:
    known = {r["arch"] for r in rows()}
    missing = next("|" + f"{a}~0|+|{b}~0|{c}~1|+|{d}~0|{e}~1|{f}~2|"
                   for a, b, c, d, e, f in itertools.product(OPS, repeat=6)
                   if f"|{a}~0|+|{b}~0|{c}~1|+|{d}~0|{e}~1|{f}~2|" not in known)
    for arch in (missing, "conv 3x3 36", ""):
        result = run_trial(TrialSpec(3, arch, str(SPACE), f"nb201:{table_dir}"))
        assert result["status"] == "failed" and result["reward"] == 0.0
        assert result["error"].startswith("not a NAS-Bench-201 cell")
        assert "300 cells" in result["error"] and "\n" not in result["error"]


def test_table_is_read_once_and_lookups_take_microseconds(table_dir: Path) -> None:
    data = load_nb201(str(table_dir))
    assert load_table((table_dir / "nb201.csv").resolve()) is load_table(
        (table_dir / "nb201.csv").resolve())
    assert load_data(f"nb201:{table_dir}") is load_data(f"nb201:{table_dir}")
    archs = [r["arch"] for r in rows()] * 34
    start = time.perf_counter()
    for arch in archs:
        data.answer(arch)
    per_lookup = (time.perf_counter() - start) / len(archs)
    assert per_lookup < 100e-6, per_lookup  # a few us on a quiet machine


@pytest.mark.parametrize("body,message", [
    ("index,arch\n0,|x|\n", "missing column(s) cifar10_valid_12ep"),
    ("", "empty file"),
])
def test_malformed_table_is_one_line(tmp_path: Path, body: str, message: str) -> None:
    (tmp_path / "nb201.csv").write_text(body)
    with pytest.raises(NascError, match="nb201.csv") as info:
        load_nb201(str(tmp_path))
    assert message in str(info.value)


@pytest.mark.parametrize("change,message", [
    (lambda lines: lines[:2] + [lines[1]], "appears twice"),
    (lambda lines: lines[:1] + [lines[1].replace(",", ",abc", 2)], "is not a number"),
    (lambda lines: lines[:1] + [lines[1].rsplit(",", 1)[0] + ",101.5"], "not a percentage"),
    (lambda lines: lines[:1] + [lines[1].rsplit(",", 1)[0]], "fields, the header has"),
])
def test_bad_rows_name_their_line(tmp_path: Path, change: object, message: str) -> None:
    lines = MINI.read_text().splitlines()
    (tmp_path / "nb201.csv").write_text("\n".join(change(lines)) + "\n")  # type: ignore[operator]
    with pytest.raises(NascError, match=r"nb201.csv:\d+: ") as info:
        load_nb201(str(tmp_path))
    assert message in str(info.value)


def test_missing_directory_and_file(tmp_path: Path) -> None:
    with pytest.raises(NascError, match="not a directory"):
        load_nb201(str(tmp_path / "nowhere"))
    with pytest.raises(NascError, match="nb201.csv not found"):
        load_nb201(str(tmp_path))
    with pytest.raises(NascError, match="needs a directory"):
        load_nb201(":cifar100")


def test_wrong_space_is_refused_before_any_store(table_dir: Path, tmp_path: Path) -> None:
    store = tmp_path / "s.db"
    config = SearchConfig(str(store), space="cnn", data=f"nb201:{table_dir}", trials=4,
                          executor="inline")
    with pytest.raises(NascError, match="does not accept them") as info:
        run_search(config)
    assert "examples/spaces/nb201.lark" in str(info.value) and "\n" not in str(info.value)
    assert not store.exists()


def test_sampled_cells_are_spelled_as_the_table_spells_them() -> None:
    table = DecisionTable(load_space(SPACE))
    samples = RandomSampler(table, Budget(None, 512), seed=0).sample(200)
    pattern = ("|{}~0|+|{}~0|{}~1|+|{}~0|{}~1|{}~2|")
    spelled = {pattern.format(*ops) for ops in itertools.product(OPS, repeat=6)}
    assert all(s.text in spelled for s in samples)
    assert len({s.text for s in samples}) > 150


TINY_GRAMMAR = """
start: "|" edge0 "|+|" edge0 "|" edge1 "|+|" edge0 "|" edge1 "|" edge2 "|"
edge0: OP "~0"
edge1: OP "~1"
edge2: OP "~2"
OP: "nor_conv_3x3" | "skip_connect"
"""


def small_space(tmp_path: Path) -> tuple[Path, Path]:
    """A grammar of the 64 cells with 3x3 convolutions and skips only, and a made-up table of
    them where 12-epoch validation and 200-epoch test disagree on the best cell."""
    path = tmp_path / "tiny201.lark"
    path.write_text(TINY_GRAMMAR)
    header = rows()[0].keys()
    table = tmp_path / "table"
    table.mkdir()
    with (table / "nb201.csv").open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(header))
        writer.writeheader()
        for i, ops in enumerate(itertools.product(("nor_conv_3x3", "skip_connect"), repeat=6)):
            convs = sum(op == "nor_conv_3x3" for op in ops)
            row = {c: "50.0" for c in header}
            row.update(index=str(i), arch="|{}~0|+|{}~0|{}~1|+|{}~0|{}~1|{}~2|".format(*ops),
                       cifar10_valid_12ep=f"{60 + 5 * convs + 0.01 * i:.2f}",
                       cifar10_test_200ep=f"{90 - convs + 0.01 * i:.2f}")  # test disagrees
            writer.writerow(row)
    return path, table


def test_search_sees_validation_and_report_shows_the_picks_test(tmp_path: Path) -> None:
    space, table = small_space(tmp_path)
    store = tmp_path / "s.db"
    for strategy in ("random", "evolution", "reinforce"):
        path = tmp_path / f"{strategy}.db"
        config = SearchConfig(str(path), space=str(space), data=f"nb201:{table}", trials=24,
                              strategy=StrategyConfig(strategy, batch=4, population=8,
                                                      max_layers=None, seed=1),
                              executor="inline")
        summary = run_search(config)
        assert summary.counts["done"] == 24, summary
        store = path
    opened = Store.open(store, readonly=True)
    try:
        with (table / "nb201.csv").open(newline="") as handle:
            by_arch = {r["arch"]: r for r in csv.DictReader(handle)}
        for t in opened.trials():
            assert t.reward == pytest.approx(float(by_arch[t.arch]["cifar10_valid_12ep"]) / 100)
        pick = max(opened.trials(), key=lambda t: (t.reward or 0.0, -t.id))
    finally:
        opened.close()
    report = CliRunner().invoke(cli, ["report", str(store)])
    assert report.exit_code == 0, report.output
    test = float(by_arch[pick.arch]["cifar10_test_200ep"])
    assert f"picked by validation: trial {pick.id}, cifar10" in report.output
    assert f"200-epoch test {test:.2f}%" in report.output


def test_cli_search_and_wrong_space(table_dir: Path, tmp_path: Path) -> None:
    store = tmp_path / "c.db"
    result = CliRunner().invoke(cli, ["search", "--space", str(SPACE), "--data",
                                      f"nb201:{table_dir}:cifar100", "--trials", "3",
                                      "--executor", "inline", "--strategy", "random",
                                      "--epochs", "3", "--store", str(store)])
    assert "--epochs applies to trained children (not --data nb201) only" in result.output
    assert "3 done" in result.output or "failed: not a NAS-Bench-201 cell" in result.output
    wrong = CliRunner().invoke(cli, ["search", "--space", "cnn", "--data", f"nb201:{table_dir}",
                                     "--store", str(tmp_path / "w.db")])
    assert wrong.exit_code == 1
    assert wrong.output.count("\n") == 1 and "does not accept them" in wrong.output
