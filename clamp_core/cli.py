"""The `clamp` command line. Each verb is a thin layer over the library.

Exit codes: 0 success, 1 error the user can fix (one line on stderr), 2 usage error,
3 some inputs of a batch failed (the rest was done), 70 internal error (a bug: please report).
"""

from __future__ import annotations

import json
import logging
import os
import sys
from pathlib import Path

import click

from .errors import ClampError

EXIT_PARTIAL = 3
EXIT_INTERNAL = 70


class _Group(click.Group):
    """Turns our user-facing errors into click's one-line 'Error: ...' with exit code 1."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except ClampError as e:
            raise click.ClickException(str(e)) from None


def _progress(items, desc: str):
    from tqdm import tqdm

    return tqdm(items, desc=desc, unit="file", disable=len(items) < 5, file=sys.stderr, leave=False)


def _emit_json(data) -> None:
    click.echo(json.dumps(data, indent=2, ensure_ascii=False))


def _convert_all(files: tuple[str, ...]):
    """Convert every file, recording failures instead of stopping at the first one."""
    from .convert import score_to_abc
    from .scores import load_score

    done, failures = [], []
    for f in _progress(files, "reading scores"):
        try:
            score = load_score(f)
            done.append((f, score, score_to_abc(score)))
        except ClampError as e:
            if len(files) == 1:
                raise  # a single file: its error is the command's error
            from tqdm import tqdm

            failures.append({"file": f, "error": str(e)})
            tqdm.write(f"clamp: skipped: {e}", file=sys.stderr)  # keeps the line off the progress bar
    return done, failures


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="clamp-notation")
def cli() -> None:
    """CLaMP for notation: encode, search, classify and caption scores."""


@cli.command("init-model")
@click.argument("folder", type=click.Path(file_okay=False))
@click.option("--preset", "preset_name", default="small", show_default=True,
              type=click.Choice(["tiny", "small", "clamp-small-512", "clamp-small-1024"]))
@click.option("--seed", default=0, show_default=True)
@click.option("--force", is_flag=True, help="Overwrite a model folder that exists.")
def init_model(folder: str, preset_name: str, seed: int, force: bool) -> None:
    """Create a new model folder: pretrained text tower, freshly initialised music tower."""
    from .checkpoint import create_model
    from .config import preset

    if (Path(folder) / "config.json").exists() and not force:
        raise ClampError(f"{folder} already holds a model; pass --force to overwrite it")
    cfg = preset(preset_name)
    if cfg.official:
        raise ClampError("official shapes need official weights; use --preset tiny or small")
    create_model(cfg, seed=seed).save_pretrained(folder)
    click.echo(f"created {folder} (preset {preset_name}, seed {seed})")


@cli.command()
@click.argument("files", nargs=-1, required=True)
@click.option("--model", "model_name", default="default", show_default=True,
              help="Model folder, ONNX bundle, or 'default' for the model shipped with clamp-notation.")
@click.option("--backend", default="auto", show_default=True, type=click.Choice(["auto", "torch", "onnx"]),
              help="auto: ONNX Runtime for a clamp-export bundle, else torch.")
@click.option("--out", type=click.Path(dir_okay=False), help="Write features here (.npy).")
@click.option("--batch-size", default=16, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def encode(files: tuple[str, ...], model_name: str, backend: str, out: str | None, batch_size: int,
           as_json: bool) -> None:
    """Encode scores into the shared music-text space (projected, unnormalised fp32 features)."""
    import numpy as np

    from .api import Clamp
    from .patches import patchify

    # first, so a bad model fails before any parsing
    clamp = Clamp.load(model_name, backend=backend, precision="fp32")
    done, failures = _convert_all(files)
    feats = (clamp.encode_abc([abc for _, _, abc in done], normalize=False, batch_size=batch_size)
             if done else np.zeros((0, clamp.dim), dtype=np.float32))
    rows = [{"file": f, "title": s.meta.title, "patches": len(patchify(abc, None)),
             "norm": round(float(np.linalg.norm(v)), 4)} for (f, s, abc), v in zip(done, feats)]
    if out:
        out_path = Path(out)
        np.save(out_path, feats)
        index = {"model": model_name, "dim": int(feats.shape[1]), "rows": rows, "failures": failures}
        out_path.with_suffix(".json").write_text(json.dumps(index, indent=2, ensure_ascii=False))
    if as_json:
        _emit_json({"model": model_name, "dim": int(feats.shape[1]), "out": out, "rows": rows,
                    "failures": failures, **({} if out else {"features": feats.tolist()})})
    else:
        for r in rows:
            click.echo(f"{r['patches']:5d} patches  |f|={r['norm']:8.3f}  {r['file']}")
        click.echo(f"encoded {len(rows)} of {len(files)} files -> {feats.shape[1]}-d features"
                   + (f", saved to {out}" if out else ""))
    if failures:
        sys.exit(EXIT_PARTIAL if done else 1)


@cli.command()
@click.argument("files", nargs=-1, required=True)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def info(files: tuple[str, ...], as_json: bool) -> None:
    """Facts read from scores: title, composer, parts, key, meter, tempo, bars, duration."""
    done, failures = _convert_all(files)
    metas = [{"file": f, **s.meta.to_dict()} for f, s, _ in done]
    if as_json:
        _emit_json({"scores": metas, "failures": failures})
    else:
        for m in metas:
            click.echo(m["file"])
            for k, v in m.items():
                if k != "file" and v not in (None, "", []):
                    click.echo(f"  {k:18s} {', '.join(map(str, v)) if isinstance(v, list) else v}")
    if failures:
        sys.exit(EXIT_PARTIAL if done else 1)


@cli.command()
@click.argument("model_name")
@click.option("--data", required=True, type=click.Path(dir_okay=False), help="Dataset JSONL.")
@click.option("--out", default="bench/results/quality.json", show_default=True,
              help="Results JSON (a Markdown table is written beside it).")
@click.option("--max-probe", default=3000, show_default=True, help="Training works per linear probe.")
@click.option("--split", default="test", show_default=True, type=click.Choice(["test", "val"]),
              help="Evaluate on the validation split to choose prompts or checkpoints, so the "
                   "test split stays unseen until the final report.")
@click.option("--json", "as_json", is_flag=True, help="Print the results as JSON.")
def evaluate(model_name: str, data: str, out: str, max_probe: int, split: str,
             as_json: bool) -> None:
    """Zero-shot accuracy / macro-F1 and text->music retrieval on the test split, with baselines."""
    from .checkpoint import load_model
    from .evaluate import evaluate as run
    from .evaluate import markdown_table, write_results

    results = {"model": model_name,
               **run(load_model(model_name), data, max_probe=max_probe, split=split)}
    write_results(results, out)
    click.echo(json.dumps(results, indent=2) if as_json else markdown_table(results), nl=False)


def _load_clamp(model_name: str):
    from .api import Clamp

    return Clamp.load(model_name)


@cli.command()
@click.argument("file")
@click.option("--labels", help='Comma-separated labels, e.g. "reel,jig,hornpipe".')
@click.option("--label-set", help="A built-in label set (tune_types, genres, eras, moods, "
              "ensembles, composers) or a JSON file.")
@click.option("--template", "templates", multiple=True,
              help="Prompt template with {} for the label; repeat to ensemble several.")
@click.option("--model", "model_name", default="default", show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def classify(file: str, labels: str | None, label_set: str | None, templates: tuple[str, ...],
             model_name: str, as_json: bool) -> None:
    """Rank labels for a score (zero-shot), with probabilities."""
    from .labels import load_label_set

    if bool(labels) == bool(label_set):
        raise click.UsageError("give exactly one of --labels and --label-set")
    own = None
    if label_set:
        ls = load_label_set(label_set)
        names, tmpl, own = list(ls.labels), list(templates) or list(ls.templates), ls.prompts
    else:
        names, tmpl = [x.strip() for x in labels.split(",") if x.strip()], list(templates) or None
    clamp = _load_clamp(model_name)
    ranked = clamp.classify(file, names, tmpl, own)
    if as_json:
        _emit_json({"file": file, "model": model_name,
                    "labels": [{"label": a, "probability": round(p, 4)} for a, p in ranked]})
        return
    width = max(len(a) for a, _ in ranked)
    for a, p in ranked:
        click.echo(f"{a:<{width}}  {p * 100:5.1f}%  {'#' * round(p * 40)}")


@cli.command()
@click.argument("file")
@click.option("--model", "model_name", default="default", show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Each part of the caption with its score.")
def caption(file: str, model_name: str, as_json: bool) -> None:
    """Describe a score: facts read from it plus what the model hears in it."""
    cap = _load_clamp(model_name).caption(file)
    if as_json:
        _emit_json({"file": file, "model": model_name, **cap.to_dict()})
    else:
        import textwrap

        click.echo(textwrap.fill(cap.text, width=100))


@cli.command("abc")
@click.argument("file")
def abc_cmd(file: str) -> None:
    """Print a score as the ABC text the model reads (official CLaMP dialect)."""
    from .convert import to_abc

    click.echo(to_abc(file), nl=False)


import musescore_bridge.cli  # noqa: F401  (register serve and musescore ...)

from . import cli_index, cli_train  # noqa: F401  (register index/search/similar, training)


@cli.group()
def dataset() -> None:
    """Build training datasets (JSONL of ABC + text candidates + labels)."""


@dataset.command("build")
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
@click.option("--cache", "cache_dir", default=str(Path("~/.cache/clamp-notation/dataset")),
              show_default=True, help="Cache of converted works (by content hash).")
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
                  cache_dir: str, workers: int | None, limit: int | None, timeout: int,
                  test_groups: str | None, freeze_test_groups: bool, as_json: bool) -> None:
    """Build a dataset from the music21 corpus, a folder of scores and/or ABC files."""
    from .data import TEST_GROUPS_FILE, build_dataset
    from .data_sources import MUSIC21_COLLECTIONS, abc_items, folder_items, music21_items

    logging.basicConfig(level=logging.INFO, format="%(message)s")
    if meta and not folder:
        raise ClampError("--meta describes a --folder of scores; pass --folder too")
    if collections is None:
        collections = "none" if (folder or abc_dir) else "all"
    names = (list(MUSIC21_COLLECTIONS) if collections == "all" else
             [] if collections == "none" else [c.strip() for c in collections.split(",") if c.strip()])
    items = music21_items(names, limit) if names else []
    if folder:
        items += folder_items(folder, meta, collection=folder_collection, lyrics=lyrics, limit=limit)
    if abc_dir:
        items += abc_items(abc_dir, limit=limit)
    if not items:
        raise ClampError("nothing to build: no works found; check --collections/--folder/--abc")
    groups_file = test_groups or str(TEST_GROUPS_FILE)
    summary = build_dataset(
        items, out, cache_dir=cache_dir, workers=workers, timeout=timeout,
        test_groups=groups_file, freeze_test_groups=groups_file if freeze_test_groups else None,
        command=" ".join(["clamp", "dataset", "build", *sys.argv[sys.argv.index("build") + 1:]])
        if "build" in sys.argv else None)
    if as_json:
        _emit_json(summary)
    else:
        for c, row in summary["collections"].items():
            click.echo(f"{c:12s} " + "  ".join(f"{k} {v}" for k, v in row.items()))
        click.echo(f"{summary['works']} works ({summary['splits']}), {summary['failures']} "
                   f"failures, {summary['converted']} converted, {summary['cached']} cached, "
                   f"{summary['seconds']} s -> {out}")
    if summary["failures"]:
        sys.exit(EXIT_PARTIAL if summary["works"] else 1)


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
    # Run through the package module so that verbs registered by cli_index/cli_train (which
    # import clamp_core.cli) land on the same group object.
    from clamp_core.cli import main as _main

    _main()
