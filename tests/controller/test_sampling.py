"""Every sample is valid, compiles and respects its budget, for every kind of space."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
import torch

from nasc.compiler.frontend import parse
from nasc.controller import Budget, DecisionTable, Policy, RandomSampler, UniformSampler

ROOT = Path(__file__).resolve().parents[2]
SMALL = str(ROOT / "examples/small_cnn.lark")
NESTED = str(ROOT / "examples/nested.lark")


def _layers(text: str, space: str) -> int:
    return len(parse(text, space).arch.layers)


@pytest.mark.parametrize("space,budget", [
    ("cnn", Budget(max_layers=8, min_layers=2)),
    ("rnn", Budget()),
    (SMALL, Budget(max_layers=5)),
])
def test_random_samples_are_valid_and_within_budget(space: str, budget: Budget) -> None:
    table = DecisionTable(space)
    for sample in RandomSampler(table, budget, seed=1).sample(300):
        parsed = parse(sample.text, table.space)  # raises on any invalid sample
        if budget.max_layers is not None:
            assert budget.min_layers <= len(parsed.arch.layers) <= budget.max_layers


@pytest.mark.parametrize("space,budget", [
    ("cnn", Budget(max_layers=6)),
    ("rnn", Budget()),
    (SMALL, Budget(max_layers=4)),
])
def test_policy_samples_are_valid(space: str, budget: Budget) -> None:
    torch.manual_seed(0)
    table = DecisionTable(space)
    policy = Policy(table)
    with torch.no_grad():
        batch = policy.sample(200, budget, generator=torch.Generator().manual_seed(0))
    for sample in batch.samples:
        parsed = parse(sample.text, table.space)
        if budget.max_layers is not None:
            assert len(parsed.arch.layers) <= budget.max_layers
    assert torch.all(batch.log_prob <= 0) and torch.all(batch.entropy >= 0)


@pytest.mark.parametrize("tokens", [1, 2, 7, 24])
def test_recursive_grammar_terminates_within_token_budget(tokens: int) -> None:
    table = DecisionTable(NESTED)
    lexer = table.space.parser
    samples = RandomSampler(table, Budget(max_tokens=tokens), seed=tokens).sample(150)
    with torch.no_grad():
        samples += Policy(table).sample(150, Budget(max_tokens=tokens)).samples
    for sample in samples:
        lexer.parse(sample.text)
        assert 1 <= len(list(lexer.lex(sample.text))) <= tokens


def test_curriculum_depth_is_exact_when_min_equals_max() -> None:
    table = DecisionTable("cnn")
    for sample in RandomSampler(table, Budget(6, None, 6), seed=0).sample(50):
        assert _layers(sample.text, "cnn") == 6


def test_same_seed_same_samples() -> None:
    table = DecisionTable("cnn")
    first = [s.text for s in RandomSampler(table, Budget(6), seed=7).sample(20)]
    again = [s.text for s in RandomSampler(table, Budget(6), seed=7).sample(20)]
    other = [s.text for s in RandomSampler(table, Budget(6), seed=8).sample(20)]
    assert first == again != other


def test_uniform_sampler_is_valid() -> None:
    table = DecisionTable("cnn")
    for sample in UniformSampler(table, Budget(4), seed=0).sample(100):
        assert _layers(sample.text, "cnn") <= 4


def test_layer_inputs_are_earlier_sorted_and_unique() -> None:
    table = DecisionTable("cnn")
    for sample in RandomSampler(table, Budget(10), seed=3).sample(100):
        for number, layer in enumerate(parse(sample.text, "cnn").arch.layers, start=1):
            assert list(layer.inputs) == sorted(set(layer.inputs))
            assert all(1 <= j < number for j in layer.inputs)


@pytest.mark.skipif(importlib.util.find_spec("nasc.api") is None, reason="compiler not present")
def test_samples_compile() -> None:
    import nasc.api as api

    torch.manual_seed(0)
    for space, budget in (("cnn", Budget(5)), (SMALL, Budget(4))):
        table = DecisionTable(space)
        for sample in RandomSampler(table, budget, seed=0).sample(12):
            net = api.compile(sample.text, table.space, input_shape=(3, 16, 16), num_classes=4)
            assert net(torch.randn(2, 3, 16, 16)).shape == (2, 4)
    table = DecisionTable("rnn")
    for sample in RandomSampler(table, Budget(), seed=0).sample(12):
        api.compile_ir(sample.text, table.space)


def test_samples_pickle_without_their_table() -> None:
    import pickle

    table = DecisionTable("cnn")
    for sample in RandomSampler(table, Budget(5), seed=2).sample(5):
        data = pickle.dumps(sample)
        assert len(data) < 4096
        again = pickle.loads(data)
        assert again == sample and again.text == sample.text and again.anchors == sample.anchors


def test_fast_text_matches_the_reference_rendering() -> None:
    from nasc.controller.samples import text_of

    for space, budget in (("cnn", Budget(8)), ("rnn", Budget()), (NESTED, Budget(None, 20))):
        table = DecisionTable(space)
        with torch.no_grad():
            samples = Policy(table).sample(40, budget).samples
        for s in samples:
            assert s.text == text_of(table, budget, s.states, s.choices, s.anchors)


def test_deep_networks_read_layers_past_64() -> None:
    torch.manual_seed(1)
    table = DecisionTable("cnn")
    policy = Policy(table)
    with torch.no_grad():
        batch = policy.sample(3, Budget(70, None, 70))
    highest = 0
    for sample in batch.samples:
        layers = parse(sample.text, "cnn").arch.layers
        assert len(layers) == 70
        highest = max(highest, *(max(layer.inputs, default=0) for layer in layers))
    assert highest > 64
    assert torch.allclose(policy.replay(batch.samples).log_prob, batch.log_prob)
