"""``python -m gridservice``: the command line."""

from gridservice.cli import main

main()
