"""ONNX Runtime (fp32, int8; fp16 on CUDA) against torch for the music tower, plus what int8
costs in zero-shot accuracy.

Models: the shipped default model and the clamp-small-512 shape (random weights; the speed of
a shape does not depend on its weights). Inputs: real WikiMT lead sheets (tests/fixtures),
batch 1 / 8 / 32; each figure is the median of 3 timed passes after 3 warm-up passes.
Zero-shot: clamp evaluate's tasks on the frozen test split of a built dataset (--data), else
the tune-type labels of the Ryan's Mammoth tunes in music21's corpus.

Usage: python bench/onnx_speed.py [--data .cache/data/corpus.jsonl] [--pieces 32]
Writes bench/results/onnx_speed.json and .md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from clamp_core.evaluation.report import zero_shot_accuracy  # noqa: E402  (after the sys.path insert)
from clamp_core.model.checkpoint import create_model, load_model, save_model  # noqa: E402  (after the sys.path insert)
from clamp_core.model.config import preset  # noqa: E402  (after the sys.path insert)
from clamp_core.notation.patches import pad_batch, patchify  # noqa: E402  (after the sys.path insert)
from clamp_core.runtime.onnx_encoder import load_bundle  # noqa: E402  (after the sys.path insert)
from export.bundle import build_bundle  # noqa: E402  (after the sys.path insert)
from export.quality import accuracy_change  # noqa: E402  (after the sys.path insert)

BATCHES = (1, 8, 32)


def _timed(fn, passes: int = 3, warm: int = 3) -> float:
    for _ in range(warm):
        fn()
    times = []
    for _ in range(passes):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def _batches(pieces: list[np.ndarray], size: int) -> list[tuple[np.ndarray, np.ndarray]]:
    return [pad_batch(pieces[i:i + size]) for i in range(0, len(pieces), size)]


def _cos(a: np.ndarray, b: np.ndarray) -> float:
    return float(((a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)).min())


def speed(model, bundle: Path, pieces: list[np.ndarray], threads: int) -> list[dict]:
    sessions = {v: load_bundle(bundle, device="cpu", precision=v, threads=threads)
                for v in ("fp32", "int8")}
    rows = []
    for size in BATCHES:
        batches = _batches(pieces, size)

        @torch.inference_mode()
        def torch_run(batches=batches):
            return np.concatenate([model.encode_music(torch.from_numpy(i),
                                                      torch.from_numpy(m)).numpy()
                                   for i, m in batches])

        ref = torch_run()
        t_torch = _timed(torch_run)
        row = {"batch": size, "pieces": len(pieces), "torch_fp32_s": t_torch,
               "torch_fp32_pieces_per_s": len(pieces) / t_torch}
        for v, sess in sessions.items():
            def run(sess=sess, batches=batches):
                return np.concatenate([sess.encode_music(i, m) for i, m in batches])

            out = run()
            t = _timed(run)
            row[f"ort_{v}_s"] = t
            row[f"ort_{v}_pieces_per_s"] = len(pieces) / t
            row[f"ort_{v}_speedup_vs_torch"] = t_torch / t
            row[f"ort_{v}_min_cosine_to_torch"] = _cos(out, ref)
        rows.append(row)
    return rows


def cuda_speed(model, bundle: Path, pieces: list[np.ndarray]) -> dict:
    """fp16 on the CUDA provider against torch CUDA (fp32 and fp16 autocast), when CUDA works."""
    try:
        sess = load_bundle(bundle, device="cuda", precision="fp16")
    except Exception as e:  # noqa: BLE001 - any reason means "not measured here"
        return {"measured": False, "reason": str(e)}
    if not torch.cuda.is_available():
        return {"measured": False, "reason": "torch has no CUDA here"}
    gpu = model.cuda()
    rows = []
    for size in BATCHES:
        batches = _batches(pieces, size)

        @torch.inference_mode()
        def torch_run(amp: bool, batches=batches):
            with torch.autocast("cuda", dtype=torch.float16, enabled=amp):
                out = [gpu.encode_music(torch.from_numpy(i).cuda(), torch.from_numpy(m).cuda())
                       for i, m in batches]
            torch.cuda.synchronize()
            return np.concatenate([o.float().cpu().numpy() for o in out])

        ref = torch_run(False)
        t32, t16 = _timed(lambda: torch_run(False)), _timed(lambda: torch_run(True))
        t_ort = _timed(lambda batches=batches: [sess.encode_music(i, m) for i, m in batches])
        out = np.concatenate([sess.encode_music(i, m) for i, m in batches])
        rows.append({"batch": size, "torch_cuda_fp32_s": t32, "torch_cuda_fp16_s": t16,
                     "ort_cuda_fp16_s": t_ort, "ort_fp16_min_cosine_to_torch_fp32": _cos(out, ref)})
    return {"measured": True, "card": torch.cuda.get_device_name(0), "rows": rows}


def official_shaped_folder(tmp: Path) -> Path:
    """clamp-small-512 with random weights and a minimal byte-level tokenizer (tests do the
    same)."""
    folder = tmp / "clamp-small-512"
    save_model(create_model(preset("clamp-small-512"), seed=0), folder)
    visible = set(range(33, 127)) | set(range(161, 173)) | set(range(174, 256))
    vocab, extra = {"<s>": 0, "<pad>": 1, "</s>": 2, "<unk>": 3}, 0
    for b in range(256):
        vocab[chr(b) if b in visible else chr(256 + extra)] = len(vocab)
        extra += b not in visible
    vocab["<mask>"] = len(vocab)
    (folder / "vocab.json").write_text(json.dumps(vocab))
    (folder / "merges.txt").write_text("#version: 0.2\n")
    return folder


def zero_shot(bundle: Path, data: str | None) -> dict:
    if data and Path(data).is_file():
        from clamp_core.datasets.records import load_records

        # test works scored, train works feed the prompt rules (export/quality.py)
        recs = [r for r in load_records(data) if r.get("split") in ("test", "train")]
        source = f"frozen test split of {data}"
    else:
        from music21 import corpus

        from clamp_core.notation.header_filter import filter_abc_header

        recs, source = [], "Ryan's Mammoth tunes (music21 corpus) by R: field"
        for p in sorted(q for q in corpus.getPaths(fileExtensions=("abc",))
                        if "ryansMammoth" in str(q)):
            text = p.read_text(encoding="utf-8", errors="replace")
            kind = next((ln[2:].strip().lower() for ln in text.splitlines()
                         if ln.startswith("R:")), "")
            if kind in ("reel", "hornpipe", "jig"):
                recs.append({"abc": filter_abc_header(text),
                             "labels": {"collection": "ryans", "tune_type_coarse": kind}})
    res = {}
    for v in ("fp32", "int8"):
        m = load_bundle(bundle, device="cpu", precision=v)
        res[v] = zero_shot_accuracy(m, recs)
    return {"source": source, "works": sum(r.get("split", "test") == "test" for r in recs), **res,
            "change_points": accuracy_change(res["fp32"], res["int8"])}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default=str(ROOT / ".cache/data/corpus.jsonl"))
    ap.add_argument("--pieces", type=int, default=32)
    ap.add_argument("--threads", type=int, default=len(os.sched_getaffinity(0)))
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    rows = [json.loads(line) for line in
            (ROOT / "tests/fixtures/wikimt/wikimt_abc.jsonl").read_text().splitlines()]
    pieces = [patchify(r["abc"], max_length=512) for r in rows[: args.pieces]]
    flags = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").is_file() else ""
    results = {"machine": {"cpu": next((ln.split(":", 1)[1].strip() for ln in flags.splitlines()
                                        if ln.startswith("model name")), platform.processor()),
                           "threads": args.threads,
                           "avx512": " avx512f " in flags, "vnni": "vnni" in flags,
                           "torch": torch.__version__},
               "inputs": f"{len(pieces)} WikiMT lead sheets, "
                         f"{int(np.mean([len(p) for p in pieces]))} patches on average",
               "models": {}}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        for name, folder in (("default", "default"),
                             ("clamp-small-512 shape", str(official_shaped_folder(tmp)))):
            model = load_model(folder).eval()
            bundle = tmp / f"bundle-{name.split()[0]}"
            t0 = time.perf_counter()
            manifest = build_bundle(model, folder, bundle, int8=True, fp16=True)
            entry = {"export_s": time.perf_counter() - t0,
                     "int8_calibration": {t: manifest["quantisation"]["int8"][f"{t}_calibration"]
                                          for t in ("music", "text")},
                     "parity_worst": {v: p["worst"] for v, p in manifest["parity"].items()},
                     "cpu": speed(model, bundle, pieces, args.threads),
                     "cuda": cuda_speed(model, bundle, pieces)}
            if name == "default":
                entry["zero_shot_int8"] = zero_shot(bundle, args.data)
            results["models"][name] = entry
            print(name, json.dumps(entry["cpu"], indent=1), flush=True)
    out = ROOT / "bench" / "results" / "onnx_speed.json"
    out.write_text(json.dumps(results, indent=2) + "\n")
    out.with_suffix(".md").write_text(markdown(results))
    print(markdown(results))


def markdown(r: dict) -> str:
    m = r["machine"]
    title = (f"# ONNX Runtime vs torch (music tower), {m['cpu']}, {m['threads']} threads "
             f"(AVX-512: {m['avx512']}, VNNI: {m['vnni']})")
    lines = [title, "", f"Inputs: {r['inputs']}.", ""]
    for name, e in r["models"].items():
        header = ("| batch | torch fp32 pieces/s | ORT fp32 | ORT int8 | "
                  "int8 speed-up vs torch | int8 cosine to torch fp32 |")
        lines += [f"## {name}", "", header, "|---|---|---|---|---|---|"]
        for row in e["cpu"]:
            lines.append(f"| {row['batch']} | {row['torch_fp32_pieces_per_s']:.1f} | "
                         f"{row['ort_fp32_pieces_per_s']:.1f} | "
                         f"{row['ort_int8_pieces_per_s']:.1f} | "
                         f"{row['ort_int8_speedup_vs_torch']:.2f}x | "
                         f"{row['ort_int8_min_cosine_to_torch']:.5f} |")
        cal = e["int8_calibration"]
        lines += ["", "int8 kept fp32: " + "; ".join(
            f"{t}: {c['kept_fp32']} (cosine {c['min_cosine']:.5f})" for t, c in cal.items())]
        cuda = e["cuda"]
        where = ("card " + cuda["card"] if cuda.get("measured")
                 else "not measured (" + cuda["reason"] + ")")
        lines.append(f"CUDA: {where}")
        if cuda.get("measured"):
            for row in cuda["rows"]:
                lines.append(f"- batch {row['batch']}: "
                             f"torch CUDA fp32 {row['torch_cuda_fp32_s']:.4f} s, "
                             f"fp16 {row['torch_cuda_fp16_s']:.4f} s, "
                             f"ORT CUDA fp16 {row['ort_cuda_fp16_s']:.4f} s")
        zs = e.get("zero_shot_int8")
        if zs:
            title = (f"Zero-shot accuracy, fp32 vs int8 bundle "
                     f"({zs['source']}, {zs['works']} works):")
            lines += ["", title, ""]
            for task, acc in zs["fp32"].items():
                lines.append(f"- {task}: fp32 {acc['accuracy']:.3f}, "
                             f"int8 {zs['int8'][task]['accuracy']:.3f} "
                             f"({zs['change_points'][task]:+.2f} points, n={acc['n']})")
        lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
