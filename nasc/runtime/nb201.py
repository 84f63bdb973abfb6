"""NAS-Bench-201 as a data source: a trial is answered from the table, not trained.

    --data nb201:DIR             DIR/nb201.csv, CIFAR-10 (the default)
    --data nb201:DIR:cifar100    CIFAR-100
    --data nb201:DIR:imagenet16  ImageNet16-120 (also spelled `imagenet16-120`)

The table (Dong & Yang, ICLR 2020; see ../shared/README.md) has one row per
cell string, with each dataset's 12-epoch validation and test accuracy and its
200-epoch test accuracy (percent). A trial's reward is the 12-epoch validation
accuracy / 100, the only column a search sees; its metrics also record the
12-epoch and 200-epoch test accuracies, for reports. The file is read once per
process (cached per path) and a lookup is one dict access. A string that is not
in the table is a failed trial with the reason.
"""

from __future__ import annotations

import csv
import math
import time
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from nasc.errors import NascError

FILE = "nb201.csv"
# dataset name -> (column prefix, classes, input shape of the benchmark's network)
DATASETS: dict[str, tuple[str, int, tuple[int, int, int]]] = {
    "cifar10": ("cifar10", 10, (3, 32, 32)),
    "cifar100": ("cifar100", 100, (3, 32, 32)),
    "imagenet16": ("imagenet16", 120, (3, 16, 16)),
}
ALIASES = {"imagenet16-120": "imagenet16", "imagenet16_120": "imagenet16"}
SUFFIXES = ("valid_12ep", "test_12ep", "test_200ep")
EPOCHS = 12  # the benchmark's short schedule, whose validation accuracy is the reward


@dataclass(frozen=True)
class Table:
    """The whole file: cell string -> one row of floats, in `columns` order."""

    path: Path
    columns: tuple[str, ...]
    rows: dict[str, tuple[float, ...]] = field(repr=False)

    def __repr__(self) -> str:
        return f"Table({self.path}, {len(self.rows)} cells)"


@dataclass(frozen=True)
class NB201Data:
    """One dataset's view of the table: cell -> (valid 12ep, test 12ep, test 200ep), %."""

    name: str  # the source string, e.g. "nb201:DIR:cifar100"
    dataset: str  # "cifar10" | "cifar100" | "imagenet16"
    rows: dict[str, tuple[float, float, float]] = field(repr=False)
    kind: str = "nb201"

    def __repr__(self) -> str:
        return f"NB201Data({self.dataset}: {len(self.rows)} cells from {self.name})"

    @property
    def num_classes(self) -> int:
        return DATASETS[self.dataset][1]

    @property
    def shape(self) -> tuple[int, int, int]:
        return DATASETS[self.dataset][2]

    def lookup(self, arch: str) -> tuple[float, float, float] | None:
        """The row of `arch` (whitespace ignored: the table's strings have none), or None."""
        row = self.rows.get(arch)
        return row if row is not None else self.rows.get("".join(arch.split()))

    def answer(self, arch: str) -> dict[str, Any]:
        """A trial result: reward = 12-epoch validation / 100; test accuracies in metrics."""
        start = time.perf_counter()
        row = self.lookup(arch)
        if row is None:
            return {"status": "failed", "metrics": [], "seconds": time.perf_counter() - start,
                    "error": f"not a NAS-Bench-201 cell: {arch[:120]!r} is not in the table "
                             f"({len(self.rows):,} cells; {self.name})"}
        valid, test12, test200 = row
        metrics = {"epoch": EPOCHS, "valid_acc": valid / 100.0, "test_acc_12ep": test12 / 100.0,
                   "test_acc_200ep": test200 / 100.0, "dataset": self.dataset}
        return {"status": "done", "reward": valid / 100.0, "metrics": [metrics],
                "seconds": time.perf_counter() - start, "train_seconds": 0.0}


def parse_source(arg: str) -> tuple[str, str]:
    """`DIR` or `DIR:DATASET` -> (DIR, dataset name)."""
    directory, dataset = arg, "cifar10"
    head, sep, tail = arg.rpartition(":")
    if sep and (tail.lower() in DATASETS or tail.lower() in ALIASES):
        directory, dataset = head, ALIASES.get(tail.lower(), tail.lower())
    if not directory:
        raise NascError("data source nb201 needs a directory: nb201:DIR[:cifar10|cifar100|"
                        "imagenet16]")
    return directory, dataset


