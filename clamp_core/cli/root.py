"""The `clamp` command line: the root group and the console entry point. Each verb is a thin
layer over the library, in a module of its family, imported only when it runs (or --help lists
it), so a verb loads only what it needs and nothing imports the CLI to register a command.

Exit codes: 0 success, 1 error the user can fix (one line on stderr), 2 usage error,
3 some inputs of a batch failed (the rest was done), 70 internal error (a bug: please report).
"""

from __future__ import annotations

import importlib
import os
import sys

import click

from clamp_core.cli.output import EXIT_INTERNAL
from clamp_core.errors import ClampError

# verb -> "module:attribute"; front ends (musescore_bridge) attach their verbs here too.
COMMANDS = {
    "abc": "clamp_core.cli.scores:abc_cmd",
    "calibrate": "clamp_core.cli.evaluation:calibrate",
    "caption": "clamp_core.cli.tasks:caption",
    "classify": "clamp_core.cli.tasks:classify",
    "dataset": "clamp_core.cli.datasets:dataset",
    "encode": "clamp_core.cli.scores:encode",
    "evaluate": "clamp_core.cli.evaluation:evaluate",
    "export": "export.cli:main",
    "index": "clamp_core.cli.library:index_cmd",
    "info": "clamp_core.cli.scores:info",
    "init-model": "clamp_core.cli.training:init_model",
    "musescore": "musescore_bridge.cli:musescore",
    "pretrain-music": "clamp_core.cli.training:pretrain_music_cmd",
    "search": "clamp_core.cli.library:search",
    "serve": "musescore_bridge.cli:serve",
    "similar": "clamp_core.cli.library:similar",
    "train": "clamp_core.cli.training:train",
}


class ClampGroup(click.Group):
    """Verbs loaded on first use from COMMANDS; our user-facing errors become click's one-line
    'Error: ...' with exit code 1."""

    def list_commands(self, ctx) -> list[str]:
        return sorted({*super().list_commands(ctx), *COMMANDS})

    def get_command(self, ctx, name: str):
        if name in self.commands or name not in COMMANDS:
            return super().get_command(ctx, name)
        module, _, attr = COMMANDS[name].partition(":")
        command = getattr(importlib.import_module(module), attr)
        self.add_command(command, name)
        return command

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except ClampError as e:
            raise click.ClickException(str(e)) from None


@click.group(cls=ClampGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="clamp-notation")
def cli() -> None:
    """CLaMP for notation: encode, search, classify and caption scores."""


def main() -> None:
    """Console entry point: a bug prints one line unless CLAMP_DEBUG=1 asks for the traceback."""
    try:
        cli(prog_name="clamp")
    except Exception as e:  # click already handled user and usage errors
        if os.environ.get("CLAMP_DEBUG"):
            raise
        click.echo(f"clamp: internal error: {type(e).__name__}: {e} "
                   "(set CLAMP_DEBUG=1 for the traceback and please report it)", err=True)
        sys.exit(EXIT_INTERNAL)


if __name__ == "__main__":
    main()
