"""Objective expressions: the safe parser, its located errors, and evaluation."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from nasc.errors import NascError
from nasc.runtime import objectives
from nasc.runtime.objectives import MAX_DEPTH, Objective, parse_objective


def value(text: str, **metrics: float) -> float:
    return parse_objective(text).evaluate(metrics)


def test_mnasnet_reward() -> None:
    objective = parse_objective("accuracy * (latency / 0.01) ** -0.07")
    assert objective.names == ("accuracy", "latency")
    assert objective.evaluate({"accuracy": 0.9, "latency": 0.02}) == 0.9 * 2.0 ** -0.07
    assert objective.evaluate({"accuracy": 0.9, "latency": 0.01, "params": 3}) == 0.9
    assert repr(objective) == "Objective('accuracy * (latency / 0.01) ** -0.07')"


@pytest.mark.parametrize(("text", "expected"), [
    ("1 + 2 * 3", 7.0), ("(1 + 2) * 3", 9.0), ("8 / 4 / 2", 1.0), ("10 - 4 - 3", 3.0),
    ("-2 ** 2", -4.0), ("(-2) ** 2", 4.0), ("2 ** 3 ** 2", 512.0), ("2 ** -1", 0.5),
    ("- -3", 3.0), ("+3 - -3", 6.0), ("2 * -3", -6.0), (".5e1 + 1.", 6.0), ("1e-3 * 1E3", 1.0),
    ("log(exp(2))", 2.0), ("log(8, 2)", 3.0), ("sqrt(16) + abs(-2)", 6.0),
    ("min(3, 1, 2) + max(1, 5)", 6.0), ("max(-1, min(2, 3)) ** 2", 4.0),
])
def test_precedence_and_functions_follow_python(text: str, expected: float) -> None:
    assert value(text) == pytest.approx(expected, rel=1e-15)


def test_names_lists_each_metric_once_in_order() -> None:
    objective = parse_objective("val_acc - 1e-7 * params + 0.1 * val_acc / (macs + params)")
    assert objective.names == ("val_acc", "params", "macs")
    assert parse_objective("3").names == ()
    assert objective.evaluate({"val_acc": 1.0, "params": 1e6, "macs": 0}) == pytest.approx(
        1.0 - 0.1 + 0.1 / 1e6)


@pytest.mark.parametrize(("text", "column", "message"), [
    ("__import__('os').system('true')", 12, "strings are not allowed"),
    ("__import__(os)", 1, "unknown function '__import__' (functions: abs, exp, log, max, min, sqrt)"),
    ("accuracy.real", 9, "attribute access is not allowed"),
    ("params[0]", 7, "subscripts are not allowed"),
    ("lambda: 1", 7, "':' is not allowed"),
    ("lambda x", 1, "'lambda' is not allowed in an objective"),
    ("[x for x in y]", 1, "subscripts are not allowed"),
    ("sum(x for x in y)", 1, "unknown function 'sum'"),
    ("1 if accuracy else 2", 3, "expected an operator or the end, got 'if'"),
    ('"accuracy"', 1, "strings are not allowed"),
    ("accuracy ^ 2", 10, "'^' is not a power: write **"),
    ("accuracy > 0.5", 10, "comparisons are not allowed"),
    ("accuracy *", 11, "expected a number, a metric name, a function or '(', got the end"),
    ("(accuracy + 1", 14, "expected ')' to close the '(' at column 1, got the end"),
    ("accuracy)", 9, "expected an operator or the end, got ')'"),
    ("log", 1, "log is a function: write log(...)"),
    ("exp(1, 2)", 1, "exp() takes 1 argument, got 2"),
    ("max(1)", 1, "max() takes 2 to 64 arguments, got 1"),
    ("2x", 1, "invalid number '2x'"),
    ("0x10", 1, "invalid number '0x'"),
    ("1.2.3", 1, "invalid number '1.2.'"),
    ("1e999", 1, "number 1e999 is too large"),
    ("accuracy @ 2", 10, "unexpected character '@'"),
])
def test_invalid_text_is_located(text: str, column: int, message: str) -> None:
    with pytest.raises(NascError) as info:
        parse_objective(text)
    head, line, caret = str(info.value).split("\n")
    assert head.startswith(f"objective:1:{column}: error: {message}")
    assert line == f"  {text}"
    assert caret == " " * (column + 1) + "^"


def test_errors_on_a_later_line_name_that_line() -> None:
    with pytest.raises(NascError) as info:
        parse_objective("accuracy\n  * $")
    assert str(info.value) == "objective:2:5: error: unexpected character '$'\n    * $\n      ^"


@pytest.mark.parametrize(("text", "message"), [
    ("", "objective is empty"), ("   ", "objective is empty"),
    ("1+" * 1500, "at most 2000"),
    ("(" * (MAX_DEPTH + 1) + "1" + ")" * (MAX_DEPTH + 1), "nested too deeply"),
    ("-" * 1000 + "1", "nested too deeply"),
    ("2" + "**2" * 500, "nested too deeply"),
])
def test_empty_long_and_deep_text_is_refused(text: str, message: str) -> None:
    with pytest.raises(NascError, match=message):
        parse_objective(text)


def test_long_flat_sums_parse_and_evaluate_without_recursion() -> None:
    assert value("+".join(["1"] * 900)) == 900.0  # a flat sum is a loop, not a recursion


def test_no_code_is_ever_executed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("the objective parser must never eval, exec or compile")

    for name in ("eval", "exec", "compile", "__import__"):  # module globals shadow builtins
        monkeypatch.setattr(objectives, name, refuse, raising=False)
    marker = tmp_path / "ran"
    attacks = [f"__import__('os').system('touch {marker}')",
               f"exec(\"open('{marker}', 'w')\")",
               "(lambda: __import__('os'))()", "().__class__.__bases__[0].__subclasses__()",
               "[c for c in ().__class__.__mro__]", "{'a': 1}", "globals()"]
    for text in attacks:
        with pytest.raises(NascError, match=r"^objective:1:\d+: error: "):
            parse_objective(text)
    for text in ("open", "globals", "os"):  # bare names are metrics, looked up in the dict only
        with pytest.raises(NascError, match=f"reads metric '{text}', which this trial"):
            parse_objective(text).evaluate({"accuracy": 1.0})
    assert value("accuracy * 2", accuracy=0.5) == 1.0
    assert not marker.exists()


@pytest.mark.parametrize(("text", "metrics", "message"), [
    ("accuracy * latency", {"accuracy": 0.9, "params": 3.0},
     "objective 'accuracy * latency' reads metric 'latency', which this trial does not have "
     "(it has: accuracy, params)"),
    ("latency", {}, "does not have (it has: none)"),
    ("accuracy / params", {"accuracy": 1.0, "params": 0}, "division by zero in 1 / 0"),
    ("log(accuracy)", {"accuracy": 0.0}, "log(0) is undefined (math domain error)"),
    ("sqrt(accuracy - 1)", {"accuracy": 0.5}, "sqrt((-0.5)) is undefined"),
    ("(accuracy - 1) ** 0.5", {"accuracy": 0.5}, "(-0.5) ** 0.5 is undefined"),
    ("exp(params)", {"params": 1e6}, "exp(1e+06) overflows"),
    ("params * params", {"params": 1e200}, "1e+200 * 1e+200 is not finite (inf)"),
    ("min(params * params, 1)", {"params": 1e200}, "is not finite"),
    ("perplexity", {"perplexity": math.inf}, "metric 'perplexity' is inf"),
    ("accuracy", {"accuracy": math.nan}, "metric 'accuracy' is nan"),
    ("accuracy", {"accuracy": "0.9"}, "metric 'accuracy' is not a number"),
    ("accuracy", {"accuracy": None}, "metric 'accuracy' is not a number"),
])
def test_evaluation_errors_are_one_line(text: str, metrics: dict[str, Any], message: str) -> None:
    with pytest.raises(NascError) as info:
        parse_objective(text).evaluate(metrics)
    assert message in str(info.value) and "\n" not in str(info.value)


def test_metric_values_may_be_ints_and_numpy_scalars() -> None:
    import numpy as np

    assert value("params / macs", params=np.int64(6), macs=3) == 2.0
    assert isinstance(value("params", params=7), float)


# --- property: the parser agrees with an independent evaluator of random trees -------------

LEVEL = {"+": 1, "-": 1, "*": 2, "/": 2, "**": 4}
FUNCS = {"log": math.log, "exp": math.exp, "sqrt": math.sqrt, "abs": abs, "min": min, "max": max}
ARITY = {"log": (1, 2), "exp": (1, 1), "sqrt": (1, 1), "abs": (1, 1), "min": (2, 3), "max": (2, 3)}
Tree = tuple[Any, ...]

numbers = st.one_of(st.integers(0, 12).map(float),
                    st.floats(0, 1e6, allow_nan=False, allow_infinity=False),
                    st.sampled_from([0.5, 0.01, 1e-7, 2.5e3]))


def _extend(children: st.SearchStrategy[Tree]) -> st.SearchStrategy[Tree]:
    binary = st.tuples(st.sampled_from(sorted(LEVEL)), children, children)
    unary = st.tuples(st.sampled_from(["neg", "pos"]), children)
    call = st.sampled_from(sorted(FUNCS)).flatmap(lambda name: st.tuples(
        st.just("call"), st.just(name), st.lists(children, min_size=ARITY[name][0],
                                                 max_size=ARITY[name][1]).map(tuple)))
    return st.one_of(binary, unary, call)


trees = st.recursive(numbers.map(lambda n: ("num", n)), _extend, max_leaves=12)


def render(tree: Tree, parens: st.DataObject) -> tuple[str, int]:
    """Text for `tree` with the parentheses Python's precedence needs (and a few extra drawn
    at random); its level: 1 sum, 2 product, 3 unary, 4 power, 5 atom."""
    kind = tree[0]
    if kind == "num":
        text, level = repr(tree[1]), 5
    elif kind == "call":
        text, level = f"{tree[1]}({', '.join(render(a, parens)[0] for a in tree[2])})", 5
    elif kind in ("neg", "pos"):
        inner, inner_level = render(tree[1], parens)
        inner = f"({inner})" if inner_level < 3 else inner
        text, level = ("-" if kind == "neg" else "+") + inner, 3
    else:
        (left, lo), (right, ro), level = render(tree[1], parens), render(tree[2], parens), LEVEL[kind]
        left_parens = lo <= 4 if kind == "**" else lo < level
        right_parens = ro < 3 if kind == "**" else ro <= level
        text = (f"({left})" if left_parens else left) + f" {kind} " + (
            f"({right})" if right_parens else right)
    if parens.draw(st.booleans()):
        return f"({text})", 5
    return text, level


class Undefined(Exception):
    pass


def reference(tree: Tree) -> float:
    """The independent evaluator: the tree itself, checked as the objective promises."""
    kind = tree[0]
    if kind == "num":
        return float(tree[1])
    if kind in ("neg", "pos"):
        inner = reference(tree[1])
        return -inner if kind == "neg" else inner
    try:
        if kind == "call":
            result = float(FUNCS[tree[1]](*[reference(a) for a in tree[2]]))
        else:
            a, b = reference(tree[1]), reference(tree[2])
            result = {"+": a + b, "-": a - b, "*": a * b}.get(kind) if kind in "+-*" else (
                a / b if kind == "/" else math.pow(a, b))
    except (ZeroDivisionError, ValueError, OverflowError):
        raise Undefined from None
    if not math.isfinite(result):
        raise Undefined
    return result


def depth(tree: Tree) -> int:
    children = tree[2] if tree[0] == "call" else [t for t in tree[1:] if isinstance(t, tuple)]
    return 1 + max((depth(c) for c in children), default=0)


@settings(max_examples=300, deadline=None)
@given(tree=trees, parens=st.data())
def test_random_expressions_match_an_independent_evaluator(tree: Tree, parens: st.DataObject) -> None:
    assume(depth(tree) <= 20)
    text, _ = render(tree, parens)
    objective = parse_objective(text)
    try:
        expected = reference(tree)
    except Undefined:
        with pytest.raises(NascError) as info:
            objective.evaluate({})
        assert str(info.value).startswith(f"objective {text!r}: ")
        return
    assert objective.evaluate({}) == expected, text


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="0123456789.eE+-*/(), \tablogexpmaxsqrt_'\"[]^:x", max_size=30))
def test_any_text_parses_or_is_one_located_error(text: str) -> None:
    try:
        objective = parse_objective(text)
    except NascError as exc:
        assert str(exc).startswith("objective")
        return
    assert isinstance(objective, Objective)
    try:
        result = objective.evaluate({name: 1.5 for name in objective.names})
    except NascError as exc:
        assert "\n" not in str(exc)
    else:
        assert math.isfinite(result)
