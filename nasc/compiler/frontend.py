"""The front end: text -> Lark tree -> typed AST, with located errors.

    parse(text, space)      the AST, or ArchError with every error it found
    read_source(path)       a file's text (or stdin's for "-"), refusing binaries

Syntax errors come from the LALR parser; the message names what the grammar
accepts at that point in the user's words ("kernel height must be one of 1, 3,
5, 7, got '4'"). After an error the parser repairs the text (substitutes a valid
choice, or blanks a `cnn` layer) and goes on, so one run reports every syntax
error it can. Semantic checks (`checks.py`) run once the syntax is clean.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path

from lark import Tree
from lark.exceptions import LarkError, UnexpectedInput, UnexpectedToken, VisitError
from lark.lexer import PatternStr, TerminalDef

from nasc.compiler.ast import Arch, PlainArch, SpaceArch
from nasc.compiler.build_ast import build_ast
from nasc.compiler.checks import check
from nasc.compiler.diagnostics import ArchError, Diagnostic
from nasc.errors import NascError
from nasc.grammar import Space, detect_space, load_space
from nasc.grammar.spelling import canonical_text
from nasc.grammar.terminals import describe, literals

MAX_ERRORS = 20
MAX_BYTES = 4 * 1024 * 1024
_SKIP = ("$END", "_SEP")


def read_source(path: str) -> tuple[str, str]:
    """Read architecture text from `path` ("-" is stdin). Returns (text, display name)."""
    name = "<stdin>" if path == "-" else path
    try:
        data = sys.stdin.buffer.read(MAX_BYTES + 1) if path == "-" else _read_file(path)
    except OSError as exc:
        raise NascError(f"{name}: cannot read: {exc.strerror or exc}") from exc
    if len(data) > MAX_BYTES:
        raise NascError(f"{name}: too large (over {MAX_BYTES // 2**20} MiB): not an architecture")
    if b"\0" in data:
        raise NascError(f"{name}: binary file (contains NUL bytes): not an architecture")
    try:
        text = data.decode("utf-8").removeprefix("\ufeff")  # an editor's byte-order mark
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        raise NascError(f"{name}:{line}:{column}: not UTF-8 text (byte "
                        f"0x{data[exc.start]:02x} at offset {exc.start})") from exc
    return text.replace("\r\n", "\n").replace("\r", "\n"), name  # CR-only lines too


def _read_file(path: str) -> bytes:
    if Path(path).is_dir():
        raise NascError(f"{path}: is a directory")
    with open(path, "rb") as handle:
        return handle.read(MAX_BYTES + 1)


def resolve_space(space: str | Path | Space | None, text: str) -> Space:
    if isinstance(space, Space):
        return space
    return load_space(space if space is not None else detect_space(text))


@dataclass(frozen=True)
class Parsed:
    """A valid architecture and the space it was read in."""

    arch: Arch
    space: Space

    def __repr__(self) -> str:
        return f"Parsed({self.space.name}: {self.arch})"


def parse(text: str, space: str | Path | Space | None = None, filename: str = "<string>") -> Parsed:
    """Parse and check `text`; raise ArchError listing every error found."""
    loaded = resolve_space(space, text)
    tree, errors = _parse_tree(text, loaded, filename)
    if tree is None or errors:
        raise ArchError(errors)
    if loaded.semantics is None:  # validity-only: the grammar accepted it, that is all
        return Parsed(PlainArch(" ".join(text.split())), loaded)
    try:
        arch = build_ast(tree, text, loaded.semantics)
    except (VisitError, StopIteration) as exc:
        reason = exc.orig_exc if isinstance(exc, VisitError) else "a declared token is missing"
        raise NascError(f"{loaded.path}: its {loaded.semantics.lowering} semantics cannot read "
                        f"this tree: {reason}") from exc
    if isinstance(arch, SpaceArch):  # str(arch): spelled as samples are, when asked
        arch = replace(arch, spell=partial(canonical_text, loaded, text))
    problems = [
        _diagnostic(text, filename, span.line, span.column, message)
        for span, message in check(arch)
    ]
    if problems:
        raise ArchError(problems)
    return Parsed(arch, loaded)


def _parse_tree(text: str, space: Space, filename: str) -> tuple[Tree | None, list[Diagnostic]]:
    if not _has_content(text):
        return None, [_diagnostic(text, filename, 1, 1, "empty architecture: nothing to read")]
    errors: list[Diagnostic] = []
    if not space.parser.ignore_tokens:  # a file's final newline is no part of the string
        text = text.rstrip("\n")
    current, edits = text, _Edits()
    for _ in range(MAX_ERRORS):
        try:
            return space.parser.parse(current), errors
        except UnexpectedInput as exc:
            pos, word, expected = _locate(current, space, exc)
            if edits.touches(pos, pos + len(word)):
                return None, errors  # an error in our own repair: the user's errors are out
            line, column = _line_col(text, edits.original(pos))
            message = _message(space, word, expected)
            diagnostic = _diagnostic(text, filename, line, column, message)
            if not word or diagnostic in errors:  # the end, or a repair that did not help
                return None, errors + [diagnostic] * (diagnostic not in errors)
            errors.append(diagnostic)
            repaired = _repair(current, pos, word, expected, space, edits)
            if repaired is None:
                return None, errors
            current = repaired
        except (LarkError, RecursionError) as exc:  # anything else Lark raises on odd input
            errors.append(_diagnostic(text, filename, 1, 1, f"cannot parse: {exc}"))
            return None, errors
    return None, errors


def _locate(text: str, space: Space, exc: UnexpectedInput) -> tuple[int, str, set[str]]:
    """Where the error is, the offending word, and what the grammar accepts there."""
    if isinstance(exc, UnexpectedToken) and exc.token.type == "$END":
        # Point just after the last word (not at a line past the trailing newline), but ask
        # the grammar what it accepts after the whole text.
        return len(text.rstrip()), "", _accepts(space, text)
    pos = int(exc.pos_in_stream or 0)
    char_class = _char_class(text[pos]) if pos < len(text) else None
    start = pos
    while char_class and start > 0 and _char_class(text[start - 1]) == char_class:
        start -= 1  # "conv 3x55": blame the whole "55", not its second digit
    word = re.match(r"[A-Za-z]+|[0-9]+|\S|\s?", text[start:])
    found = word.group(0) if word else ""
    if not text[start:].strip():  # only blanks are left: the text ended too soon
        found = ""
    return start, found, _accepts(space, text[:start])


def _char_class(ch: str) -> str | None:
    if ch.isascii() and ch.isdigit():
        return "digit"
    if ch.isascii() and ch.isalpha():
        return "letter"
    return None


def _accepts(space: Space, prefix: str) -> set[str]:
    try:
        interactive = space.parser.parse_interactive(prefix)
        interactive.exhaust_lexer()
        return set(interactive.accepts())
    except LarkError:
        return set()


def _message(space: Space, word: str, expected: set[str]) -> str:
    terminals = space.terminals
    got = f", got {_WHITESPACE.get(word) or repr(word[:24])}" if word else ""
    choices = sorted(expected - {"$END"}, key=lambda n: _order(terminals.get(n), n))
    named = [n for n in choices if n in terminals and len(literals(terminals[n]) or ()) > 1]
    if len(choices) == 1 and named:
        values = ", ".join(literals(terminals[named[0]]) or ())
        return f"{describe(terminals[named[0]], named[0])} must be one of {values}{got}"
    words = [describe(terminals.get(n), n) for n in choices]
    if "$END" in expected:
        words.append("end of input")
    if not words:
        return f"unexpected {word!r}" if word else "unexpected end of input"
    listed = words[0] if len(words) == 1 else ", ".join(words[:-1]) + " or " + words[-1]
    return f"expected {listed}{got}" if word else f"unexpected end of input, expected {listed}"


_WHITESPACE = {"\n": "a new line", " ": "a space", "\t": "a tab", "\r": "a carriage return"}


def _order(terminal: TerminalDef | None, name: str) -> tuple[int, str]:
    """Keywords first, then choices, then separators: "'from', 'stride' or a new line"."""
    if name in _SKIP or terminal is None:
        return 2, name
    return (0 if isinstance(terminal.pattern, PatternStr) else 1), describe(terminal, name)


class _Edits:
    """Text repairs made so far, to map positions back to the user's text."""

    def __init__(self) -> None:
        self.spans: list[tuple[int, int]] = []  # (start, end) of each fill, in repaired text
        self.shifts: list[tuple[int, int]] = []  # (position in repaired text, length change)

    def original(self, pos: int) -> int:
        return pos - sum(delta for at, delta in self.shifts if at < pos)

    def touches(self, start: int, end: int) -> bool:
        """Whether [start, end] meets an earlier fill: repairing a repair would drift."""
        return any(start <= fill_end and fill_start <= end for fill_start, fill_end in self.spans)

    def replace(self, text: str, pos: int, word: str, fill: str) -> str:
        self.spans = [(a, b if b <= pos else b + len(fill) - len(word)) for a, b in self.spans]
        self.spans.append((pos, pos + len(fill)))
        self.shifts.append((pos, len(fill) - len(word)))
        return text[:pos] + fill + text[pos + len(word):]


