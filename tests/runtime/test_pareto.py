"""Pareto fronts, non-dominated sorting, crowding distance and NSGA-II selection."""

from __future__ import annotations

import math
from collections.abc import Sequence

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nasc.errors import NascError
from nasc.runtime.pareto import (
    crowding_distance,
    non_dominated_sort,
    nsga2_rank,
    nsga2_select,
    pareto_front,
    parse_objectives,
)

# accuracy (max), params (min); worked out by hand in the comments
TRIALS = [
    (0.90, 100),  # 0 front
    (0.80, 50),   # 1 front: the smallest
    (0.95, 200),  # 2 front
    (0.85, 120),  # 3 dominated by 0 (better accuracy, fewer params)
    (0.90, 100),  # 4 front: equal to 0, and equal points do not dominate each other
    (0.70, 300),  # 5 dominated by every other point
    (0.80, 60),   # 6 dominated by 1 (same accuracy, fewer params)
    (0.96, 500),  # 7 front: the most accurate
]
ACC_PARAMS = ["max", "min"]


def test_front_of_a_hand_checked_set() -> None:
    assert pareto_front(TRIALS, ACC_PARAMS) == [0, 1, 2, 4, 7]
    # without 0, 1, 2, 4, 7: 3 and 6 trade accuracy for size; 5 is below both
    assert non_dominated_sort(TRIALS, ACC_PARAMS) == [[0, 1, 2, 4, 7], [3, 6], [5]]
    # the directions matter: minimising accuracy too makes the small, bad 5 and 1 the front
    assert pareto_front(TRIALS, ["min", "min"]) == [1, 5]


def test_empty_and_single_inputs() -> None:
    assert pareto_front([], ACC_PARAMS) == []
    assert non_dominated_sort([], ACC_PARAMS) == []
    assert nsga2_select([], ACC_PARAMS, 3) == []
    assert pareto_front([(1.0, 2.0)], ACC_PARAMS) == [0]
    assert crowding_distance(TRIALS, []) == {}


# NSGA-II on a case worked out by hand, both objectives minimised:
#   front 0 = 0..4 (f1 rises 1..5 while f2 falls 5..1); 5 is dominated by 1; 6 by 5; 7 by all
CASE = [(1, 5), (2, 3), (3, 2), (5, 1), (4, 1.5), (3, 4), (4, 4), (6, 6)]
MIN_MIN = ["min", "min"]


def test_nsga2_on_a_case_worked_by_hand() -> None:
    assert non_dominated_sort(CASE, MIN_MIN) == [[0, 1, 2, 3, 4], [5], [6], [7]]
    # f1 order 0,1,2,4,3 (range 4): 1 -> (3-1)/4, 2 -> (4-2)/4, 4 -> (5-3)/4; 0, 3 infinite
    # f2 order 3,4,2,1,0 (range 4): 4 -> (2-1)/4, 2 -> (3-1.5)/4, 1 -> (5-2)/4
    assert crowding_distance(CASE, [0, 1, 2, 3, 4]) == {
        0: math.inf, 1: 0.5 + 0.75, 2: 0.5 + 0.375, 3: math.inf, 4: 0.5 + 0.25}
    assert nsga2_rank(CASE, MIN_MIN) == [0, 3, 1, 2, 4, 5, 6, 7]
    assert nsga2_select(CASE, MIN_MIN, 4) == [0, 3, 1, 2]  # front 0 cut: 4 is the most crowded
    assert nsga2_select(CASE, MIN_MIN, 6) == [0, 3, 1, 2, 4, 5]  # whole front 0, then front 1
    assert nsga2_select(CASE, MIN_MIN, 2) == [0, 3]  # the two ends
    assert nsga2_select(CASE, MIN_MIN, 0) == []
    assert nsga2_select(CASE, MIN_MIN, 99) == nsga2_rank(CASE, MIN_MIN)


def test_crowding_ties_are_broken_by_index() -> None:
    line = [(4, 0), (3, 1), (0, 4), (2, 2), (1, 3)]  # evenly spaced: 0, 2 ends, the rest 1.0
    assert crowding_distance(line, [0, 1, 2, 3, 4]) == {
        0: math.inf, 1: 1.0, 2: math.inf, 3: 1.0, 4: 1.0}
    assert nsga2_select(line, MIN_MIN, 3) == [0, 2, 1]
    assert nsga2_select(line, MIN_MIN, 4) == [0, 2, 1, 3]


def test_crowding_edge_cases() -> None:
    flat = [(1, 5), (2, 5), (3, 5)]  # f2 is constant: it adds nothing
    assert crowding_distance(flat, [0, 1, 2]) == {0: math.inf, 1: 1.0, 2: math.inf}
    assert crowding_distance(flat, [0, 2]) == {0: math.inf, 2: math.inf}
    same = [(1, 1)] * 4  # all equal: no objective spreads them, so no point is a boundary
    assert crowding_distance(same, [0, 1, 2, 3]) == {0: 0.0, 1: 0.0, 2: 0.0, 3: 0.0}
    assert nsga2_select(same, MIN_MIN, 2) == [0, 1]


