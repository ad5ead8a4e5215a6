"""CLI verbs of the library index: `clamp index`, `clamp search`, `clamp similar`."""

from __future__ import annotations

import logging
import sys

import click

from clamp_core.cli.output import EXIT_PARTIAL, emit_json
from clamp_core.errors import ClampError


def _table(hits) -> None:
    """Rank, score, title, composer, path: widths fitted to the rows, long cells cut."""
    def cut(s, n: int) -> str:
        s = "" if s is None else str(s)
        return s if len(s) <= n else s[:n - 1] + "…"

    rows = [(str(h.rank), f"{h.score:.3f}", cut(h.title or "-", 40), cut(h.composer or "-", 24),
             h.path + (f"#{h.tune}" if h.tune is not None else "")) for h in hits]
    head = ("#", "score", "title", "composer", "path")
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(4)]
    for r in [head, *rows]:
        click.echo("  ".join(c.rjust(w) if i < 2 else c.ljust(w)
                             for i, (c, w) in enumerate(zip(r[:4], widths, strict=True)))
                   + "  " + r[4])


def _load(index_path: str, model_name: str | None):
    """The index and a model for it: the one it was built with unless --model says otherwise."""
    from clamp_core.api import Clamp
    from clamp_core.index.library import Index

    idx = Index(index_path)
    clamp = Clamp.load(model_name or idx.model)
    idx.check_model(clamp)
    return idx, clamp


def _hits_out(kind: str, query: str, idx, hits, as_json: bool) -> None:
    if as_json:
        emit_json({kind: query, "index": str(idx.folder), "model": idx.model,
                    "results": [h.to_dict() for h in hits]})
    elif hits:
        _table(hits)
    else:
        click.echo("no results: the index is empty")


@click.command("index")
@click.argument("folder", required=False, type=click.Path(file_okay=False))
@click.option("--index", "index_path", required=True, type=click.Path(),
              help="Index folder (created if new).")
@click.option("--model", "model_name", default=None,
              help="Model folder for a new index (default: the shipped model); an existing "
                   "index keeps the model it was built with.")
@click.option("--workers", type=click.IntRange(min=0), default=None,
              help="Reader processes (default: min(2, cores); 0 reads in this process).")
@click.option("--batch-size", default=64, show_default=True, type=click.IntRange(min=1),
              help="Scores encoded and committed together.")
@click.option("--failures", is_flag=True, help="List the files that could not be read.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def index_cmd(folder: str | None, index_path: str, model_name: str | None, workers: int | None,
              batch_size: int, failures: bool, as_json: bool) -> None:
    """Embed a folder of scores into an index; later runs only read new or changed files."""
    from clamp_core.api import Clamp
    from clamp_core.index.library import Index

    logging.basicConfig(level=logging.WARNING, format="clamp: %(message)s")
    if folder is None and not failures:
        raise click.UsageError("give the FOLDER of scores to index (or --failures to list them)")
    report = None
    if folder is not None:
        try:
            idx = Index(index_path, write=True)
            # an existing index: its model, loaded only if some file needs encoding (a --model
            # given is loaded now, so a mismatch is reported even when nothing changed)
            clamp = Clamp.load(model_name) if model_name else (lambda: Clamp.load(idx.model))
        except ClampError:  # a new index (or not an index: create() says which)
            clamp = Clamp.load(model_name or "default")
            idx = Index.create(index_path, clamp)
        with idx:
            report = idx.update(folder, clamp, workers=workers, batch_size=batch_size,
                                progress=not as_json)
    with Index(index_path) as idx:
        fails = idx.failures()
    out = {**(report.to_dict() if report else {}), "index": index_path,
           **({"failures": fails} if failures or as_json else {})}
    if as_json:
        emit_json(out)
    else:
        if report:
            r = report
            click.echo(f"indexed {r.root}: {r.scanned} files ({r.unchanged} unchanged, "
                       f"{r.parsed} read, {r.removed} removed); +{r.added} entries, "
                       f"{r.failed} failed; {r.entries} entries in {index_path} ({r.seconds:.1f}s)")
            if r.failures_total and not failures:
                click.echo(f"{r.failures_total} entries could not be read; list them with "
                           f"`clamp index --failures --index {index_path}`", err=True)
        if failures:
            for f in fails:
                click.echo(f"{f['path']}{'#' + str(f['tune']) if f['tune'] is not None else ''}"
                           f"\t{f['error']}")
            if not fails:
                click.echo("no failures")
    if report and report.failures_total:
        sys.exit(EXIT_PARTIAL if report.entries else 1)


def _lookup_options(f):
    """Options shared by search and similar."""
    for o in reversed([
        click.option("--index", "index_path", required=True, type=click.Path(file_okay=False)),
        click.option("-k", "k", default=10, show_default=True, type=click.IntRange(min=1)),
        click.option("--model", "model_name", default=None, help="Default: the index's model."),
        click.option("--json", "as_json", is_flag=True, help="Machine-readable output."),
    ]):
        f = o(f)
    return f


@click.command()
@click.argument("query")
@_lookup_options
def search(query: str, index_path: str, k: int, model_name: str | None, as_json: bool) -> None:
    """Scores of an index that best match a text description."""
    idx, clamp = _load(index_path, model_name)
    with idx:
        _hits_out("query", query, idx, clamp.search(query, idx, k=k), as_json)


@click.command()
@click.argument("file")
@_lookup_options
def similar(file: str, index_path: str, k: int, model_name: str | None, as_json: bool) -> None:
    """Scores of an index most like FILE (FILE itself left out)."""
    idx, clamp = _load(index_path, model_name)
    with idx:
        _hits_out("file", file, idx, clamp.similar(file, idx, k=k), as_json)
