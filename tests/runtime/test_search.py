"""End-to-end searches on real digits with tiny budgets: strategies, executors, reuse, resume."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
import torch
from runtime_helpers import tiny_config

from nasc.errors import NascError
from nasc.runtime.executors import LocalExecutor
from nasc.runtime.search import run_search
from nasc.runtime.store import Store

TINY_SPACE = """\
//% extends = "cnn"
%import cnn (start, KERNEL_HEIGHT, KERNEL_WIDTH, FILTER_COUNT, STRIDE, WS, COMMENT)
%ignore WS
%ignore COMMENT
%override KERNEL_HEIGHT: "1"
%override KERNEL_WIDTH: "1" | "3"
%override FILTER_COUNT: "24"
%override STRIDE: "1"
"""


def _records(path: Path) -> list[tuple[int, str, int, str]]:
    store = Store.open(path)
    rows = [(t.id, t.arch, t.step, t.status) for t in store.trials()]
    store.close()
    return rows


def _check_complete(path: Path, trials: int) -> Store:
    store = Store.open(path)
    rows = store.trials()
    assert [t.id for t in rows] == list(range(1, trials + 1))
    assert all(t.status in ("done", "failed") and t.reward is not None for t in rows)
    assert all(t.canon for t in rows)
    return store


@pytest.mark.parametrize("strategy", ["reinforce", "random", "evolution"])
def test_inline_search_per_strategy(tmp_path: Path, strategy: str) -> None:
    torch.set_num_threads(1)
    config = tiny_config(tmp_path / "s.db", strategy, trials=7)
    summary = run_search(config)
    assert summary.counts["done"] + summary.counts["failed"] == 7
    store = _check_complete(tmp_path / "s.db", 7)
    done = [t for t in store.trials("done") if t.reused_from is None]
    assert [t.id for t in summary.best] == \
        [t.id for t in sorted(done, key=lambda t: (-(t.reward or 0.0), t.id))][:5]
    if strategy == "reinforce":  # 3 per step: steps 1, 1, 1, 2, 2, 2, 3 and two updates saved
        assert [t.step for t in store.trials()] == [1, 1, 1, 2, 2, 2, 3]
        assert store.latest_checkpoint().step == 3
    if strategy == "evolution":
        origins = [t.proposal.get("origin") for t in store.trials()]
        assert origins[:4] == ["random"] * 4 and set(origins[4:]) == {"mutation"}


def test_local_executor_gives_the_same_records(tmp_path: Path) -> None:
    """Random and reinforce searches record the same trials inline and on 2 workers."""
    executor = LocalExecutor(workers=2)
    try:
        for strategy in ("random", "reinforce", "evolution"):
            local = tiny_config(tmp_path / f"{strategy}-local.db", strategy, trials=6)
            run_search(local, executor=executor)
            _check_complete(tmp_path / f"{strategy}-local.db", 6).close()
            if strategy == "random":  # a worker that dies while idle is replaced on submit
                executor.workers[0].process.kill()
                executor.workers[0].process.join(5)
            if strategy == "evolution":
                continue  # asynchronous: its parents depend on finishing order
            inline = replace(local, store=str(tmp_path / f"{strategy}-inline.db"))
            run_search(inline)
            a, b = Store.open(local.store), Store.open(inline.store)
            assert [(t.arch, t.step) for t in a.trials()] == [(t.arch, t.step) for t in b.trials()]
            for x, y in zip(a.trials(), b.trials(), strict=True):
                assert x.reward == pytest.approx(y.reward, abs=1e-3)
                assert x.worker.split(":")[1] != y.worker.split(":")[1]  # other processes
    finally:
        executor.close()


def test_equivalent_architectures_are_trained_once(tmp_path: Path) -> None:
    space = tmp_path / "tiny.lark"
    space.write_text(TINY_SPACE)
    config = replace(tiny_config(tmp_path / "s.db", "random", trials=12, max_layers=1),
                     space=str(space))
    summary = run_search(config)
    store = Store.open(tmp_path / "s.db")
    trials = store.trials()
    trained = [t for t in trials if t.reused_from is None]
    assert summary.reused == len(trials) - len(trained) > 0
    assert len({t.canon for t in trained}) == len(trained)  # each form trained once
    for t in trials:
        if t.reused_from is not None:
            first = store.trial(t.reused_from)
            assert (t.canon, t.reward) == (first.canon, first.reward)
    # `stride 1` is the default: the only spelling difference this space allows, so two
    # trials share a form exactly when their texts agree without it
    for a in trials:
        for b in trials:
            same = a.arch.replace(" stride 1", "") == b.arch.replace(" stride 1", "")
            assert (a.canon == b.canon) == same, (a.arch, b.arch)
    assert any(t.reused_from and store.trial(t.reused_from).arch != t.arch for t in trials)


def test_resume_extends_and_refuses_other_settings(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    config = tiny_config(path, "random", trials=3)
    run_search(config)
    with pytest.raises(NascError, match="already exists: pass --resume"):
        run_search(config)
    with pytest.raises(NascError, match=r"different --data \(data=.digits.\)"):
        run_search(replace(config, data="mnist:/tmp", trials=5), resume=True)
    before = _records(path)
    summary = run_search(replace(config, trials=5), resume=True)
    assert summary.trained == 2
    after = _records(path)
    assert after[:3] == before and len(after) == 5


def test_reinforce_resumed_step_by_step_matches_one_run(tmp_path: Path) -> None:
    whole = tiny_config(tmp_path / "whole.db", "reinforce", trials=6, batch=2)
    run_search(whole)
    parts = replace(whole, store=str(tmp_path / "parts.db"))
    for n in (2, 4, 6):  # three invocations: the controller and its RNG come back each time
        run_search(replace(parts, trials=n), resume=n > 2)
    assert [r[1:] for r in _records(tmp_path / "whole.db")] == \
        [r[1:] for r in _records(tmp_path / "parts.db")]


def test_data_and_space_kinds_must_agree(tmp_path: Path) -> None:
    with pytest.raises(NascError, match="trains rnn children but space 'cnn'"):
        run_search(replace(tiny_config(tmp_path / "s.db"), data="ptb:/tmp"))


def test_rnn_cell_search_on_a_ptb_format_corpus(tmp_path: Path) -> None:
    from runtime_helpers import PTB

    base = tiny_config(tmp_path / "s.db", "reinforce", trials=2, batch=2, max_batches=2)
    config = replace(base, space="rnn", data=f"ptb:{PTB}",
                     train=replace(base.train, hidden_size=16, bptt=5))
    summary = run_search(config)
    assert summary.counts["done"] + summary.counts["failed"] == 2
    store = Store.open(tmp_path / "s.db")
    for t in store.trials():
        assert t.arch.startswith("rnn base")
        if t.status == "done":
            assert t.reward == pytest.approx(80.0 / t.metrics[-1]["valid_ppl"] ** 2)


def test_duplicates_of_a_trial_whose_failure_does_not_carry_over_are_run(tmp_path: Path) -> None:
    """Trial 3 (`maxpool 1x1 stride 1`) waits for its twin, trial 1 (`maxpool 1x1`), which
    then fails over its time limit: a result that says nothing of the net, so 3 trains."""
    from nasc.runtime.executors import InlineExecutor

    space = tmp_path / "tiny.lark"
    space.write_text(TINY_SPACE)
    config = replace(tiny_config(tmp_path / "s.db", "random", trials=3, max_layers=1,
                                 time_limit=1.0), space=str(space), faults={1: "slow"})
    executor = InlineExecutor()
    executor.capacity = 3  # three trials in flight at once: trial 3 waits on trial 1
    run_search(config, executor=executor)
    trials = Store.open(tmp_path / "s.db").trials()
    assert trials[0].canon == trials[2].canon and trials[0].arch != trials[2].arch
    assert trials[0].status == "failed" and "time limit" in trials[0].error
    assert trials[2].status == "done" and trials[2].reused_from is None


def test_a_store_in_use_by_a_running_search_is_refused(tmp_path: Path) -> None:
    config = tiny_config(tmp_path / "s.db", trials=2)
    run_search(config)
    before = _records(config.store)
    running = Store.open(config.store)
    running.lock()  # as a search that is still running holds it
    try:
        with pytest.raises(NascError, match="in use by another running search"):
            run_search(replace(config, trials=4), resume=True)
    finally:
        running.close()
    assert _records(config.store) == before  # nothing reset, nothing run twice
    run_search(replace(config, trials=4), resume=True)  # free again once it ended
    assert len(_records(config.store)) == 4
