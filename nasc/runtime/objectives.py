"""Objective expressions: a search's reward as arithmetic over a trial's metrics.

    accuracy * (latency / 0.01) ** -0.07        # MnasNet's latency-aware reward
    accuracy - 1e-7 * params
    log(max(accuracy, 0.01)) - 0.1 * sqrt(seconds)

The language is small and parsed here by hand (recursive descent into a postfix
program); nothing is ever `eval`ed, so an objective can only read metrics and do
arithmetic. It has numbers (`3`, `0.01`, `1e-7`), metric names (any identifier:
accuracy, perplexity, params, macs, latency, seconds or whatever an evaluator
returns), `+ - * / **` with Python's precedence (`-x ** 2` is `-(x ** 2)`, `**`
groups to the right), unary minus, parentheses and the functions `log(x)`,
`log(x, base)`, `exp`, `sqrt`, `abs`, `min(a, b, ...)` and `max(a, b, ...)`.

`parse_objective(text)` returns an `Objective`, or raises `NascError` located at
the offending column (`objective:1:COL: error: ...`, the text, a caret).
`Objective.evaluate(metrics)` is a float; a missing or non-finite metric, a
division by zero, a value outside a function's domain and an overflow are each
one clear `NascError`.
"""

from __future__ import annotations

import keyword
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from nasc.errors import NascError

MAX_DEPTH = 64  # nested parentheses, calls, unary minus and powers
MAX_LENGTH = 2000  # characters of objective text
_Op = tuple[str, Any]  # one postfix instruction: (opcode, argument)
BUILTIN_METRICS = ("accuracy", "perplexity", "params", "macs", "latency", "seconds")


def _log(x: float, base: float | None = None) -> float:
    return math.log(x) if base is None else math.log(x, base)


# name -> (function, fewest arguments, most arguments)
FUNCTIONS: dict[str, tuple[Callable[..., float], int, int]] = {
    "log": (_log, 1, 2), "exp": (math.exp, 1, 1), "sqrt": (math.sqrt, 1, 1),
    "abs": (abs, 1, 1), "min": (min, 2, 64), "max": (max, 2, 64),
}
_BINARY: dict[str, Callable[[float, float], float]] = {
    "+": lambda a, b: a + b, "-": lambda a, b: a - b, "*": lambda a, b: a * b,
    "/": lambda a, b: a / b, "**": math.pow,
}
_TOKEN = re.compile(r"(?P<num>(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)"
                    r"|(?P<name>[A-Za-z_]\w*)|(?P<op>\*\*|[-+*/(),])", re.ASCII)
_REFUSED = {"'": "strings are not allowed", '"': "strings are not allowed",
            ".": "attribute access is not allowed", "[": "subscripts are not allowed",
            "^": "'^' is not a power: write **", "=": "comparisons are not allowed",
            "<": "comparisons are not allowed", ">": "comparisons are not allowed",
            ":": "':' is not allowed (no lambdas, slices or annotations)"}


@dataclass(frozen=True)
class _Token:
    kind: str  # num | name | op | end
    text: str
    at: int  # index into the objective text


