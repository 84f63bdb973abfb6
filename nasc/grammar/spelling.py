"""How a sequence of token literals is written as text that its grammar accepts.

Every place that turns tokens into text (a sample's text, its rendered
fragments, lint's example strings) goes through `Speller.join` / `glue`:

- a grammar that ignores no whitespace (NAS-Bench-201's cell strings
  `|nor_conv_3x3~0|+|...|`) gets its tokens written back to back: a space
  would be a character the grammar rejects;
- a grammar that ignores whitespace gets one space between two tokens, except
  where a house style glues them (`3x3`, `from 1,2`, `;` and punctuation) *and*
  the lexer splits the glued text back: no terminal of the grammar matches a
  piece of the glued text that crosses the joint (a conservative test: it may
  keep a space the lexer did not need, never drop one it needs).
"""

from __future__ import annotations

import re
import weakref
from typing import TYPE_CHECKING, Any

from lark.lexer import PatternStr

from nasc.grammar.terminals import literals, local_name

if TYPE_CHECKING:
    from nasc.grammar.space import Space

_SEPARATOR_FORMS = ("; ", ";", "\n", " ", ", ")  # a filtered separator's canonical text

_SEPARATORS = (" ", "\t", "\n")  # what may go between tokens, if the grammar ignores it
NO_SPACE_BEFORE = {",", ":", ")", "]"}
NO_SPACE_AFTER = {"(", "[", ","}


class Speller:
    """Joins literals for one grammar (decisions cached per pair of words)."""

    def __init__(self, space: Space) -> None:
        parser = space.parser
        ignored = set(parser.ignore_tokens)
        ignorable = [re.compile(t.pattern.to_regexp()) for t in parser.terminals
                     if t.name in ignored]
        self.separator = next((s for s in _SEPARATORS
                               if any(p.fullmatch(s) for p in ignorable)), None)
        finite = {t.name: literals(t) for t in parser.terminals}
        self.words = {w for found in finite.values() if found for w in found}
        self.patterns = [re.compile(t.pattern.to_regexp()) for t in parser.terminals
                         if not finite[t.name]]  # the others are matched as `words`
        self._style: dict[tuple[str, str], bool] = {}
        self._glue: dict[tuple[str, str], bool] = {}

    def __repr__(self) -> str:
        return f"Speller(separator={self.separator!r})"

    def glue(self, last: str, first: str, run: str = "", lead: str = "") -> bool:
        """Whether `first` is written right after `last`, with nothing between.

        `run` is the text written since the last separator (it ends with `last`) and
        `lead` what will be glued on after it (it starts with `first`); both default to
        the single words. They are glued only if no terminal matches a piece of
        `run + lead` that starts in `run` and reaches into `lead`: then the lexer
        splits them where they were joined."""
        if self.separator is None or not last:
            return True
        style = self._style.get((last, first))
        if style is None:
            style = self._style[(last, first)] = _house_style(last, first)
        if not style:
            return False
        key = (run or last, lead or first)
        found = self._glue.get(key)
        if found is None:
            found = self._glue[key] = self._splits(*key)
        return found

    def _splits(self, run: str, lead: str) -> bool:
        text, words, ends = run + lead, self.words, range(len(run) + 1, len(run + lead) + 1)
        if any(text[start:end] in words for start in range(len(run)) for end in ends):
            return False
        return not any(p.fullmatch(text, start, end) for p in self.patterns
                       for start in range(len(run)) if p.match(text, start)  # else none there
                       for end in ends)

    def tail(self, run: str, glued: bool, body: str) -> str:
        """The text since the last separator once `body` is written after `run`."""
        sep = self.separator
        if sep is not None and sep in body:
            return body.rsplit(sep, 1)[1]
        return run + body if glued else body

    def join(self, words: list[str]) -> str:
        """The text of `words` (empty words, such as the end token, are skipped)."""
        out: list[str] = []
        last = run = ""
        for word in words:
            if not word:
                continue
            glued = not out or self.glue(last, word, run)
            out.append(word if glued else f"{self.separator}{word}")
            run, last = self.tail(run, glued, word), word
        return "".join(out)


def _house_style(previous: str, word: str) -> bool:
    """nasc's readable spelling: `conv 3x3 36; conv 5x5 48 from 1,2`."""
    if previous.endswith((" ", "\n")) or word.startswith((";", "\n")):
        return True
    if word in NO_SPACE_BEFORE or previous in NO_SPACE_AFTER:
        return True
    return (word == "x" and previous[-1:].isdigit()) or (previous == "x" and word[:1].isdigit())


def separator_form(name: str, terminal: Any) -> str | None:
    """The canonical text of a filtered separator terminal (`_SEP`: `; ` where it
    matches that), None for other terminals."""
    if not local_name(name).startswith("_") or isinstance(terminal.pattern, PatternStr):
        return None
    regex = re.compile(terminal.pattern.to_regexp())
    return next((form for form in _SEPARATOR_FORMS if regex.fullmatch(form)), None)


_SPELLERS: weakref.WeakKeyDictionary[Any, Speller] = weakref.WeakKeyDictionary()


def canonical_text(space: Space, text: str) -> str | None:
    """`text` spelled as samples are: its tokens joined by the `Speller`, separators in
    their canonical form, comments and layout dropped. None where the text does not lex
    alone (a grammar whose tokens need the parser's context)."""
    speller = _SPELLERS.get(space.parser)
    if speller is None:
        speller = _SPELLERS[space.parser] = Speller(space)
    terminals = space.terminals
    try:
        tokens = list(space.parser.lex(text))
    except Exception:  # noqa: BLE001 - any lexer failure: no canonical text
        return None
    words: list[str] = []
    separated = True  # no separator first, none twice in a row
    for token in tokens:
        form = separator_form(token.type, terminals[token.type]) if token.type in terminals \
            else None
        if form is None or not separated:
            words.append(str(token) if form is None else form)
        separated = form is not None
    if words and separated:
        words.pop()  # nor last
    return speller.join(words)
