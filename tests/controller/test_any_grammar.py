"""Issue 14's grammars: exact completions under conflicts and recursion, budget messages,
resolved conflicts reported, and sample text that its own grammar accepts."""

from __future__ import annotations

import random
from collections import deque
from pathlib import Path

import pytest
from click.testing import CliRunner

from nasc.cli import cli
from nasc.controller import (
    Budget,
    Controller,
    DecisionTable,
    RandomSampler,
    UniformSampler,
    check_space,
    count,
    mutate_text,
    parse_sample,
)
from nasc.controller.lalr import END, LRTables, Stack
from nasc.errors import NascError
from nasc.grammar import load_space
from nasc.grammar.spelling import Speller

TAIL = """T1: "x" | "y" | "z"
T2: "1" | "2"
%import common.WS
%ignore WS
"""
ISSUE = {  # grammars on which sampling failed at any budget (left/mutual recursion, conflicts)
    "g1": """start: r1 "d"? "h" | r2 "c"+ r3? | "e"? "g"
r1: T2 r3 | r1 r3* r2 | "d"+ r2 "a" r1
r2: "e"+ r1 "d"? | "h" T1
r3: r2 r2 "b"?
""",
    "g2": """start: "b"? "d" "e"? r1
r1: r1 "f" | T2+ | "f" r2 "f"* r2+
r2: "h" r2* | T2 T1 | r1 r1 "d"* r2*
""",
    "g3": """start: r1* "d"+ "e"? | r1 "b"+ "b" "d"+
r1: "f"? "d"? "a" | "d" T2+ "g"+ | r1 r1 r1 r1
""",
}
CONFLICT = """start: "a"? "c" "a"? "e" | "b"* "a"? "c"+ "a"? | "a"*
%import common.WS
%ignore WS
"""
NB201 = """// a NAS-Bench-201-like cell string: no whitespace is ignored
start: "|" edge "|+|" edge "|" edge "|+|" edge "|" edge "|" edge "|"
edge: OP "~" NODE
OP: "none" | "skip_connect" | "nor_conv_1x1" | "nor_conv_3x3" | "avg_pool_3x3"
NODE: "0" | "1" | "2"
"""


