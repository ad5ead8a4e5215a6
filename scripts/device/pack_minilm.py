"""Pack all-MiniLM-L6-v2 for the device machine's 64 MiB transfer, keeping only the
word-embedding rows of tokens that occur in the corpus texts (training never reads the others).
fp16 by default (27 MB); --int8 stores each weight matrix as int8 rows with one fp16 scale per row
(14 MB), which leaves room to carry a model to start from (parity: scripts/device/README.md).

    python scripts/device/pack_minilm.py MODEL_DIR CORPUS.jsonl OUT_DIR [--int8]
"""

import json
import shutil
import sys
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file
from transformers import AutoTokenizer

EMBEDDINGS = "embeddings.word_embeddings.weight"


def used_token_ids(model_dir: Path, corpus: Path) -> torch.Tensor:
    tok = AutoTokenizer.from_pretrained(model_dir, local_files_only=True)
    ids = set(tok.all_special_ids)
    texts = [t for line in corpus.open(encoding="utf-8") if line.strip()
             for t in json.loads(line)["texts"]]
    for start in range(0, len(texts), 4096):
        for row in tok(texts[start:start + 4096])["input_ids"]:
            ids.update(row)
    return torch.tensor(sorted(ids))


def quantise_rows(w: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Symmetric int8 per row: w ~ q * scale[:, None]."""
    scale = w.abs().amax(1).clamp(min=1e-8) / 127
    return torch.round(w / scale[:, None]).clamp(-127, 127).to(torch.int8), scale.half()


def main(model_dir: Path, corpus: Path, out: Path, int8: bool = False) -> None:
    out.mkdir(parents=True, exist_ok=True)
    ids = used_token_ids(model_dir, corpus)
    weights = load_file(model_dir / "model.safetensors")
    packed = {k: v.half().contiguous() for k, v in weights.items() if k != EMBEDDINGS}
    packed["__rows__"] = weights[EMBEDDINGS][ids].half().contiguous()
    packed["__ids__"] = ids
    packed["__vocab__"] = torch.tensor(weights[EMBEDDINGS].shape[0])
    if int8:
        for k in [k for k, v in packed.items() if v.dim() == 2 and v.numel() >= 4096]:
            packed[k + ".__q8__"], packed[k + ".__scale__"] = quantise_rows(packed.pop(k).float())
    save_file(packed, out / "packed.safetensors")
    for f in model_dir.iterdir():
        if f.is_file() and f.name != "model.safetensors":
            shutil.copy(f, out / f.name)
    print(f"{len(ids)} of {weights[EMBEDDINGS].shape[0]} token rows kept")


if __name__ == "__main__":
    main(*map(Path, sys.argv[1:4]), int8="--int8" in sys.argv[4:])
