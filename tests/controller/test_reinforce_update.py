"""One REINFORCE step, term by term: advantage, baseline, entropy bonus, clipping, Adam.

grad = -mean((R - b) grad log P(a)) - w grad mean(H), with b the baseline *before*
this step's rewards enter its moving average, then b <- d b + (1 - d) mean(R).
"""

from __future__ import annotations

import pytest
import torch

from nasc.controller import Budget, Controller, TrainerConfig


@pytest.fixture(autouse=True)
def _one_thread() -> None:
    torch.set_num_threads(1)


def _controller(**config: float) -> Controller:
    settings = {"grad_clip": 1e9, **config}  # no clipping unless asked: raw gradients
    return Controller("cnn", config=TrainerConfig(**settings), budget=Budget(3, None, 3),
                      seed=0)


def _expected_grads(ctl: Controller, samples: list, rewards: torch.Tensor, baseline: float,
                    entropy_weight: float = 0.0) -> dict[str, torch.Tensor]:
    """Gradients of the REINFORCE loss with the given baseline, computed independently."""
    ctl.policy.zero_grad()
    batch = ctl.policy.replay(samples)
    loss = -((rewards - baseline) * batch.log_prob).mean()
    (loss - entropy_weight * batch.entropy.mean()).backward()
    grads = {n: p.grad.clone() for n, p in ctl.policy.named_parameters()}
    ctl.policy.zero_grad()
    return grads


def test_advantage_uses_the_baseline_from_before_the_update() -> None:
    """Guards against updating the moving average first and then taking R - b with the
    new b (here 0.0 vs 0.05: every gradient 5 % off)."""
    ctl = _controller(entropy_weight=0.0)
    ctl.baseline = 0.0
    samples = ctl.sample(6).samples
    rewards = torch.ones(6)
    before = _expected_grads(ctl, samples, rewards, baseline=0.0)
    after = _expected_grads(ctl, samples, rewards, baseline=0.05)
    stats = ctl.update(samples, rewards)
    for name, param in ctl.policy.named_parameters():
        assert torch.allclose(param.grad, before[name], rtol=1e-4, atol=1e-7), name
    assert any(not torch.allclose(before[n], after[n], rtol=1e-3, atol=1e-7) for n in before)
    assert stats["baseline"] == pytest.approx(0.05)
    assert ctl.baseline == pytest.approx(0.05)


def test_baseline_is_an_exponential_moving_average_seeded_by_the_first_batch() -> None:
    ctl = _controller(baseline_decay=0.9)
    samples = ctl.sample(4).samples
    rewards = torch.tensor([0.2, 0.4, 0.6, 0.8])
    with torch.no_grad():
        log_prob = ctl.policy.replay(samples).log_prob
    first = ctl.update(samples, rewards)
    assert ctl.baseline == pytest.approx(0.5)  # seeded by the first batch's mean
    assert first["loss"] == pytest.approx(float(-((rewards - 0.5) * log_prob).mean()), rel=1e-5)
    assert first["reward"] == pytest.approx(0.5)
    ctl.update(samples, [1.0, 1.0, 1.0, 1.0])
    assert ctl.baseline == pytest.approx(0.9 * 0.5 + 0.1 * 1.0)
    ctl.update(samples, [0.0, 0.0, 0.0, 0.0])
    assert ctl.baseline == pytest.approx(0.9 * 0.55)


def test_loss_and_gradients_include_the_entropy_bonus() -> None:
    ctl = _controller(entropy_weight=0.3)
    ctl.baseline = 0.25
    samples = ctl.sample(5).samples
    rewards = torch.tensor([0.1, 0.9, 0.4, 0.0, 0.7])
    with torch.no_grad():
        batch = ctl.policy.replay(samples)
    loss = -((rewards - 0.25) * batch.log_prob).mean() - 0.3 * batch.entropy.mean()
    expected = _expected_grads(ctl, samples, rewards, 0.25, entropy_weight=0.3)
    plain = _expected_grads(ctl, samples, rewards, 0.25)
    stats = ctl.update(samples, rewards)
    assert stats["loss"] == pytest.approx(float(loss), rel=1e-5)
    assert stats["entropy"] == pytest.approx(float(batch.entropy.mean()), rel=1e-5)
    for name, param in ctl.policy.named_parameters():
        assert torch.allclose(param.grad, expected[name], rtol=1e-4, atol=1e-7), name
    assert any(not torch.allclose(expected[n], plain[n], rtol=1e-3, atol=1e-7) for n in plain)


