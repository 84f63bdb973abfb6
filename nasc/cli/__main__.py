"""`python -m nasc.cli`."""

from nasc.cli import main

main()
