"""CLI verbs of the library index: `clamp index`, `clamp search`, `clamp similar`."""

from __future__ import annotations

import logging
import sys

import click

from clamp_core.cli.output import EXIT_PARTIAL, emit_json, warn_unfamiliar
from clamp_core.errors import ClampError
from clamp_core.index.filters import FILTER_FIELDS, parse_conditions
from clamp_core.index.passages import DEFAULT_HOP, DEFAULT_WIDTH, check_settings


def _table(hits) -> None:
    """Rank, score, title, composer, path: widths fitted to the rows, long cells cut."""
    def cut(s, n: int) -> str:
        s = "" if s is None else str(s)
        return s if len(s) <= n else s[:n - 1] + "…"

    relevance = hits[0].relevance is not None
    rows = [(str(h.rank), f"{h.relevance:.2f}" if relevance else f"{h.score:.3f}",
             _title(h, cut), cut(h.composer or "-", 24),
             h.path + (f"#{h.tune}" if h.tune is not None else "")) for h in hits]
    head = ("#", "relevance" if relevance else "cosine", "title", "composer", "path")
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(4)]
    for r in [head, *rows]:
        click.echo("  ".join(c.rjust(w) if i < 2 else c.ljust(w)
                             for i, (c, w) in enumerate(zip(r[:4], widths, strict=True)))
                   + "  " + r[4])


def _title(hit, cut) -> str:
    """The title cell: "Title, bars 17-24" for a passage, "Title, bars 17-24 (same notes)"
    when it holds the query's notes bar for bar (or "(60% same notes)" for most of them); the
    bars never cut off."""
    if not hit.bars:
        return cut(hit.title or "-", 40)
    first, last = hit.bars
    where = f"bars {first}-{last}" if first != last else f"bar {first}"
    same = hit.same_notes or 0.0
    if same >= 0.5:
        where += " (same notes)" if same >= 0.995 else f" ({same:.0%} same notes)"
    return cut(hit.title or "-", 38 - len(where)) + ", " + where


def _load(index_path: str, model_name: str | None, passages: bool = False):
    """The index and a model for it: the one it was built with unless --model says otherwise
    (with ``passages``, the index is checked to hold them before the model loads)."""
    from clamp_core.api import Clamp
    from clamp_core.index.library import as_index

    idx = as_index(index_path)  # a folder or a PostgreSQL store's URL
    if passages:
        idx.passages()
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
@click.option("--index", "index_path", default=None, type=click.Path(),
              help="Index folder (created if new); not with --engine ray.")
@click.option("--model", "model_name", default=None, type=click.Path(),
              help="Model folder for a new index (default: the shipped model); an existing "
                   "index keeps the model it was built with.")
@click.option("--workers", type=click.IntRange(min=0), default=None,
              help="Reader processes (default: min(2, cores); 0 reads in this process).")
@click.option("--batch-size", default=64, show_default=True, type=click.IntRange(min=1),
              help="Scores encoded and committed together.")
@click.option("--failures", is_flag=True, help="List the files that could not be read.")
@click.option("--passages", is_flag=True,
              help="Also keep passages (windows of bars) for `search/similar --passages`; "
                   "once given, the index keeps them on every later run.")
@click.option("--passage-bars", type=click.IntRange(1, 64), default=None,
              help=f"Bars per passage (default {DEFAULT_WIDTH}).")
@click.option("--passage-hop", type=click.IntRange(min=1), default=None,
              help=f"Bars between passage starts (default {DEFAULT_HOP}).")
@click.option("--store", "store_url", default=None, metavar="URL",
              help="Then copy the index into this PostgreSQL store (postgresql://...; needs "
                   "pgvector on the server and clamp-notation[cluster]): rows added, changed and "
                   "removed so the store holds what the index holds.")
@click.option("--engine", type=click.Choice(["local", "ray"]), default="local",
              show_default=True,
              help="ray: read and encode on a Ray cluster straight into --store (each score "
                   "exactly once; clamp-notation[cluster]).")
@click.option("--address", default=None, metavar="HOST:PORT",
              help="With --engine ray: the cluster to join (default: a local one on 127.0.0.1).")
@click.option("--unit-files", type=click.IntRange(min=1), default=16, show_default=True,
              help="With --engine ray: files per work unit (a retried unit redoes this many).")