def test_gradients_are_clipped_to_the_norm_and_adam_steps() -> None:
    ctl = _controller(grad_clip=0.01, lr=0.1)
    ctl.baseline = 0.0
    samples = ctl.sample(4).samples
    raw = _expected_grads(ctl, samples, torch.ones(4), 0.0)
    norm = torch.sqrt(sum((g**2).sum() for g in raw.values()))
    weights = {n: p.detach().clone() for n, p in ctl.policy.named_parameters()}
    stats = ctl.update(samples, [1.0] * 4)
    assert stats["grad_norm"] == pytest.approx(float(norm), rel=1e-4) and float(norm) > 0.01
    clipped = torch.sqrt(sum((p.grad**2).sum() for p in ctl.policy.parameters()))
    assert float(clipped) == pytest.approx(0.01, rel=1e-3)
    for name, param in ctl.policy.named_parameters():  # Adam's first step: lr g / (|g| + eps)
        g = raw[name] * (0.01 / norm)
        expected = -0.1 * g / (g.abs() + 1e-8)
        assert torch.allclose(param.detach() - weights[name], expected, rtol=1e-3, atol=1e-6), name


def test_rewards_of_the_wrong_shape_are_refused() -> None:
    ctl = _controller()
    samples = ctl.sample(3).samples
    with pytest.raises(ValueError, match="3 samples but rewards of shape"):
        ctl.update(samples, [1.0, 2.0])


def test_int_rewards_and_the_trainer_temperature_are_used() -> None:
    """Rewards may be integers; the replay that scores the samples uses the trainer's
    temperature (the one they were sampled at), not 1."""
    ctl = _controller(temperature=2.0)
    ctl.baseline = 0.0
    samples = ctl.sample(4).samples
    ctl.policy.zero_grad()
    hot = ctl.policy.replay(samples, 2.0)
    (-(torch.tensor([1.0, 0.0, 1.0, 0.0]) * hot.log_prob).mean()).backward()
    expected = {n: p.grad.clone() for n, p in ctl.policy.named_parameters()}
    ctl.update(samples, [1, 0, 1, 0])
    for name, param in ctl.policy.named_parameters():
        assert torch.allclose(param.grad, expected[name], rtol=1e-4, atol=1e-7), name


def test_budgets_follow_the_curriculum_unless_fixed() -> None:
    from nasc.controller import Curriculum

    ctl = Controller("cnn", curriculum=Curriculum(start=2, step=1, every=4, limit=3), seed=0)
    assert ctl.current_budget() == Budget(2, None, 2)  # cnn needs no token budget
    ctl.sample(3)
    assert ctl.samples_seen == 3 and ctl.current_budget() == Budget(2, None, 2)
    batch = ctl.sample(2)  # drawn at 3 seen: still 2 layers each
    assert all(s.text.count("\n") + s.text.count(";") == 1 for s in batch.samples)
    assert ctl.samples_seen == 5 and ctl.current_budget() == Budget(3, None, 3)
    ctl.sample(20)
    assert ctl.current_budget() == Budget(3, None, 3)  # the limit
    fixed = Controller("cnn", budget=Budget(4), seed=0)
    fixed.sample(10)
    assert fixed.current_budget() == Budget(4)
    assert Controller("rnn", seed=0).current_budget() == Budget(None, None)  # finite space
    loose = Controller("cnn", curriculum=Curriculum(start=3, exact=False), seed=0)
    assert loose.current_budget() == Budget(3, None, 0)


def test_recursive_spaces_get_the_token_budget() -> None:
    from pathlib import Path

    nested = Path(__file__).resolve().parents[2] / "examples" / "nested.lark"
    ctl = Controller(str(nested), max_tokens=40, seed=0)
    assert ctl.current_budget() == Budget(None, 40)


def test_seeded_controllers_sample_alike_whatever_the_global_rng() -> None:
    torch.manual_seed(1)
    a = Controller("cnn", budget=Budget(3), seed=7).sample(6)
    torch.manual_seed(2)
    b = Controller("cnn", budget=Budget(3), seed=7).sample(6)
    assert [s.text for s in a.samples] == [s.text for s in b.samples]
    c = Controller("cnn", budget=Budget(3), seed=8).sample(6)
    assert [s.text for s in c.samples] != [s.text for s in a.samples]


