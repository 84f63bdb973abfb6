"""Evolution's `remutate`: a child that repeats an architecture already proposed is
mutated again (from the same parent), up to that many times; with 0, the paper's
evolution, repeats are proposed as they come. The state stays a function of the store."""

from __future__ import annotations

from pathlib import Path

from nasc.grammar import load_space
from nasc.runtime.store import Trial
from nasc.runtime.strategies import EvolutionStrategy, StrategyConfig

SPACE = Path(__file__).resolve().parents[2] / "examples" / "spaces" / "nb201.lark"


def _run(remutate: int, n: int = 120) -> tuple[EvolutionStrategy, list[Trial]]:
    config = StrategyConfig("evolution", population=4, tournament=4, max_layers=None,
                            seed=3, remutate=remutate)
    strategy = EvolutionStrategy(load_space(str(SPACE)), config)
    strategy.restore([], None)
    trials: list[Trial] = []
    for i in range(n):
        (p,) = strategy.propose(1, n - i)
        trial = Trial(i + 1, p.arch, 0, status="done", reward=1.0 if i == 0 else 0.5,
                      finished=float(i + 1))
        trials.append(trial)
        strategy.observe(trial)
    return strategy, trials


def test_remutate_avoids_repeats_that_plain_evolution_proposes() -> None:
    # one dominant parent (reward 1.0): plain evolution mutates it again and again
    _, plain = _run(0)
    _, fresh = _run(50)
    assert len({t.arch for t in plain}) < len(plain)  # repeats without remutate
    assert len({t.arch for t in fresh}) == len(fresh)  # none with it
    assert [t.arch for t in fresh[:4]] == [t.arch for t in plain[:4]]  # same random start


def test_a_resumed_evolution_proposes_the_same_children() -> None:
    strategy, trials = _run(50, 40)
    config = strategy.config
    resumed = EvolutionStrategy(load_space(str(SPACE)), config)
    resumed.restore(trials[:30], None)
    for trial in trials[30:]:
        (p,) = resumed.propose(1, 10)
        assert p.arch == trial.arch
        resumed.observe(trial)
