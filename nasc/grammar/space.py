"""Loading a search space: a built-in name (`cnn`, `rnn`) or a path to a `.lark` file."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from lark import Lark
from lark.exceptions import LarkError
from lark.lexer import TerminalDef

from nasc.errors import NascError
from nasc.grammar.semantics import Semantics, read_semantics
from nasc.grammar.semantics_check import check_against_grammar
from nasc.grammar.terminals import local_name

BUILTIN_DIR = Path(__file__).parent
KINDS = ("cnn", "rnn")  # the networks a space can mean: image classifiers, recurrent cells
NO_KIND = "none"  # a validity-only grammar: it can be validated and sampled, not compiled

_DESCRIPTIONS = {
    "cnn": "convolutional networks with skip connections (Zoph & Le 2016, CIFAR-10)",
    "rnn": "recurrent cells as trees of combine + activation nodes (Zoph & Le 2016, PTB)",
}


@dataclass(frozen=True)
class Space:
    """A loaded search space: its grammar text, Lark parser and kind of semantics."""

    name: str  # "cnn", "rnn", or the file's stem
    kind: str  # "cnn" | "rnn" | "none": the network its strings mean (from its semantics)
    path: Path
    text: str = field(repr=False)
    parser: Lark = field(repr=False, compare=False)
    semantics: Semantics | None = field(default=None, repr=False, compare=False)

    def __repr__(self) -> str:
        return f"Space({self.name!r}, kind={self.kind!r}, path={str(self.path)!r})"

    @property
    def description(self) -> str:
        if self.path.parent == BUILTIN_DIR and self.name in _DESCRIPTIONS:
            return _DESCRIPTIONS[self.name]
        return _first_comment(self.text) or f"a {self.kind} space"

    @property
    def terminals(self) -> dict[str, TerminalDef]:
        return {t.name: t for t in self.parser.terminals}

    def rule_names(self) -> set[str]:
        return {local_name(str(rule.origin.name)) for rule in self.parser.rules}

    def layer_rules(self) -> tuple[str, ...]:
        """The rules the layer budget counts: the nodes of its layer-mode cells, as its
        semantics declare them; in a grammar without semantics, a rule named `layer`."""
        if self.semantics is None:
            return ("layer",)
        return tuple(n for c in self.semantics.cells.values() if c.edge is None for n in c.node)

    def anchor_terminals(self) -> tuple[str, ...]:
        """The terminals whose tokens name anchors (`cnn`'s LAYER_NUMBER in `from 1,2`)."""
        cells = self.semantics.cells.values() if self.semantics else ()
        return tuple(t for c in cells if c.edge is None for t in c.source)


def builtin_names() -> list[str]:
    return sorted(p.stem for p in BUILTIN_DIR.glob("*.lark"))


def detect_space(text: str) -> str:
    """The built-in space a text is written in: `rnn base ...` is `rnn`, else `cnn`."""
    stripped = re.sub(r"(?m)^\s*(#[^\n]*)?(\n|$)", "", text).lstrip(" \t\r\n;")
    return "rnn" if re.match(r"rnn\s+base\b", stripped) else "cnn"


def load_space(spec: str | Path) -> Space:
    """Load a built-in space by name or a grammar from a `.lark` path."""
    spec_str = str(spec)
    if spec_str in builtin_names():
        path = BUILTIN_DIR / f"{spec_str}.lark"
    elif spec_str.endswith(".lark") or "/" in spec_str or Path(spec_str).is_file():
        path = Path(spec_str)
        if not path.is_file():
            raise NascError(f"{spec_str}: no such grammar file")
    else:
        known = ", ".join(builtin_names())
        raise NascError(f"unknown space {spec_str!r}: use one of {known} or a path to a .lark file")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise NascError(f"{path}: cannot read grammar: {exc}") from exc
    return _load(str(path.resolve()), text)


@lru_cache(maxsize=64)
def _load(path: str, text: str) -> Space:
    where = Path(path)
    try:
        parser = Lark(
            text,
            parser="lalr",
            lexer="contextual",
            propagate_positions=True,
            maybe_placeholders=False,
            import_paths=[str(where.parent), str(BUILTIN_DIR)],
            source_path=path,
        )
    except RecursionError:
        raise NascError(f"{where}: grammar does not load: Lark recursed without end; does an "
                        f"%import lead back to itself? (a .lark file in {where.parent} named "
                        f"like a module it imports, such as common.lark, hides Lark's own)"
                        ) from None
    except (LarkError, OSError, ValueError, KeyError) as exc:
        raise NascError(f"{_locate(where, exc)}: grammar does not load: {_one_line(exc)}") from exc
    builtin = {} if where.parent == BUILTIN_DIR else _builtin_semantics()
    semantics = read_semantics(text, where, builtin)
    if semantics is not None and not any(semantics is b for b in builtin.values()):
        check_against_grammar(semantics, parser, where, text)  # `extends` narrows a checked one
    kind = semantics.kind if semantics else NO_KIND
    return Space(name=where.stem, kind=kind, path=where, text=text, parser=parser,
                 semantics=semantics)


def _builtin_semantics() -> dict[str, Semantics]:
    """The built-in spaces' semantics, for `//% extends = "NAME"`."""
    found = {}
    for name in builtin_names():
        semantics = load_space(name).semantics
        if semantics is not None:
            found[name] = semantics
    return found


def _locate(path: Path, exc: BaseException) -> str:
    line = getattr(exc, "line", None)
    column = getattr(exc, "column", None)
    if not isinstance(line, int):
        found = re.search(r"line (\d+),? col(?:umn)? (\d+)", str(exc))
        line, column = (int(found[1]), int(found[2])) if found else (None, None)
    return f"{path}:{line}:{column}" if isinstance(line, int) and line > 0 else str(path)


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    first = text.splitlines()[0].strip()
    first = re.sub(r"\s*,?\s*at line \d+,? col(umn)? \d+.*$", "", first)
    expected = re.findall(r"^\s*\*\s*(\S+)", text, flags=re.M)
    if expected:
        first += f" (expected {', '.join(expected[:6])})"
    if "override a nonexisting" in first or "extend terminal" in first:
        first += " (to change a built-in name, list it in the %import first)"
    return first


def _first_comment(text: str) -> str:
    """The first sentence of the grammar's leading `//` comment (it may span lines)."""
    lines: list[str] = []
    for line in text.splitlines():
        line = line.strip()
        if not line.startswith("//") or line.startswith("//%") or not line.lstrip("/ "):
            break
        lines.append(line.lstrip("/ "))
    sentence = re.split(r"(?<=\.)\s", " ".join(lines), maxsplit=1)[0]
    return sentence.rstrip(".")


def list_spaces(example_dir: Path | None = None) -> list[Space]:
    """The built-in spaces, then the example spaces shipped in `examples/` (and its
    `spaces/`: NAS-Bench-201, DARTS, ...)."""
    spaces = [load_space(name) for name in builtin_names()]
    if example_dir is not None and example_dir.is_dir():
        spaces += [load_space(path) for path in sorted(example_dir.rglob("*.lark"))]
    return spaces
