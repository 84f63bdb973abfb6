"""User functions in a search: evaluators (`evaluate(model, trial)`) and data (`data()`).

A function travels to the workers by reference, `module:function` (dotted names for
nested attributes), resolved again in each worker process; that is what `--evaluate`
and `--data` take and what the store records. The Python API turns a function into
its reference; a lambda or a nested function has none, so it runs only inline, from a
process-local registry (`__local__:NAME`).

    reference(fn, what, inline) -> "module:function"      (the API side)
    resolve(ref, what) -> the function                     (every worker)
    load_user_data(ref) -> ImageData                       (through `load_data`)
    run_evaluator(model, data, spec, guard, result) -> (reward or None, metrics)

An evaluator returns a float (the metric `value`) or a dict of metrics; it may call
`trial.report(epoch, **metrics)` once per epoch, which also checks the time limit,
that the numbers are finite and, with a pruner, whether the trial goes on (it raises
`nasc.runtime.pruners.TrialPruned` when not: let it propagate). Whatever it raises, a
NaN and a run over the time limit are failed trials, as for the built-in children.
"""

from __future__ import annotations

import importlib
import math
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from nasc.errors import NascError
from nasc.runtime.pruners import EpochLog

if TYPE_CHECKING:
    from nasc.runtime.child import Guard, TrialSpec
    from nasc.runtime.data import Data, ImageData

LOCAL = "__local__"
_LOCAL: dict[str, Callable[..., Any]] = {}  # name -> a function that has no import path
_REF = re.compile(r"[A-Za-z_][\w.]*:[A-Za-z_][\w.]*", re.ASCII)


def is_reference(text: str) -> bool:
    """Whether `text` has the form `module:function`."""
    return bool(_REF.fullmatch(text))


def reference(fn: Callable[..., Any], what: str, inline: bool) -> str:
    """The `module:function` by which a worker finds `fn` again; a function without one
    (a lambda, a nested function, one from an interactive session) only when `inline`."""
    if not callable(fn):
        raise NascError(f"{what} must be a function or 'module:function', "
                        f"got {type(fn).__name__}")
    module = getattr(fn, "__module__", None) or ""
    name = getattr(fn, "__qualname__", "") or getattr(fn, "__name__", "")
    ref = f"{module}:{name}"
    found = None
    if "<" not in name and is_reference(ref) and (module != "__main__" or _main_is_file()):
        try:
            found = resolve(ref, what)
        except NascError:
            found = None
    if found is fn:
        return ref
    if not inline:
        raise NascError(f"{what} {name or fn!r} cannot reach worker processes (a lambda, a "
                        f"nested function or one not importable as {ref}): define it at the "
                        f"top level of a module, or use executor='inline'")
    key = f"{LOCAL}:{re.sub(r'[^A-Za-z0-9_]', '_', name) or 'fn'}_{id(fn):x}"
    _LOCAL[key.split(":", 1)[1]] = fn
    return key


def _main_is_file() -> bool:
    return bool(getattr(sys.modules.get("__main__"), "__file__", None))


def resolve(ref: str, what: str) -> Callable[..., Any]:
    """The function `ref` names (`module:function`), imported here; one line when it is not
    there (on Ray, the module must be importable on every worker)."""
    module_name, _, name = ref.partition(":")
    if module_name == LOCAL:
        if name not in _LOCAL:
            raise NascError(f"{what} {ref}: a function given to nasc.search in another process "
                            f"(lambdas and nested functions run only inline, in that process)")
        return _LOCAL[name]
    if not is_reference(ref):
        raise NascError(f"{what} {ref!r}: expected module:function (e.g. mypkg.train:evaluate)")
    try:
        obj: Any = importlib.import_module(module_name)
    except ImportError as exc:
        raise NascError(f"{what} {ref}: cannot import module {module_name!r} ({exc}); it must "
                        f"be importable where trials run (on PYTHONPATH; with --executor ray, "
                        f"on every Ray worker)") from None
    for part in name.split("."):
        if not hasattr(obj, part):
            raise NascError(f"{what} {ref}: module {module_name!r} has no {name!r}")
        obj = getattr(obj, part)
    if not callable(obj):
        raise NascError(f"{what} {ref}: {name!r} is not a function")
    return obj  # type: ignore[no-any-return]


# --- data ------------------------------------------------------------------------------
def _tensor(value: Any, name: str, ref: str) -> torch.Tensor:
    try:
        return value if isinstance(value, torch.Tensor) else torch.as_tensor(np.asarray(value))
    except (TypeError, ValueError, RuntimeError) as exc:
        raise NascError(f"--data {ref}: {name} is not an array ({exc})") from None


def _stack(dataset: Any, name: str, ref: str) -> tuple[torch.Tensor, torch.Tensor]:
    """A map-style dataset of (x, y) pairs as two tensors."""
    try:
        pairs = [dataset[i] for i in range(len(dataset))]
        xs = torch.stack([_tensor(x, name, ref) for x, _ in pairs])
        ys = torch.as_tensor([int(y) for _, y in pairs])
    except (TypeError, ValueError, RuntimeError) as exc:
        raise NascError(f"--data {ref}: {name} is not a dataset of (x, y) pairs "
                        f"({type(exc).__name__}: {exc})") from None
    return xs, ys


def _parts(value: Any, ref: str) -> dict[str, Any]:
    if isinstance(value, dict):
        return value
    if isinstance(value, tuple | list) and len(value) in (2, 3) and hasattr(value[0], "__len__") \
            and not isinstance(value[0], torch.Tensor | np.ndarray):
        return dict(zip(("train", "valid", "test"), value, strict=False))
    if isinstance(value, tuple | list) and len(value) in (4, 6):
        keys = ("x_train", "y_train", "x_valid", "y_valid", "x_test", "y_test")
        return dict(zip(keys, value, strict=False))
    raise NascError(f"--data {ref} must return (x_train, y_train, x_valid, y_valid[, x_test, "
                    f"y_test]) tensors, (train, valid[, test]) datasets or a dict of them; got "
                    f"{type(value).__name__}")


