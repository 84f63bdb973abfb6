"""Search strategies behind one interface.

    reinforce   the paper: the controller samples `batch` (m) architectures per
                step; when all m are scored, one REINFORCE update (EMA baseline);
                the controller is checkpointed after every update
    random      the paper's control: uniform over the valid choices at each step
    evolution   regularized evolution (Real et al. 2019): a population of the
                `population` most recently finished trials, tournaments of
                `tournament`, the winner mutated by the grammar-aware mutation

    restore(trials, checkpoint)     rebuild state from the store (fresh or resumed)
    propose(free, remaining) -> [Proposal]   new architectures, at most `remaining`
                                    (usually `free`, the idle workers; may be none)
    observe(trial) -> Checkpoint | None  a finished trial; a checkpoint to save, if any

A strategy's state is a pure function of the store (its trials in id order
and its last checkpoint), so a resumed search continues where it stopped.
"""

from __future__ import annotations

import io
import random
import warnings
from dataclasses import dataclass, field
from typing import Any

import torch

from nasc.controller.decisions import Budget, DecisionTable
from nasc.controller.mutation import mutate, parse_sample
from nasc.controller.reinforce import Controller, TrainerConfig
from nasc.controller.samples import RandomSampler, Sample
from nasc.errors import NascError
from nasc.runtime.store import FINISHED, Checkpoint, Trial, pack_state, unpack_state
from nasc.runtime.strategy_config import StrategyConfig


@dataclass
class Proposal:
    """A new architecture to try: text, controller step, strategy details (JSON)."""

    arch: str
    step: int = 0
    info: dict[str, Any] = field(default_factory=dict)


class Strategy:
    """The common interface (see the module docstring)."""

    name = "strategy"

    def __init__(self, space: Any, config: StrategyConfig) -> None:
        self.config = config
        self.table = DecisionTable(space)
        has_layers = bool(self.table.lalr.layer_origins)
        self.budget = Budget(config.max_layers if has_layers else None, config.max_tokens)
        self.proposed = 0

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.table.space.name}, proposed={self.proposed})"

    def restore(self, trials: list[Trial], checkpoint: Checkpoint | None) -> None:
        self.proposed = len(trials)

    def propose(self, free: int, remaining: int) -> list[Proposal]:
        raise NotImplementedError

    def observe(self, trial: Trial) -> Checkpoint | None:
        return None

    def _rng(self, index: int) -> random.Random:
        """The random stream of proposal `index`: the same on any resume."""
        return random.Random(self.config.seed * 1_000_003 + index)

    def _random_sample(self, index: int) -> Sample:
        return RandomSampler(self.table, self.budget, seed=self._rng(index).getrandbits(62)
                             ).sample(1)[0]


class RandomStrategy(Strategy):
    """Independent samples, uniform per decision."""

    name = "random"

    def propose(self, free: int, remaining: int) -> list[Proposal]:
        n = min(free, remaining)
        out = [Proposal(self._random_sample(self.proposed + i).text) for i in range(n)]
        self.proposed += n
        return out


class EvolutionStrategy(Strategy):
    """Regularized evolution; asynchronous (a child whenever a worker is free)."""

    name = "evolution"

    def __init__(self, space: Any, config: StrategyConfig) -> None:
        super().__init__(space, config)
        self.finished: list[Trial] = []  # in finishing order; the population is the tail
        self.seen: set[str] = set()  # every architecture proposed (for config.remutate)

    def restore(self, trials: list[Trial], checkpoint: Checkpoint | None) -> None:
        super().restore(trials, checkpoint)
        done = [t for t in trials if t.status in FINISHED]
        self.finished = sorted(done, key=lambda t: (t.finished or 0.0, t.id))
        self.seen = {t.arch for t in trials}

    def propose(self, free: int, remaining: int) -> list[Proposal]:
        out = []
        for _ in range(min(free, remaining)):
            index = self.proposed
            if index < self.config.population:
                out.append(Proposal(self._random_sample(index).text, info={"origin": "random"}))
            elif self.finished:
                out.append(self._child(index))
            else:
                break
            self.seen.add(out[-1].arch)
            self.proposed += 1
        return out

    def _child(self, index: int) -> Proposal:
        rng = self._rng(index)
        population = self.finished[-self.config.population:]
        contenders = rng.sample(population, min(self.config.tournament, len(population)))
        if self.config.objectives is None:
            parent = max(contenders, key=lambda t: (t.reward or 0.0, -t.id))
        else:  # the contender NSGA-II ranks first within the population
            from nasc.runtime.multi import nsga2_order

            order = {t.id: i for i, t in enumerate(nsga2_order(population,
                                                               self.config.objectives))}
            parent = min(contenders, key=lambda t: (order.get(t.id, len(order)), t.id))
        sample = parse_sample(self.table, parent.arch, self.budget)
        child = mutate(self.table, sample, rng)
        for _ in range(self.config.remutate):  # a repeat: mutate the parent again
            if child.text not in self.seen:
                break
            child = mutate(self.table, sample, rng)
        return Proposal(child.text, info={"origin": "mutation", "parent": parent.id})

    def observe(self, trial: Trial) -> Checkpoint | None:
        self.finished.append(trial)
        return None


