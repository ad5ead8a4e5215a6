"""`make demo`: the main job end to end on the bundled examples, readable in a terminal."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

from .checkpoint import DEFAULT_MODEL_DIR, create_model, load_model
from .config import preset
from .encode import encode_abc, encode_texts
from .patches import patchify

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / ".cache" / "demo-model"
EXAMPLES = ROOT / "tests" / "fixtures" / "wikimt" / "wikimt_abc.jsonl"


def _model():
    if (DEFAULT_MODEL_DIR / "config.json").is_file():
        return load_model("default"), "default"
    if not (CACHE / "config.json").is_file():
        print("No trained default model is installed yet: creating an untrained 'small' model in "
              f"{CACHE} (text tower: all-MiniLM-L6-v2; music tower: random).")
        create_model(preset("small"), seed=0).save_pretrained(CACHE)
    return load_model(CACHE), str(CACHE)


def main() -> int:
    model, name = _model()
    rows = [json.loads(line) for line in EXAMPLES.read_text(encoding="utf-8").splitlines()[:8]]
    abcs = [r["abc"] for r in rows]
    print(f"model: {name}  ({sum(p.numel() for p in model.parameters()) / 1e6:.1f} M parameters)")
    print(f"{len(abcs)} lead sheets -> bar patches: "
          + ", ".join(str(len(patchify(a, None))) for a in abcs))
    music = encode_abc(model, abcs)
    queries = ["a jazz ballad", "a lively country song", "a rock and roll tune"]
    text = encode_texts(model, queries)
    m = music / np.linalg.norm(music, axis=1, keepdims=True)
    t = text / np.linalg.norm(text, axis=1, keepdims=True)
    for q, row in zip(queries, t @ m.T):
        best = np.argsort(-row)[:3]
        print(f"\n{q!r}:")
        for i in best:
            print(f"  {row[i]:+.3f}  {rows[i]['title']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
