"""The policy: log-probabilities, the anchor formula, REINFORCE learning, checkpoints."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from nasc.compiler.frontend import parse
from nasc.controller import (
    Budget,
    Controller,
    DecisionTable,
    Policy,
    RandomSampler,
    TrainerConfig,
)
from nasc.controller.decisions import ANCHOR
from nasc.errors import NascError


@pytest.fixture(autouse=True)
def _one_thread() -> None:
    torch.set_num_threads(1)


def _reference_log_prob(policy: Policy, sample) -> torch.Tensor:  # type: ignore[no-untyped-def]
    """Walk the LSTM by hand: masked softmax per token, the paper's sigmoid per anchor."""
    table = policy.table
    h = [torch.zeros(1, 35) for _ in range(2)]
    c = [torch.zeros(1, 35) for _ in range(2)]
    x = torch.zeros(1, 35)  # zeros at the first step
    anchors: list[torch.Tensor] = []
    total = torch.zeros(())
    for state, choice, inputs in zip(sample.states, sample.choices, sample.anchors, strict=True):
        for k, cell in enumerate(policy.cells):
            h[k], c[k] = cell(x if k == 0 else h[k - 1], (h[k], c[k]))
        top = h[-1]
        if table.kind[state] == ANCHOR:
            for j, h_j in enumerate(anchors, start=1):
                score = policy.v(torch.tanh(policy.w_prev(h_j) + policy.w_curr(top)))
                p = torch.sigmoid(score).squeeze()
                total = total + torch.log(p if j in inputs else 1 - p)
            anchors.append(top)
            x = policy.embed.weight[table.vocab.end][None]  # the input after an anchor point
        else:
            logits = policy.out(top)[0]
            mask = torch.from_numpy(table.mask[state])
            total = total + torch.log_softmax(logits.masked_fill(~mask, -np.inf), 0)[choice]
            x = policy.embed.weight[choice][None]
    return total


def test_log_prob_is_lstm_softmax_and_anchor_sigmoid() -> None:
    torch.manual_seed(0)
    table = DecisionTable("cnn")
    policy = Policy(table)
    with torch.no_grad():
        batch = policy.sample(6, Budget(5, None, 5), generator=torch.Generator().manual_seed(1))
        for sample, log_prob in zip(batch.samples, batch.log_prob, strict=True):
            assert "from" in sample.text or sample is batch.samples[0]
            assert torch.allclose(_reference_log_prob(policy, sample), log_prob, atol=1e-4)


def test_anchor_probs_formula() -> None:
    torch.manual_seed(0)
    policy = Policy(DecisionTable("cnn"))
    keys, h = torch.randn(3, 4, 35), torch.randn(3, 35)
    expected = torch.sigmoid(
        torch.tanh(keys + (h @ policy.w_curr.weight.T)[:, None]) @ policy.v.weight[0])
    assert torch.allclose(policy.anchor_probs(keys, h), expected, atol=1e-6)


def test_init_is_uniform_in_range_and_first_input_is_zero() -> None:
    policy = Policy(DecisionTable("cnn"))
    for param in policy.parameters():
        assert param.abs().max() <= 0.08
    assert torch.all(policy.embed.weight[policy.start_id] == 0)


def test_replay_matches_sampling_and_has_gradients() -> None:
    torch.manual_seed(0)
    policy = Policy(DecisionTable("rnn"))
    batch = policy.sample(8, Budget())
    again = policy.replay(batch.samples)
    assert torch.allclose(batch.log_prob, again.log_prob)
    assert torch.allclose(batch.entropy, again.entropy)
    again.log_prob.sum().backward()
    assert policy.out.weight.grad is not None and torch.isfinite(policy.out.weight.grad).all()


def test_fused_replay_has_the_gradients_of_the_step_by_step_sampling() -> None:
    """Replay runs the LSTM over the whole sequence in one call; sampling steps the
    cells one by one: the same function, so the same gradients (anchors included)."""
    ctl = Controller("cnn", budget=Budget(6), seed=0)
    batch = ctl.sample(16, grad=True)
    (batch.log_prob.sum() + batch.entropy.sum()).backward()
    stepped = {n: p.grad.clone() for n, p in ctl.policy.named_parameters()}
    ctl.policy.zero_grad()
    again = ctl.policy.replay(batch.samples)
    (again.log_prob.sum() + again.entropy.sum()).backward()
    for name, param in ctl.policy.named_parameters():
        assert torch.allclose(param.grad, stepped[name], rtol=1e-4, atol=1e-6), name


def test_temperature_changes_entropy() -> None:
    torch.manual_seed(0)
    policy = Policy(DecisionTable("cnn"))
    with torch.no_grad():
        policy.out.weight.mul_(20)
        cold = policy.sample(32, Budget(3, None, 3), temperature=0.3).entropy.mean()
        warm = policy.sample(32, Budget(3, None, 3), temperature=3.0).entropy.mean()
    assert cold < warm


def _five_by_five(text: str) -> float:
    layers = parse(text, "cnn").arch.layers
    return sum(layer.kernel == (5, 5) for layer in layers) / len(layers)


