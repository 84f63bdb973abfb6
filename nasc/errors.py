"""The one exception type users see.

Anything that is the user's fault (an unknown space, a grammar that does not
load, a network over its parameter budget, an export that is not supported)
raises `NascError` with a one-line message; the CLI prints it as
`nasc: error: MESSAGE` and exits 1. Located errors in architecture text are
`ArchError` (see `nasc.compiler.diagnostics`).
"""


class NascError(Exception):
    """A user-facing error with a one-line message."""
