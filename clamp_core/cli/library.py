"""CLI verbs of the library index: `clamp index`, `clamp search`, `clamp similar`."""

from __future__ import annotations

import logging
import sys

import click

from clamp_core.cli.output import EXIT_PARTIAL, emit_json, warn_unfamiliar
from clamp_core.errors import ClampError
from clamp_core.index.filters import FILTER_FIELDS, parse_conditions


def _table(hits) -> None:
    """Rank, score, title, composer, path: widths fitted to the rows, long cells cut."""
    def cut(s, n: int) -> str:
        s = "" if s is None else str(s)
        return s if len(s) <= n else s[:n - 1] + "…"

    relevance = hits[0].relevance is not None
    rows = [(str(h.rank), f"{h.relevance:.2f}" if relevance else f"{h.score:.3f}",
             cut(h.title or "-", 40), cut(h.composer or "-", 24),
             h.path + (f"#{h.tune}" if h.tune is not None else "")) for h in hits]
    head = ("#", "relevance" if relevance else "cosine", "title", "composer", "path")
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


def _hits_out(kind: str, query: str, idx, hits, as_json: bool, extra: dict | None = None,
              empty: str = "no results: the index is empty") -> None:
    if as_json:
        emit_json({kind: query, "index": str(idx.folder), "model": idx.model,
                   "results": [h.to_dict() for h in hits], **(extra or {})})
    elif hits:
        _table(hits)
    else:
        click.echo(empty)


@click.command("index", short_help="Embed a folder of scores into an index (incremental).")
@click.argument("folder", required=False, type=click.Path(file_okay=False))
@click.option("--index", "index_path", required=True, type=click.Path(),
              help="Index folder (created if new).")
@click.option("--model", "model_name", default=None, type=click.Path(),
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


def _no_pass(filters: list[str]) -> str | None:
    return f"no score in the index passes {' and '.join(filters)}" if filters else None


def _lookup_options(f):
    """Options shared by search and similar."""
    for o in reversed([
        click.option("--index", "index_path", required=True, type=click.Path(file_okay=False)),
        click.option("-k", "k", default=10, show_default=True, type=click.IntRange(min=1)),
        click.option("--model", "model_name", default=None, type=click.Path(),
                     help="Default: the index's model."),
        click.option("--json", "as_json", is_flag=True, help="Machine-readable output."),
        click.option("--where", "where", multiple=True, metavar="FIELD=VALUE",
                     help="Only scores whose facts pass (repeatable, all must hold): "
                          "composer=Bach, metre=6/8, key=minor, ensemble=voice and piano, "
                          "tempo=slow, bars<=32, lyrics=yes, chords=yes; also != < > <= >=. "
                          "Fields: " + ", ".join(FILTER_FIELDS) + "."),
    ]):
        f = o(f)
    return f


def _filters(where: tuple[str, ...]) -> list[str]:
    """The --where filters, checked before the model loads (a typo costs no wait)."""
    parse_conditions(list(where))
    return list(where)


@click.command()
@click.argument("query")
@_lookup_options
@click.option("--min-score", type=click.FloatRange(0, 1), default=None,
              help="Leave out results whose relevance is below this (0-1).")
def search(query: str, index_path: str, k: int, model_name: str | None, as_json: bool,
           where: tuple[str, ...], min_score: float | None) -> None:
    """Scores of an index that best match a text description.

    Relevance (0-1) is the chance, fitted on the model's validation texts, that a work fits
    the query: about 0.5 and above is a likely match. The cosine of text and music (JSON
    "score", -1 to 1) runs about 0.2-0.4 for good matches and is not comparable across queries.
    When even the best result falls below the model's "no good match" level, the command says
    so instead of presenting the list as matches."""
    filters = _filters(where)
    idx, clamp = _load(index_path, model_name)
    with idx:
        hits = clamp.search(query, idx, k=k, where=filters)
        weak = clamp.no_good_match(hits)
        if min_score is not None:
            hits = [h for h in hits if h.relevance >= min_score]
        if weak and not as_json:
            best = f" (best relevance {hits[0].relevance:.2f})" if hits else ""
            click.echo(f"nothing in this index matches {query!r} well{best}; the nearest:",
                       err=True)
        _hits_out("query", query, idx, hits, as_json, {"no_good_match": weak, "where": filters},
                  empty=f"no results with relevance >= {min_score}" if min_score is not None
                  else _no_pass(filters) or "no results: the index is empty")


@click.command(short_help="Scores of an index most like a given score.")
@click.argument("file", type=click.Path())
@_lookup_options
def similar(file: str, index_path: str, k: int, model_name: str | None, as_json: bool,
            where: tuple[str, ...]) -> None:
    """Scores of an index most like FILE (FILE itself left out); score = cosine of the two
    pieces' music embeddings (1: the same music; above about 0.8: closely alike)."""
    filters = _filters(where)
    idx, clamp = _load(index_path, model_name)
    with idx:
        vec = clamp.encode_scores([file])[0]
        novelty = clamp.novelty_of(vec)
        _hits_out("file", file, idx, clamp.similar(file, idx, k=k, vector=vec, where=filters),
                  as_json, {"novelty": novelty.to_dict(), "where": filters},
                  **({"empty": _no_pass(filters)} if filters else {}))
        if not as_json:
            warn_unfamiliar(novelty)
