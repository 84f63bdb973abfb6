"""Decision states: where the controller must choose, under a length budget.

A decision state is a parser stack plus the budget bookkeeping (layers done,
tokens used when a token budget is set, whether the last token was a
separator; at an anchor point, the layer-ending token already chosen). Tokens
with a single valid choice are emitted on the way from one decision state to
the next (log-probability 0), so every step of the controller is a real choice.
The table is built lazily and stored in numpy arrays so a batch of samples
advances with a few array lookups:

    kind[d]          TOKEN, ANCHOR or DONE
    mask[d, v]       token v is valid in d (exact, and completable within budget)
    anchor_ok[d, k]  anchor choice no_inputs + k is valid in d
    trans[d, c]      the next decision state after choice c (UNBUILT: not built yet)

Choices are token ids 0..vocab_size-1 (at an anchor step the end token stands for
any option: the inputs never change the next state), then at an anchor step
no_inputs + k, k inputs; k = input_classes means that many or more (lists the
parser cannot tell apart share a state). A token is valid only if what it leaves
can still be completed within the budget (exact completion costs: `lalr.py`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from nasc.controller.cycles import any_recursion, needs_tokens, repeating_rules, written_in
from nasc.controller.fold import fold
from nasc.controller.lalr import END, LRTables, Stack
from nasc.controller.vocab import MAX_CLASSES, Vocabulary, input_classes, load_grammar
from nasc.errors import NascError
from nasc.grammar import Space

TOKEN, ANCHOR, DONE = 0, 1, 2
DONE_STATE = 0
MAX_KEYS = 1_000_000  # decision keys one budget check may visit
UNBUILT = np.iinfo(np.int64).max  # a transition not built yet (above every state)


@dataclass(frozen=True)
class Budget:
    """How long a sample may be: layers (`layer` reductions) and tokens."""

    max_layers: int | None = None
    max_tokens: int | None = None
    min_layers: int = 0

    def __repr__(self) -> str:
        least = f", layers>={self.min_layers}" if self.min_layers else ""
        return f"Budget(layers<={self.max_layers}{least}, tokens<={self.max_tokens})"


@dataclass(frozen=True)
class Key:
    """Everything a decision state's valid choices depend on."""

    stack: Stack
    layers: int
    used: int
    after_sep: bool
    ending: str | None  # set at an anchor step: the layer-ending terminal chosen
    budget: Budget


@dataclass(frozen=True)
class Step:
    """What one choice does: the next decision state and the tokens it emits."""

    target: int
    tokens: tuple[int, ...]  # emitted token ids; -1 marks where an anchor list goes


