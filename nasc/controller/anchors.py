"""Anchor points: which earlier layers each `cnn` layer reads (Zoph & Le, section 3.3).

At layer i's anchor point the controller's state is h_i; for every earlier
layer j, P(j is an input of i) = sigmoid(v^T tanh(W_prev h_j + W_curr h_i)).
The rollout keeps the controller's state h of every step; `AnchorPoints.draw()`
gathers the anchor points of the whole batch, forms every (i, j) pair of the
same sample (no padding: samples may differ in depth), draws (or replays) all
the Bernoullis at once, and returns their log-probabilities and entropies (B,).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import torch
from torch.nn import functional as F

from nasc.controller.decisions import ANCHOR

if TYPE_CHECKING:
    from nasc.controller.rollout import Rollout


class AnchorPoints:
    """The anchor steps of a finished rollout and the inputs drawn for them."""

    def __init__(self, rollout: Rollout, states: np.ndarray, choices: np.ndarray) -> None:
        self.rollout = rollout
        self.table = rollout.table
        self.states = states  # (B, T)
        self.choices = choices.copy()  # (B, T); anchor steps get their class here
        self.codes = np.zeros_like(states)  # (B, T): bit j set if layer j + 1 is an input
        # anchor points n = 0..N-1, by sample then step: their sample, step and layer slot
        self.rows, self.steps = np.nonzero(self.table.kind[states] == ANCHOR)
        self.slots = self.table.layer[states[self.rows, self.steps]]  # layers before each
        # every pair (query n, key m) of anchor points of one sample with m before n
        first = np.searchsorted(self.rows, self.rows)  # the sample's first anchor point
        before = np.arange(len(self.rows)) - first  # (N,) earlier anchor points
        self.query = np.repeat(np.arange(len(self.rows)), before)  # (P,)
        offset = np.repeat(np.cumsum(before) - before, before)
        self.key = np.repeat(first, before) + np.arange(len(self.query)) - offset  # (P,)

    def __repr__(self) -> str:
        return f"AnchorPoints({len(self.rows)} anchor points, {len(self.query)} pairs)"

    def draw(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Draw every layer's inputs; log-probabilities and entropies per sample (B,)."""
        rollout, device = self.rollout, self.rollout.device
        zero = torch.zeros(rollout.n, device=device)
        if len(self.query) == 0:
            self._record(np.zeros(0, dtype=bool))
            return zero, zero
        scores = self._scores()  # (P,)
        ok = self.table.anchor_ok[self.states[self.rows, self.steps]]  # (N, classes)
        some = ok[:, 1:].any(1)
        free = (ok[:, 0] & some)[self.query]  # (P,): a real draw (else forced)
        valid = torch.from_numpy(free.astype(np.float32)).to(device)
        if rollout.replay is None:
            bits = torch.bernoulli(torch.sigmoid(scores), generator=rollout.generator) * valid
            drawn = bits.detach().cpu().numpy() > 0.5
        else:
            drawn = self._replayed()
        required = ~ok[:, 0] & some
        if required.any():  # the grammar requires an input here: take the likeliest
            drawn = self._required(drawn, required, scores)
        self._record(drawn)
        bits = torch.from_numpy(drawn.astype(np.float32)).to(device)
        lp = F.logsigmoid((2 * bits - 1) * scores) * valid
        ent = (F.softplus(scores) - torch.sigmoid(scores) * scores) * valid
        owner = torch.from_numpy(self.rows[self.query]).to(device)  # (P,) sample of each pair
        return zero.index_add(0, owner, lp), zero.index_add(0, owner, ent)

    def _scores(self) -> torch.Tensor:
        """v^T tanh(W_prev h_j + W_curr h_i) for every pair: (P,)."""
        rollout = self.rollout
        policy, device = rollout.policy, rollout.device
        hidden = torch.stack(rollout.hidden)  # (T, B, H)
        picked = hidden[torch.from_numpy(self.steps).to(device),
                        torch.from_numpy(self.rows).to(device)]  # (N, H): h at anchor points
        # tanh(z) = 2 sigmoid(2z) - 1, so v^T tanh(z) = (2v)^T sigmoid(2z) - sum(v): exact,
        # and sigmoid is several times faster than tanh on CPU.
        both = (2 * picked) @ torch.cat([policy.w_prev.weight, policy.w_curr.weight]).t()
        keys, queries = both.split(policy.config.attention, dim=1)  # (N, A) each
        pairs = keys.index_select(0, torch.from_numpy(self.key).to(device))  # (P, A)
        pairs = pairs.add_(queries.index_select(0, torch.from_numpy(self.query).to(device)))
        v = policy.v.weight[0]  # (A,)
        scores = pairs.sigmoid_() @ (2 * v) - v.sum()  # (P,)
        return scores / rollout.temperature if rollout.temperature != 1.0 else scores

    def _required(self, drawn: np.ndarray, required: np.ndarray, scores: torch.Tensor
                  ) -> np.ndarray:
        values = scores.detach().cpu().numpy()
        for n in np.flatnonzero(required):
            pairs = np.flatnonzero(self.query == n)
            if len(pairs):
                drawn[pairs] = False
                drawn[pairs[int(values[pairs].argmax())]] = True
        return drawn

    def _replayed(self) -> np.ndarray:
        replay = self.rollout.replay
        assert replay is not None
        chosen = [set(replay[b].anchors[t]) for b, t in zip(self.rows, self.steps, strict=True)]
        layer = self.slots + 1  # 1-based layer of each anchor point
        return np.array([int(layer[m]) in chosen[n]
                         for n, m in zip(self.query, self.key, strict=True)], dtype=bool)

    def _record(self, drawn: np.ndarray) -> None:
        """Each anchor step's class (how many inputs) and bit set of inputs."""
        table, n = self.table, len(self.rows)
        counts = np.bincount(self.query[drawn], minlength=n)  # (N,)
        self.choices[self.rows, self.steps] = table.NONE + np.minimum(counts, table.K or 1)
        bit = self.slots[self.key[drawn]]  # an input from layer j + 1 sets bit j
        if n == 0 or int(self.slots.max()) <= 62:  # bit sets fit in int64
            codes = np.zeros(n, dtype=np.int64)
            np.add.at(codes, self.query[drawn], np.left_shift(1, bit))
        else:  # deeper networks: Python integers
            codes = np.zeros(n, dtype=object)
            for q, j in zip(self.query[drawn], bit, strict=True):
                codes[q] += 1 << int(j)
        self.codes = np.zeros(self.states.shape, dtype=codes.dtype)
        self.codes[self.rows, self.steps] = codes
