"""Package a trained model: an fp16 copy (text tower referenced, not copied) plus its model card.

Usage: python -m clamp_core.training.model_card SRC DST --quality q.json --recipe "..."
       [--data-summary s.json]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch

from clamp_core.evaluation.report import markdown_table
from clamp_core.model.checkpoint import load_model, save_model


def model_card(name: str, model, recipe: str, quality: dict | None, data_summary: dict | None,
               stages: str | None = None) -> str:
    cfg = model.config
    music = sum(p.numel() for n, p in model.named_parameters() if not n.startswith("text_enc."))
    lines = [
        f"# {name}", "",
        "A CLaMP model for notated music: bar-patch music encoder + text encoder in one space.", "",
        "## Architecture",
        (f"- Music encoder: BERT, {cfg.music_num_layers} layers, hidden {cfg.music_hidden_size}, "
        f"{cfg.music_num_heads} heads, up to {cfg.max_length} bar patches (longer scores: "
        f"{cfg.long_score.replace('_', ' ')}); {music / 1e6:.1f} M parameters with the "
        "projections."),
        (f"- Text encoder: `{cfg.text_package or 'stored in this folder'}` (all-MiniLM-L6-v2), "
        "locked during training; only its projection was trained."),
        (f"- Shared space: {cfg.projection_dim} dimensions; temperature learned "
        f"(logit scale {float(model.logit_scale.detach().exp()):.1f})."), "",
        "## Training recipe", f"`{recipe}`", "",
        ("Masked-patch pre-training (45% of patches; 80% masked, 10% shuffled, 10% kept) then "
        "contrastive training with CLaMP text dropout (each text candidate kept with p=0.5, "
        "shuffled, joined)."), "",
    ]
    if stages:  # what this model's recipe did beyond the standard two stages
        lines += [stages, ""]
    if data_summary:
        lines += ["## Data", "```", json.dumps(data_summary, indent=1)[:3000], "```", ""]
    if quality:
        lines += ["## Quality on the frozen test split", "", markdown_table(quality), ""]
    lines += ["## Licences",
              ("Training data: music21 corpus (some encodings not for commercial use) and "
              "OpenScore Lieder (CC0). Text encoder: Apache-2.0."), ""]
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("src")
    ap.add_argument("dst")
    ap.add_argument("--quality")
    ap.add_argument("--recipe", required=True)
    ap.add_argument("--data-summary")
    ap.add_argument("--name", default="clamp-notation default model")
    ap.add_argument("--stages", help="A paragraph on the stages beyond the standard recipe.")
    args = ap.parse_args()
    model = load_model(args.src)
    dst = Path(args.dst)
    save_model(model, dst, include_text_encoder=False, dtype=torch.float16)

    def read(p):
        return json.loads(Path(p).read_text()) if p and Path(p).is_file() else None

    card = model_card(args.name, model, args.recipe, read(args.quality), read(args.data_summary),
                      args.stages)
    (dst / "README.md").write_text(card, encoding="utf-8")
    size = (dst / "model.safetensors").stat().st_size / 2**20
    print(f"wrote {dst} ({size:.1f} MiB weights)")


if __name__ == "__main__":
    main()