@dataclass(frozen=True)
class Objective:
    """A parsed objective: its text, the metric names it reads, and its postfix program."""

    text: str
    names: tuple[str, ...]
    code: tuple[_Op, ...] = field(repr=False, compare=False)

    def __repr__(self) -> str:
        return f"Objective({self.text!r})"

    def __str__(self) -> str:
        return self.text

    def evaluate(self, metrics: Mapping[str, float]) -> float:
        """The objective's value on `metrics` (a finite float), or a one-line `NascError`."""
        stack: list[float] = []
        for op, arg in self.code:
            if op == "num":
                stack.append(float(arg))
            elif op == "var":
                stack.append(self._metric(metrics, str(arg)))
            elif op == "neg":
                stack.append(-stack.pop())
            elif op == "call":
                name, count = arg
                args = stack[-count:]
                del stack[-count:]
                stack.append(self._apply(f"{name}({', '.join(map(_fmt, args))})",
                                         FUNCTIONS[name][0], args))
            else:
                b, a = stack.pop(), stack.pop()
                stack.append(self._apply(f"{_fmt(a)} {op} {_fmt(b)}", _BINARY[op], [a, b]))
        return stack[0]

    def _metric(self, metrics: Mapping[str, float], name: str) -> float:
        if name not in metrics:
            have = ", ".join(sorted(metrics)) or "none"
            raise NascError(f"objective {self.text!r} reads metric {name!r}, which this trial "
                            f"does not have (it has: {have})")
        value = metrics[name]
        if isinstance(value, bool | str | bytes):
            raise NascError(f"objective {self.text!r}: metric {name!r} is not a number "
                            f"({value!r})")
        if not isinstance(value, int | float):
            try:
                value = float(value)  # numpy scalars, 0-d tensors
            except (TypeError, ValueError):
                raise NascError(f"objective {self.text!r}: metric {name!r} is not a number "
                                f"({value!r})") from None
        if not math.isfinite(value):
            raise NascError(f"objective {self.text!r}: metric {name!r} is {value}")
        return float(value)

    def _apply(self, what: str, fn: Callable[..., float], args: list[float]) -> float:
        try:
            value = float(fn(*args))
        except ZeroDivisionError:
            raise NascError(f"objective {self.text!r}: division by zero in {what}") from None
        except ValueError:
            raise NascError(f"objective {self.text!r}: {what} is undefined "
                            f"(math domain error)") from None
        except OverflowError:
            raise NascError(f"objective {self.text!r}: {what} overflows") from None
        if not math.isfinite(value):
            raise NascError(f"objective {self.text!r}: {what} is not finite ({value})")
        return value


def _fmt(value: float) -> str:
    return f"({value:.6g})" if value < 0 else f"{value:.6g}"


def parse_objective(text: str) -> Objective:
    """Parse `text` into an `Objective`; invalid text is a located `NascError`."""
    if not isinstance(text, str):
        raise NascError(f"an objective must be text, got {type(text).__name__}")
    if len(text) > MAX_LENGTH:
        raise NascError(f"objective is {len(text)} characters long (at most {MAX_LENGTH})")
    if not text.strip():
        raise NascError("objective is empty: give an expression such as 'accuracy'")
    parser = _Parser(text, _tokens(text))
    parser.expression()
    parser.expect_end()
    names = tuple(dict.fromkeys(str(arg) for op, arg in parser.code if op == "var"))
    return Objective(text, names, tuple(parser.code))


def objective_error(text: str, at: int, message: str) -> NascError:
    """`objective:LINE:COL: error: MESSAGE`, the line of `text`, a caret under index `at`."""
    line_no = text.count("\n", 0, at) + 1
    start = text.rfind("\n", 0, at) + 1
    end = text.find("\n", at)
    line = text[start:end if end >= 0 else len(text)]
    column = at - start + 1
    pad = "".join("\t" if ch == "\t" else " " for ch in line[:column - 1])
    return NascError(f"objective:{line_no}:{column}: error: {message}\n  {line}\n  {pad}^")


def _tokens(text: str) -> list[_Token]:
    out: list[_Token] = []
    at = 0
    while True:
        while at < len(text) and text[at].isspace():
            at += 1
        if at == len(text):
            return out + [_Token("end", "", at)]
        match = _TOKEN.match(text, at)
        if match is None:
            char = text[at]
            raise objective_error(text, at, _REFUSED.get(char, f"unexpected character {char!r}"))
        kind = match.lastgroup or "op"
        token = _Token(kind, match.group(kind), at)
        at = match.end()
        if kind == "num" and at < len(text) and (text[at].isalnum() or text[at] in "_."):
            raise objective_error(text, token.at, f"invalid number {text[token.at:at + 1]!r}")
        out.append(token)