def _grammar(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / f"{name}.lark"
    path.write_text(text, encoding="utf-8")
    return path


def _tokens(space, text: str) -> int:  # type: ignore[no-untyped-def]
    interactive = space.parser.parse_interactive(text)
    found = sum(1 for _ in interactive.iter_parse())
    interactive.feed_eof()  # the whole text is accepted
    return found


@pytest.mark.parametrize("name", sorted(ISSUE))
def test_issue_grammars_sample_within_25_tokens(name: str, tmp_path: Path) -> None:
    table = DecisionTable(str(_grammar(tmp_path, name, ISSUE[name] + TAIL)))
    for sample in RandomSampler(table, Budget(max_tokens=25), seed=0).sample(40):
        assert _tokens(table.space, sample.text) <= 25
    assert count(table, Budget(max_tokens=2)) > 0  # "g", "d 1", "d" are within reach


def _bfs(tables: LRTables, stack: Stack, limit: int) -> float:
    """Fewest tokens to acceptance, by breadth-first search over the parser's stacks."""
    seen, queue = {stack}, deque([(stack, 0)])
    while queue:
        here, depth = queue.popleft()
        if tables.feed(here, END) is not None:
            return depth
        if depth == limit:
            continue
        for terminal in tables.terminals:
            fed = tables.feed(here, terminal) if terminal != END else None
            if fed is not None and fed[0] not in seen:
                seen.add(fed[0])
                queue.append((fed[0], depth + 1))
    return float("inf")


@pytest.mark.parametrize("name", sorted(ISSUE) + ["conflict"])
def test_completion_is_exact_on_random_stacks(name: str, tmp_path: Path) -> None:
    text = CONFLICT if name == "conflict" else ISSUE[name] + TAIL
    tables = LRTables(load_space(_grammar(tmp_path, name, text)).parser)
    rng = random.Random(0)
    for _ in range(60):
        stack: Stack = (tables.start_state,)
        for _ in range(rng.randint(0, 6)):
            options = [f[0] for t in tables.terminals if t != END
                       for f in [tables.feed(stack, t)] if f is not None]
            if not options:
                break
            stack = rng.choice(options)
        need = tables.completion(stack)
        assert need == _bfs(tables, stack, 7) or (need > 7 and _bfs(tables, stack, 7) > 7)


def test_budget_errors_name_the_budget_that_binds(tmp_path: Path) -> None:
    layered = DecisionTable(str(_grammar(tmp_path, "three", 'start: layer layer layer\n'
                                         'layer: "a" | "b" "c"\n' + TAIL)))
    with pytest.raises(NascError, match="layer budget 2 is too small: every string of three "
                                        "has at least 3 layers"):
        layered.root(Budget(max_layers=2))
    with pytest.raises(NascError) as caught:
        layered.root(Budget(max_tokens=2))
    assert str(caught.value) == ("token budget 2 is too small: the shortest string of three "
                                 "has 3 tokens")
    split = DecisionTable(str(_grammar(tmp_path, "split", 'start: layer | "a" "b" "c"\n'
                                       'layer: "d"\n' + TAIL)))
    with pytest.raises(NascError) as caught:
        RandomSampler(split, Budget(max_layers=0, max_tokens=2)).sample(1)
    message = str(caught.value)
    assert "at most 0 layers and 2 tokens" in message and "\n" not in message


def test_a_resolved_conflict_is_reported_with_a_lost_string(tmp_path: Path) -> None:
    report = check_space(str(_grammar(tmp_path, "conflict", CONFLICT)), n=20, max_tokens=8)
    warnings = [f.message for f in report.findings if f.level == "warning"]
    assert any("shift/reduce conflict on 'a'" in w for w in warnings)
    assert any("'c a'" in w for w in warnings)
    assert report.ok and report.passed == 20
    assert not [f for f in check_space("cnn", n=5).findings if "conflict" in f.message]


def test_samples_of_a_grammar_without_ignored_whitespace_parse(tmp_path: Path) -> None:
    path = str(_grammar(tmp_path, "cell", NB201))
    table = DecisionTable(path)
    budget = Budget(max_tokens=40)
    samples = RandomSampler(table, budget, seed=1).sample(20)
    samples += UniformSampler(table, budget, seed=1).sample(20)
    samples += Controller(path, budget=budget, seed=0).sample(8).samples
    for sample in samples:
        assert " " not in sample.text
        table.space.parser.parse(sample.text)
        assert parse_sample(table, sample.text, budget).text == sample.text
        table.space.parser.parse(mutate_text(table, sample.text, budget, random.Random(0)))
    runner = CliRunner()
    out = runner.invoke(cli, ["sample", "--space", path, "-n", "5", "--max-tokens", "40"])
    assert out.exit_code == 0
    for line in out.output.splitlines():
        table.space.parser.parse(line)
    checked = runner.invoke(cli, ["check-space", path, "-n", "30", "--max-tokens", "40"])
    assert checked.exit_code == 0 and "30 parsed" in checked.output


def test_glued_words_are_split_back_by_the_lexer(tmp_path: Path) -> None:
    """`3x3` is the house style, unless a terminal would read the glued text as one token."""
    plain = Speller(load_space("cnn"))
    assert plain.join(["conv", "3", "x", "3", "36", "from", "1", ",", "2"]) == \
        "conv 3x3 36 from 1,2"
    tricky = load_space(_grammar(tmp_path, "tricky", 'start: "3" "x" "3" | WORD\n'
                                 'WORD: "3x3"\n%import common.WS\n%ignore WS\n'))
    spelled = Speller(tricky).join(["3", "x", "3"])
    assert [t.type for t in tricky.parser.parse_interactive(spelled).iter_parse()] != ["WORD"]
    table = DecisionTable(tricky)
    texts = {s.text for s in RandomSampler(table, Budget(max_tokens=3), seed=0).sample(30)}
    assert texts == {"3x3", spelled}  # two strings, spelled apart
