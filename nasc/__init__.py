"""nasc: Neural Architecture Search as a compiler problem.

    text -> Lark tree -> typed AST -> graph IR -> passes -> torch.fx module

`nasc.grammar` loads search spaces, `nasc.compiler` parses and compiles
architectures, `nasc.controller` samples them, `nasc.runtime` searches.
"""

__version__ = "0.1.0"

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from nasc.api import compile
    from nasc.study import Study, load_study, search

__all__ = ["__version__", "compile", "search", "load_study", "Study"]
_STUDY = ("search", "load_study", "Study")


def __getattr__(name: str) -> Any:
    """`nasc.compile` and `nasc.search` import torch on first use, so `import nasc` (and the
    CLI) stays fast."""
    if name == "compile":
        from nasc.api import compile

        return compile
    if name in _STUDY:  # the search API (nasc.study), also imported on first use
        import nasc.study

        return getattr(nasc.study, name)
    raise AttributeError(f"module 'nasc' has no attribute {name!r}")