class _Parser:
    """Recursive descent over the tokens, emitting a postfix program into `code`."""

    def __init__(self, text: str, tokens: list[_Token]) -> None:
        self.text, self.tokens, self.pos, self.depth = text, tokens, 0, 0
        self.code: list[_Op] = []

    def peek(self) -> _Token:
        return self.tokens[self.pos]

    def take(self) -> _Token:
        token = self.tokens[self.pos]
        self.pos += 1
        return token

    def error(self, token: _Token, message: str) -> NascError:
        return objective_error(self.text, token.at, message)

    def expect_end(self) -> None:
        token = self.peek()
        if token.kind != "end":
            raise self.error(token, f"expected an operator or the end, got {token.text!r}")

    def nested(self, token: _Token, parse: Callable[[], None]) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise self.error(token, f"expression nested too deeply (at most {MAX_DEPTH} levels)")
        parse()
        self.depth -= 1

    def expression(self) -> None:  # term (('+' | '-') term)*
        self.term()
        while self.peek().text in ("+", "-") and self.peek().kind == "op":
            op = self.take().text
            self.term()
            self.code.append((op, None))

    def term(self) -> None:  # unary (('*' | '/') unary)*
        self.unary()
        while self.peek().text in ("*", "/") and self.peek().kind == "op":
            op = self.take().text
            self.unary()
            self.code.append((op, None))

    def unary(self) -> None:  # ('-' | '+') unary | power
        token = self.peek()
        if token.kind == "op" and token.text in ("+", "-"):
            self.take()
            self.nested(token, self.unary)
            if token.text == "-":
                self.code.append(("neg", None))
        else:
            self.power()

    def power(self) -> None:  # atom ('**' unary)?   (right-associative, as in Python)
        self.atom()
        if self.peek().text == "**":
            self.nested(self.take(), self.unary)
            self.code.append(("**", None))

    def atom(self) -> None:  # number | name | name '(' args ')' | '(' expression ')'
        token = self.take()
        if token.kind == "num":
            value = float(token.text)
            if not math.isfinite(value):
                raise self.error(token, f"number {token.text} is too large")
            self.code.append(("num", value))
        elif token.kind == "name":
            self.name(token)
        elif token.text == "(":
            self.nested(token, self.expression)
            self.close(token)
        else:
            got = "the end" if token.kind == "end" else repr(token.text)
            raise self.error(token, f"expected a number, a metric name, a function or '(', "
                                    f"got {got}")

    def name(self, token: _Token) -> None:
        if keyword.iskeyword(token.text):
            raise self.error(token, f"{token.text!r} is not allowed in an objective")
        if self.peek().text != "(":
            if token.text in FUNCTIONS:
                raise self.error(token, f"{token.text} is a function: write {token.text}(...)")
            self.code.append(("var", token.text))
            return
        if token.text not in FUNCTIONS:
            raise self.error(token, f"unknown function {token.text!r} "
                                    f"(functions: {', '.join(sorted(FUNCTIONS))})")
        opening = self.take()
        count = [0]

        def arguments() -> None:
            while True:
                self.expression()
                count[0] += 1
                if self.peek().text != ",":
                    return
                self.take()

        self.nested(opening, arguments)
        self.close(opening)
        _, least, most = FUNCTIONS[token.text]
        if not least <= count[0] <= most:
            wanted = f"{least}" if least == most else f"{least} to {most}"
            raise self.error(token, f"{token.text}() takes {wanted} argument"
                                    f"{'s' if most > 1 else ''}, got {count[0]}")
        self.code.append(("call", (token.text, count[0])))

    def close(self, opening: _Token) -> None:
        token = self.take()
        if token.text != ")":
            got = "the end" if token.kind == "end" else repr(token.text)
            raise self.error(token, f"expected ')' to close the '(' at column "
                                    f"{opening.at + 1}, got {got}")
