"""Building a `SearchConfig` from options: one path for `nasc search` and `nasc.search`.

    make_config(store, **options) -> SearchConfig     (unknown or bad options: one line)
    config_from_json(doc, store) -> SearchConfig      (a store's recorded configuration)
    resume_config(store, given) -> (SearchConfig, notes)
    scalarised(objectives) -> the objective text `reinforce` learns from with --objectives

A resumed search takes every defining option from its store; only the options in
`EXECUTION` (how many trials, where and how they run) may differ. A defining
option given with a different value is an error that names both values; a
changed execution option is a note.
"""

from __future__ import annotations

import json
from dataclasses import fields, replace
from typing import Any

from nasc.errors import NascError
from nasc.runtime.child import TrainConfig
from nasc.runtime.search import SearchConfig
from nasc.runtime.strategies import StrategyConfig

STRATEGY_OPTIONS = {"batch", "population", "tournament", "max_layers", "controller_lr",
                    "controller_baseline", "remutate",
                    "max_tokens"}
TRAIN_OPTIONS = {f.name for f in fields(TrainConfig)} - {"evaluate", "objective"}
SEARCH_OPTIONS = {"threads", "address", "gpus_per_trial", "devices"}
# Options a resumed search may change: they say how much to run and where, not what.
EXECUTION = ("trials", "executor", "workers", "threads", "address", "gpus_per_trial", "device",
             "devices")
LOG_FLOOR = 1e-9


def scalarised(objectives: list[tuple[str, str]]) -> str:
    """The mean of the objectives' logarithms, minimised ones negated: a metric's unit or
    scale shifts it by a constant, which REINFORCE's baseline absorbs."""
    terms = [f"{'-' if d == 'min' else '+'} log(max({n}, {LOG_FLOOR:g}))" for n, d in objectives]
    body = " ".join(terms).removeprefix("+ ")
    return f"({body}) / {len(objectives)}"


def make_config(store: str, space: str = "cnn", data: str = "digits",
                strategy: str = "reinforce", trials: int = 20, objective: str | None = None,
                objectives: str | None = None, evaluate: str | None = None,
                executor: str = "local", workers: int = 2, seed: int = 0,
                **options: Any) -> SearchConfig:
    """The configuration of one search; options go to `StrategyConfig`, `TrainConfig` or
    `SearchConfig` by name."""
    from nasc.runtime.data import kind_of
    from nasc.runtime.objectives import parse_objective
    from nasc.runtime.pareto import parse_objectives

    unknown = sorted(set(options) - STRATEGY_OPTIONS - TRAIN_OPTIONS - SEARCH_OPTIONS)
    if unknown:
        known = ", ".join(sorted(STRATEGY_OPTIONS | TRAIN_OPTIONS | SEARCH_OPTIONS))
        raise NascError(f"unknown search option {unknown[0]!r} (options: {known})")
    if objective is not None and objectives is not None:
        raise NascError("give --objective (one reward) or --objectives (a Pareto front), "
                        "not both")
    if objectives is not None:
        pairs = parse_objectives(objectives)
        objectives = ",".join(f"{n}:{d}" for n, d in pairs)
        objective = scalarised(pairs)
    if objective is not None:
        parse_objective(objective)
        if kind_of(data) == "nb201":
            raise NascError("--objective and --objectives read a trained child's metrics; "
                            "nb201 data looks trials up in its table")
    _check_pruner(data, options)
    _check_devices(executor, options)
    if evaluate is not None:  # a typo is one line now, not a failure of every trial
        from nasc.runtime.user import resolve

        resolve(evaluate, "evaluate")
    strat = StrategyConfig(strategy, seed=seed, objectives=objectives,
                           **{k: v for k, v in options.items() if k in STRATEGY_OPTIONS})
    train = TrainConfig(evaluate=evaluate, objective=objective,
                        **{k: v for k, v in options.items() if k in TRAIN_OPTIONS})
    return SearchConfig(store, space, data, trials, strat, train, executor, workers,
                        **{k: v for k, v in options.items() if k in SEARCH_OPTIONS})


