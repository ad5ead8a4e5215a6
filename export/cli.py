"""`clamp-export MODEL_DIR -o BUNDLE [--fp16] [--int8 | --int8-only] [--opset N] [--no-verify]`."""

from __future__ import annotations

import json
import logging
import os
import sys
import time

import click

from clamp_core.errors import ClampError


def _quiet_exporter_logs() -> None:
    """The torch exporter and onnxscript log progress on every run."""
    for name in ("torch.onnx._internal.exporter", "onnxscript", "onnx_ir"):
        logging.getLogger(name).setLevel(logging.ERROR)


def _headline(manifest: dict, out: str, seconds: float) -> str:
    lines = [f"wrote {out} in {seconds:.0f} s (opset {manifest['opset']})"]
    for variant, files in manifest["variants"].items():
        size = sum(files["bytes"].values()) / 1e6
        par = manifest["parity"].get(variant)
        fig = ""
        if par:
            w = par["worst"]
            fig = ", ".join(f"{t}: cosine {w[t]['min_cosine']:.6f}, "
                            f"max diff {w[t]['max_abs_diff']:.1e}"
                            for t in ("music", "text"))
            fig = f"  [{par['provider']}] {fig}"
        lines.append(f"  {variant:5s} {size:7.1f} MB{fig}")
    zs = manifest.get("quantisation", {}).get("int8", {}).get("zero_shot")
    if zs:
        lines.append(f"  int8 zero-shot accuracy change (points): {zs['change_points']}")
    if not manifest.get("verified"):
        lines.append("  not verified against torch (--no-verify)")
    return "\n".join(lines)


@click.command(short_help="Export a model to an ONNX bundle that runs without torch.",
               context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("model_dir", type=click.Path())  # a model folder, or 'default'
@click.option("-o", "--out", "out", required=True, type=click.Path(file_okay=False),
              help="Bundle folder to write (replaced if it holds an earlier bundle).")
@click.option("--fp16", is_flag=True, help="Also write fp16 graphs (for the CUDA provider).")
@click.option("--int8", is_flag=True, help="Also write dynamic-int8 graphs (for CPUs).")
@click.option("--int8-only", is_flag=True,
              help="Ship only the int8 graphs (fp32 is built to verify them, then dropped): the "
                   "smallest bundle, for packaging a model inside an installable package.")
@click.option("--opset", default=18, show_default=True, type=click.IntRange(18, 23),
              help="ONNX opset of the graphs.")
@click.option("--no-verify", is_flag=True,
              help="Skip the ONNX Runtime vs torch parity check (onnx.checker still runs).")
@click.option("--eval-data", type=click.Path(exists=True, dir_okay=False),
              help="Dataset JSONL (clamp dataset build): record the int8 zero-shot accuracy "
                   "change on its test split in the manifest.")
@click.option("--json", "as_json", is_flag=True, help="Print the manifest as JSON.")
@click.option("-v", "--verbose", is_flag=True)
def main(model_dir: str, out: str, fp16: bool, int8: bool, int8_only: bool, opset: int,
         no_verify: bool, eval_data: str | None, as_json: bool, verbose: bool) -> None:
    """Export a CLaMP model folder ('default' for the shipped model) to an ONNX bundle: music and
    text towers with dynamic batch and length, tokenizer, config and manifest.json. Load it with
    clamp_core.Clamp.load(BUNDLE), which needs ONNX Runtime but not torch."""
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    _quiet_exporter_logs()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    try:
        from clamp_core.datasets.records import load_records
        from clamp_core.model.checkpoint import load_model

        from .bundle import build_bundle

        int8 = int8 or int8_only
        if int8_only and (fp16 or no_verify):
            raise ClampError("--int8-only ships int8 graphs verified against fp32; drop --fp16 "
                             "and --no-verify")
        if eval_data and not int8:
            raise ClampError("--eval-data measures the int8 variant; add --int8")
        # the test split is scored; the train split feeds the prompt rules (export/quality.py)
        records = ([r for r in load_records(eval_data) if r.get("split") in ("test", "train")]
                   if eval_data else None)
        t0 = time.perf_counter()
        model = load_model(model_dir)
        manifest = build_bundle(model, model_dir, out, fp16=fp16, int8=int8, opset=opset,
                                check=not no_verify, eval_records=records,
                                keep_fp32=not int8_only)
    except ClampError as e:
        click.echo(f"clamp-export: error: {e}", err=True)
        sys.exit(1)
    if as_json:
        click.echo(json.dumps(manifest, indent=2))
    else:
        click.echo(_headline(manifest, out, time.perf_counter() - t0))


if __name__ == "__main__":
    main()
