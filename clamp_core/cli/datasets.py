"""`clamp dataset build`: training datasets from the music21 corpus, folders and ABC files."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import click

from clamp_core.cli.output import EXIT_PARTIAL, emit_json
from clamp_core.errors import ClampError


@click.group(short_help="Build training datasets (JSONL of ABC, texts and labels).")
def dataset() -> None:
    """Build training datasets (JSONL of ABC + text candidates + labels)."""


@dataset.command("build", short_help="Build a dataset JSONL from corpora, folders and ABC files.")
@click.option("--out", required=True, type=click.Path(dir_okay=False),
              help="Dataset JSONL to write (+ .failures.jsonl and .summary.json beside it).")
@click.option("--collections", default=None,
              help="music21 collections, comma-separated, 'all' or 'none' "
                   "(default: all, or none when --folder/--abc is given).")
@click.option("--folder", type=click.Path(file_okay=False), help="A folder of score files.")
@click.option("--meta", type=click.Path(dir_okay=False),
              help="TSV/CSV for --folder: id (file stem), title, composer, composer_born, ...")
@click.option("--lyrics", type=click.Path(file_okay=False),
              help="Lyrics folder (<id>.txt) for --folder; default: a lyrics/ folder beside it.")
@click.option("--folder-collection", default="folder", show_default=True,
              help="Collection label of --folder works (e.g. lieder).")
@click.option("--abc", "abc_dir", type=click.Path(file_okay=False),
              help="A folder of .abc files; every tune is a work.")
@click.option("--corpus", "corpora", multiple=True, metavar="NAME=PATH",
              help="A public corpus from a local clone (repeatable); NAME is one of polish, "
                   "chopin, cantopop, nottingham, cre, hauptstimme, pop909 (docs/data_card.md).")
@click.option("--cached-only", is_flag=True,
              help="Convert nothing: cut a dataset from the works already in the cache.")
@click.option("--cache", "cache_dir", default=str(Path("~/.cache/clamp-notation/dataset")),
              show_default=True, type=click.Path(file_okay=False),
              help="Cache of converted works (by content hash).")
@click.option("--workers", type=int, default=None, help="Worker processes (default: cores).")
@click.option("--limit", type=int, default=None, help="At most N works per collection.")
@click.option("--timeout", default=600, show_default=True, help="Seconds per work before skipping.")
@click.option("--test-groups", default=None, type=click.Path(dir_okay=False),
              help="Frozen test groups file (default: the one shipped with clamp-notation).")
@click.option("--freeze-test-groups", is_flag=True,
              help="Write this build's test groups into the --test-groups file.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
def dataset_build(out: str, collections: str | None, folder: str | None, meta: str | None,
                  lyrics: str | None, folder_collection: str, abc_dir: str | None,
                  corpora: tuple[str, ...], cached_only: bool, cache_dir: str,
                  workers: int | None, limit: int | None, timeout: int,
                  test_groups: str | None, freeze_test_groups: bool, as_json: bool) -> None:
    """Build a dataset from the music21 corpus, public corpora, a folder of scores and/or ABC
    files."""
    from clamp_core.datasets.build import TEST_GROUPS_FILE, build_dataset
    from clamp_core.datasets.corpora import corpus_items
    from clamp_core.datasets.sources import (
        MUSIC21_COLLECTIONS,
        abc_items,
        folder_items,
        music21_items,
    )

    logging.basicConfig(level=logging.INFO, format="%(message)s")
    if meta and not folder:
        raise ClampError("--meta describes a --folder of scores; pass --folder too")
    if collections is None:
        collections = "none" if (folder or abc_dir or corpora) else "all"
    names = (list(MUSIC21_COLLECTIONS) if collections == "all" else
             [] if collections == "none" else
             [c.strip() for c in collections.split(",") if c.strip()])
    items = music21_items(names, limit) if names else []
    if folder:
        items += folder_items(folder, meta, collection=folder_collection, lyrics=lyrics,
                              limit=limit)
    if abc_dir:
        items += abc_items(abc_dir, limit=limit)
    for spec in corpora:
        found = corpus_items(spec)
        items += found[:limit] if limit else found
    if not items:
        raise ClampError("nothing to build: no works found; check --collections/--folder/--abc/"
                         "--corpus")
    groups_file = test_groups or str(TEST_GROUPS_FILE)
    summary = build_dataset(
        items, out, cache_dir=cache_dir, workers=workers, timeout=timeout,
        test_groups=groups_file, freeze_test_groups=groups_file if freeze_test_groups else None,
        cached_only=cached_only,
        command=" ".join(["clamp", "dataset", "build", *sys.argv[sys.argv.index("build") + 1:]])
        if "build" in sys.argv else None)
    if as_json:
        emit_json(summary)
    else:
        for c, row in summary["collections"].items():
            click.echo(f"{c:12s} " + "  ".join(f"{k} {v}" for k, v in row.items()))
        click.echo(f"{summary['works']} works ({summary['splits']}), {summary['failures']} "
                   f"failures, {summary['converted']} converted, {summary['cached']} cached, "
                   f"{summary['seconds']} s -> {out}")
    if summary["failures"]:
        sys.exit(EXIT_PARTIAL if summary["works"] else 1)
