"""nasc: Neural Architecture Search as a compiler problem.

    text -> Lark tree -> typed AST -> graph IR -> passes -> torch.fx module

`nasc.grammar` loads search spaces, `nasc.compiler` parses and compiles
architectures, `nasc.controller` samples them, `nasc.runtime` searches.
"""

__version__ = "0.1.0"