def load_nb201(arg: str) -> NB201Data:
    """The data source `nb201:ARG` (ARG = DIR or DIR:DATASET)."""
    directory, dataset = parse_source(arg)
    root = Path(directory)
    if not root.is_dir():
        raise NascError(f"nb201:{arg}: {directory} is not a directory")
    path = root / FILE
    if not path.is_file():
        raise NascError(f"nb201:{arg}: {path} not found (the NAS-Bench-201 table, "
                        f"e.g. ../shared/data/nb201)")
    table = load_table(path.resolve())
    prefix = DATASETS[dataset][0]
    index = [table.columns.index(f"{prefix}_{s}") for s in SUFFIXES]
    rows = {arch: (r[index[0]], r[index[1]], r[index[2]]) for arch, r in table.rows.items()}
    return NB201Data(f"nb201:{arg}", dataset, rows)


@lru_cache(maxsize=2)
def load_table(path: Path) -> Table:
    """Read and check `nb201.csv` once per process."""
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            reader = csv.reader(handle)
            header = next(reader, None)
            if header is None:
                raise NascError(f"{path}: empty file")
            columns = tuple(c for c in header if c not in ("index", "arch"))
            _check_header(path, header)
            arch_at = header.index("arch")
            value_at = [header.index(c) for c in columns]
            rows: dict[str, tuple[float, ...]] = {}
            for line, record in enumerate(reader, 2):
                arch = _arch(path, line, record, arch_at, len(header), rows)
                rows[arch] = tuple(_percent(path, line, record[i]) for i in value_at)
    except UnicodeDecodeError as exc:
        raise NascError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except csv.Error as exc:
        raise NascError(f"{path}: not a CSV file ({exc})") from None
    if not rows:
        raise NascError(f"{path}: no cells in the table")
    return Table(path, columns, rows)


def _check_header(path: Path, header: list[str]) -> None:
    needed = ["arch"] + [f"{p}_{s}" for p, _, _ in DATASETS.values() for s in SUFFIXES]
    missing = [c for c in needed if c not in header]
    if missing:
        raise NascError(f"{path}: not the NAS-Bench-201 table: missing column(s) "
                        f"{', '.join(missing)}")


def _arch(path: Path, line: int, record: list[str], at: int, width: int,
          seen: dict[str, Any]) -> str:
    if len(record) != width:
        raise NascError(f"{path}:{line}: {len(record)} fields, the header has {width}")
    arch = record[at].strip()
    if not arch:
        raise NascError(f"{path}:{line}: empty cell string")
    if arch in seen:
        raise NascError(f"{path}:{line}: cell {arch!r} appears twice")
    return arch


def _percent(path: Path, line: int, text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise NascError(f"{path}:{line}: {text!r} is not a number") from None
    if not math.isfinite(value) or not 0.0 <= value <= 100.0:
        raise NascError(f"{path}:{line}: accuracy {text!r} is not a percentage in 0..100")
    return value


def check_space(space: Any, data: NB201Data) -> None:
    """Refuse up front a space whose strings are not the table's cells (one line)."""
    probe = next(iter(data.rows))
    try:
        space.parser.parse(probe)
    except Exception:  # noqa: BLE001 - any parse failure means "not this space"
        raise NascError(f"data {data.name!r} answers NAS-Bench-201 cell strings, but space "
                        f"{space.name!r} does not accept them (e.g. "
                        f"{probe!r}); use --space examples/spaces/nb201.lark") from None


def pick(trials: list[Any]) -> Any | None:
    """The finished, non-reused trial a search picks: the best reward (12-epoch
    validation), the earliest on ties; None if none finished."""
    done = [t for t in trials if t.status == "done" and t.reused_from is None]
    return min(done, key=lambda t: (-(t.reward or 0.0), t.id)) if done else None


def pick_line(trial: Any) -> str | None:
    """`picked by validation: ...` with the pick's 200-epoch test accuracy (None if the
    trial carries no NAS-Bench-201 metrics)."""
    last = trial.metrics[-1] if trial.metrics else {}
    if "test_acc_200ep" not in last:
        return None
    return (f"picked by validation: trial {trial.id}, {last.get('dataset', '?')} 12-epoch "
            f"validation {100 * last['valid_acc']:.2f}%, 200-epoch test "
            f"{100 * last['test_acc_200ep']:.2f}% (the search never saw the test column)")
