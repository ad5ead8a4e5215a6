"""`python -m clamp_core ...` runs the `clamp` CLI (also what torchrun launches: -m clamp_core)."""

from clamp_core.cli.root import main

main()
