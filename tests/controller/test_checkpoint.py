"""Controller checkpoints keep every setting, load safely, and refuse what is not theirs.

Written after mutation testing showed that a checkpoint could lose its budget,
curriculum, policy sizes or token budget (or load with `weights_only=False`) with every
test still green.
"""

from __future__ import annotations

import io
from pathlib import Path

import pytest
import torch

from nasc.controller import Budget, Controller, Curriculum, PolicyConfig, TrainerConfig
from nasc.errors import NascError

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


class NotWeights:
    """An object `weights_only=True` refuses to unpickle."""


def _trained(space: str = "cnn", **kw: object) -> Controller:
    ctl = Controller(space, seed=3, **kw)  # type: ignore[arg-type]
    batch = ctl.sample(4)
    ctl.update(batch.samples, [0.1, 0.9, 0.4, 0.2])
    return ctl


def _same(a: Controller, b: Controller) -> None:
    assert (b.budget, b.curriculum, b.max_tokens) == (a.budget, a.curriculum, a.max_tokens)
    assert (b.policy_config, b.config) == (a.policy_config, a.config)
    assert (b.baseline, b.samples_seen) == (a.baseline, a.samples_seen)
    assert b.table.space.path == a.table.space.path
    for (name, x), y in zip(a.policy.state_dict().items(), b.policy.state_dict().values(),
                            strict=True):
        assert torch.equal(x, y), name
    assert b.optimizer.state_dict()["state"].keys() == a.optimizer.state_dict()["state"].keys()


def test_every_setting_round_trips_through_a_path_and_a_file_object(tmp_path: Path) -> None:
    ctl = _trained(policy_config=PolicyConfig(hidden=12, attention=10),
                   config=TrainerConfig(lr=0.01, baseline_decay=0.8, temperature=1.5),
                   budget=Budget(3, None, 2), curriculum=Curriculum(start=2, every=9),
                   max_tokens=77)
    ctl.save(tmp_path / "c.pt")
    _same(ctl, Controller.load(tmp_path / "c.pt"))
    buffer = io.BytesIO()
    ctl.save(buffer)
    buffer.seek(0)
    _same(ctl, Controller.load(buffer))


def test_a_curriculum_controller_keeps_no_fixed_budget(tmp_path: Path) -> None:
    ctl = _trained(curriculum=Curriculum(start=2, step=1, every=3))
    ctl.save(tmp_path / "c.pt")
    loaded = Controller.load(tmp_path / "c.pt")
    assert loaded.budget is None and loaded.current_budget() == ctl.current_budget()
    assert loaded.current_budget() == Budget(3, None, 3)  # 4 samples seen, one step deeper


def test_a_custom_space_is_saved_by_its_path(tmp_path: Path) -> None:
    ctl = _trained(str(EXAMPLES / "small_cnn.lark"), budget=Budget(2))
    ctl.save(tmp_path / "c.pt")
    loaded = Controller.load(tmp_path / "c.pt")
    assert loaded.table.space.path == ctl.table.space.path
    assert loaded.table.space.path.name == "small_cnn.lark"
    assert all("7x" not in s.text and "64" not in s.text for s in loaded.sample(20).samples)
    builtin = _trained("cnn", budget=Budget(2))
    builtin.save(tmp_path / "b.pt")
    assert Controller.load(tmp_path / "b.pt").table.space.name == "cnn"


@pytest.mark.parametrize("payload, message", [
    ([1, 2, 3], r"c\.pt: not a nasc controller checkpoint$"),
    ({"format": "something-else"}, r"c\.pt: not a nasc controller checkpoint$"),
    ({"format": "nasc-controller-1", "x": NotWeights()},
     r"c\.pt: not a nasc controller checkpoint \(torch cannot load it: UnpicklingError\)"),
])
def test_foreign_files_are_refused_in_one_line(tmp_path: Path, payload: object,
                                               message: str) -> None:
    torch.save(payload, tmp_path / "c.pt")
    with pytest.raises(NascError, match=message):
        Controller.load(tmp_path / "c.pt")


def test_samples_carry_gradients_only_when_asked() -> None:
    ctl = Controller("cnn", budget=Budget(2), seed=0)
    assert not ctl.sample(2).log_prob.requires_grad
    assert ctl.sample(2, grad=True).log_prob.requires_grad


def test_the_saved_space_is_a_name_for_builtins_and_a_path_otherwise(tmp_path: Path) -> None:
    """A built-in space is saved by name (the checkpoint works on another install); a
    custom one by its path."""
    Controller("cnn", budget=Budget(2), seed=0).save(tmp_path / "b.pt")
    assert torch.load(tmp_path / "b.pt", weights_only=True)["space"] == "cnn"
    custom = Controller(str(EXAMPLES / "small_cnn.lark"), budget=Budget(2), seed=0)
    custom.save(tmp_path / "c.pt")
    assert torch.load(tmp_path / "c.pt", weights_only=True)["space"] == \
        str(custom.table.space.path)


def test_the_policy_is_built_with_the_configured_sizes() -> None:
    ctl = Controller("cnn", policy_config=PolicyConfig(hidden=12, layers=1, attention=10),
                     seed=0)
    assert ctl.space is ctl.table.space and ctl.space.name == "cnn"
    assert ctl.policy.w_prev.weight.shape == (10, 12) and len(ctl.policy.cells) == 1


def test_curriculum_steps_every_n_samples() -> None:
    ladder = Curriculum(start=1, step=2, every=1)
    assert [ladder.layers(n) for n in range(4)] == [1, 3, 5, 7]
    assert Curriculum(start=2, step=1, every=3, limit=3).layers(100) == 3
    assert Curriculum(start=2, exact=False).budget(0, 40) == Budget(2, 40, 0)