# --- properties against brute-force definitions ------------------------------------------

def dominates(p: Sequence[float], q: Sequence[float], directions: Sequence[str]) -> bool:
    """p dominates q: no worse in every objective, strictly better in one (the textbook form)."""
    no_worse = all((a >= b) if d == "max" else (a <= b) for a, b, d in zip(p, q, directions, strict=True))
    better = any((a > b) if d == "max" else (a < b) for a, b, d in zip(p, q, directions, strict=True))
    return no_worse and better


def brute_front(points: list[tuple[int, ...]], directions: list[str], alive: list[int]) -> list[int]:
    return [i for i in alive
            if not any(dominates(points[j], points[i], directions) for j in alive)]


problems = st.integers(1, 4).flatmap(lambda m: st.tuples(
    st.lists(st.tuples(*[st.integers(0, 5)] * m), max_size=40),
    st.lists(st.sampled_from(["max", "min"]), min_size=m, max_size=m)))


@settings(max_examples=300, deadline=None)
@given(problems)
def test_front_and_sort_match_brute_force(problem: tuple[list[tuple[int, ...]], list[str]]) -> None:
    points, directions = problem
    front = pareto_front(points, directions)
    assert front == brute_front(points, directions, list(range(len(points))))
    alive, fronts = list(range(len(points))), []
    while alive:  # peel fronts one by one, the O(n^2) way
        fronts.append(brute_front(points, directions, alive))
        alive = [i for i in alive if i not in fronts[-1]]
    assert non_dominated_sort(points, directions) == fronts
    rank = nsga2_rank(points, directions)
    assert rank == [i for f in fronts for i in sorted(
        f, key=lambda i: (-crowding_distance(points, f)[i], i))]
    assert sorted(rank) == list(range(len(points)))


# --- parsing and bad input -----------------------------------------------------------------

def test_parse_objectives() -> None:
    assert parse_objectives("accuracy:max,params:min") == [("accuracy", "max"), ("params", "min")]
    assert parse_objectives(" accuracy : maximize , latency:MIN, macs:min ") == [
        ("accuracy", "max"), ("latency", "min"), ("macs", "min")]


@pytest.mark.parametrize(("text", "message"), [
    ("", "objectives are empty"),
    ("accuracy:max", "give two or more (for one metric, use --objective accuracy)"),
    ("params:min", "give two or more (for one metric, use --objective -params)"),
    ("accuracy:max,accuracy:min", "accuracy is given twice"),
    ("accuracy:up,params:min", "the direction of accuracy must be max or min, got 'up'"),
    ("accuracy,params:min", "'accuracy' needs a direction, as in accuracy:max or accuracy:min"),
    ("accuracy:,params:min", "'accuracy:' needs a direction"),
    ("accuracy:max,,params:min", "an empty item (a stray comma?)"),
    ("accuracy:max,params:min,", "an empty item"),
    ("acc.top1:max,params:min", "'acc.top1' is not a metric name"),
    (":max,params:min", "'' is not a metric name"),
])
def test_bad_objectives_are_one_line(text: str, message: str) -> None:
    with pytest.raises(NascError) as info:
        parse_objectives(text)
    assert message in str(info.value) and "\n" not in str(info.value)


@pytest.mark.parametrize(("points", "directions", "message"), [
    ([(1, 2)], ["max", "up"], "directions must each be 'max' or 'min'"),
    ([(1, 2)], [], "directions must each be 'max' or 'min'"),
    ([(1, 2), (1, 2, 3)], ["max", "min"], "point 1 has 3 values for 2 objectives"),
    ([(1, math.nan)], ["max", "min"], "point 0 has a NaN value"),
    ([(1, None)], ["max", "min"], "point 0 is not all numbers"),
])
def test_bad_points_are_one_line(points: list, directions: list[str], message: str) -> None:
    for function in (pareto_front, non_dominated_sort, nsga2_rank):
        with pytest.raises(NascError, match=message):
            function(points, directions)


@pytest.mark.parametrize("k", [-1, 1.5, True, "2"])
def test_select_needs_a_count(k: object) -> None:
    with pytest.raises(NascError, match="an integer >= 0"):
        nsga2_select(CASE, MIN_MIN, k)  # type: ignore[arg-type]


def test_infinite_values_are_ordered_but_add_no_crowding() -> None:
    points = [(math.inf, 3), (1, 1), (2, 0)]  # min, min: inf is worst on f1
    assert pareto_front(points, MIN_MIN) == [1, 2]
    assert crowding_distance(points, [0, 1, 2]) == {0: math.inf, 1: 1.0, 2: math.inf}
