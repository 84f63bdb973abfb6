"""Anchor attention on the path sampling really takes (`nasc/controller/anchors.py`).

P(layer j is an input of layer i) = sigmoid(v^T tanh(W_prev h_j + W_curr h_i)) / T, checked
against an LSTM walked by hand. At initialisation (weights within 0.08) the anchor scores
are so small that swapping W_prev and W_curr moves a log-probability by about 1e-4, so
these tests scale the attention weights up until any such slip shows by far more than
float32 rounding.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from nasc.controller import Budget, DecisionTable, Policy
from nasc.controller.decisions import ANCHOR
from nasc.controller.samples import Sample


@pytest.fixture(autouse=True)
def _one_thread() -> None:
    torch.set_num_threads(1)


def _strong_policy(seed: int = 0) -> Policy:
    """A `cnn` policy whose anchor scores are of order 1-10 (W_prev, W_curr and v x 25) and
    whose hidden states differ from step to step (LSTM and embeddings x 6): a swap of the
    projections changes a score by (W_prev - W_curr)(h_j - h_i)."""
    torch.manual_seed(seed)
    policy = Policy(DecisionTable("cnn"))
    with torch.no_grad():
        for param in (*policy.cells.parameters(), policy.embed.weight):
            param.mul_(6.0)
        for layer in (policy.w_prev, policy.w_curr, policy.v):
            layer.weight.mul_(25.0)
    return policy


@torch.no_grad()
def _reference(policy: Policy, sample: Sample, temperature: float = 1.0, swap: bool = False,
               pairs: list[tuple[float, bool]] | None = None) -> tuple[float, float]:
    """Log-probability and entropy of `sample`, walking the LSTM one decision at a time;
    each anchor pair's (probability, drawn) appended to `pairs` if given.

    `swap` exchanges W_prev and W_curr: the bug this file guards against.
    """
    table, hidden = policy.table, policy.config.hidden
    w_key, w_query = (policy.w_curr, policy.w_prev) if swap else (policy.w_prev, policy.w_curr)
    h = [torch.zeros(1, hidden) for _ in policy.cells]
    c = [torch.zeros(1, hidden) for _ in policy.cells]
    x = torch.zeros(1, hidden)
    earlier: list[torch.Tensor] = []
    log_prob = entropy = 0.0
    for state, choice, inputs in zip(sample.states, sample.choices, sample.anchors, strict=True):
        for k, cell in enumerate(policy.cells):
            h[k], c[k] = cell(x if k == 0 else h[k - 1], (h[k], c[k]))
        top = h[-1]
        if table.kind[state] == ANCHOR:
            for j, h_j in enumerate(earlier, start=1):
                score = float(policy.v(torch.tanh(w_key(h_j) + w_query(top)))) / temperature
                p = 1.0 / (1.0 + np.exp(-score))
                log_prob += float(np.log(p if j in inputs else 1.0 - p))
                if pairs is not None:
                    pairs.append((p, j in inputs))
                entropy += float(-(p * np.log(p) + (1 - p) * np.log(1 - p)))
            earlier.append(top)
            x = policy.embed.weight[table.vocab.end][None]
        else:
            logits = policy.out(top)[0] / temperature
            mask = torch.from_numpy(table.mask[state])
            logp = torch.log_softmax(logits.masked_fill(~mask, -np.inf), 0)
            log_prob += float(logp[choice])
            entropy += float(-(logp[mask].exp() * logp[mask]).sum())
            x = policy.embed.weight[choice][None]
    return log_prob, entropy


@pytest.mark.parametrize("temperature", [1.0, 2.0])
def test_sampled_anchor_log_probs_follow_the_formula(temperature: float) -> None:
    """Guards against swapping the previous-anchor and current-step projections (and any
    other change of the anchor score) in the sampling path, which a test at initial
    weights cannot see."""
    policy = _strong_policy()
    with torch.no_grad():
        batch = policy.sample(12, Budget(5, None, 5), temperature,
                              torch.Generator().manual_seed(1))
        replayed = policy.replay(batch.samples, temperature)
    pairs = 0
    for sample, lp, ent, lp2 in zip(batch.samples, batch.log_prob, batch.entropy,
                                    replayed.log_prob, strict=True):
        ref_lp, ref_ent = _reference(policy, sample, temperature)
        swapped, _ = _reference(policy, sample, temperature, swap=True)
        assert float(lp) == pytest.approx(ref_lp, rel=1e-4, abs=1e-3)
        assert float(lp2) == pytest.approx(ref_lp, rel=1e-4, abs=1e-3)
        assert float(ent) == pytest.approx(ref_ent, rel=1e-4, abs=1e-3)
        pairs += sum(len(a) for a in sample.anchors)
        assert abs(swapped - ref_lp) > 0.05, "the swap would not show: raise the weights"
    assert pairs > 10  # layers did take inputs, so some Bernoullis came out 1


def test_anchor_choices_follow_their_probabilities() -> None:
    """The inputs drawn are Bernoulli(p) with the formula's p: over 600 pairs the count
    drawn is sum(p) within 4 standard deviations. Guards against drawing the complement
    (`uniform > p`), whose log-probabilities would still match the formula."""
    policy = _strong_policy(seed=2)
    with torch.no_grad():
        batch = policy.sample(100, Budget(4, None, 4), generator=torch.Generator().manual_seed(0))
    pairs: list[tuple[float, bool]] = []
    for sample in batch.samples:
        _reference(policy, sample, pairs=pairs)
    p = np.array([q for q, _ in pairs])
    drawn = sum(d for _, d in pairs)
    sd = float(np.sqrt((p * (1 - p)).sum()))
    assert len(pairs) == 600
    assert abs(drawn - p.sum()) < 4 * sd + 1
    assert abs(p.sum() - (1 - p).sum()) > 8 * sd + 2  # the complement would be far off
