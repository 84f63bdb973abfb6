"""The controller's policy: a 2-layer LSTM emitting decisions, with anchor attention.

Zoph & Le's defaults: 2 LSTM layers of 35 units, weights uniform in
[-0.08, 0.08], the previous decision's embedding as the next input (zeros at
the first step), a softmax over the vocabulary masked to the grammar's valid
tokens. At a `cnn` layer's anchor point the state h_i is kept and, for every
earlier layer j, P(j is an input of i) = sigmoid(v^T tanh(W_prev h_j + W_curr h_i)).

`sample()` draws a batch of architectures at once; `replay()` recomputes the
log-probabilities and entropies of given samples with gradients (for
REINFORCE). `sample_free()` is the same LSTM with no grammar (benchmarks).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from nasc.controller.decisions import TOKEN, Budget, DecisionTable
from nasc.controller.mutation import parse_sample
from nasc.controller.rollout import Rollout, categorical_stats
from nasc.controller.samples import Sample


@dataclass(frozen=True)
class PolicyConfig:
    """Controller sizes (the paper's defaults)."""

    hidden: int = 35
    layers: int = 2
    attention: int = 35
    init_range: float = 0.08


@dataclass
class SampleBatch:
    """Samples with their log-probabilities and entropies as tensors (B,)."""

    samples: list[Sample]
    log_prob: torch.Tensor
    entropy: torch.Tensor

    def __repr__(self) -> str:
        return f"SampleBatch({len(self.samples)} samples)"


class Policy(nn.Module):
    """LSTM over decisions; one softmax over the vocabulary plus anchor attention."""

    def __init__(self, table: DecisionTable, config: PolicyConfig | None = None) -> None:
        super().__init__()
        self.table = table
        self.config = config or PolicyConfig()
        h, v = self.config.hidden, table.vocab_size
        self.start_id = v  # the first step's input (zeros); after an anchor point: the end token
        self.embed = nn.Embedding(v + 1, h, padding_idx=self.start_id)
        self.cells = nn.ModuleList(nn.LSTMCell(h, h) for _ in range(self.config.layers))
        self.out = nn.Linear(h, v)
        self.w_prev = nn.Linear(h, self.config.attention, bias=False)
        self.w_curr = nn.Linear(h, self.config.attention, bias=False)
        self.v = nn.Linear(self.config.attention, 1, bias=False)
        for param in self.parameters():
            nn.init.uniform_(param, -self.config.init_range, self.config.init_range)
        with torch.no_grad():
            self.embed.weight[self.start_id].zero_()
        self._mask: torch.Tensor | None = None
        self._head: tuple[tuple[int, int, int], tuple] | None = None  # type: ignore[type-arg]
        self._anchor: tuple[tuple[int, ...], tuple] | None = None  # type: ignore[type-arg]

    def __repr__(self) -> str:
        c = self.config
        return (f"Policy({self.table.space.name}, {c.layers}x{c.hidden} LSTM, "
                f"V={self.table.vocab_size})")

    @property
    def device(self) -> torch.device:
        return self.out.weight.device

    def lstm(self, inputs: torch.Tensor, hc: list[tuple[torch.Tensor, torch.Tensor]]
             ) -> tuple[torch.Tensor, list[tuple[torch.Tensor, torch.Tensor]]]:
        """One step: previous decision ids (B,) -> top hidden state (B, H), new states."""
        x = self.embed(inputs)  # (B, H)
        new = []
        for cell, (h, c) in zip(self.cells, hc, strict=True):
            h, c = cell(x, (h, c))
            new.append((h, c))
            x = h
        return x, new

    def lstm_sequence(self, inputs: torch.Tensor) -> torch.Tensor:
        """All steps at once, from zero states, for inputs known in advance (replay):
        decision ids (T, B) -> top hidden states (T, B, H); the same weights as `lstm`."""
        x = self.embed(inputs)  # (T, B, H)
        zero = torch.zeros(len(self.cells), inputs.shape[1], self.config.hidden,
                           device=self.device)  # (L, B, H)
        weights: list[torch.Tensor] = [
            getattr(cell, name) for cell in self.cells
            for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")]
        with torch.backends.cudnn.flags(enabled=False):  # cuDNN wants one flat weight buffer
            top, _, _ = torch.lstm(x, (zero, zero), weights, True, len(self.cells), 0.0,
                                   self.training, False, False)
        return top

    def zeros(self, n: int) -> list[tuple[torch.Tensor, torch.Tensor]]:
        h = self.config.hidden
        return [(torch.zeros(n, h, device=self.device), torch.zeros(n, h, device=self.device))
                for _ in self.cells]

    def head_weights(self) -> tuple[torch.Tensor, torch.Tensor, list[torch.Tensor]]:
        """The output layer as an (H, V) matrix, per decision state its biases (S, V),
        and those biases as (1, V) rows.

        A state's bias is the output bias plus 0 for valid tokens and -inf for the
        others (only the end token where the state is not a token step), so one
        addmm gives the masked logits. Cached while gradients are off and the
        weights and the table are unchanged.
        """
        key = (len(self.table.keys), self.out.bias._version, self.out.weight._version)
        if torch.is_grad_enabled() or self._head is None or self._head[0] != key:
            biases = self.mask_table().to(self.device) + self.out.bias
            head = (self.out.weight.t(), biases, list(biases.split(1)))
            if torch.is_grad_enabled():
                return head
            self._head = (key, head)
        return self._head[1]

    def mask_table(self) -> torch.Tensor:
        """Per decision state, 0 for valid tokens and -inf otherwise: (states, V)."""
        table = self.table
        count = len(table.keys)
        if self._mask is None or self._mask.shape[0] != count:
            valid = table.mask[:count].copy()
            valid[table.kind[:count] != TOKEN, table.vocab.end] = True  # not a token step
            self._mask = torch.from_numpy(np.where(valid, 0.0, -np.inf).astype(np.float32))
        return self._mask

    def anchor_weights(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """[W_prev; W_curr] times 2 (2A, H), 2v (A,) and sum(v), for the anchor scores
        (2v)^T sigmoid(2 W_prev h_j + 2 W_curr h_i) - sum(v) = v^T tanh(W_prev h_j + W_curr h_i).

        Cached while gradients are off and the weights are unchanged.
        """
        params = (self.w_prev.weight, self.w_curr.weight, self.v.weight)
        key = tuple(x for p in params for x in (p.data_ptr(), p._version))
        if torch.is_grad_enabled() or self._anchor is None or self._anchor[0] != key:
            v = self.v.weight[0]
            weights = (torch.cat([self.w_prev.weight, self.w_curr.weight]) * 2, 2 * v, v.sum())
            if torch.is_grad_enabled():
                return weights
            self._anchor = (key, weights)
        return self._anchor[1]  # type: ignore[no-any-return]

    def anchor_probs(self, keys: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
        """sigmoid(v^T tanh(W_prev h_j + W_curr h_i)) for stored keys W_prev h_j: (B, J)."""
        query = self.w_curr(h)  # (B, A)
        return torch.sigmoid(self.v(torch.tanh(keys + query[:, None, :])).squeeze(-1))

    def sample(self, n: int, budget: Budget, temperature: float = 1.0,
               generator: torch.Generator | None = None) -> SampleBatch:
        """Draw n architectures at once (log_prob / entropy carry gradients if enabled)."""
        rollout = Rollout(self, n, budget, temperature, generator, None)
        log_prob, entropy = rollout.run()
        return SampleBatch(rollout.samples(), log_prob, entropy)

    def replay(self, samples: list[Sample], temperature: float = 1.0) -> SampleBatch:
        """Log-probabilities and entropies of existing samples, differentiable."""
        if not samples:
            empty = torch.zeros(0, device=self.device)
            return SampleBatch([], empty, empty)
        samples = [s if s.table is self.table else parse_sample(self.table, s.text, s.budget)
                   for s in samples]  # a record of another table: its state ids differ
        budgets = {s.budget for s in samples}
        if len(budgets) != 1:  # replay each budget group, then restore the order
            parts = {b: self.replay([s for s in samples if s.budget == b], temperature)
                     for b in budgets}
            return _merge(samples, parts)
        rollout = Rollout(self, len(samples), samples[0].budget, temperature, None, samples)
        log_prob, entropy = rollout.run()
        return SampleBatch(samples, log_prob, entropy)

    def sample_free(self, n: int, steps: int, generator: torch.Generator | None = None
                    ) -> tuple[torch.Tensor, torch.Tensor]:
        """The same LSTM with no grammar: `steps` unmasked softmax draws (benchmarks)."""
        inputs = torch.full((n,), self.start_id, dtype=torch.long, device=self.device)
        hc = self.zeros(n)
        logits, choices, probs = [], [], []
        for _ in range(steps):
            h, hc = self.lstm(inputs, hc)
            step = self.out(h)  # (B, V)
            probs.append(torch.softmax(step, -1))
            inputs = torch.multinomial(probs[-1], 1, generator=generator).squeeze(1)
            logits.append(step)
            choices.append(inputs)
        return categorical_stats(torch.stack(logits), torch.stack(choices), torch.stack(probs))


def _merge(samples: list[Sample], parts: dict[Budget, SampleBatch]) -> SampleBatch:
    cursor = dict.fromkeys(parts, 0)
    lps, ents = [], []
    for s in samples:
        part = parts[s.budget]
        lps.append(part.log_prob[cursor[s.budget]])
        ents.append(part.entropy[cursor[s.budget]])
        cursor[s.budget] += 1
    return SampleBatch(samples, torch.stack(lps), torch.stack(ents))
