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

from nasc.controller.decisions import ANCHOR, DONE_STATE, TOKEN, Budget, DecisionTable
from nasc.controller.samples import Sample, text_of


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


@dataclass
class _Record:
    """Per-step states, choices and anchor lists, for a whole batch."""

    states: list[np.ndarray]
    choices: list[np.ndarray]
    anchors: list[dict[int, tuple[int, ...]]]


class Policy(nn.Module):
    """LSTM over decisions; one softmax over the vocabulary plus anchor attention."""

    def __init__(self, table: DecisionTable, config: PolicyConfig | None = None) -> None:
        super().__init__()
        self.table = table
        self.config = config or PolicyConfig()
        h, v = self.config.hidden, table.V
        self.start_id, self.none_id, self.some_id = v + 2, v, v + 1
        self.embed = nn.Embedding(v + 3, h, padding_idx=self.start_id)
        self.cells = nn.ModuleList(nn.LSTMCell(h, h) for _ in range(self.config.layers))
        self.out = nn.Linear(h, v)
        self.w_prev = nn.Linear(h, self.config.attention, bias=False)
        self.w_curr = nn.Linear(h, self.config.attention, bias=False)
        self.v = nn.Linear(self.config.attention, 1, bias=False)
        for param in self.parameters():
            nn.init.uniform_(param, -self.config.init_range, self.config.init_range)
        with torch.no_grad():
            self.embed.weight[self.start_id].zero_()

    def __repr__(self) -> str:
        c = self.config
        return f"Policy({self.table.space.name}, {c.layers}x{c.hidden} LSTM, V={self.table.V})"

    @property
    def device(self) -> torch.device:
        return self.out.weight.device

    def _lstm(self, inputs: torch.Tensor, hc: list[tuple[torch.Tensor, torch.Tensor]]
              ) -> tuple[torch.Tensor, list[tuple[torch.Tensor, torch.Tensor]]]:
        x = self.embed(inputs)  # (B, H)
        new = []
        for cell, (h, c) in zip(self.cells, hc, strict=True):
            h, c = cell(x, (h, c))
            new.append((h, c))
            x = h
        return x, new

    def _zeros(self, n: int) -> list[tuple[torch.Tensor, torch.Tensor]]:
        h = self.config.hidden
        return [(torch.zeros(n, h, device=self.device), torch.zeros(n, h, device=self.device))
                for _ in self.cells]

    def anchor_probs(self, keys: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
        """sigmoid(v^T tanh(W_prev h_j + W_curr h_i)) for stored W_prev h_j: (B, J)."""
        return torch.sigmoid(self._anchor_logits(keys, h, 1.0))

    def _anchor_logits(self, keys: torch.Tensor, h: torch.Tensor, temperature: float
                       ) -> torch.Tensor:
        query = self.w_curr(h)  # (B, A)
        return self.v(torch.tanh(keys + query[:, None, :])).squeeze(-1) / temperature  # (B, J)

    def sample(self, n: int, budget: Budget, temperature: float = 1.0,
               generator: torch.Generator | None = None) -> SampleBatch:
        """Draw n architectures at once (log_prob / entropy carry gradients if enabled)."""
        return self._run(n, budget, temperature, generator, None)

    def replay(self, samples: list[Sample], temperature: float = 1.0) -> SampleBatch:
        """Log-probabilities and entropies of existing samples, differentiable."""
        if not samples:
            empty = torch.zeros(0, device=self.device)
            return SampleBatch([], empty, empty)
        budgets = {s.budget for s in samples}
        if len(budgets) != 1:  # replay each budget group, then restore the order
            parts = {b: self.replay([s for s in samples if s.budget == b], temperature)
                     for b in budgets}
            return _merge(samples, parts)
        return self._run(len(samples), samples[0].budget, temperature, None, samples)

    def _run(self, n: int, budget: Budget, temperature: float,
             generator: torch.Generator | None, replay: list[Sample] | None) -> SampleBatch:
        table = self.table
        state0, _ = table.root(budget)
        states = np.full(n, state0, dtype=np.int64)
        inputs = torch.full((n,), self.start_id, dtype=torch.long, device=self.device)
        hc = self._zeros(n)
        keys = torch.zeros(n, 1, self.config.attention, device=self.device)
        log_prob = torch.zeros(n, device=self.device)
        entropy = torch.zeros(n, device=self.device)
        record = _Record([], [], [])
        t = 0
        while (states != DONE_STATE).any():
            if replay is not None:
                states = np.array([s.states[t] if t < len(s) else DONE_STATE for s in replay])
            h, hc = self._lstm(inputs, hc)
            kinds = table.kind[states]
            choices = np.full(n, table.vocab.end, dtype=np.int64)
            anchors: dict[int, tuple[int, ...]] = {}
            next_inputs = inputs
            if (kinds != ANCHOR).any():
                lp, ent, tokens = self._token_step(h, states, temperature, generator, replay, t)
                log_prob, entropy = log_prob + lp, entropy + ent
                choices = tokens.cpu().numpy().copy()
                next_inputs = tokens
            if (kinds == ANCHOR).any():
                rows = np.nonzero(kinds == ANCHOR)[0]
                keys, lp, ent, classes, anchors = self._anchor_step(
                    h, keys, states, rows, temperature, generator, replay, t)
                rows_t = torch.from_numpy(rows).to(self.device)
                log_prob, entropy = log_prob.index_add(0, rows_t, lp), entropy.index_add(
                    0, rows_t, ent)
                choices[rows] = classes
                some = torch.from_numpy(np.where(classes == table.NONE, self.none_id,
                                                 self.some_id)).to(self.device)
                next_inputs = next_inputs.index_put((rows_t,), some)
            record.states.append(states)
            record.choices.append(choices)
            record.anchors.append(anchors)
            inputs = next_inputs
            states = table.fill(states, choices)
            t += 1
        samples = replay if replay is not None else self._samples(n, budget, record)
        return SampleBatch(samples, log_prob, entropy)

    def _token_step(self, h: torch.Tensor, states: np.ndarray, temperature: float,
                    generator: torch.Generator | None, replay: list[Sample] | None, t: int
                    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        table = self.table
        valid = table.mask[states]  # (B, V); rows at an anchor step may only "end" (no-op)
        valid[table.kind[states] != TOKEN, table.vocab.end] = True
        mask = torch.from_numpy(valid).to(self.device)
        logits = (self.out(h) / temperature).masked_fill(~mask, float("-inf"))
        logp = torch.log_softmax(logits, dim=-1)  # (B, V)
        if replay is None:
            tokens = torch.multinomial(logp.exp(), 1, generator=generator).squeeze(1)
        else:
            tokens = torch.tensor([_token_at(s, t, table) for s in replay], device=self.device)
        lp = logp.gather(1, tokens[:, None]).squeeze(1)  # 0 where only one token is valid
        ent = -(logp.exp() * logp.masked_fill(~mask, 0.0)).sum(1)
        return lp, ent, tokens

    def _anchor_step(self, h: torch.Tensor, keys: torch.Tensor, states: np.ndarray,
                     rows: np.ndarray, temperature: float, generator: torch.Generator | None,
                     replay: list[Sample] | None, t: int):  # type: ignore[no-untyped-def]
        """Store this layer's key; sample its inputs among earlier layers."""
        table = self.table
        layer = table.layer[states[rows]]  # layers before the current one, (R,)
        if int(layer.max()) + 1 > keys.shape[1]:
            grow = int(layer.max()) + 1 - keys.shape[1]
            keys = torch.cat([keys, keys.new_zeros(keys.shape[0], grow, keys.shape[2])], 1)
        rows_t = torch.from_numpy(rows).to(self.device)
        hr = h[rows_t]  # (R, H)
        keys = keys.index_put((rows_t, torch.from_numpy(layer).to(self.device)),
                              self.w_prev(hr))
        width = max(int(layer.max()), 1)
        logits = self._anchor_logits(keys[rows_t, :width], hr, temperature)  # (R, J)
        valid = torch.arange(width, device=self.device)[None, :] < torch.from_numpy(
            layer).to(self.device)[:, None]
        ok = table.anchor_ok[states[rows]]  # (R, classes)
        free = torch.from_numpy(ok[:, 0] & ok[:, 1:].any(1)).to(self.device)[:, None]
        valid = valid & free  # rows where "no inputs" or "some" is forced sample nothing
        if replay is None:
            bits = torch.bernoulli(torch.sigmoid(logits), generator=generator) * valid
        else:
            bits = _replay_bits(replay, rows, t, width, self.device)
        lp = (bits * nn.functional.logsigmoid(logits)
              + (1 - bits) * nn.functional.logsigmoid(-logits)) * valid
        p = torch.sigmoid(logits)
        ent = -(p * nn.functional.logsigmoid(logits)
                + (1 - p) * nn.functional.logsigmoid(-logits)) * valid
        picked = self._fix_forced(bits.detach().cpu().numpy() > 0.5, ok, logits)
        chosen = {int(r): tuple(int(j) + 1 for j in np.nonzero(b)[0])
                  for r, b in zip(rows, picked, strict=True)}
        classes = np.array([table.anchor_class(len(chosen[int(r)])) for r in rows])
        return keys, lp.sum(1), ent.sum(1), classes, chosen

    def _fix_forced(self, bits: np.ndarray, ok: np.ndarray, logits: torch.Tensor) -> np.ndarray:
        """Where the budget forbids inputs (or requires one), override the draw."""
        for r in range(len(bits)):
            if not ok[r, 1:].any():
                bits[r] = False
            elif not ok[r, 0] and not bits[r].any():
                bits[r, int(logits[r].argmax())] = True
        return bits

    def _samples(self, n: int, budget: Budget, record: _Record) -> list[Sample]:
        table = self.table
        states = np.stack(record.states, 1)  # (B, T)
        choices = np.stack(record.choices, 1)
        out = []
        for b in range(n):
            steps = int((states[b] != DONE_STATE).sum())
            st = tuple(int(s) for s in states[b, :steps])
            ch = tuple(int(c) for c in choices[b, :steps])
            an = tuple(record.anchors[t].get(b, ()) for t in range(steps))
            out.append(Sample(text_of(table, budget, st, ch, an), st, ch, an, budget))
        return out

    def sample_free(self, n: int, steps: int, generator: torch.Generator | None = None
                    ) -> tuple[torch.Tensor, torch.Tensor]:
        """The same LSTM with no grammar: `steps` unmasked softmax draws (benchmarks)."""
        inputs = torch.full((n,), self.start_id, dtype=torch.long, device=self.device)
        hc = self._zeros(n)
        log_prob = torch.zeros(n, device=self.device)
        entropy = torch.zeros(n, device=self.device)
        for _ in range(steps):
            h, hc = self._lstm(inputs, hc)
            logp = torch.log_softmax(self.out(h), dim=-1)
            inputs = torch.multinomial(logp.exp(), 1, generator=generator).squeeze(1)
            log_prob = log_prob + logp.gather(1, inputs[:, None]).squeeze(1)
            entropy = entropy - (logp.exp() * logp).sum(1)
        return log_prob, entropy


def _token_at(sample: Sample, t: int, table: DecisionTable) -> int:
    if t < len(sample) and sample.choices[t] < table.V:
        return sample.choices[t]
    return table.vocab.end


def _replay_bits(replay: list[Sample], rows: np.ndarray, t: int, width: int,
                 device: torch.device) -> torch.Tensor:
    bits = torch.zeros(len(rows), width, device=device)
    for k, r in enumerate(rows):
        for j in replay[int(r)].anchors[t]:
            bits[k, j - 1] = 1.0
    return bits


def _merge(samples: list[Sample], parts: dict[Budget, SampleBatch]) -> SampleBatch:
    cursor = dict.fromkeys(parts, 0)
    lps, ents = [], []
    for s in samples:
        part = parts[s.budget]
        lps.append(part.log_prob[cursor[s.budget]])
        ents.append(part.entropy[cursor[s.budget]])
        cursor[s.budget] += 1
    return SampleBatch(samples, torch.stack(lps), torch.stack(ents))
