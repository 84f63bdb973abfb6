"""Anchor pairs, the entropy formula and the anchor-weight cache (the fast paths)."""

from __future__ import annotations

import numpy as np
import torch

from nasc.controller import Budget, DecisionTable, Policy
from nasc.controller.anchors import pairs_of
from nasc.controller.rollout import categorical_stats


def test_pairs_are_every_earlier_anchor_point_of_the_same_sample() -> None:
    counts = (3, 0, 1, 4)
    pairs = pairs_of(counts)
    sample = np.repeat(np.arange(len(counts)), counts)
    expected = [(n, m) for n in range(len(sample)) for m in range(n) if sample[m] == sample[n]]
    assert list(zip(pairs.query.tolist(), pairs.key.tolist(), strict=True)) == expected
    assert pairs.owner.tolist() == [int(sample[n]) for n, _ in expected]
    assert pairs.rows.tolist() == [[2 * m, 2 * n + 1] for n, m in expected]


def test_entropy_from_probs_is_the_masked_softmax_entropy() -> None:
    logits = torch.randn(5, 3, 7)
    logits[..., 4:] = float("-inf")
    choices = torch.randint(0, 4, (5, 3))
    lp, ent = categorical_stats(logits, choices, torch.softmax(logits, -1))
    logp = torch.log_softmax(logits[..., :4], -1)
    assert torch.allclose(lp, logp.gather(2, choices[..., None]).squeeze(2).sum(0))
    assert torch.allclose(ent, -(logp.exp() * logp).sum(2).sum(0))


def test_cached_anchor_weights_follow_parameter_updates() -> None:
    torch.manual_seed(0)
    policy = Policy(DecisionTable("cnn"))
    budget = Budget(4, None, 4)
    with torch.no_grad():
        batch = policy.sample(8, budget, generator=torch.Generator().manual_seed(0))
        policy.w_prev.weight.mul_(3.0)  # in place, as an optimiser step is
        policy.v.weight.add_(0.5)
        cached = policy.replay(batch.samples).log_prob
    fresh = policy.replay(batch.samples).log_prob.detach()  # grad on: no cache
    assert torch.equal(cached, fresh)
    assert not torch.allclose(cached, batch.log_prob)


def test_cnn_replay_matches_sampling_with_anchor_points() -> None:
    torch.manual_seed(0)
    policy = Policy(DecisionTable("cnn"))
    with torch.no_grad():
        batch = policy.sample(16, Budget(6, None, 2), generator=torch.Generator().manual_seed(3))
    assert any("from" in s.text for s in batch.samples)
    again = policy.replay(batch.samples)
    assert torch.allclose(batch.log_prob, again.log_prob.detach(), atol=1e-5)
    assert torch.allclose(batch.entropy, again.entropy.detach(), atol=1e-5)
    again.log_prob.sum().backward()
    assert policy.v.weight.grad is not None and torch.isfinite(policy.v.weight.grad).all()
