"""`nasc check-space`: what a search-space grammar lets the controller do.

`check_space(path)` reports, as findings:
  error    a choice terminal with unboundedly many strings (cannot be sampled)
  error    a rule that can never finish (every alternative recurses)
  warning  a rule defined but unreachable from `start`
  warning  a rule that can repeat without adding a layer (needs a token budget)
  warning  a shift/reduce conflict Lark resolved (as a shift), with a short string
           the grammar allows but the parser rejects
and then samples strings (uniform per step) and checks each one: parsed again
by the grammar, then compiled (cnn/rnn; shape-checked IR, no weights).
"""

from __future__ import annotations

import importlib
import math
from dataclasses import dataclass, field
from typing import Any

from nasc.controller.conflicts import MAX_LENGTH, conflicts, lost_string
from nasc.controller.cycles import needs_tokens, repeating_rules, written_in
from nasc.controller.decisions import Budget, DecisionTable
from nasc.controller.lalr import END, LRTables
from nasc.controller.samples import RandomSampler
from nasc.controller.vocab import _words, load_grammar
from nasc.errors import NascError
from nasc.grammar import Space
from nasc.grammar.spelling import Speller
from nasc.grammar.terminals import local_name

DEFAULT_TOKENS = 64  # the token budget of a grammar that only tokens can bound


@dataclass(frozen=True)
class Finding:
    level: str  # "error" | "warning" | "info"
    message: str

    def __str__(self) -> str:
        return f"{self.level}: {self.message}"


@dataclass
class Report:
    """What check_space found; `ok` when there is no error."""

    space: str
    findings: list[Finding] = field(default_factory=list)
    sampled: int = 0
    passed: int = 0
    how: str = ""

    def __repr__(self) -> str:
        return f"Report({self.space}, {len(self.findings)} findings, {self.passed}/{self.sampled})"

    @property
    def ok(self) -> bool:
        return not any(f.level == "error" for f in self.findings)

    def add(self, level: str, message: str) -> None:
        self.findings.append(Finding(level, message))


def check_space(spec: str | Space, n: int = 300, seed: int = 0, max_layers: int = 6,
                max_tokens: int | None = None) -> Report:
    """Lint a grammar and push `n` sampled strings through the compiler. A token budget
    applies when given; without one, 64 tokens where only tokens bound the strings."""
    space = load_grammar(spec)
    report = Report(space.name)
    tables = LRTables(space.parser, space.layer_rules(), space.anchor_terminals())
    anchor_terms = _anchor_terminals(space, tables)
    _unbounded(space, tables, anchor_terms, report)
    _unfinishable(tables, report)
    _unreachable(space, tables, report)
    _zero_cost_cycles(tables, report)
    _resolved_conflicts(space, tables, report)
    if report.ok:
        _sample_check(space, n, seed, max_layers, max_tokens, report)
    return report


def _anchor_terminals(space: Space, tables: LRTables) -> set[str]:
    """The anchor terminals, by their names in the tables (may be namespaced)."""
    anchors = space.anchor_terminals()
    return {name for name in tables.terminals if local_name(name) in anchors}


def _unbounded(space: Space, tables: LRTables, allowed: set[str], report: Report) -> None:
    terminals = space.terminals
    for name in tables.terminals:
        if name == END or name in allowed:
            continue
        try:
            _words(name, terminals, set())
        except NascError as exc:
            report.add("error", str(exc))


def _unfinishable(tables: LRTables, report: Report) -> None:
    for origin, cost in sorted(tables.min_tokens.items()):
        if cost == math.inf and not str(origin).startswith("__"):
            report.add("error", f"rule {local_name(str(origin))} can never finish: every "
                                f"alternative needs another {local_name(str(origin))}")


def _unreachable(space: Space, tables: LRTables, report: Report) -> None:
    used = {local_name(str(r.origin.name)) for r in tables.rules}
    grammar = getattr(space.parser, "grammar", None)
    defined = [d[0] if isinstance(d, tuple) else d.name for d in getattr(grammar, "rule_defs", [])]
    for name in defined:
        local = local_name(str(name))
        if local not in used and not local.startswith("_") and "__" not in str(name):
            report.add("warning", f"rule {local} is never used: it cannot be reached from start")


def _zero_cost_cycles(tables: LRTables, report: Report) -> None:
    """Recursion that adds no `layer`: only a token budget bounds it."""
    named = {written_in(rule) for rule in repeating_rules(tables)}
    if named:
        report.add("warning", f"rule {', '.join(sorted(named))} can repeat without adding a "
                              "layer: sampling needs a token budget (--max-tokens)")


def _resolved_conflicts(space: Space, tables: LRTables, report: Report) -> None:
    """Shift/reduce conflicts Lark resolved: the parser accepts less than the grammar says."""
    found = conflicts(space)
    for conflict in found:
        report.add("warning", str(conflict))
    if not found:
        return
    lost = lost_string(tables)
    if lost is None:
        report.add("info", f"no string of up to {MAX_LENGTH} tokens is lost to these conflicts")
        return
    words = [_example_word(space, terminal) for terminal in lost]
    report.add("warning", f"the grammar allows {Speller(space).join(words)!r} but the parser "
                          "rejects it (nasc validates and samples what the parser accepts)")


def _example_word(space: Space, terminal: str) -> str:
    try:
        return _words(terminal, space.terminals, set())[0]
    except NascError:  # unbounded: an example string of the terminal
        return "1"


def _sample_check(space: Space, n: int, seed: int, max_layers: int, max_tokens: int | None,
                  report: Report) -> None:
    table = DecisionTable(space)
    layered = bool(table.lalr.layer_origins)
    if max_tokens is None and needs_tokens(table.lalr):
        max_tokens = DEFAULT_TOKENS
    budget = Budget(max_layers if layered else None, max_tokens)
    check, report.how = _checker(space)
    for sample in RandomSampler(table, budget, seed).sample(n):
        report.sampled += 1
        problem = check(sample.text)
        if problem is None:
            report.passed += 1
        elif report.passed + 1 == report.sampled or len(report.findings) < 5:
            report.add("error", f"sampled string fails: {sample.text!r}: {problem}")


def _checker(space: Space):  # type: ignore[no-untyped-def]
    """A function text -> problem (None when fine), and what it checks. Every string is
    parsed again by its grammar first (its spelling must be one the grammar accepts)."""
    def parses(text: str) -> str | None:
        try:
            space.parser.parse(text)
        except Exception as exc:  # noqa: BLE001 - any parse failure is a finding
            return "its grammar rejects it: " + str(exc).splitlines()[0]
        return None
    if space.kind == "none":
        return parses, "parsed by the grammar"
    try:
        compile_ir: Any = importlib.import_module("nasc.api").compile_ir
    except (ImportError, AttributeError):  # no compiler in this checkout: validate instead
        compile_ir = None

    def compiles(text: str) -> str | None:
        problem = parses(text)
        if problem is not None:
            return problem
        try:
            if compile_ir is not None:
                compile_ir(text, space)
            else:
                from nasc.compiler.frontend import parse
                parse(text, space)
        except Exception as exc:  # noqa: BLE001 - any compiler failure is a finding
            return str(exc).splitlines()[0]
        return None
    what = "validated" if compile_ir is None else "compiled (IR, shapes checked)"
    return compiles, f"{what}, each parsed again by its grammar"
