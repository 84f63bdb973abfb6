"""One batched pass of the policy over decision states: sampling or replaying.

Each loop step runs the LSTM once for the whole batch; every sample still
going is at a real decision (forced tokens were emitted on the way):
  token rows:   softmax over logits + bias[state] (0 valid, -inf invalid), one draw
  anchor rows:  the anchor point of the current layer: its state h_i is kept
and every sample advances with one lookup in the decision table. A layer's
inputs never change what may follow it, so the input after an anchor point is
a fixed embedding and the anchor Bernoullis, P(j -> i) = sigmoid(v^T tanh(
W_prev h_j + W_curr h_i)), are all drawn at the end in one batched pass
(`anchors.py`), together with the log-probabilities and entropies. The
per-step work is then the LSTM plus a few table lookups.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import numpy as np
import torch

from nasc.controller.anchors import AnchorPoints, Draw
from nasc.controller.decisions import ANCHOR, DONE_STATE, UNBUILT, Budget
from nasc.controller.samples import Sample

if TYPE_CHECKING:
    from nasc.controller.policy import Policy


class Rollout:
    """State of one batched sampling (or replay) run."""

    def __init__(self, policy: Policy, n: int, budget: Budget, temperature: float,
                 generator: torch.Generator | None, replay: list[Sample] | None) -> None:
        self.policy, self.table, self.n, self.budget = policy, policy.table, n, budget
        self.temperature, self.generator, self.replay = temperature, generator, replay
        self.device = policy.device
        self.cpu = self.device.type == "cpu"
        self.token_logits: list[torch.Tensor] = []  # (B, V) per step
        self.token_choices: list[torch.Tensor] = []  # (B,) per step
        self.token_probs: list[torch.Tensor] = []  # (B, V) per step: the softmax drawn from
        self.hidden: list[torch.Tensor] = []  # (B, H) per step, for the anchor points
        self.anchors: AnchorPoints | None = None
        self.trans: torch.Tensor | None = None

    def __repr__(self) -> str:
        return f"Rollout({self.n} x {self.table.space.name}, {self.budget})"

    def run(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Sample (or replay) to the end; returns log-probabilities and entropies (B,)."""
        self.table.root(self.budget)  # builds the first decision state
        self.known = -1
        self._refresh()
        if self.replay is not None:
            states, choices = self._run_replay()
        elif self.n == 1:
            states, choices = self._run_one()
        else:
            states, choices = self._run_batch()
        lp, ent = self._token_stats()
        self.anchors = AnchorPoints(self.table, states, choices)
        at = torch.from_numpy(self.anchors.flat_steps(self.n)).to(self.device)
        picked = torch.cat(self.hidden).index_select(0, at)  # (N, H): h at anchor points
        self.hidden.clear()  # no longer needed: freed before the (P, A) pairs
        draw = Draw(self.generator, self.replay, self.temperature)
        log_prob, entropy = self.anchors.draw(picked, self.policy.anchor_weights(),
                                              self.policy.config.attention, draw)
        return log_prob + lp, entropy + ent

    def _token_stats(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Log-probabilities and entropies of the token choices (B,); frees the logits."""
        if not self.token_logits:  # only anchor steps
            zero = torch.zeros(self.n, device=self.device)
            return zero, zero
        logits = torch.stack(self.token_logits)  # (T, B, V)
        probs = torch.stack(self.token_probs) if self.token_probs else torch.softmax(logits, -1)
        self.token_logits.clear()
        self.token_probs.clear()
        return categorical_stats(logits, torch.stack(self.token_choices), probs)

    def _refresh(self) -> None:
        """New decision states were built: extend the per-state biases."""
        if len(self.table.keys) != self.known:
            self.weight, self.biases, self.rows = self.policy.head_weights()
            self.known = len(self.table.keys)
        if self.trans is None or self.trans.shape[0] != len(self.table.trans):
            self.trans = torch.from_numpy(self.table.trans).to(self.device)  # shares on CPU
        elif self.device.type != "cpu":
            self.trans = torch.from_numpy(self.table.trans).to(self.device)

    def _logits(self, h: torch.Tensor, biases: torch.Tensor) -> torch.Tensor:
        """Masked logits in one addmm: (B, V)."""
        logits = torch.addmm(biases, h, self.weight)
        return logits if self.temperature == 1.0 else logits / self.temperature

    def _start(self) -> tuple[torch.Tensor, list]:  # type: ignore[type-arg]
        start = torch.full((self.n,), self.policy.start_id, dtype=torch.long, device=self.device)
        return start, self.policy.zeros(self.n)

    def _run_batch(self) -> tuple[np.ndarray, np.ndarray]:
        """The batched sampling loop; decision states stay a tensor (B,).

        Sampling advances the states by one table lookup per step. On CPU the "all
        finished?" test (a reduction) runs every few steps, and a transition not built
        yet is caught when its state id fails to index; finished samples just keep
        choosing the end token.
        """
        inputs, hc = self._start()
        states = torch.full((self.n,), self.table.root(self.budget)[0], dtype=torch.long,
                            device=self.device)
        check = 4 if self.cpu else 1
        record: list[torch.Tensor] = []
        lstm, hidden, generator = self.policy.lstm, self.hidden, self.generator
        for t in range(1, sys.maxsize):
            rows = self._rows(states, record)
            h, hc = lstm(inputs, hc)
            hidden.append(h)
            logits = self._logits(h, rows)  # (B, V): masked
            probs = torch.softmax(logits, -1)
            tokens = torch.multinomial(probs, 1, generator=generator).squeeze(1)
            self.token_probs.append(probs)
            self.token_logits.append(logits)
            self.token_choices.append(tokens)
            record.append(states)
            inputs = tokens
            states = self.trans[states, tokens]  # type: ignore[index]  # anchors: any option
            if t % check == 0:
                high = int(states.max())
                if high == UNBUILT:  # transitions not built yet
                    states, high = self._build(record[-1], tokens)
                if high == DONE_STATE:
                    break
        return (torch.stack(record, 1).cpu().numpy(),
                torch.stack(self.token_choices, 1).cpu().numpy())

    def _run_replay(self) -> tuple[np.ndarray, np.ndarray]:
        """Replay: the inputs are known (each step's input is the previous recorded token),
        so the LSTM runs over the whole sequence in one fused call, and the logits of
        every step come from one batched matmul."""
        states, tokens = self._script()  # (T, B) each
        inputs = torch.cat([self._start()[0][None], tokens[:-1]])  # (T, B)
        top = self.policy.lstm_sequence(inputs)  # (T, B, H)
        self.hidden.extend(top.unbind(0))
        logits = torch.baddbmm(self.biases[states], top, self.weight.expand(len(top), -1, -1))
        if self.temperature != 1.0:
            logits = logits / self.temperature  # (T, B, V)
        self.token_logits.extend(logits.unbind(0))
        self.token_choices.extend(tokens.unbind(0))
        return states.t().cpu().numpy(), tokens.t().cpu().numpy()

    def _rows(self, states: torch.Tensor, record: list[torch.Tensor]) -> torch.Tensor:
        """Each row's masked output bias (B, V); builds transitions met for the first time."""
        if not self.cpu:  # checked after every step there: never UNBUILT here
            return self.biases.index_select(0, states)
        try:
            return self.biases.index_select(0, states)
        except (IndexError, RuntimeError):  # an UNBUILT state id
            pass
        states.copy_(self._build(record[-1], self.token_choices[-1])[0])
        return self.biases.index_select(0, states)

    def _build(self, states: torch.Tensor, tokens: torch.Tensor) -> tuple[torch.Tensor, int]:
        built = self.table.fill(states.cpu().numpy(), tokens.cpu().numpy())
        self._refresh()
        return torch.from_numpy(built).to(self.device), int(built.max())

    def _script(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Replay: every step's states and tokens (T, B), padded with the finished state."""
        assert self.replay is not None
        table = self.table
        steps = max(len(s) for s in self.replay)
        states = np.zeros((steps, self.n), dtype=np.int64)
        tokens = np.full((steps, self.n), table.vocab.end, dtype=np.int64)
        for b, sample in enumerate(self.replay):
            states[: len(sample), b] = sample.states
            tokens[: len(sample), b] = [c if c < table.vocab_size else table.vocab.end
                                        for c in sample.choices]
        return torch.from_numpy(states).to(self.device), torch.from_numpy(tokens).to(self.device)

    def _run_one(self) -> tuple[np.ndarray, np.ndarray]:
        """The same loop for one sample on Python scalars (batch 1 is latency-bound)."""
        table = self.table
        inputs, hc = self._start()
        state = table.root(self.budget)[0]
        steps, kinds, default = table.steps, table.kind, table.default
        after_anchor = torch.full((1,), table.vocab.end, dtype=torch.long, device=self.device)
        record_states, record_choices = [], []
        while state != DONE_STATE:
            h, hc = self.policy.lstm(inputs, hc)
            self.hidden.append(h)
            if kinds[state] == ANCHOR:  # the inputs are drawn at the end
                inputs, choice = after_anchor, int(default[state])
            else:
                logits = self._logits(h, self.rows[state])
                probs = torch.softmax(logits, -1)
                inputs = torch.multinomial(probs, 1, generator=self.generator)[0]
                self.token_probs.append(probs)
                choice = int(inputs.item())
                self.token_logits.append(logits)
                self.token_choices.append(inputs)
            record_states.append(state)
            record_choices.append(choice)
            found = steps.get((state, choice))
            if found is None:  # a new transition: the table may grow
                state = table.step(state, choice).target
                kinds, default = table.kind, table.default
                self._refresh()
            else:
                state = found.target
        return np.array([record_states]), np.array([record_choices])

    def samples(self) -> list[Sample]:
        """The decision records of the sampled architectures (text is rendered lazily)."""
        assert self.anchors is not None
        states, choices, codes = self.anchors.states, self.anchors.choices, self.anchors.codes
        lengths = (states != DONE_STATE).sum(1).tolist()
        return [Sample(tuple(st[:steps]), tuple(ch[:steps]), tuple(co[:steps]), self.budget,
                       self.table)
                for st, ch, co, steps in zip(states.tolist(), choices.tolist(), codes.tolist(),
                                             lengths, strict=True)]


def categorical_stats(logits: torch.Tensor, choices: torch.Tensor, probs: torch.Tensor
                      ) -> tuple[torch.Tensor, torch.Tensor]:
    """Summed log-probability of `choices` and entropy, from (T, B, V) masked logits and
    their softmax `probs` (which sampling has computed already).

    The entropy takes p from `probs`, not exp(log p): exp is several times slower
    where its result underflows to 0, which is every masked token.
    """
    logp = torch.log_softmax(logits, dim=-1)
    lp = logp.gather(2, choices[..., None]).squeeze(2).sum(0)
    ent = -(probs * logp.clamp(min=-1e4)).sum(2).sum(0)  # 0 * log 0 = 0
    return lp, ent
