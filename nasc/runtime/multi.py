"""Several objectives over a search's trials: its Pareto front and NSGA-II order.

    objective_pairs(text) -> [(metric, "max" | "min")]
    scored(trials, pairs) -> (trials with every metric, their points)
    pareto_trials(trials, text) -> the finished trials no other one dominates, by id
    nsga2_order(trials, text) -> the scored trials, best first (NSGA-II)

Only trials that finished `done` (not reused duplicates) with every objective's
metric in their final metrics take part: a failed trial has no point.
"""

from __future__ import annotations

from collections.abc import Sequence

from nasc.runtime.pareto import nsga2_rank, pareto_front, parse_objectives
from nasc.runtime.store import Trial


def objective_pairs(text: str) -> list[tuple[str, str]]:
    return parse_objectives(text)


def scored(trials: Sequence[Trial], pairs: list[tuple[str, str]]
           ) -> tuple[list[Trial], list[list[float]]]:
    """The finished, original trials that have every metric, and their points."""
    names = [n for n, _ in pairs]
    keep = [t for t in trials if t.status == "done" and t.reused_from is None
            and all(n in t.summary for n in names)]
    return keep, [[float(t.summary[n]) for n in names] for t in keep]


def pareto_trials(trials: Sequence[Trial], text: str) -> list[Trial]:
    """The Pareto front of `trials` under the objectives `text`, in id order."""
    pairs = objective_pairs(text)
    keep, points = scored(trials, pairs)
    if not keep:
        return []
    return sorted((keep[i] for i in pareto_front(points, [d for _, d in pairs])),
                  key=lambda t: t.id)


def nsga2_order(trials: Sequence[Trial], text: str) -> list[Trial]:
    """The scored trials best first: by front, then crowding distance, then index."""
    pairs = objective_pairs(text)
    keep, points = scored(trials, pairs)
    if not keep:
        return []
    return [keep[i] for i in nsga2_rank(points, [d for _, d in pairs])]