def _arrays(parts: dict[str, Any], ref: str) -> dict[str, torch.Tensor]:
    """x_SPLIT (float) and y_SPLIT (int64) tensors for the splits `parts` holds."""
    arrays: dict[str, torch.Tensor] = {}
    for split_name in ("train", "valid", "test"):
        if split_name in parts:
            arrays["x_" + split_name], arrays["y_" + split_name] = _stack(
                parts[split_name], split_name, ref)
        elif "x_" + split_name in parts:
            for axis in "xy":
                key = f"{axis}_{split_name}"
                arrays[key] = _tensor(parts.get(key), key, ref)
    for key in ("x_train", "y_train", "x_valid", "y_valid"):
        if key not in arrays:
            raise NascError(f"--data {ref}: no {key} in what it returned")
    return {k: v.float() if k[0] == "x" else v.long() for k, v in arrays.items()}


def _check_split(x: torch.Tensor, y: torch.Tensor | None, split_name: str, ref: str) -> None:
    if x.dim() != 4 or y is None or y.dim() != 1 or len(x) != len(y) or not len(y):
        raise NascError(f"--data {ref}: {split_name} must be images (N, C, H, W) and N "
                        f"labels, got {tuple(x.shape)} and {None if y is None else tuple(y.shape)}")
    if not torch.isfinite(x).all():
        raise NascError(f"--data {ref}: {split_name} images hold NaN or infinite values")


def load_user_data(ref: str) -> ImageData:
    """Call the data function `ref` and check what it returns (images (N, C, H, W) with
    integer labels 0..K-1). A test part, if given, is kept for `nasc train`."""
    from nasc.runtime.data import ImageData, check_labels

    try:
        value = resolve(ref, "--data")()
    except NascError:
        raise
    except Exception as exc:  # noqa: BLE001 - the user's code: its error, in one line
        raise NascError(f"--data {ref}: the function raised {type(exc).__name__}: {exc}"
                        ) from None
    parts = _parts(value, ref)
    a = _arrays(parts, ref)
    splits = [s for s in ("train", "valid", "test") if "x_" + s in a]
    for split_name in splits:
        _check_split(a["x_" + split_name], a.get("y_" + split_name), split_name, ref)
    if a["x_valid"].shape[1:] != a["x_train"].shape[1:]:
        raise NascError(f"--data {ref}: train and validation images differ in shape")
    num_classes = int(parts.get("num_classes") or max(2, int(a["y_train"].max()) + 1))
    for split_name in splits:
        check_labels(a["y_" + split_name].numpy(), num_classes, f"--data {ref} {split_name}")
    data = ImageData(ref, a["x_train"], a["y_train"], a["x_valid"], a["y_valid"], num_classes)
    if "x_test" in a:
        data.test = (a["x_test"], a["y_test"])  # type: ignore[attr-defined]
    return data


# --- evaluators ------------------------------------------------------------------------
@dataclass
class TrialContext:
    """What an evaluator gets beside the model: the trial, its data, and `report`."""

    id: int
    arch: str
    params: int
    macs: int | None
    device: torch.device
    data: Data
    epochs: int
    seed: int
    guard: Guard = field(repr=False)
    history: list[dict[str, Any]] = field(default_factory=list, repr=False)

    def __repr__(self) -> str:
        return f"TrialContext(#{self.id} {self.arch!r} on {self.device})"

    def report(self, epoch: int, **metrics: float) -> None:
        """Record one epoch's metrics (numbers); raises when the trial must stop (over its
        time limit, a metric NaN or infinite, or pruned: `TrialPruned`): let it propagate."""
        values = {name: _number(name, value) for name, value in metrics.items()}
        list.append(self.history, {"epoch": int(epoch), **values})  # checked below
        self.guard.check()
        for name, value in values.items():
            if not math.isfinite(value):
                from nasc.runtime.child import TrialFailure

                raise TrialFailure(f"the evaluator reported {name} = {value} at epoch {epoch}")
        if isinstance(self.history, EpochLog):
            self.history.check()  # with a pruner: may raise TrialPruned


def _number(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | np.number | torch.Tensor):
        raise NascError(f"evaluator metric {name!r} is not a number ({value!r})")
    return float(value)


def run_evaluator(model: torch.nn.Module, data: Data, spec: TrialSpec, guard: Guard,
                  result: dict[str, Any]) -> tuple[float | None, dict[str, float]]:
    """Call the trial's evaluator; (its float, or None for a dict) and its final metrics."""
    from nasc.runtime.child import TrialFailure

    evaluate = resolve(str(spec.config.evaluate), "--evaluate")
    trial = TrialContext(spec.trial_id, spec.arch, int(result.get("params") or 0),
                         result.get("macs"), torch.device(spec.config.device), data,
                         spec.config.epochs, spec.seed, guard, result["metrics"])
    value = evaluate(model, trial)
    guard.check()  # a run over the time limit that never reported
    if isinstance(value, dict):
        metrics = {str(k): _number(str(k), v) for k, v in value.items()}
        reward = next(iter(metrics.values())) if len(metrics) == 1 else None
    else:
        metrics = {"value": _number("value", value)}
        reward = metrics["value"]
    bad = [f"{k} = {v}" for k, v in metrics.items() if not math.isfinite(v)]
    if bad:
        raise TrialFailure(f"the evaluator returned {', '.join(bad)}")
    return reward, metrics
