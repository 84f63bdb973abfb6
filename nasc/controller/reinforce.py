"""The trainable controller: sampling under a depth curriculum, REINFORCE updates.

    ctl = Controller("cnn", seed=0)
    batch = ctl.sample(8)                      # SampleBatch: .samples[i].text
    ctl.update(batch.samples, rewards)         # policy gradient with an EMA baseline
    ctl.save("ctl.pt"); Controller.load("ctl.pt")

The update is the paper's: grad = -(R - b) * grad log P(a), with b an
exponential moving average of past rewards, Adam (lr 6e-4), an optional
entropy bonus and gradient-norm clipping. Log-probabilities are recomputed
from the samples' decision records, so samples may come from any earlier
`sample()` call, from `nasc.controller.mutation.parse_sample`, or from a file.
"""

from __future__ import annotations

import pickle
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import BinaryIO

import torch

from nasc.controller.cycles import needs_tokens
from nasc.controller.decisions import Budget, DecisionTable
from nasc.controller.mutation import parse_sample
from nasc.controller.policy import Policy, PolicyConfig, SampleBatch
from nasc.controller.samples import Sample
from nasc.errors import NascError
from nasc.grammar import BUILTIN_DIR, Space, builtin_names

FORMAT = "nasc-controller-1"


@dataclass(frozen=True)
class Curriculum:
    """Depth schedule: `start` layers, +`step` every `every` samples (up to `limit`)."""

    start: int = 6
    step: int = 2
    every: int = 1600
    limit: int | None = None
    exact: bool = True  # children have exactly that many layers (the paper); else at most

    def layers(self, samples_seen: int) -> int:
        depth = self.start + self.step * (samples_seen // max(self.every, 1))
        return min(depth, self.limit) if self.limit is not None else depth

    def budget(self, samples_seen: int, max_tokens: int | None = None) -> Budget:
        depth = self.layers(samples_seen)
        return Budget(depth, max_tokens, depth if self.exact else 0)


@dataclass(frozen=True)
class TrainerConfig:
    """REINFORCE settings (the paper's defaults where it gives them)."""

    lr: float = 6e-4
    baseline_decay: float = 0.95
    entropy_weight: float = 0.0
    grad_clip: float = 1.0
    temperature: float = 1.0
    baseline: str = "ema"  # "ema": R - b; "rank": R's centred rank among recent rewards
    rank_window: int = 0  # "rank": earlier rewards R is ranked among too (0: the batch's)
    ppo_epochs: int = 1  # > 1: that many PPO-clip steps on each batch (1: REINFORCE)
    ppo_clip: float = 0.2  # PPO: the ratio P(a) / P_old(a) is clipped to 1 +- this

    def __post_init__(self) -> None:
        if self.baseline not in BASELINES:
            raise ValueError(f"baseline {self.baseline!r}: one of {', '.join(BASELINES)}")
        if self.ppo_epochs < 1 or self.rank_window < 0 or self.ppo_clip <= 0:
            raise ValueError("ppo_epochs >= 1, rank_window >= 0 and ppo_clip > 0 needed")


BASELINES = ("ema", "rank")


@dataclass
class Controller:
    """Policy + optimiser + baseline + budget schedule for one search space."""

    space: Space | str | DecisionTable  # a table: shared with its other users (a strategy)
    policy_config: PolicyConfig = field(default_factory=PolicyConfig)
    config: TrainerConfig = field(default_factory=TrainerConfig)
    budget: Budget | None = None  # fixed budget; None: the curriculum (layered spaces)
    curriculum: Curriculum = field(default_factory=Curriculum)
    max_tokens: int | None = 512  # used where only tokens bound the strings (recursive rules)
    seed: int | None = None
    device: str | torch.device = "cpu"

    def __post_init__(self) -> None:
        given = self.space
        self.table = given if isinstance(given, DecisionTable) else DecisionTable(given)
        self.space = self.table.space
        with torch.random.fork_rng(devices=[]):  # seeding leaves the global RNG alone
            if self.seed is not None:
                torch.manual_seed(self.seed)
            self.policy = Policy(self.table, self.policy_config).to(self.device)
        self.optimizer = torch.optim.Adam(self.policy.parameters(), lr=self.config.lr)
        self.baseline: float | None = None
        self.recent: list[float] = []  # "rank" baseline: the last rank_window rewards
        self.samples_seen = 0
        self.generator = torch.Generator(device=self.policy.device)
        self.generator.manual_seed(
            self.seed if self.seed is not None else int(torch.randint(0, 2**62, (1,))))

    def __repr__(self) -> str:
        return (f"Controller({self.table.space.name}, seen={self.samples_seen}, "
                f"baseline={self.baseline})")

    def current_budget(self) -> Budget:
        """The fixed budget, or the curriculum's at the number of samples seen."""
        if self.budget is not None:
            return self.budget
        tokens = self.max_tokens if needs_tokens(self.table.lalr) else None  # else: untracked
        if not self.table.lalr.layer_origins:
            return Budget(None, tokens)
        return self.curriculum.budget(self.samples_seen, tokens)

    def sample(self, n: int, temperature: float | None = None, grad: bool = False,
               budget: Budget | None = None) -> SampleBatch:
        """Draw n architectures (no gradients unless `grad`); counts toward the curriculum."""
        temp = self.config.temperature if temperature is None else temperature
        chosen = budget or self.current_budget()
        with torch.set_grad_enabled(grad):
            batch = self.policy.sample(n, chosen, temp, self.generator)
        self.samples_seen += n
        return batch

    def parse(self, text: str, budget: Budget | None = None) -> Sample:
        """An existing architecture as a sample of this controller (to seed or to train on)."""
        return parse_sample(self.table, text, budget or self.current_budget())

    def update(self, samples: list[Sample], rewards: list[float] | torch.Tensor) -> dict:
        """One policy-gradient step on (samples, rewards); returns loss and statistics.

        REINFORCE: loss = -mean(A log P(a)) - w mean(H), A = R - b (EMA baseline) or R's
        centred rank (`baseline="rank"`); with `ppo_epochs` k > 1, k Adam steps on
        -mean(min(r A, clip(r, 1 - e, 1 + e) A)) - w mean(H), r = P(a) / P_old(a)."""
        reward = torch.as_tensor(rewards, dtype=torch.float32, device=self.policy.device)
        if reward.shape != (len(samples),):
            raise ValueError(f"{len(samples)} samples but rewards of shape {tuple(reward.shape)}")
        if self.baseline is None:
            self.baseline = float(reward.mean())
        advantage = (reward - self.baseline if self.config.baseline == "ema"
                     else centred_rank(reward, self.recent))
        old_log_prob = None
        clip = self.config.ppo_clip
        for _ in range(self.config.ppo_epochs):
            batch = self.policy.replay(samples, self.config.temperature)
            if self.config.ppo_epochs == 1:  # REINFORCE
                loss = -(advantage * batch.log_prob).mean()
            else:
                if old_log_prob is None:
                    old_log_prob = batch.log_prob.detach()
                ratio = torch.exp(batch.log_prob - old_log_prob)
                loss = -torch.min(ratio * advantage,
                                  ratio.clamp(1 - clip, 1 + clip) * advantage).mean()
            loss = loss - self.config.entropy_weight * batch.entropy.mean()
            self.optimizer.zero_grad()
            loss.backward()
            norm = torch.nn.utils.clip_grad_norm_(self.policy.parameters(),
                                                  self.config.grad_clip)
            self.optimizer.step()
        decay = self.config.baseline_decay
        self.baseline = decay * self.baseline + (1 - decay) * float(reward.mean())
        if self.config.rank_window:
            self.recent = (self.recent + reward.tolist())[-self.config.rank_window:]
        return {"loss": float(loss.detach()), "baseline": self.baseline,
                "reward": float(reward.mean()), "entropy": float(batch.entropy.detach().mean()),
                "grad_norm": float(norm)}

    def save(self, path: str | Path | BinaryIO) -> None:
        """Write the controller's state (weights, optimiser, baseline, schedule) to a file
        (a path, or a binary file object)."""
        torch.save({
            "format": FORMAT,
            "space": _space_spec(self.table.space),
            "vocab": self.table.vocab.names(),
            "policy_config": asdict(self.policy_config),
            "config": asdict(self.config),
            "curriculum": asdict(self.curriculum),
            "budget": None if self.budget is None else asdict(self.budget),
            "max_tokens": self.max_tokens,
            "policy": self.policy.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "baseline": self.baseline,
            "recent": self.recent,
            "samples_seen": self.samples_seen,
        }, path if hasattr(path, "write") else str(path))

    @classmethod
    def load(cls, path: str | Path | BinaryIO, space: Space | str | None = None,
             device: str | torch.device = "cpu") -> Controller:
        """Read a controller saved by `save()` (safely: `weights_only=True`)."""
        try:
            source = path if hasattr(path, "read") else str(path)
            with warnings.catch_warnings():  # torch warns on foreign pickles before failing
                warnings.simplefilter("ignore", UserWarning)
                state = torch.load(source, map_location=device, weights_only=True)
        except OSError as exc:
            raise NascError(f"{path}: cannot read controller checkpoint: "
                            f"{exc.strerror or exc}") from None
        except (RuntimeError, EOFError, ValueError, pickle.UnpicklingError) as exc:
            raise NascError(f"{path}: not a nasc controller checkpoint (torch cannot load it: "
                            f"{type(exc).__name__})") from None
        if not isinstance(state, dict) or state.get("format") != FORMAT:
            raise NascError(f"{path}: not a nasc controller checkpoint")
        budget = Budget(**state["budget"]) if state["budget"] else None
        ctl = cls(space or state["space"], PolicyConfig(**state["policy_config"]),
                  TrainerConfig(**state["config"]), budget, Curriculum(**state["curriculum"]),
                  state["max_tokens"], device=device)
        if ctl.table.vocab.names() != state["vocab"]:
            raise NascError(f"{path}: checkpoint was trained on space {state['space']!r}, whose "
                            f"vocabulary differs from {ctl.table.space.name!r}")
        ctl.policy.load_state_dict(state["policy"])
        ctl.optimizer.load_state_dict(state["optimizer"])
        ctl.baseline = state["baseline"]
        ctl.recent = list(state.get("recent", []))
        ctl.samples_seen = state["samples_seen"]
        return ctl


def centred_rank(reward: torch.Tensor, recent: list[float]) -> torch.Tensor:
    """Each reward's rank among `recent` and the batch, as a fraction in [0, 1] (ties
    count half) less 1/2: the "rank" baseline's advantage, in [-1/2, 1/2]."""
    pool = torch.cat([torch.as_tensor(recent, dtype=reward.dtype, device=reward.device),
                      reward])
    below = (pool[None, :] < reward[:, None]).sum(1)
    equal = (pool[None, :] == reward[:, None]).sum(1) - 1  # not itself
    if len(pool) == 1:
        return torch.zeros_like(reward)
    return (below + 0.5 * equal) / (len(pool) - 1) - 0.5


def _space_spec(space: Space) -> str:
    """How to load the space again: a built-in name, or the grammar's path."""
    return space.name if space.name in builtin_names() and space.path.parent == BUILTIN_DIR \
        else str(space.path)