@click.option("--shards", type=click.Path(file_okay=False), default=None,
              help="With --engine ray: also write each unit's rows as Parquet here.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def index_cmd(folder: str | None, index_path: str | None, model_name: str | None,
              workers: int | None, batch_size: int, failures: bool, passages: bool,
              passage_bars: int | None, passage_hop: int | None, store_url: str | None,
              engine: str, address: str | None, unit_files: int, shards: str | None,
              as_json: bool) -> None:
    """Embed a folder of scores into an index; later runs only read new or changed files.

    With --passages the index also embeds windows of bars of every work (8 bars every 4 by
    default; bars numbered as each score numbers them), so searches can answer "where in this
    piece?". Adding --passages to an existing index reads its files once more."""
    from clamp_core.api import Clamp
    from clamp_core.index.library import Index

    logging.basicConfig(level=logging.WARNING, format="clamp: %(message)s")
    if folder is None and not failures and not store_url:
        raise click.UsageError("give the FOLDER of scores to index (or --failures to list them, "
                               "or --store URL to copy the index into a store)")
    from clamp_core.index.pgstore import is_store_url  # here: it loads numpy

    if store_url and not is_store_url(store_url):
        raise click.UsageError(f"--store {store_url}: give a PostgreSQL URL, "
                               "postgresql://USER@HOST/DATABASE")
    if (passage_bars or passage_hop) and not passages:
        raise click.UsageError("--passage-bars and --passage-hop go with --passages")
    width = passage_bars or DEFAULT_WIDTH
    hop = passage_hop or min(DEFAULT_HOP, width)
    if passages:
        check_settings(width, hop)  # before any model loads
    if engine == "ray":
        from clamp_core.cli.cluster import index_on_cluster

        if not store_url or index_path:
            raise click.UsageError("--engine ray writes to --store URL (and keeps no --index "
                                   "folder)")
        index_on_cluster(folder, store_url, model_name, address, workers, unit_files,
                         (width, hop) if passages else None, shards, failures, as_json)
        return
    if not index_path:
        raise click.UsageError("give the --index folder (created if new)")
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
            if passages:
                idx.enable_passages(width, hop)
            report = idx.update(folder, clamp, workers=workers, batch_size=batch_size,
                                progress=not as_json)
    copied = None
    with Index(index_path) as idx:
        fails = idx.failures()
        if store_url:
            from clamp_core.index.pgstore import PgIndex

            with PgIndex.create_from(store_url, idx) as store:
                copied = {**store.copy_from(idx), "store": store.folder}
    out = {**(report.to_dict() if report else {}), "index": index_path,
           **({"failures": fails} if failures or as_json else {}),
           **({"copied": copied} if copied else {})}
    if as_json:
        emit_json(out)
    else:
        if report:
            r = report
            click.echo(f"indexed {r.root}: {r.scanned} files ({r.unchanged} unchanged, "
                       f"{r.parsed} read, {r.removed} removed); +{r.added} entries, "
                       f"{r.failed} failed; {r.entries} entries in {index_path} ({r.seconds:.1f}s)"
                       + (f"; +{r.passages} passages" if r.passages else ""))
            if r.failures_total and not failures:
                click.echo(f"{r.failures_total} entries could not be read; list them with "
                           f"`clamp index --failures --index {index_path}`", err=True)
        if copied:
            click.echo(f"copied into {copied['store']}: {copied['work']} works, "
                       f"{copied['passage']} passages ({copied['removed']} rows removed)")
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
        click.option("--index", "--store", "index_path", required=True,
                     type=click.Path(file_okay=False),
                     help="Index folder, or a PostgreSQL store's URL (postgresql://...)."),
        click.option("-k", "k", default=10, show_default=True, type=click.IntRange(min=1)),
        click.option("--model", "model_name", default=None, type=click.Path(),
                     help="Default: the index's model."),
        click.option("--json", "as_json", is_flag=True, help="Machine-readable output."),
        click.option("--where", "where", multiple=True, metavar="FIELD=VALUE",
                     help="Only scores whose facts pass (repeatable, all must hold): "
                          "composer=Bach, metre=6/8, key=minor, ensemble=voice and piano, "
                          "tempo=slow, bars<=32, lyrics=yes, chords=yes; also != < > <= >=. "
                          "Fields: " + ", ".join(FILTER_FIELDS) + "."),
        click.option("--passages", is_flag=True,
                     help="Return passages (bars of works) instead of whole works; the index "
                          "must be built with `clamp index --passages`."),
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
           where: tuple[str, ...], passages: bool, min_score: float | None) -> None:
    """Scores of an index that best match a text description.

    Relevance (0-1) is the chance, fitted on the model's validation texts, that a work fits
    the query: about 0.5 and above is a likely match. The cosine of text and music (JSON
    "score", -1 to 1) runs about 0.2-0.4 for good matches and is not comparable across queries.
    When even the best result falls below the model's "no good match" level, the command says
    so instead of presenting the list as matches.

    With --passages the results are passages ("Title, bars 17-24"; JSON "bars": [17, 24]),
    at most one per place in a work, ranked by cosine (relevance is fitted on whole works)."""
    filters = _filters(where)
    if passages and min_score is not None:
        raise click.UsageError("--min-score is a relevance, which passage results do not carry; "
                               "leave it out with --passages")
    idx, clamp = _load(index_path, model_name, passages)
    with idx:
        hits = clamp.search(query, idx, k=k, where=filters, passages=passages)
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
@click.option("--bars", "bars", default=None, metavar="FIRST-LAST",
              help="With --passages: passages like these bars of FILE (e.g. 9-16, numbered as "
                   "the score numbers them) instead of the whole of it.")
@click.option("--any-key", is_flag=True,
              help="Match the music in any key (FILE is tried in all 12; exact search).")
def similar(file: str, index_path: str, k: int, model_name: str | None, as_json: bool,
            where: tuple[str, ...], passages: bool, bars: str | None, any_key: bool) -> None:
    """Scores of an index most like FILE (FILE itself left out); score = cosine of the two
    pieces' music embeddings (1: the same music; above about 0.8: closely alike).

    With --passages the results are passages of the library's works ("Title, bars 17-24";
    JSON "bars"), like FILE or, with --bars, like those bars of it; FILE's own bars are left
    out, other places of the same piece (a returning theme) are not."""
    from clamp_core.notation.passages import parse_bar_range

    filters = _filters(where)
    if bars is not None and not passages:
        raise click.UsageError("--bars picks the bars to match passages with: add --passages")
    span = parse_bar_range(bars) if bars is not None else None
    idx, clamp = _load(index_path, model_name, passages)
    with idx:
        query = clamp.music_query(file, span, any_key=any_key)
        span = query.span
        novelty = clamp.novelty_of(query.written)
        hits = clamp.similar(file, idx, k=k, where=filters, passages=passages, any_key=any_key,
                             query=query)
        _hits_out("file", file, idx, hits, as_json,
                  {"novelty": novelty.to_dict(), "where": filters,
                   "any_key": any_key, **({"bars": span} if span else {})},
                  **({"empty": _no_pass(filters)} if filters else {}))
        if not as_json:
            warn_unfamiliar(novelty)