def _repair(text: str, pos: int, word: str, expected: set[str], space: Space,
            edits: _Edits) -> str | None:
    """Patch the error so parsing can go on, or None where no repair is safe."""
    terminals = space.terminals
    choices = [n for n in expected if n not in _SKIP and n in terminals]
    if len(choices) == 1 and word.strip() and _is_choice(terminals[choices[0]]):
        fill = (literals(terminals[choices[0]]) or ("1",))[0]
        return edits.replace(text, pos, word, fill)
    if not _independent_statements(space) or pos >= len(text):
        return None  # rnn statements depend on each other: a blanked one would cascade
    start = max(text.rfind(";", 0, pos), text.rfind("\n", 0, pos)) + 1
    ends = [i for i in (text.find(";", pos), text.find("\n", pos)) if i >= 0]
    end = min(ends) if ends else len(text)
    blanked = text[:start] + re.sub(r"[^\n]", " ", text[start:end]) + text[end:]
    return blanked if _has_content(blanked) else None


def _independent_statements(space: Space) -> bool:
    """Whether a bad statement can be blanked to read on: a space of layers (layer-mode
    cells), where each line is one layer that parses alone."""
    cells = space.semantics.cells.values() if space.semantics else ()
    return any(cell.edge is None for cell in cells)


def _has_content(text: str) -> bool:
    return bool(re.sub(r"#[^\n]*|[\s;]", "", text))


def _is_choice(terminal: TerminalDef) -> bool:
    """A value terminal (`KERNEL_HEIGHT`, `LAYER_NUMBER`), not a keyword or punctuation."""
    return not isinstance(terminal.pattern, PatternStr)


def _line_col(text: str, pos: int) -> tuple[int, int]:
    line = text.count("\n", 0, pos) + 1
    return line, pos - (text.rfind("\n", 0, pos) + 1) + 1


def _diagnostic(text: str, filename: str, line: int, column: int, message: str) -> Diagnostic:
    lines = text.split("\n")
    source = lines[line - 1].rstrip("\r") if 0 < line <= len(lines) else ""
    return Diagnostic(filename, line, column, message, source)


__all__ = ["Parsed", "parse", "read_source", "resolve_space"]
