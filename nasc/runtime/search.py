"""The search loop: propose, deduplicate, run, record, learn; durable and resumable.

    run_search(config, resume=False, progress=None) -> SearchSummary

Every proposal is written to the store (pending) before it runs; every result
in one transaction. Equal canonical forms are trained once: a later duplicate
is recorded as done with the first one's result (`reused_from`), or waits for
it while it is still running. On `resume` the trials that never finished are
run again, finished ones are kept, and the strategy is rebuilt from the store.
Ctrl-C (KeyboardInterrupt) stops the workers and leaves a resumable store.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from nasc.errors import NascError
from nasc.grammar import builtin_names, load_space
from nasc.grammar.space import NO_KIND
from nasc.runtime.canonical import Canonicalizer
from nasc.runtime.child import TrainConfig, TrialSpec
from nasc.runtime.data import ImageData, TextData, kind_of, load_data
from nasc.runtime.executors import Executor, InlineExecutor, make_executor
from nasc.runtime.nb201 import NB201Data, check_space
from nasc.runtime.pruners import PruneBook, pruner_config
from nasc.runtime.store import Checkpoint, Store, Trial
from nasc.runtime.strategies import ReinforceStrategy, StrategyConfig, make_strategy
from nasc.runtime.train_rnn import check_corpus

# Options that define the search: a resumed search must be given the same ones.
DEFINING = ("space", "data", "strategy", "train")
EXECUTION = {"device"}  # may change on resume (e.g. move a search to a GPU machine)


@dataclass(frozen=True)
class SearchConfig:
    """One search: what to search, how children train, where they run."""

    store: str
    space: str = "cnn"
    data: str = "digits"
    trials: int = 20
    strategy: StrategyConfig = field(default_factory=StrategyConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    executor: str = "local"
    workers: int = 2
    threads: int = 1
    address: str | None = None
    gpus_per_trial: float = 0.0
    devices: str | None = None  # "cuda:0,cuda:1": local workers' devices, round robin
    faults: dict[int, str] = field(default_factory=dict)  # tests: trial id -> fault

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["faults"] = {str(k): v for k, v in self.faults.items()}
        return out


@dataclass
class SearchSummary:
    """What a search run did (this invocation) and where the store stands."""

    counts: dict[str, int]
    best: list[Trial]
    interrupted: bool = False
    seconds: float = 0.0
    trained: int = 0
    reused: int = 0

    def __repr__(self) -> str:
        return f"SearchSummary({self.counts}, interrupted={self.interrupted})"


Progress = Callable[[dict[str, Any]], None]


def _check_resume(store: Store, config: SearchConfig, grammar: str) -> None:
    stored, mine = store.experiment()["config"], config.to_json()
    for key in DEFINING:
        old, new = stored.get(key), mine[key]
        if key == "space" and not {old, new} & set(builtin_names()):
            continue  # two paths to grammar files: the grammar text below decides
        if isinstance(old, dict) and isinstance(new, dict):
            diff = sorted(k for k in new if old.get(k) != new[k] and k not in EXECUTION)
            if key == "strategy" and diff == ["name"]:
                diff = ["strategy"]
        else:
            diff = [key] if old != new else []
        if diff:
            option = "--" + diff[0].replace("_", "-")
            raise NascError(f"store {store.path} was created with a different {option} "
                            f"({_value(old, diff[0], key)}); resume with the same options")
    if store.experiment()["grammar"] != grammar:
        raise NascError(f"store {store.path} was created with a different grammar text")


def _value(old: Any, field_name: str, key: str) -> str:
    if isinstance(old, dict):
        return f"{field_name}={old.get(field_name if field_name != 'strategy' else 'name')!r}"
    return f"{key}={old!r}"


def open_store(config: SearchConfig, grammar: str, resume: bool) -> Store:
    store = Store.open(config.store) if resume else Store.create(
        config.store, config.to_json(), grammar)
    try:
        store.lock()
        if resume:
            _check_resume(store, config, grammar)
    except BaseException:
        store.close()
        raise
    return store


class Search:
    """The state of one running search (see `run_search`)."""

    def __init__(self, config: SearchConfig, store: Store, executor: Executor,
                 progress: Progress | None) -> None:
        self.config, self.store, self.executor = config, store, executor
        self.progress = progress or (lambda event: None)
        space = load_space(config.space)
        self.strategy = make_strategy(space, config.strategy)
        data = load_data(config.data)
        options = ({"input_shape": data.shape, "num_classes": data.num_classes}
                   if isinstance(data, ImageData | NB201Data) else
                   {"hidden_size": config.train.hidden_size})
        self.canon = Canonicalizer(space, options, store.canon_archs())
        pruner = pruner_config(config.train, "rnn" if isinstance(data, TextData) else "cnn")
        self.book = None if pruner is None else PruneBook(pruner, config.train.epochs)
        self.queue: deque[Trial] = deque()
        self.running: dict[str, int] = {}  # canon -> trial id in flight
        self.waiting: dict[str, list[Trial]] = {}  # canon -> duplicates waiting for it
        self.trained = self.reused = 0

    def __repr__(self) -> str:
        return f"Search({self.config.store!r}, {self.strategy!r})"

    def restore(self) -> None:
        self.store.reset_unfinished()
        trials = self.store.trials()
        self.strategy.restore(trials, self.store.latest_checkpoint())
        for trial in trials:
            if self.book is not None:
                self.book.add(trial)
        if isinstance(self.strategy, ReinforceStrategy):
            self._save(self.strategy.ready())
        self.queue.extend(t for t in trials if t.status == "pending")

    def _save(self, checkpoint: Checkpoint | None) -> None:
        if checkpoint is not None:
            self.store.save_checkpoint(checkpoint)

    def total(self) -> int:
        return sum(self.store.counts().values())

    def fill(self) -> None:
        """Start trials while workers are free; propose new ones when the queue is empty."""
        while self.executor.free() > 0:
            if not self.queue and not self._propose():
                return
            self._start(self.queue.popleft())

    def _propose(self) -> bool:
        remaining = self.config.trials - self.total()
        if remaining <= 0:
            return False
        proposals = self.strategy.propose(self.executor.free(), remaining)
        if not proposals:
            return False
        rows = [(p.arch, self.canon.key(p.arch), p.step, p.info) for p in proposals]
        ids = self.store.add_trials(rows)
        if isinstance(self.strategy, ReinforceStrategy):
            self.strategy.expect(ids)
        self.queue.extend(self.store.trial(i) for i in ids)
        return True

    def _start(self, trial: Trial) -> None:
        canon = trial.canon or ""
        prior = self.store.finished_with_canon(canon)
        if trial.id in self.config.faults:  # an injected fault always runs (tests)
            prior = None
        if prior is not None and prior.id != trial.id:
            self._reuse(trial, prior)
        elif canon in self.running and trial.id not in self.config.faults:
            self.waiting.setdefault(canon, []).append(trial)
        else:
            self.running[canon] = trial.id
            self.store.mark_running(trial.id, self.executor.name)
            spec = TrialSpec(trial.id, trial.arch, self.config.space, self.config.data,
                             self.config.train, self.config.strategy.seed,
                             self.config.faults.get(trial.id),
                             None if self.book is None else self.book.bars())
            self.executor.submit(spec)

    def _reuse(self, trial: Trial, prior: Trial) -> None:
        result = {k: getattr(prior, k) for k in ("status", "reward", "metrics", "params",
                                                 "macs", "error", "summary")}
        result.update(seconds=0.0, reused_from=prior.id, worker="reused")
        self._record(trial.id, result)
        self.reused += 1

    def _record(self, trial_id: int, result: dict[str, Any]) -> None:
        if not self.store.finish(trial_id, result):
            return  # already finished: never counted twice
        trial = self.store.trial(trial_id)
        if self.book is not None:
            self.book.add(trial)
        self._save(self.strategy.observe(trial))
        self.progress({"trial": trial, "counts": self.store.counts()})

    def collect(self, timeout: float) -> None:
        for trial_id, result in self.executor.poll(timeout):
            trial = self.store.trial(trial_id)
            self.running.pop(trial.canon or "", None)
            self._record(trial_id, result)
            self.trained += 1
            waiters = self.waiting.pop(trial.canon or "", [])
            prior = self.store.finished_with_canon(trial.canon or "")
            for waiter in waiters:
                if prior is not None:
                    self._reuse(waiter, prior)
            if prior is None:  # a result that does not carry over (dead worker): run them
                self.queue.extendleft(reversed(waiters))

    def busy(self) -> bool:
        return bool(self.executor.in_flight() or self.queue or self.waiting)


def run_search(config: SearchConfig, resume: bool = False, progress: Progress | None = None,
               executor: Executor | None = None) -> SearchSummary:
    """Run (or resume) the search `config` to `config.trials` trials."""
    space = load_space(config.space)
    if kind_of(config.data) == "nb201":  # answered from the table: the space must spell it
        data = load_data(config.data)
        assert isinstance(data, NB201Data)
        check_space(space, data)
    elif kind_of(config.data) != space.kind:
        what = (f"a {space.kind} space" if space.kind != NO_KIND
                else "validity-only (it declares no semantics to compile)")
        raise NascError(f"data {config.data!r} trains {kind_of(config.data)} children but "
                        f"space {space.name!r} is {what}")
    if config.gpus_per_trial > 0 and config.train.device == "cpu":
        config = replace(config, train=replace(config.train, device="cuda"))
    if not resume:  # bad data is an error before any store exists
        data = load_data(config.data)
        if isinstance(data, TextData):
            check_corpus(data, config.train.batch_size)
    store = open_store(config, space.text, resume)
    try:
        summary = _drive(config, store, executor, progress)
    except BaseException:
        if not resume and not any(store.counts().values()):
            store.discard()  # nothing ran: leave no store to block the corrected re-run
        raise
    finally:
        store.close()
    return summary


def _drive(config: SearchConfig, store: Store, executor: Executor | None,
           progress: Progress | None) -> SearchSummary:
    """Fill the executor from the strategy until the store holds `config.trials` trials."""
    start, interrupted = time.perf_counter(), False
    owned = executor is None  # a caller's executor stays open for its next search
    workers = max(1, min(config.workers, config.trials - store.counts()["done"]))
    executor = executor or make_executor(config.executor, workers, config.threads,
                                         config.address, config.gpus_per_trial,
                                         config.devices)
    search = Search(config, store, executor, progress)
    if not isinstance(executor, InlineExecutor):
        load_data.cache_clear()  # the workers load their own: the search keeps no copy
    try:
        search.restore()
        search.fill()
        while search.busy():
            search.collect(0.5)
            search.fill()
    except KeyboardInterrupt:
        interrupted = True
    finally:
        if owned or interrupted:
            executor.close()
        if interrupted:
            store.reset_unfinished()
    return SearchSummary(store.counts(), best_trials(store), interrupted,
                         time.perf_counter() - start, search.trained, search.reused)


def best_trials(store: Store, top: int = 5) -> list[Trial]:
    """The `top` finished trials by reward (ties: earlier first), duplicates left out."""
    done = [t for t in store.trials("done") if t.reused_from is None]
    return sorted(done, key=lambda t: (-(t.reward or 0.0), t.id))[:top]
