"""`clamp evaluate`: the quality report of a model on a dataset's test (or val) split."""

from __future__ import annotations

import json

import click


@click.command()
@click.argument("model_name")
@click.option("--data", required=True, type=click.Path(dir_okay=False), help="Dataset JSONL.")
@click.option("--out", default="bench/results/quality.json", show_default=True,
              help="Results JSON (a Markdown table is written beside it).")
@click.option("--max-probe", default=3000, show_default=True,
              help="Training works per linear probe.")
@click.option("--split", default="test", show_default=True, type=click.Choice(["test", "val"]),
              help="Evaluate on the validation split to choose prompts or checkpoints, so the "
                   "test split stays unseen until the final report.")
@click.option("--json", "as_json", is_flag=True, help="Print the results as JSON.")
def evaluate(model_name: str, data: str, out: str, max_probe: int, split: str,
             as_json: bool) -> None:
    """Zero-shot accuracy / macro-F1 and text->music retrieval on the test split, with baselines."""
    from clamp_core.evaluation.report import evaluate as run
    from clamp_core.evaluation.report import markdown_table, write_results
    from clamp_core.runtime.loading import load_encoder

    encoder = load_encoder(model_name, precision="fp32")
    results = {"model": model_name, "backend": encoder.backend,
               **run(encoder, data, max_probe=max_probe, split=split)}
    write_results(results, out)
    click.echo(json.dumps(results, indent=2) if as_json else markdown_table(results), nl=False)
