"""`clamp evaluate`: the quality report of a model on a dataset's test (or val) split;
`clamp calibrate`: fit how far the model's answers can be trusted, on the val split."""

from __future__ import annotations

import json
import logging

import click

# models tune-text makes from one music encoder share what this folder keeps
FEATURES_OPTION = click.option(
    "--features", "features_dir", default=None, type=click.Path(file_okay=False),
    help="Keep encoded music here between runs: models that share a music encoder "
         "(tune-text's outputs) encode each piece once; tune-text's --features folder may be "
         "given.")


@click.command(short_help="Quality report of a model on a dataset's test or val split.")
@click.argument("model_name", type=click.Path())
@click.option("--data", required=True, type=click.Path(dir_okay=False), help="Dataset JSONL.")
@click.option("--out", default=None, type=click.Path(dir_okay=False),
              help="Also write the results here as JSON, with the Markdown table beside it "
                   "(.md). Default: print only, write nothing.")
@click.option("--max-probe", default=3000, show_default=True,
              help="Training works per linear probe.")
@click.option("--split", default="test", show_default=True, type=click.Choice(["test", "val"]),
              help="Evaluate on the validation split to choose prompts or checkpoints, so the "
                   "test split stays unseen until the final report.")
@click.option("--ood", "ood_folders", multiple=True, type=click.Path(file_okay=False, exists=True),
              help="A folder of music unlike the training data: report how often the novelty "
                   "flag fires on it (repeatable).")
@FEATURES_OPTION
@click.option("--json", "as_json", is_flag=True, help="Print the results as JSON.")
def evaluate(model_name: str, data: str, out: str | None, max_probe: int, split: str,
             ood_folders: tuple[str, ...], features_dir: str | None, as_json: bool) -> None:
    """Zero-shot accuracy / macro-F1 and text->music retrieval on the test split, with
    baselines: printed as a Markdown table (--json: JSON); --out keeps them in files."""
    from clamp_core.evaluation.report import evaluate as run
    from clamp_core.evaluation.report import markdown_table, write_results
    from clamp_core.runtime.loading import load_encoder

    encoder = load_encoder(model_name, precision="fp32")
    results = {"model": model_name, "backend": encoder.backend,
               **run(encoder, data, max_probe=max_probe, split=split, ood_folders=ood_folders,
                     features=features_dir)}
    if out:
        write_results(results, out)
    click.echo(json.dumps(results, indent=2) if as_json else markdown_table(results), nl=False)


@click.command(short_help="Fit how far a model's answers can be trusted (val split).")
@click.argument("model_name", type=click.Path())
@click.option("--data", required=True, type=click.Path(dir_okay=False, exists=True),
              help="Dataset JSONL (its train and val splits are read; never the test split).")
@click.option("--out", "out_dir", type=click.Path(file_okay=False), default=None,
              help="Where to write calibration.json/.npz (default: the model folder itself).")
@click.option("--ood", "ood_folders", multiple=True, type=click.Path(file_okay=False, exists=True),
              help="A folder of music unlike the training data: record the flag's rate on it.")
@click.option("--seed", default=0, show_default=True)
@FEATURES_OPTION
@click.option("--json", "as_json", is_flag=True, help="Print the fitted values as JSON.")
def calibrate(model_name: str, data: str, out_dir: str | None, ood_folders: tuple[str, ...],
              seed: int, features_dir: str | None, as_json: bool) -> None:
    """Fit a model's calibration on the val split: the temperature of its probabilities, the
    confidence from which captions state each facet, the novelty reference and threshold, and
    the relevance scale of search. Re-run whenever the model changes."""
    from pathlib import Path

    from clamp_core.datasets.records import load_records
    from clamp_core.errors import ClampError
    from clamp_core.evaluation.calibrate import fit, novelty_rate
    from clamp_core.runtime.loading import load_encoder

    logging.basicConfig(level=logging.INFO, format="clamp: %(message)s")
    encoder = load_encoder(model_name, precision="fp32")
    folder = Path(out_dir) if out_dir else encoder.folder
    if folder is None:
        raise ClampError(f"{model_name}: no folder to write the calibration to; pass --out")
    train, val = load_records(data, "train"), load_records(data, "val")
    if not val:
        raise ClampError(f"{data}: no val split; build the dataset with `clamp dataset build`")
    try:
        cal = fit(encoder, train, val, seed=seed, features=features_dir)
    except ValueError as e:
        raise ClampError(f"{data}: {e}") from e
    cal.report["data"] = str(data)
    cal.report["ood_sets"] = [novelty_rate(encoder, cal, f) for f in ood_folders]
    folder.mkdir(parents=True, exist_ok=True)
    cal.save(folder)
    summary = cal.summary()
    if as_json:
        click.echo(json.dumps(summary, indent=2))
        return
    r = cal.report
    click.echo(f"temperature {cal.temperature:.3f} (val ECE {r['val_before']:.3f} -> "
               f"{r['val_after']:.3f}); novelty threshold {cal.ood_threshold:.3f} "
               f"({r['ood_val_flagged']:.1%} of val flagged); relevance no-match level "
               f"{cal.no_match:.3f}")
    for facet, t in cal.facet_thresholds.items():
        click.echo(f"  caption facet {facet}: " + (f"stated from {t:.2f}" if t is not None
                                                   else "never stated (no threshold reaches "
                                                        "the precision target on val)"))
        own = cal.label_thresholds.get(facet, {})
        if own:
            click.echo("    answers with their own threshold: " + ", ".join(
                f"{label} {'never' if v is None else f'{v:.2f}'}" for label, v in own.items()))
    for o in r["ood_sets"]:
        if o["rate"] is not None:
            click.echo(f"  novelty flag on {o['folder']}: {o['rate']:.1%} of {o['n']}")
    click.echo(f"wrote {folder / 'calibration.json'}")
