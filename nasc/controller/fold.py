"""A memoised fold over a DAG without recursion, so that deep budgets cannot overflow the stack.

    fold(root, children, value, memo, limit)

`value(node)` runs once all of `children(node)` are in `memo` and may read them
there. Decision states within a budget form a DAG (every step spends budget),
so the walk ends; `limit` bounds the nodes it may visit.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import TypeVar

from nasc.errors import NascError

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


def fold(root: K, children: Callable[[K], list[K]], value: Callable[[K], V],
         memo: dict[K, V], limit: int, what: str) -> V:
    """memo[root], computing every missing node below it children-first."""
    stack = [root]
    while stack:
        node = stack[-1]
        if node in memo:
            stack.pop()
            continue
        missing = [child for child in children(node) if child not in memo]
        if missing:
            if len(memo) + len(stack) > limit:
                raise NascError(f"{what}: over {limit:,} decision states; use a smaller "
                                f"budget (--max-tokens, --max-layers)")
            stack.extend(missing)
            continue
        memo[node] = value(node)
        stack.pop()
    return memo[root]