def test_sample_temperature_overrides_the_trainer_temperature() -> None:
    ctl = _controller(temperature=1.0)
    batch = ctl.sample(5, temperature=3.0)
    with torch.no_grad():
        at3 = ctl.policy.replay(batch.samples, 3.0).log_prob
        at1 = ctl.policy.replay(batch.samples, 1.0).log_prob
    assert torch.allclose(batch.log_prob, at3, atol=1e-4)
    assert not torch.allclose(batch.log_prob, at1, atol=1e-2)


def test_centred_rank_counts_ties_half_and_ranks_among_recent_rewards() -> None:
    from nasc.controller.reinforce import centred_rank

    batch = torch.tensor([0.5, 0.9, 0.1, 0.5])
    # the batch alone: below + ties / 2 among the 3 others, over 3, less 1/2
    assert centred_rank(batch, []).tolist() == pytest.approx([0.0, 0.5, -0.5, 0.0])
    # among 4 earlier rewards too (7 others): 0.9 beats all 7; 0.1 ties one (0.1), beats none
    recent = [0.1, 0.2, 0.3, 0.4]
    assert centred_rank(batch, recent).tolist() == pytest.approx(
        [(4 + 1 + 0.5) / 7 - 0.5, 0.5, 0.5 / 7 - 0.5, (4 + 1 + 0.5) / 7 - 0.5])
    assert centred_rank(torch.tensor([0.7]), []).tolist() == [0.0]


def test_rank_baseline_steps_on_the_centred_ranks_and_keeps_a_window() -> None:
    """Advantage = the reward's centred rank among the last `rank_window` rewards and the
    batch, not R - b; the reward's scale does not matter."""
    ctl = _controller(baseline="rank", rank_window=3)
    samples = ctl.sample(4).samples
    rewards = torch.tensor([0.80, 0.81, 0.79, 0.10])
    ranks = torch.tensor([2 / 3, 1.0, 1 / 3, 0.0]) - 0.5  # among the 3 others: 2, 3, 1, 0
    expected = _expected_grads(ctl, samples, ranks, 0.0)
    ctl.update(samples, rewards)
    for name, param in ctl.policy.named_parameters():
        assert torch.allclose(param.grad, expected[name], rtol=1e-4, atol=1e-7), name
    assert ctl.recent == pytest.approx([0.81, 0.79, 0.10])  # the last 3
    assert ctl.baseline == pytest.approx(0.95 * 0.625 + 0.05 * 0.625)  # still kept


def test_ppo_epochs_take_clipped_steps_from_the_sampling_policy() -> None:
    """k > 1 epochs: the first step's gradient is REINFORCE's (ratio 1), and each later
    one is that of -mean(min(r A, clip(r, 1 - e, 1 + e) A)) with r = P(a) / P_old(a), P_old
    the policy before the update."""
    ctl = _controller(ppo_epochs=3, ppo_clip=0.05, lr=0.05)
    ctl.baseline = 0.5
    samples = ctl.sample(6).samples
    rewards = torch.tensor([0.9, 0.1, 0.7, 0.3, 0.95, 0.0])
    advantage = rewards - 0.5
    with torch.no_grad():
        old = ctl.policy.replay(samples).log_prob
    reference = _controller(lr=0.05)  # the same three steps, done by hand
    reference.policy.load_state_dict(ctl.policy.state_dict())
    for epoch in range(3):
        reference.optimizer.zero_grad()
        ratio = torch.exp(reference.policy.replay(samples).log_prob - old)
        loss = -torch.min(ratio * advantage, ratio.clamp(0.95, 1.05) * advantage).mean()
        loss.backward()
        if epoch == 0:
            first = {n: p.grad.clone() for n, p in reference.policy.named_parameters()}
        reference.optimizer.step()
    assert ratio.min() < 0.95 or ratio.max() > 1.05  # the clip was reached
    plain = _expected_grads(ctl, samples, rewards, 0.5)
    for name in plain:
        assert torch.allclose(first[name], plain[name], rtol=1e-4, atol=1e-7), name
    ctl.update(samples, rewards)
    for (name, param), ref in zip(ctl.policy.named_parameters(),
                                  reference.policy.parameters(), strict=True):
        assert torch.allclose(param, ref, rtol=1e-4, atol=1e-6), name
        assert torch.allclose(param.grad, ref.grad, rtol=1e-4, atol=1e-7), name


def test_trainer_settings_are_checked() -> None:
    with pytest.raises(ValueError, match="baseline 'median'"):
        TrainerConfig(baseline="median")
    with pytest.raises(ValueError, match="ppo_epochs"):
        TrainerConfig(ppo_epochs=0)