class DecisionTable:
    """Lazily built decision states of one space (all budgets share the table)."""

    def __init__(self, space: Space | str) -> None:
        self.space = load_grammar(space)
        self.lalr = LRTables(self.space.parser, self.space.layer_rules(),
                             self.space.anchor_terminals())
        self.vocab = Vocabulary(self.space, self.lalr)
        anchor = self.vocab.anchor
        if anchor is not None:  # a `from` list costs no token
            self.lalr.set_free({anchor.keyword, anchor.number, anchor.comma})
        self.vocab_size = len(self.vocab)
        self.no_inputs = self.vocab_size  # anchor choice "no inputs"; + k: k inputs
        # k = input_classes stands for that many or more (lists the parser cannot tell apart)
        self.input_classes = (input_classes(self.lalr, anchor, self.space.name)
                              if anchor is not None else 1)
        self.choice_count = self.vocab_size + MAX_CLASSES + 1
        self.keys: list[Key | None] = [None]  # state 0 is DONE
        self.index: dict[Key, int] = {}
        self.steps: dict[tuple[int, int], Step] = {}
        self.roots: dict[Budget, tuple[int, tuple[int, ...]]] = {}
        self.renderer: Any = None  # samples.Renderer, made on first use
        self._valid: dict[Key, dict[int, Key]] = {}
        self._anchors: dict[Key, dict[int, Key]] = {}
        self._feeds: dict[tuple[Stack, str], tuple[Stack, int] | None] = {}
        cap = 256
        self.kind = np.full(cap, DONE, dtype=np.int64)
        self.layer = np.zeros(cap, dtype=np.int64)
        self.default = np.full(cap, self.vocab.end, dtype=np.int64)  # anchor steps: any option
        self.mask = np.zeros((cap, self.vocab_size), dtype=bool)
        self.mask[DONE_STATE, self.vocab.end] = True
        self.anchor_ok = np.zeros((cap, MAX_CLASSES + 1), dtype=bool)
        self.trans = np.full((cap, self.choice_count), UNBUILT, dtype=np.int64)
        self.trans[DONE_STATE, :] = DONE_STATE

    def __repr__(self) -> str:
        return f"DecisionTable({self.space.name}, {len(self.keys)} states, V={self.vocab_size})"

    # -- public ---------------------------------------------------------------

    def root(self, budget: Budget) -> tuple[int, tuple[int, ...]]:
        """The first decision state for `budget` and the tokens forced before it."""
        if budget not in self.roots:
            start = (self.lalr.start_state,)
            need = self.lalr.completion(start)
            layers = self.lalr.completion(start, layers=True)
            if need == math.inf:
                raise NascError(f"{self.space.name}: the grammar's start rule can never finish")
            if budget.max_tokens is not None and need > budget.max_tokens:
                raise NascError(f"token budget {budget.max_tokens} is too small: the shortest "
                                f"string of {self.space.name} has {need:g} tokens")
            if budget.max_layers is not None and layers > budget.max_layers:
                raise NascError(f"layer budget {budget.max_layers} is too small: every string "
                                f"of {self.space.name} has at least {layers:g} layers")
            self._check_bounded(budget)
            key = Key(start, 0, 0, False, None, self._effective(budget))
            self.roots[budget] = self._resolve(key, ())
        return self.roots[budget]

    def _effective(self, budget: Budget) -> Budget:
        """`budget` without its token limit where that limit can never bind (fewer states)."""
        if budget.max_tokens is None or needs_tokens(self.lalr):
            return budget
        if budget.max_layers is None and any_recursion(self.lalr):
            return budget
        untracked = replace(budget, max_tokens=None)
        longest = self._longest(Key((self.lalr.start_state,), 0, 0, False, None, untracked))
        return untracked if longest <= budget.max_tokens else budget

    def _longest(self, root: Key) -> int:
        """The most tokens any completion of `root` can take (token limit not tracked)."""
        edges: dict[Key, list[tuple[int, Key]]] = {}

        def children(key: Key) -> list[Key]:
            if key not in edges:  # a key is visited again once its children are done
                edges[key] = self._token_edges(key)
            return [nxt for _, nxt in edges[key]]

        def value(key: Key) -> int:
            return max((cost + memo[nxt] for cost, nxt in edges.pop(key)), default=0)

        memo: dict[Key, int] = {}
        return fold(root, children, value, memo, MAX_KEYS, f"{self.space.name}: the budget")

    def _token_edges(self, key: Key) -> list[tuple[int, Key]]:
        """(tokens spent, next key) for every way on from `key`."""
        if key.ending is not None:
            return [] if key.ending == END else [(1, nxt) for nxt in
                                                  self._anchor_options(key).values()]
        return [(0 if nxt.ending is not None else 1, nxt)
                for v, nxt in self._valid_tokens(key).items()
                if nxt.ending is not None or v != self.vocab.end]

    def _check_bounded(self, budget: Budget) -> None:
        """Refuse a budget under which strings could grow without end."""
        if budget.max_tokens is not None:
            return
        free = repeating_rules(self.lalr)
        if free or (budget.max_layers is None and any_recursion(self.lalr)):
            what = "layers" if not free else "rule " + ", ".join(
                sorted({written_in(str(r)) for r in free}))
            raise NascError(f"{self.space.name}: {what} can repeat without end: give a token "
                            f"budget (max_tokens){'' if free else ' or a layer budget'}")

    def step(self, state: int, choice: int) -> Step:
        """The transition for `choice` in `state` (built on first use)."""
        found = self.steps.get((state, choice))
        if found is None:
            found = self._build_step(state, choice)
            self.steps[(state, choice)] = found
            self.trans[state, choice] = found.target
        return found

    def fill(self, states: np.ndarray, choices: np.ndarray) -> np.ndarray:
        """Vectorised `trans[states, choices]`, building missing transitions."""
        out = self.trans[states, choices]
        if out.max() == UNBUILT:
            for i in np.flatnonzero(out == UNBUILT):
                out[i] = self.step(int(states[i]), int(choices[i])).target
        return out

    def choices(self, state: int) -> list[int]:
        """The valid choices in `state` (token ids, or NONE/ONE/MANY)."""
        if self.kind[state] == ANCHOR:
            return [self.no_inputs + k for k in range(MAX_CLASSES + 1) if self.anchor_ok[state, k]]
        return [int(v) for v in np.nonzero(self.mask[state])[0]]

    def layer_index(self, state: int) -> int:
        """1-based index of the layer being written in `state`."""
        return int(self.layer[state]) + 1

    # -- building ---------------------------------------------------------------

    def _feed(self, stack: Stack, terminal: str) -> tuple[Stack, int] | None:
        key = (stack, terminal)
        if key not in self._feeds:
            self._feeds[key] = self.lalr.feed(stack, terminal)
        return self._feeds[key]

    def _after(self, key: Key, terminal: str, cost: int) -> Key | None:
        """The key after feeding `terminal`, or None if invalid or over budget."""
        fed = self._feed(key.stack, terminal)
        if fed is None:
            return None
        stack, layers = fed
        budget = key.budget
        used = key.used + cost if budget.max_tokens is not None else 0
        done = key.layers + layers
        if budget.max_tokens is not None and used + self.lalr.completion(stack) > budget.max_tokens:
            return None
        if budget.max_layers is not None and (
            done + self.lalr.completion(stack, layers=True) > budget.max_layers
        ):
            return None
        return Key(stack, done, used, terminal in self.vocab.separators, None, budget)

    def _valid_tokens(self, key: Key) -> dict[int, Key]:
        """Valid tokens -> the key they lead to (an anchor key if they end a layer)."""
        found = self._valid.get(key)
        if found is None:
            found = self._valid[key] = self._compute_valid(key)
        return found

    def _compute_valid(self, key: Key) -> dict[int, Key]:
        vocab, lr = self.vocab, self.lalr
        anchor = vocab.anchor
        can_list = anchor is not None and self._feed(key.stack, anchor.keyword) is not None
        out: dict[int, Key] = {}
        for terminal in lr.candidates(key.stack):
            if anchor is not None and terminal == anchor.keyword:
                continue  # inputs are chosen at the anchor step, when the layer ends
            fed = self._feed(key.stack, terminal)
            if fed is None:
                continue
            if can_list and fed[1] > 0:  # ends a layer that could list inputs: anchor step
                nxt: Key | None = replace(key, ending=terminal)
                if not self._anchor_options(nxt):  # type: ignore[arg-type]
                    nxt = None
            else:
                nxt = self._after(key, terminal, 0 if terminal == END else 1)
            if nxt is not None:
                for v in vocab.by_terminal.get(terminal, ()):
                    out[v] = nxt
        return self._canonical(key, out)

    def _post(self, key: Key) -> Key:
        """Where a (possibly anchor) key lands once its layer-ending token is fed."""
        if key.ending is None:
            return key
        return next(iter(self._anchor_options(key).values()))

    def _canonical(self, key: Key, out: dict[int, Key]) -> dict[int, Key]:
        """One spelling per architecture: no leading/trailing separator, min layers kept."""
        end = self.vocab.end
        if end in out and self._post(out[end]).layers < key.budget.min_layers and len(out) > 1:
            del out[end]
        seps = [v for v in out if self.vocab.tokens[v].terminal in self.vocab.separators]
        others = len(out) - len(seps)
        for v in seps:
            if others and (len(key.stack) == 1 or end in out and not self._continues(out[v])):
                del out[v]
        if key.after_sep and end in out and len(out) > 1:
            del out[end]
        return out

    def _continues(self, key: Key) -> bool:
        """After a separator: can something other than the end follow?"""
        return any(v != self.vocab.end for v in self._valid_tokens(self._post(key)))

    def _anchor_options(self, key: Key) -> dict[int, Key]:
        """NONE, or how many inputs (1, 2, .., K or more), then the layer-ending token."""
        found = self._anchors.get(key)
        if found is not None:
            return found
        assert key.ending is not None
        cost = 0 if key.ending == END else 1
        out: dict[int, Key] = {}
        none = self._after(key, key.ending, cost)
        if none is not None:
            out[self.no_inputs] = none
        for count in range(1, self.input_classes + 1):
            listed = self._anchor_list(key, count)
            if listed is not None and key.layers >= count:
                ended = self._after(listed, key.ending, cost)
                if ended is not None:
                    out[self.no_inputs + count] = ended
        if len(set(out.values())) > 1:  # the rollout draws inputs after the fact
            raise NascError(f"{self.space.name}: a layer's inputs must not change what may "
                            "follow it")
        self._anchors[key] = out
        return out

    def anchor_class(self, count: int) -> int:
        """The anchor choice for a list of `count` inputs."""
        return self.no_inputs + min(count, self.input_classes)

    def _anchor_list(self, key: Key, count: int) -> Key | None:
        """The key after `from 1,2,..` with `count` numbers (free: not counted as tokens)."""
        anchor = self.vocab.anchor
        assert anchor is not None
        nxt: Key | None = self._after(key, anchor.keyword, 0)
        for terminal in [anchor.number] + [anchor.comma, anchor.number] * (count - 1):
            if nxt is None:
                return None
            nxt = self._after(nxt, terminal, 0)
        return nxt

    def _intern(self, key: Key, kind: int, valid: dict[int, Key]) -> int:
        state = len(self.keys)
        self.keys.append(key)
        self.index[key] = state
        if state >= len(self.kind):
            self._grow()
        self.kind[state] = kind
        self.layer[state] = key.layers
        self.default[state] = min(valid) if valid else self.vocab.end
        for choice in valid:
            if kind == TOKEN:
                self.mask[state, choice] = True
            else:
                self.anchor_ok[state, choice - self.no_inputs] = True
        return state

    def _grow(self) -> None:
        def bigger(a: np.ndarray, fill: object) -> np.ndarray:
            out = np.full((len(a) * 2,) + a.shape[1:], fill, dtype=a.dtype)
            out[: len(a)] = a
            return out

        self.kind = bigger(self.kind, DONE)
        self.layer = bigger(self.layer, 0)
        self.default = bigger(self.default, self.vocab.end)
        self.mask = bigger(self.mask, False)
        self.anchor_ok = bigger(self.anchor_ok, False)
        self.trans = bigger(self.trans, UNBUILT)

    def _resolve(self, key: Key, emitted: tuple[int, ...]) -> tuple[int, tuple[int, ...]]:
        """Follow forced tokens from `key` to a decision state: (state, tokens emitted)."""
        while True:
            if key in self.index:
                return self.index[key], emitted
            if key.ending is not None:
                return self._intern(key, ANCHOR, self._anchor_options(key)), emitted
            valid = self._valid_tokens(key)
            if not valid:
                raise NascError(self._stuck(key))
            if len(valid) > 1:
                return self._intern(key, TOKEN, valid), emitted
            (token, nxt), = valid.items()
            if nxt.ending is None:
                emitted += (token,)
                if token == self.vocab.end:
                    return DONE_STATE, emitted
            key = nxt

    def _stuck(self, key: Key) -> str:
        """Why no choice fits `key`'s budget (costs are exact per budget: both must be set)."""
        budget, name = key.budget, self.space.name
        if budget.max_layers is None or budget.max_tokens is None:  # pragma: no cover
            return f"{name}: no valid continuation within {budget}"
        tokens = self.lalr.completion(key.stack)
        layers = self.lalr.completion(key.stack, layers=True)
        return (f"{name}: no string fits both budgets (at most {budget.max_layers} layers and "
                f"{budget.max_tokens} tokens): the shortest completions in layers ({layers:g} "
                f"more) and in tokens ({tokens:g} more) are different strings; raise one budget")

    def _build_step(self, state: int, choice: int) -> Step:
        key = self.keys[state]
        if key is None:
            return Step(DONE_STATE, ())
        if self.kind[state] == ANCHOR:
            options = self._anchor_options(key)
            if choice == self.vocab.end:  # what a policy's rollout feeds: any option's target
                return Step(self.step(state, int(self.default[state])).target, ())
            if choice not in options:
                raise ValueError(f"anchor choice {choice} is not valid in state {state}")
            assert key.ending is not None
            ending = self.vocab.by_terminal[key.ending][0]
            prefix = ((-1,) if choice != self.no_inputs else ()) + (ending,)
            if key.ending == END:
                return Step(DONE_STATE, prefix)
            return Step(*self._resolve(options[choice], prefix))
        valid = self._valid_tokens(key)
        if choice not in valid:
            raise ValueError(f"token {choice} is not valid in state {state}")
        if valid[choice].ending is not None:
            return Step(*self._resolve(valid[choice], ()))
        if choice == self.vocab.end:
            return Step(DONE_STATE, (choice,))
        return Step(*self._resolve(valid[choice], (choice,)))
