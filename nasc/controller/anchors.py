"""Anchor points: which earlier layers each `cnn` layer reads (Zoph & Le, section 3.3).

At layer i's anchor point the controller's state is h_i; for every earlier
layer j, P(j is an input of i) = sigmoid(v^T tanh(W_prev h_j + W_curr h_i)).
The rollout keeps the controller's state h of every step; `AnchorPoints.draw()`
gathers W_prev h and W_curr h per sample and layer, draws
(or replays) all the Bernoullis of a batch at once, and returns their
log-probabilities and entropies (B,).
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
        self.rows, self.steps = np.nonzero(self.table.kind[states] == ANCHOR)
        self.slots = self.table.layer[states[self.rows, self.steps]]  # layers before each

    def __repr__(self) -> str:
        return f"AnchorPoints({len(self.rows)} anchor steps)"

    def draw(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Draw every layer's inputs; log-probabilities and entropies per sample (B,)."""
        rollout, device = self.rollout, self.rollout.device
        n = rollout.n
        zero = torch.zeros(n, device=device)
        if len(self.rows) == 0:
            return zero, zero
        width = int(self.slots.max()) + 1
        later, earlier = np.tril_indices(width, -1)  # every pair j < i: (P,), (P,)
        scores = self._scores(width, later, earlier)  # (B, P)
        free, some_only = self._options(width)  # (B, L) each
        valid_np = free[:, later]  # (B, P): a free draw at layer i exists
        valid = torch.from_numpy(valid_np.astype(np.float32)).to(device)
        if rollout.replay is None:
            bits = torch.bernoulli(torch.sigmoid(scores), generator=rollout.generator) * valid
            drawn = bits.detach().cpu().numpy() > 0.5
        else:
            drawn = self._replayed(later, earlier)
        if some_only.any():  # the grammar requires an input here: take the likeliest
            drawn = self._required(drawn, some_only, scores, later)
        self._record(drawn, width, later, earlier)
        bits = torch.from_numpy(drawn.astype(np.float32)).to(device)
        lp = (F.logsigmoid((2 * bits - 1) * scores) * valid).sum(1)
        ent = ((F.softplus(scores) - torch.sigmoid(scores) * scores) * valid).sum(1)
        return lp, ent

    def _scores(self, width: int, later: np.ndarray, earlier: np.ndarray) -> torch.Tensor:
        """v^T tanh(W_prev h_j + W_curr h_i) for every pair j < i of every sample: (B, P)."""
        rollout = self.rollout
        policy, a = rollout.policy, rollout.policy.config.attention
        hidden = torch.stack(rollout.hidden)  # (T, B, H)
        rows = torch.from_numpy(self.rows).to(rollout.device)
        steps = torch.from_numpy(self.steps).to(rollout.device)
        slots = torch.from_numpy(self.slots).to(rollout.device)
        picked = hidden[steps, rows]  # (N, H): h at each anchor point
        # tanh(z) = 2 sigmoid(2z) - 1, so v^T tanh(z) = (2v)^T sigmoid(2z) - sum(v); the
        # identity is exact and sigmoid is several times faster than tanh on CPU.
        keys = picked.new_zeros(rollout.n, width, a).index_put(
            (rows, slots), 2 * policy.w_prev(picked))  # (B, L, A)
        query = picked.new_zeros(rollout.n, width, a).index_put(
            (rows, slots), 2 * policy.w_curr(picked))
        i = torch.from_numpy(later).to(rollout.device)
        j = torch.from_numpy(earlier).to(rollout.device)
        v = policy.v.weight[0]  # (A,)
        pairs = keys.index_select(1, j)  # (B, P, A), then in place: fewer large buffers
        pairs.add_(query.index_select(1, i)).sigmoid_()
        scores = pairs @ (2 * v) - v.sum()  # (B, P)
        return scores / rollout.temperature if rollout.temperature != 1.0 else scores

    def _options(self, width: int) -> tuple[np.ndarray, np.ndarray]:
        """Per (sample, layer): a free draw, or inputs required (budgets never forbid them)."""
        ok = self.table.anchor_ok[self.states[self.rows, self.steps]]  # (N, classes)
        free = np.zeros((self.rollout.n, width), dtype=bool)
        some_only = np.zeros((self.rollout.n, width), dtype=bool)
        free[self.rows, self.slots] = ok[:, 0] & ok[:, 1:].any(1)
        some_only[self.rows, self.slots] = ~ok[:, 0] & ok[:, 1:].any(1)
        return free, some_only

    def _required(self, drawn: np.ndarray, some_only: np.ndarray, scores: torch.Tensor,
                  later: np.ndarray) -> np.ndarray:
        values = scores.detach().cpu().numpy()
        for b, i in zip(*np.nonzero(some_only), strict=True):
            pairs = np.flatnonzero(later == i)
            drawn[b, pairs] = False
            drawn[b, pairs[int(values[b, pairs].argmax())]] = True
        return drawn

    def _replayed(self, later: np.ndarray, earlier: np.ndarray) -> np.ndarray:
        replay = self.rollout.replay
        assert replay is not None
        index = {(int(i), int(j)): p for p, (i, j) in enumerate(zip(later, earlier, strict=True))}
        drawn = np.zeros((self.rollout.n, len(later)), dtype=bool)
        for b, t, i in zip(self.rows, self.steps, self.slots, strict=True):
            for j in replay[b].anchors[t]:
                drawn[b, index[(int(i), j - 1)]] = True
        return drawn

    def _record(self, drawn: np.ndarray, width: int, later: np.ndarray,
                earlier: np.ndarray) -> None:
        """Each anchor step's class (how many inputs) and bit set of inputs."""
        table = self.table
        layer_of_pair = (later[:, None] == np.arange(width)).astype(np.int64)  # (P, L)
        counts = (drawn.astype(np.int64) @ layer_of_pair)[self.rows, self.slots]
        self.choices[self.rows, self.steps] = table.NONE + np.minimum(counts, table.K or 1)
        if width <= 62:  # bit sets fit in int64
            weights = 1 << earlier.astype(np.int64)  # bit j for an input from layer j + 1
            codes = (drawn * weights) @ layer_of_pair  # (B, L): the set of inputs of each layer
        else:  # deeper networks: Python integers
            codes = np.zeros((self.rollout.n, width), dtype=object)
            for b, pair in zip(*np.nonzero(drawn), strict=True):
                codes[b, later[pair]] += 1 << int(earlier[pair])
        self.codes = np.zeros(self.states.shape, dtype=codes.dtype)
        self.codes[self.rows, self.steps] = codes[self.rows, self.slots]
