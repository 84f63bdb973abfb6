"""Anchor points: which earlier layers each `cnn` layer reads (Zoph & Le, section 3.3).

At layer i's anchor point the controller's state is h_i; for every earlier
layer j, P(j is an input of i) = sigmoid(v^T tanh(W_prev h_j + W_curr h_i)).
The rollout keeps the controller's state h of every step and hands the states
at the anchor points to `AnchorPoints.draw()`, which forms every (i, j) pair of the
same sample (no padding: samples may differ in depth), draws (or replays) all
the Bernoullis at once, and returns their log-probabilities and entropies (B,).
W_prev h_j and W_curr h_i are computed once per anchor point, not per pair.
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING, NamedTuple

import numpy as np
import torch
from torch.nn import functional as F

from nasc.controller.decisions import ANCHOR

if TYPE_CHECKING:
    from nasc.controller.decisions import DecisionTable
    from nasc.controller.samples import Sample


class Draw(NamedTuple):
    """How the inputs are chosen: drawn with `generator`, or read from `replay`'s records."""

    generator: torch.Generator | None
    replay: list[Sample] | None
    temperature: float


class Pairs(NamedTuple):
    """Every pair (query n, key m) of anchor points of one sample with m before n."""

    query: np.ndarray  # (P,)
    key: np.ndarray  # (P,)
    rows: torch.Tensor  # (P, 2): rows 2m and 2n + 1 of the interleaved [keys; queries]
    owner: torch.Tensor  # (P,): the sample of each pair


@lru_cache(maxsize=64)
def pairs_of(counts: tuple[int, ...]) -> Pairs:
    """The pairs when sample b has counts[b] anchor points (numbered by sample, then step).

    Cached: a batch of fixed-depth samples has the same pairs every time.
    """
    total = np.asarray(counts, dtype=np.int64)
    sample = np.repeat(np.arange(len(counts)), total)  # (N,)
    first = np.repeat(np.cumsum(total) - total, total)  # (N,) the sample's first anchor point
    before = np.arange(len(sample)) - first  # (N,) earlier anchor points
    query = np.repeat(np.arange(len(sample)), before)  # (P,)
    offset = np.repeat(np.cumsum(before) - before, before)
    key = np.repeat(first, before) + np.arange(len(query)) - offset  # (P,)
    for array in (query, key):
        array.setflags(write=False)
    rows = torch.from_numpy(np.stack([2 * key, 2 * query + 1], 1))
    return Pairs(query, key, rows, torch.from_numpy(sample[query]))


