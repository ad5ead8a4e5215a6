"""Verbs that read scores: `clamp encode`, `clamp info`, `clamp abc`."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from clamp_core.cli.output import EXIT_PARTIAL, emit_json, progress, skipped
from clamp_core.errors import ClampError


def convert_all(files: tuple[str, ...]):
    """Convert every file, recording failures instead of stopping at the first one."""
    from clamp_core.notation.convert import score_to_abc
    from clamp_core.scores.load import load_score

    done, failures = [], []
    for f in progress(files, "reading scores"):
        try:
            score = load_score(f)
            done.append((f, score, score_to_abc(score)))
        except ClampError as e:
            if len(files) == 1:
                raise  # a single file: its error is the command's error
            failures.append({"file": f, "error": str(e)})
            skipped(str(e))
    return done, failures


@click.command(short_help="Encode scores into features of the shared music-text space.")
# a batch: a missing or unreadable file is skipped and reported, so no exists=True
@click.argument("files", nargs=-1, required=True, type=click.Path())
@click.option("--model", "model_name", default="default", show_default=True, type=click.Path(),
              help="Model folder, ONNX bundle, or 'default' for the model shipped with "
                   "clamp-notation.")
@click.option("--backend", default="auto", show_default=True,
              type=click.Choice(["auto", "torch", "onnx"]),
              help="auto: ONNX Runtime for a clamp-export bundle, else torch.")
@click.option("--out", type=click.Path(dir_okay=False), help="Write features here (.npy).")
@click.option("--batch-size", default=16, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def encode(files: tuple[str, ...], model_name: str, backend: str, out: str | None, batch_size: int,
           as_json: bool) -> None:
    """Encode scores into the shared music-text space (projected, unnormalised fp32 features)."""
    import numpy as np

    from clamp_core.api import Clamp
    from clamp_core.notation.patches import patchify

    # first, so a bad model fails before any parsing
    clamp = Clamp.load(model_name, backend=backend, precision="fp32")
    done, failures = convert_all(files)
    feats = (clamp.encode_abc([abc for _, _, abc in done], normalize=False, batch_size=batch_size)
             if done else np.zeros((0, clamp.dim), dtype=np.float32))
    rows = [{"file": f, "title": s.meta.title, "patches": len(patchify(abc, None)),
             "norm": round(float(np.linalg.norm(v)), 4)}
            for (f, s, abc), v in zip(done, feats, strict=True)]
    if out:
        out_path = Path(out)
        np.save(out_path, feats)
        index = {"model": model_name, "dim": int(feats.shape[1]), "rows": rows,
                 "failures": failures}
        out_path.with_suffix(".json").write_text(json.dumps(index, indent=2, ensure_ascii=False))
    if as_json:
        emit_json({"model": model_name, "dim": int(feats.shape[1]), "out": out, "rows": rows,
                    "failures": failures, **({} if out else {"features": feats.tolist()})})
    else:
        for r in rows:
            click.echo(f"{r['patches']:5d} patches  |f|={r['norm']:8.3f}  {r['file']}")
        click.echo(f"encoded {len(rows)} of {len(files)} files -> {feats.shape[1]}-d features"
                   + (f", saved to {out}" if out else ""))
    if failures:
        sys.exit(EXIT_PARTIAL if done else 1)


@click.command(short_help="Facts read from scores: title, composer, key, meter, bars.")
@click.argument("files", nargs=-1, required=True, type=click.Path())
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def info(files: tuple[str, ...], as_json: bool) -> None:
    """Facts read from scores: title, composer, parts, key, meter, tempo, bars, duration."""
    done, failures = convert_all(files)
    metas = [{"file": f, **s.meta.to_dict()} for f, s, _ in done]
    if as_json:
        emit_json({"scores": metas, "failures": failures})
    else:
        for m in metas:
            click.echo(m["file"])
            for k, v in m.items():
                if k != "file" and v not in (None, "", []):
                    click.echo(f"  {k:18s} {', '.join(map(str, v)) if isinstance(v, list) else v}")
    if failures:
        sys.exit(EXIT_PARTIAL if done else 1)


@click.command("abc", short_help="Print a score as the ABC text the model reads.")
# a path type, so shells complete it; our own error says what is wrong with a missing file
@click.argument("file", type=click.Path())
def abc_cmd(file: str) -> None:
    """Print a score as the ABC text the model reads (official CLaMP dialect)."""
    from clamp_core.notation.convert import to_abc

    click.echo(to_abc(file), nl=False)
