"""`clamp index ROOT --engine ray --store URL`: the CLI side of the cluster engine."""

from __future__ import annotations

import sys

import click

from clamp_core.cli.output import EXIT_PARTIAL, emit_json


def index_on_cluster(folder: str | None, store_url: str, model: str | None,
                     address: str | None, workers: int | None, unit_files: int,
                     passages: tuple[int, int] | None, shards: str | None, failures: bool,
                     as_json: bool) -> None:
    """Run the engine (when FOLDER is given), then report; exit 3 when some files failed."""
    from clamp_core.index.pgstore import PgIndex

    report = None
    if folder is not None:
        from clamp_core.index.cluster import run_cluster_index

        report = run_cluster_index(folder, store_url, model or "default", address=address,
                                   workers=workers or None, unit_files=unit_files,
                                   passages=passages, shards=shards)
    with PgIndex(store_url) as store:
        fails = store.failures()
        name = store.folder
    out = {**(report.to_dict() if report else {"store": name}),
           **({"failures": fails} if failures or as_json else {})}
    if as_json:
        emit_json(out)
    else:
        if report:
            r = report
            click.echo(f"indexed {r.root} on the cluster: {r.scanned} files ({r.unchanged} "
                       f"unchanged, {r.parsed} read in {r.units} units, {r.removed} removed); "
                       f"+{r.added} works, +{r.passages} passages, {r.failed} failed; "
                       f"{r.entries} works in {r.store} ({r.seconds:.1f}s)")
        if failures:
            for f in fails:
                tune = f"#{f['tune']}" if f["tune"] is not None else ""
                click.echo(f"{f['path']}{tune}\t{f['error']}")
            if not fails:
                click.echo("no failures")
        elif fails:
            click.echo(f"{len(fails)} entries could not be read; list them with "
                       f"`clamp index --failures --engine ray --store URL`", err=True)
    if report and report.failed:
        sys.exit(EXIT_PARTIAL if report.entries else 1)
