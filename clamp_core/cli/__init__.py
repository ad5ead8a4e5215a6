"""The `clamp` command line (entry point clamp_core.cli.root:main). Nothing outside this
package imports it, except clamp_core.cli.output, which front ends use to print alike."""
