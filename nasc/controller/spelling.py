"""How a sequence of token literals is written as text that its grammar accepts.

Every place that turns tokens into text (a sample's text, its rendered
fragments, lint's example strings) goes through `Speller.join` / `glue`:

- a grammar that ignores no whitespace (NAS-Bench-201's cell strings
  `|nor_conv_3x3~0|+|...|`) gets its tokens written back to back: a space
  would be a character the grammar rejects;
- a grammar that ignores whitespace gets one space between two tokens, except
  where a house style glues them (`3x3`, `from 1,2`, `;` and punctuation) *and*
  the lexer splits the glued text back: no terminal of the grammar matches a
  longer piece of it than the first token.
"""

from __future__ import annotations

import re

from nasc.grammar import Space

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
        self.patterns = [re.compile(t.pattern.to_regexp()) for t in parser.terminals]
        self._glue: dict[tuple[str, str], bool] = {}

    def __repr__(self) -> str:
        return f"Speller(separator={self.separator!r})"

    def glue(self, previous: str, word: str) -> bool:
        """Whether `word` is written right after `previous`, with nothing between."""
        if self.separator is None or not previous:
            return True
        key = (previous, word)
        found = self._glue.get(key)
        if found is None:
            found = self._glue[key] = _house_style(previous, word) and self._splits(
                previous, word)
        return found

    def _splits(self, previous: str, word: str) -> bool:
        """No terminal matches more of `previous + word` than `previous` (the lexer splits)."""
        text = previous + word
        return not any(p.fullmatch(text, 0, end) for end in range(len(previous) + 1,
                                                                    len(text) + 1)
                       for p in self.patterns)

    def join(self, words: list[str]) -> str:
        """The text of `words` (empty words, such as the end token, are skipped)."""
        out: list[str] = []
        previous = ""
        for word in words:
            if not word:
                continue
            glued = not out or self.glue(previous, word)
            out.append(word if glued else f"{self.separator}{word}")
            previous = word
        return "".join(out)


def _house_style(previous: str, word: str) -> bool:
    """nasc's readable spelling: `conv 3x3 36; conv 5x5 48 from 1,2`."""
    if previous.endswith((" ", "\n")) or word.startswith((";", "\n")):
        return True
    if word in NO_SPACE_BEFORE or previous in NO_SPACE_AFTER:
        return True
    return (word == "x" and previous[-1:].isdigit()) or (previous == "x" and word[:1].isdigit())