def _check_pruner(data: str, options: dict[str, Any]) -> None:
    """A bad pruner setting is one line before any store exists."""
    from nasc.runtime.data import kind_of
    from nasc.runtime.pruners import check_options

    if options.get("pruner") == "none":
        options["pruner"] = None
    check_options(TrainConfig(**{k: v for k, v in options.items() if k in TRAIN_OPTIONS}))
    if options.get("pruner") is not None and kind_of(data) == "nb201":
        raise NascError("--pruner stops trained children early; nb201 data looks trials up "
                        "in its table")


def _check_devices(executor: str, options: dict[str, Any]) -> None:
    """--devices: names torch knows, for local workers, not beside another --device."""
    devices = options.get("devices")
    if devices is None:
        return
    from nasc.runtime.devices import parse_devices

    if executor != "local":
        raise NascError(f"--devices gives local workers their devices; with --executor "
                        f"{executor} use --device")
    if options.get("device", "cpu") != "cpu":
        raise NascError("give --device (every worker) or --devices (one per worker), not both")
    options["devices"] = ",".join(parse_devices(str(devices)))


def _known(cls: Any, doc: dict[str, Any]) -> dict[str, Any]:
    names = {f.name for f in fields(cls)}
    return {k: v for k, v in doc.items() if k in names}


def config_from_json(doc: dict[str, Any], store: str) -> SearchConfig:
    """The `SearchConfig` a store recorded (keys this nasc does not know are left out)."""
    top = _known(SearchConfig, doc)
    old = {"controller_baseline": "ema", "remutate": 0}  # a store from before these settings
    top.update(store=store,
               strategy=StrategyConfig(**_known(StrategyConfig, {**old, **doc["strategy"]})),
               train=TrainConfig(**_known(TrainConfig, doc["train"])),
               faults={int(k): v for k, v in (doc.get("faults") or {}).items()})
    return SearchConfig(**top)


def flat(config: SearchConfig) -> dict[str, Any]:
    """Every option of `config` by its option name (strategy name as `strategy`)."""
    doc = config.to_json()
    out = {k: v for k, v in doc.items() if k not in ("strategy", "train", "faults", "store")}
    out.update({k: v for k, v in doc["train"].items()})
    out.update({k: v for k, v in doc["strategy"].items() if k != "name"})
    out["strategy"] = doc["strategy"]["name"]
    return out


def stored_config(path: str) -> SearchConfig:
    """The configuration recorded in the store at `path`."""
    from nasc.runtime.store import Store

    store = Store.open(path, readonly=True)
    try:
        return config_from_json(store.experiment()["config"], path)
    finally:
        store.close()


def resume_config(path: str, given: dict[str, Any]) -> tuple[SearchConfig, list[str]]:
    """The store's configuration with the execution options in `given` applied; a defining
    option in `given` that differs is an error naming both values."""
    config = stored_config(path)
    old = flat(config)
    notes: list[str] = []
    from nasc.grammar import builtin_names

    for name, value in given.items():
        if name not in old or _same(old[name], value):
            continue
        if name == "space" and not {old[name], value} & set(builtin_names()):
            config = replace(config, space=value)  # a grammar file moved: its text decides
            continue
        option = "--" + name.replace("_", "-")
        if name not in EXECUTION:
            allowed = ", ".join("--" + e.replace("_", "-") for e in EXECUTION)
            raise NascError(f"store {path} was created with {option} {_show(old[name])}, not "
                            f"{_show(value)}: a resumed search keeps the options it was "
                            f"created with (only {allowed} may change)")
        if name != "trials":
            notes.append(f"resuming with {option} {_show(value)} (the store was started with "
                         f"{_show(old[name])})")
    execution = {k: v for k, v in given.items() if k in EXECUTION}
    train = replace(config.train, device=execution.pop("device", config.train.device))
    return replace(config, train=train, **execution), notes


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, int | float) and isinstance(b, int | float) and not isinstance(a, bool):
        return float(a) == float(b)
    return bool(json.dumps(a) == json.dumps(b))


def _show(value: Any) -> str:
    return "(none)" if value is None else str(value)