class AnchorPoints:
    """The anchor steps of a finished rollout and the inputs drawn for them."""

    def __init__(self, table: DecisionTable, states: np.ndarray, choices: np.ndarray) -> None:
        self.table = table  # no reference to the rollout: no cycle keeping its tensors alive
        self.states = states  # (B, T)
        self.choices = choices.copy()  # (B, T); anchor steps get their class here
        self.codes = np.zeros((0, 0), dtype=np.int64)  # (B, T) once drawn: bit j set if
        # layer j + 1 is an input. Anchor points n = 0..N-1, by sample then step:
        self.rows, self.steps = np.nonzero(table.kind[states] == ANCHOR)  # sample, step
        self.at = states[self.rows, self.steps]  # (N,) decision states
        self.slots = table.layer[self.at]  # (N,) layers before each
        self.pairs = pairs_of(tuple(np.bincount(self.rows, minlength=len(states)).tolist()))
        self.query, self.key = self.pairs.query, self.pairs.key  # (P,) each

    def __repr__(self) -> str:
        return f"AnchorPoints({len(self.rows)} anchor points, {len(self.query)} pairs)"

    def flat_steps(self, n: int) -> np.ndarray:
        """Where the anchor points are in the rollout's hidden states, stacked (T * B, H)."""
        return self.steps * n + self.rows

    def draw(self, picked: torch.Tensor, weights: tuple[torch.Tensor, ...], attention: int,
             draw: Draw) -> tuple[torch.Tensor, torch.Tensor]:
        """Draw (or replay) every layer's inputs; log-probabilities and entropies (B,).

        `picked` holds the controller's state at each anchor point (N, H), `weights` are
        the policy's `anchor_weights()` and `attention` its attention size."""
        n, device = len(self.states), picked.device
        zero = torch.zeros(n, device=device)
        if len(self.query) == 0:
            self._record(np.zeros(0, dtype=bool))
            return zero, zero
        scores = self._scores(picked, weights, attention, draw.temperature)  # (P,)
        probs = torch.sigmoid(scores)
        free, required = self._options()
        if draw.replay is None:  # Bernoulli(p): uniform < p
            uniform = torch.rand(scores.shape, generator=draw.generator, device=device)
            drawn = (uniform < probs).cpu().numpy()
            if free is not None:
                drawn &= free
        else:
            drawn = self._replayed(draw.replay)
        if required is not None:  # the grammar requires an input here: take the likeliest
            drawn = self._required(drawn, required, scores)
        self._record(drawn)
        sign = torch.from_numpy(np.where(drawn, np.float32(1), np.float32(-1))).to(device)
        lp = F.logsigmoid(sign * scores)  # (P,)
        ent = F.softplus(scores) - probs * scores
        if free is not None:  # forced pairs: probability 1, entropy 0
            valid = torch.from_numpy(free.astype(np.float32)).to(device)
            lp, ent = lp * valid, ent * valid
        owner = self.pairs.owner.to(device)
        return zero.index_add(0, owner, lp), zero.index_add(0, owner, ent)

    def _options(self) -> tuple[np.ndarray | None, np.ndarray | None]:
        """Which pairs are real draws (None: all), which anchor points need an input."""
        ok = self.table.anchor_ok[self.at]  # (N, classes)
        some = ok[:, 1:].any(1)
        free = (ok[:, 0] & some)[self.query]  # (P,): a real draw (else forced)
        required = ~ok[:, 0] & some  # (N,)
        return (None if free.all() else free), (required if required.any() else None)

    def _scores(self, picked: torch.Tensor, weights: tuple[torch.Tensor, ...], attention: int,
                temperature: float) -> torch.Tensor:
        """v^T tanh(W_prev h_j + W_curr h_i) for every pair: (P,).

        The keys and queries are projected once per anchor point (N rows); one
        embedding_bag then adds each pair's key and query.
        """
        weight, v2, v_sum = weights
        both = F.linear(picked, weight)  # (N, 2A): row n is [2 W_prev h_n, 2 W_curr h_n]
        pairs = F.embedding_bag(self.pairs.rows.to(picked.device), both.view(-1, attention),
                                mode="sum")  # (P, A)
        # tanh(z) = 2 sigmoid(2z) - 1, so v^T tanh(z) = (2v)^T sigmoid(2z) - sum(v): exact,
        # and sigmoid is several times faster than tanh on CPU.
        scores = pairs.sigmoid_() @ v2 - v_sum  # (P,)
        return scores / temperature if temperature != 1.0 else scores

    def _required(self, drawn: np.ndarray, required: np.ndarray, scores: torch.Tensor
                  ) -> np.ndarray:
        values = scores.detach().cpu().numpy()
        for n in np.flatnonzero(required):
            pairs = np.flatnonzero(self.query == n)
            if len(pairs):
                drawn[pairs] = False
                drawn[pairs[int(values[pairs].argmax())]] = True
        return drawn

    def _replayed(self, replay: list[Sample]) -> np.ndarray:
        chosen = [set(replay[b].anchors[t]) for b, t in zip(self.rows, self.steps, strict=True)]
        layer = self.slots + 1  # 1-based layer of each anchor point
        return np.array([int(layer[m]) in chosen[n]
                         for n, m in zip(self.query, self.key, strict=True)], dtype=bool)

    def _record(self, drawn: np.ndarray) -> None:
        """Each anchor step's class (how many inputs) and bit set of inputs."""
        table, n = self.table, len(self.rows)
        counts = np.bincount(self.query[drawn], minlength=n)  # (N,)
        classes = np.minimum(counts, table.input_classes)
        self.choices[self.rows, self.steps] = table.no_inputs + classes
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
