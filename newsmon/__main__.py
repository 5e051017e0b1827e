"""`python -m newsmon` runs the CLI."""

from newsmon.cli import main

main()
