"""`python -m clamp_core.cli`: the same as the `clamp` command."""

from clamp_core.cli.root import main

main()
