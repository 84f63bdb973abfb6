"""The compiler: front end (parse, AST, checks), graph IR, passes, code generation."""
