"""The Python search API: `nasc.search(...) -> Study`, `nasc.load_study(store) -> Study`.

    study = nasc.search("cnn", evaluate=my_evaluate, data="digits", trials=20)
    study.best_trial.arch, study.best_trial.metrics["accuracy"]
    study.pareto_front()          # with objectives="accuracy:max,params:min"
    study.trials_dataframe()      # pandas, if installed

`search` builds the same `SearchConfig` as `nasc search` (`nasc.runtime.config`)
and runs the same loop (`nasc.runtime.search.run_search`); every trial is in the
SQLite store (a temporary one when `store` is None, removed with the `Study`).
"""

from __future__ import annotations

import shutil
import tempfile
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nasc.errors import NascError

Function = Callable[..., Any]
_DEFAULTS = {"space": "cnn", "data": None, "strategy": "reinforce", "objectives": None,
             "objective": None, "evaluate": None, "seed": 0}


@dataclass(frozen=True)
class StudyTrial:
    """One trial of a study: `metrics` are its final metrics (accuracy or perplexity,
    params, macs, seconds, latency, and the evaluator's), `history` its per-epoch ones."""

    id: int
    arch: str
    status: str
    reward: float | None
    metrics: dict[str, float] = field(default_factory=dict)
    params: int | None = None
    macs: int | None = None
    seconds: float | None = None
    error: str | None = None
    reused_from: int | None = None
    history: list[dict[str, Any]] = field(default_factory=list, repr=False)

    def __repr__(self) -> str:
        return f"StudyTrial(#{self.id} {self.status} reward={self.reward} {self.arch!r})"


class Study:
    """A search's trials, read from its store (`path`)."""

    def __init__(self, path: str | Path, summary: Any = None) -> None:
        self.path = Path(path)
        self.summary = summary  # the SearchSummary of the run that made it, if any
        from nasc.runtime.config import stored_config

        self.config = stored_config(str(self.path))

    def __repr__(self) -> str:
        return f"Study({str(self.path)!r}, {len(self.trials)} trials)"

    @property
    def objectives(self) -> str | None:
        """"accuracy:max,params:min" for a multi-objective study, else None."""
        return self.config.strategy.objectives

    def _rows(self) -> list[Any]:
        from nasc.runtime.store import Store

        store = Store.open(self.path, readonly=True)
        try:
            return store.trials()
        finally:
            store.close()

    @property
    def trials(self) -> list[StudyTrial]:
        """Every trial, in id order (re-read from the store each time)."""
        return [_study_trial(t) for t in self._rows()]

    @property
    def best_trial(self) -> StudyTrial:
        """The finished trial with the highest reward (ties: the earliest)."""
        done = [t for t in self.trials if t.status == "done" and t.reused_from is None]
        if not done:
            raise NascError(f"study {self.path} has no finished trial")
        return min(done, key=lambda t: (-(t.reward or 0.0), t.id))

    def pareto_front(self) -> list[StudyTrial]:
        """The trials no other one dominates under the study's objectives (by reward alone
        when it has none), in id order."""
        from nasc.runtime.multi import pareto_trials

        rows = self._rows()
        if self.objectives is None:  # one objective: the trials of the best reward
            done = [r for r in rows if r.status == "done" and r.reused_from is None]
            top = max(((r.reward or 0.0) for r in done), default=None)
            return [_study_trial(r) for r in done if (r.reward or 0.0) == top]
        return [_study_trial(t) for t in pareto_trials(rows, self.objectives)]

    def trials_dataframe(self) -> Any:
        """The trials as a pandas DataFrame: one row per trial, final metrics as
        `metrics_NAME` columns (needs pandas)."""
        try:
            import pandas as pd
        except ImportError:
            raise NascError("trials_dataframe needs pandas: pip install pandas") from None
        rows = []
        for t in self.trials:
            row = {k: getattr(t, k) for k in ("id", "arch", "status", "reward", "params",
                                              "macs", "seconds", "error", "reused_from")}
            row.update({f"metrics_{k}": v for k, v in t.metrics.items()})
            rows.append(row)
        return pd.DataFrame(rows)


def _study_trial(t: Any) -> StudyTrial:
    return StudyTrial(t.id, t.arch, "pending" if t.status == "running" else t.status, t.reward,
                      dict(t.summary), t.params, t.macs, t.seconds, t.error, t.reused_from,
                      list(t.metrics))


def load_study(store: str | Path) -> Study:
    """Reopen the study in the store at `store` (read only)."""
    return Study(store)


def _as_reference(value: Any, what: str, inline: bool) -> str | None:
    if value is None or isinstance(value, str):
        return value
    from nasc.runtime.user import reference

    return reference(value, what, inline)


def search(space: str = "cnn", evaluate: Function | str | None = None,
           data: str | Function | None = None, strategy: str = "reinforce",
           trials: int = 20, objectives: str | None = None, objective: str | None = None,
           store: str | Path | None = None, executor: str = "inline", workers: int = 1,
           seed: int = 0, resume: bool = False, progress: Function | None = None,
           **options: Any) -> Study:
    """Search `space` and return the `Study`.

    `evaluate(model, trial) -> float | dict` replaces the built-in training (`trial` has
    `arch`, `id`, `params`, `macs`, `device`, `data`, `epochs`, `report(epoch, **metrics)`);
    `data` is a data source name (`"digits"`, `"cifar10:DIR"`, ...) or a function returning
    train and validation tensors or datasets. `objective` is the reward as an expression
    over the final metrics; `objectives` ("accuracy:max,params:min") asks for a Pareto
    front. `options` are those of `nasc search` (epochs, batch_size, lr, max_batches,
    max_layers, batch, population, tournament, remutate, controller_lr, controller_baseline,
    time_limit, max_params,
    failure_reward, device, threads, pruner, prune_metric, ...). With `resume` the store's
    options are used.
    `progress(event)` is called after each finished trial (`event["trial"]`, `["counts"]`).
    """
    from nasc.runtime.config import make_config, resume_config
    from nasc.runtime.search import run_search

    inline = executor == "inline"
    eval_ref = _as_reference(evaluate, "evaluate", inline)
    data_ref = _as_reference(data, "data", inline)
    if resume:
        if store is None:
            raise NascError("resume=True needs the store= of the search to continue")
        given = {"space": space, "data": data_ref, "strategy": strategy,
                 "objectives": objectives, "objective": objective, "evaluate": eval_ref,
                 "seed": seed}
        given = {k: v for k, v in given.items() if v != _DEFAULTS[k]}
        given.update(trials=trials, executor=executor, workers=workers, **options)
        config, _ = resume_config(str(store), given)
        cleanup = None
    else:
        cleanup = None if store is not None else tempfile.mkdtemp(prefix="nasc-study-")
        path = str(store) if store is not None else str(Path(str(cleanup)) / "study.db")
        config = make_config(path, space, data_ref or "digits", strategy, trials,
                             objective=objective, objectives=objectives, evaluate=eval_ref,
                             executor=executor, workers=workers, seed=seed, **options)
    summary = run_search(config, resume, progress)
    study = Study(config.store, summary)
    if cleanup is not None:
        weakref.finalize(study, shutil.rmtree, cleanup, True)
    return study
