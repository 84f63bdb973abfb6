"""Search spaces: Lark grammars loaded by name or from a user's `.lark` file.

A grammar is both the language architectures are written in and the search
space the controller samples from. Built-in spaces live beside this file
(`cnn.lark`, `rnn.lark`); a user's grammar can `%import` them and `%override`
their terminals to restrict the choices.
"""

from nasc.grammar.space import (
    BUILTIN_DIR,
    Space,
    builtin_names,
    detect_space,
    list_spaces,
    load_space,
)

__all__ = ["BUILTIN_DIR", "Space", "builtin_names", "detect_space", "list_spaces", "load_space"]