class ReinforceStrategy(Strategy):
    """The controller, m samples per step, one REINFORCE update per scored step."""

    name = "reinforce"

    def __init__(self, space: Any, config: StrategyConfig) -> None:
        super().__init__(space, config)
        trainer = TrainerConfig(lr=config.controller_lr, baseline=config.controller_baseline)
        self.controller = Controller(self.table, config=trainer, budget=self.budget,
                                     seed=config.seed)  # the strategy's table, built once
        self.step = 0  # updates done
        self.batch: dict[int, Trial | None] = {}  # trial id -> finished trial (current step)

    def restore(self, trials: list[Trial], checkpoint: Checkpoint | None) -> None:
        super().restore(trials, checkpoint)
        if checkpoint is not None:
            self.step = _load_controller(self.controller, checkpoint.state)
        current = [t for t in trials if t.step == self.step + 1]
        self.batch = {t.id: (t if t.status in FINISHED else None) for t in current}
        if current:  # drawn before the stop: draw again (same RNG) to keep the stream in step
            with torch.no_grad():
                redrawn = self.controller.sample(len(current)).samples
            if [s.text for s in redrawn] != [t.arch for t in current]:
                warnings.warn("resumed controller drew different architectures than the "
                              "stored step; continuing with the stored ones", stacklevel=2)

    def propose(self, free: int, remaining: int) -> list[Proposal]:
        if self.batch:  # the current step is still being scored
            return []
        m = min(self.config.batch, remaining)
        with torch.no_grad():
            batch = self.controller.sample(m)
        self.proposed += m
        return [Proposal(s.text, self.step + 1, {"log_prob": float(lp)})
                for s, lp in zip(batch.samples, batch.log_prob.tolist(), strict=True)]

    def expect(self, ids: list[int]) -> None:
        """The store ids of the proposals just made (the current step's trials)."""
        self.batch = {i: None for i in ids}

    def observe(self, trial: Trial) -> Checkpoint | None:
        if trial.id not in self.batch:
            return None
        self.batch[trial.id] = trial
        if any(t is None for t in self.batch.values()):
            return None
        return self._update()

    def ready(self) -> Checkpoint | None:
        """An update due at restore time (the step was scored but not yet learned)."""
        if self.batch and all(t is not None for t in self.batch.values()):
            return self._update()
        return None

    def _update(self) -> Checkpoint:
        trials = [t for t in self.batch.values() if t is not None]
        samples = [parse_sample(self.table, t.arch, self.budget) for t in trials]
        rewards = [float(t.reward or 0.0) for t in trials]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            stats = self.controller.update(samples, rewards)
        self.step += 1
        self.batch = {}
        return Checkpoint(self.step, _save_controller(self.controller, self.step), stats)


def _save_controller(controller: Controller, step: int) -> bytes:
    """Checkpoint bytes: a JSON header, the controller file, the sampler's RNG state."""
    buffer = io.BytesIO()
    controller.save(buffer)
    body = buffer.getvalue()
    rng = controller.generator.get_state().numpy().tobytes()
    return pack_state({"step": step}, body, rng)


def _load_controller(controller: Controller, blob: bytes) -> int:
    header, body, rng = unpack_state(blob)
    loaded = Controller.load(io.BytesIO(body), controller.table.space, device=controller.device)
    controller.policy.load_state_dict(loaded.policy.state_dict())
    controller.optimizer.load_state_dict(loaded.optimizer.state_dict())
    controller.baseline, controller.samples_seen = loaded.baseline, loaded.samples_seen
    controller.recent = loaded.recent
    controller.generator.set_state(torch.frombuffer(bytearray(rng), dtype=torch.uint8))
    return int(header["step"])


STRATEGIES: dict[str, type[Strategy]] = {"reinforce": ReinforceStrategy, "random": RandomStrategy,
                                         "evolution": EvolutionStrategy}


def make_strategy(space: Any, config: StrategyConfig) -> Strategy:
    if config.name not in STRATEGIES:
        raise NascError(f"unknown strategy {config.name!r}: {', '.join(STRATEGIES)}")
    return STRATEGIES[config.name](space, config)
