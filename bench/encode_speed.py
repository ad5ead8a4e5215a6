"""Music encoding speed: the official CLaMP 1 inference path against our encode path.

Both run the clamp-small-512 shape with the same random weights on the 1,010 WikiMT ABC strings,
end to end from ABC text. The official path, re-stated faithfully: one score at a time, one-hot
[1, P, 6272] patch input through the Linear layer, fp32. Ours: length-bucketed batches, the
gather-and-sum patch embedding, and bf16/int8 where this CPU has the instructions for them.

Usage: python bench/encode_speed.py [--n 1010] [--batch-size 32]
Writes bench/results/encode_speed.json and .md.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from clamp_core.model.config import preset  # noqa: E402  (after the sys.path insert)
from clamp_core.model.modelling import ClampModel  # noqa: E402  (after the sys.path insert)
from clamp_core.notation.patches import patchify  # noqa: E402  (after the sys.path insert)
from clamp_core.runtime import precision as prec  # noqa: E402  (after the sys.path insert)
from clamp_core.runtime.torch_encoder import encode_abc  # noqa: E402  (after the sys.path insert)


@torch.inference_mode()
def official_path(model: ClampModel, abcs: list[str]) -> np.ndarray:
    """One score at a time, one-hot input, fp32: the official clamp.py inference loop."""
    out = []
    for abc in abcs:
        ids = torch.from_numpy(patchify(abc, max_length=model.config.max_length))[None]
        one_hot = F.one_hot(ids, 98).float().reshape(1, ids.shape[1], -1)
        embeds = model.music_enc.patch_embedding(one_hot)
        hidden = model.music_enc.enc(inputs_embeds=embeds).last_hidden_state
        out.append(model.music_proj(hidden.mean(1))[0].numpy())
    return np.stack(out)


def _cos(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=1010)
    ap.add_argument("--batch-size", type=int, default=32)
    args = ap.parse_args()
    rows = [json.loads(line) for line in
            (ROOT / "tests/fixtures/wikimt/wikimt_abc.jsonl").read_text().splitlines()][: args.n]
    abcs = [r["abc"] for r in rows]
    torch.manual_seed(0)
    cfg = preset("clamp-small-512")
    model = ClampModel(cfg).eval()  # random weights of the official shape
    threads = torch.get_num_threads()
    results = {"machine": {"cpu_flags": sorted(prec.cpu_flags() & {
        "avx2", "avx512f", "avx512_vnni", "avx512_bf16", "amx_bf16", "amx_int8", "avx_vnni"}),
        "threads": threads, "platform": platform.platform(), "torch": torch.__version__},
        "n_scores": len(abcs), "runs": {}}
    encode_abc(model, abcs[:8])  # warm-up
    t = time.perf_counter()
    ref = official_path(model, abcs)
    official_s = time.perf_counter() - t
    results["runs"]["official (1 at a time, one-hot, fp32)"] = {
        "seconds": official_s, "scores_per_s": len(abcs) / official_s, "cosine_min": 1.0}
    variants = [("ours fp32", model, "fp32")]
    if prec.fast_bf16():
        variants.append(("ours bf16", model, "bf16"))
    variants.append(("ours int8" + ("" if prec.fast_int8() else " (no VNNI on this CPU)"),
                     prec.quantize_int8(model), "fp32"))
    ours32 = None
    for name, m, amp in variants:
        t = time.perf_counter()
        feats = encode_abc(m, abcs, batch_size=args.batch_size, precision=amp)
        s = time.perf_counter() - t
        ours32 = feats if ours32 is None else ours32
        results["runs"][name] = {"seconds": s, "scores_per_s": len(abcs) / s,
                                 "speedup_vs_official": official_s / s,
                                 "cosine_min_vs_our_fp32": float(_cos(feats, ours32).min()),
                                 "cosine_min_vs_official": float(_cos(feats, ref).min())}
    out = ROOT / "bench/results/encode_speed.json"
    out.write_text(json.dumps(results, indent=2) + "\n")
    lines = ["| path | scores/s | speed-up | min cosine to our fp32 |", "|---|---|---|---|"]
    for name, r in results["runs"].items():
        lines.append(f"| {name} | {r['scores_per_s']:.1f} | "
                     f"{r.get('speedup_vs_official', 1):.2f}x | "
                     f"{r.get('cosine_min_vs_our_fp32', 1):.5f} |")
    head = (f"clamp-small-512 shape, random weights, {len(abcs)} WikiMT ABC strings, "
            f"{threads} threads, CPU flags: {', '.join(results['machine']['cpu_flags'])}\n\n")
    out.with_suffix(".md").write_text(head + "\n".join(lines) + "\n")
    print(head + "\n".join(lines))


if __name__ == "__main__":
    main()