def test_reinforce_learns_five_by_five_kernels_while_random_stays_at_chance() -> None:
    ctl = Controller("cnn", config=TrainerConfig(lr=0.03), budget=Budget(2), seed=0)
    for _ in range(60):
        batch = ctl.sample(16)
        ctl.update(batch.samples, [_five_by_five(s.text) for s in batch.samples])
    learned = np.mean([_five_by_five(s.text) for s in ctl.sample(200).samples])
    chance = np.mean([_five_by_five(s.text) for s in
                      RandomSampler(ctl.table, Budget(2), seed=0).sample(400)])
    assert learned >= 0.9
    assert abs(chance - 1 / 16) < 0.03


def _hub_score(text: str) -> float:
    """Target connectivity: every layer reads layer 1 and no other (score over pairs j < i)."""
    layers = parse(text, "cnn").arch.layers
    pairs = [(i, j) for i in range(2, len(layers) + 1) for j in range(1, i)]
    hits = sum((j in layers[i - 1].inputs) == (j == 1) for i, j in pairs)
    return hits / len(pairs)


def test_controller_learns_target_connectivity() -> None:
    config = TrainerConfig(lr=0.01, entropy_weight=0.02, baseline_decay=0.9)
    ctl = Controller("cnn", config=config, budget=Budget(5, None, 5), seed=0)
    for _ in range(60):
        batch = ctl.sample(16)
        ctl.update(batch.samples, [_hub_score(s.text) for s in batch.samples])
    learned = np.mean([_hub_score(s.text) for s in ctl.sample(200).samples])
    chance = np.mean([_hub_score(s.text) for s in
                      RandomSampler(ctl.table, Budget(5, None, 5), seed=0).sample(400)])
    assert learned >= 0.9
    assert abs(chance - 0.5) < 0.05


def test_baseline_is_an_exponential_moving_average() -> None:
    ctl = Controller("cnn", budget=Budget(2), seed=0)
    batch = ctl.sample(4)
    ctl.update(batch.samples, [1.0, 1.0, 1.0, 1.0])
    assert ctl.baseline == pytest.approx(1.0)
    ctl.update(batch.samples, [0.0, 0.0, 0.0, 0.0])
    assert ctl.baseline == pytest.approx(0.95)
    with pytest.raises(ValueError, match="rewards"):
        ctl.update(batch.samples, [1.0])


def test_curriculum_deepens_every_1600_samples() -> None:
    ctl = Controller("cnn", seed=0)
    assert ctl.current_budget() == Budget(6, None, 6)  # layers bound cnn: tokens untracked
    ctl.samples_seen = 1600
    assert ctl.current_budget().max_layers == 8
    assert all(len(parse(s.text, "cnn").arch.layers) == 8 for s in ctl.sample(5).samples)


def test_save_and_load_round_trip(tmp_path: Path) -> None:
    ctl = Controller("cnn", budget=Budget(3), seed=0)
    batch = ctl.sample(8)
    ctl.update(batch.samples, list(np.linspace(0, 1, 8)))
    path = tmp_path / "ctl.pt"
    ctl.save(path)
    loaded = Controller.load(path)
    assert loaded.baseline == ctl.baseline and loaded.samples_seen == ctl.samples_seen
    for a, b in zip(ctl.policy.state_dict().values(), loaded.policy.state_dict().values(),
                    strict=True):
        assert torch.equal(a, b)
    assert torch.allclose(loaded.policy.replay(batch.samples).log_prob,
                          ctl.policy.replay(batch.samples).log_prob)


def test_load_refuses_other_files_and_spaces(tmp_path: Path) -> None:
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"not a checkpoint")
    with pytest.raises(NascError, match="junk.pt: not a nasc controller checkpoint"):
        Controller.load(junk)
    with pytest.raises(NascError, match="cannot read controller checkpoint: No such file"):
        Controller.load(tmp_path / "missing.pt")
    path = tmp_path / "cnn.pt"
    Controller("cnn", seed=0).save(path)
    with pytest.raises(NascError, match="vocabulary"):
        Controller.load(path, space="rnn")


def test_controller_seed_is_reproducible_and_leaves_global_rng_alone() -> None:
    torch.manual_seed(123)
    before = torch.rand(1)
    torch.manual_seed(123)
    first = Controller("cnn", budget=Budget(3), seed=5)
    assert torch.equal(torch.rand(1), before)
    second = Controller("cnn", budget=Budget(3), seed=5)
    assert [s.text for s in first.sample(4).samples] == [s.text for s in second.sample(4).samples]


def test_controller_trains_on_seeded_architectures() -> None:
    ctl = Controller("cnn", budget=Budget(6), seed=0)
    seeds = [ctl.parse("conv 3x3 36; conv 5x5 48 from 1"), ctl.parse("maxpool 3x3 stride 2")]
    before = ctl.policy.replay(seeds).log_prob.detach()
    for _ in range(5):
        ctl.update(seeds, [1.0, 0.0])
    after = ctl.policy.replay(seeds).log_prob.detach()
    assert after[0] > before[0] and after[1] < before[1]


def test_controller_budget_tracks_tokens_only_where_needed() -> None:
    nested = str(Path(__file__).resolve().parents[2] / "examples/nested.lark")
    assert Controller(nested, seed=0).current_budget() == Budget(None, 512)
    assert Controller("rnn", seed=0).current_budget() == Budget(None, None)
