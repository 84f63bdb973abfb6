"""`python -m nasc`."""

from nasc.cli import main

main()
