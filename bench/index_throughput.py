"""Library indexing throughput: end to end (scores/s) and per stage (parse, ABC, patches, encode).

The library is a mixed slice of real scores copied into a temporary folder: OpenScore Lieder
.mxl (voice + piano, long), Bach chorales .mxl (4 voices) and Ryan's Mammoth Collection .abc
(one fiddle tune a file). Stages are timed one after another in this process on every file;
the end-to-end runs build a fresh index with `build_index` (0 and 2 reader processes), which
overlaps reading and encoding.

Usage: python bench/index_throughput.py [--lieder 30] [--bach 30] [--ryans 60] [--model default]
Writes bench/results/index_throughput.json and .md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from clamp_core.api import Clamp  # noqa: E402  (after the sys.path insert)
from clamp_core.index.library import build_index  # noqa: E402  (after the sys.path insert)
from clamp_core.notation.convert import score_to_abc  # noqa: E402  (after the sys.path insert)
from clamp_core.notation.patches import patchify  # noqa: E402  (after the sys.path insert)
from clamp_core.scores.load import load_score  # noqa: E402  (after the sys.path insert)

LIEDER = ROOT.parent / "shared" / "data" / "lieder" / "mxl"


def library(dest: Path, n_lieder: int, n_bach: int, n_ryans: int) -> dict[str, int]:
    from music21 import corpus

    paths = corpus.getPaths()
    groups = {
        "lieder": sorted(LIEDER.glob("*.mxl"))[:n_lieder] if LIEDER.is_dir() else [],
        "bach": sorted(p for p in paths if "/bach/" in str(p) and str(p).endswith(".mxl"))[:n_bach],
        "ryans": sorted(p for p in paths if "ryansMammoth" in str(p))[:n_ryans],
    }
    for name, files in groups.items():
        (dest / name).mkdir(parents=True)
        for f in files:
            shutil.copy(f, dest / name / Path(f).name)
    return {k: len(v) for k, v in groups.items()}


def stage_times(clamp: Clamp, folder: Path, batch_size: int) -> dict:
    files = sorted(p for p in folder.rglob("*") if p.is_file())
    t = {"parse": 0.0, "abc": 0.0, "patches": 0.0}
    abcs = []
    for f in files:
        t0 = time.perf_counter()
        score = load_score(f)
        t1 = time.perf_counter()
        abc = score_to_abc(score)
        t2 = time.perf_counter()
        patchify(abc, max_length=None)
        t3 = time.perf_counter()
        t["parse"] += t1 - t0
        t["abc"] += t2 - t1
        t["patches"] += t3 - t2
        abcs.append(abc)
    clamp.encode_abc(abcs[:batch_size], batch_size=batch_size)  # warm-up
    t0 = time.perf_counter()
    clamp.encode_abc(abcs, batch_size=batch_size)
    t["encode"] = time.perf_counter() - t0
    n = len(files)
    return {"n_scores": n,
            "stages": {k: {"seconds": round(v, 3), "ms_per_score": round(1000 * v / n, 2),
                           "share": round(v / sum(t.values()), 3)} for k, v in t.items()},
            "sequential_scores_per_s": round(n / sum(t.values()), 2)}


def end_to_end(clamp: Clamp, folder: Path, workers: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        rep = build_index(folder, Path(tmp) / "index", clamp, workers=workers, progress=False)
        seconds = time.perf_counter() - t0
    return {"workers": workers, "files": rep.parsed, "entries": rep.entries, "failed": rep.failed,
            "seconds": round(seconds, 2), "scores_per_s": round(rep.entries / seconds, 2)}


def markdown(res: dict) -> str:
    st = res["stages"]
    lib = ", ".join(f"{v} {k}" for k, v in res["library"].items())
    about = (f"Library: {lib} ({st['n_scores']} files), model `{res['model']}`, "
             f"encode batch {res['batch_size']}, precision {res['precision']}.")
    lines = ["# Indexing throughput", "", res["machine"], "", about, "",
             "| stage | seconds | ms / score | share |", "|---|---:|---:|---:|"]
    lines += [f"| {k} | {v['seconds']} | {v['ms_per_score']} | {v['share']:.0%} |"
              for k, v in st["stages"].items()]
    lines += ["", f"Sequential, stage by stage: {st['sequential_scores_per_s']} scores/s.", "",
              "| end to end (`build_index`) | reader processes | seconds | scores/s |",
              "|---|---:|---:|---:|"]
    lines += [f"| fresh index | {e['workers']} | {e['seconds']} | {e['scores_per_s']} |"
              for e in res["end_to_end"]]
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lieder", type=int, default=30)
    ap.add_argument("--bach", type=int, default=30)
    ap.add_argument("--ryans", type=int, default=60)
    ap.add_argument("--model", default="default")
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--out", default=str(ROOT / "bench" / "results" / "index_throughput.json"))
    args = ap.parse_args()
    clamp = Clamp.load(args.model)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "library"
        counts = library(folder, args.lieder, args.bach, args.ryans)
        res = {"machine": f"{platform.machine()}, {os.cpu_count()} cores, {platform.system()}; "
                          "timings on a shared machine (other jobs may run meanwhile)",
               "library": counts, "model": args.model, "batch_size": args.batch_size,
               "precision": clamp.precision,
               "stages": stage_times(clamp, folder, args.batch_size),
               "end_to_end": [end_to_end(clamp, folder, w) for w in (0, 2)]}
    out = Path(args.out)
    out.write_text(json.dumps(res, indent=2) + "\n")
    out.with_suffix(".md").write_text(markdown(res))
    print(markdown(res))


if __name__ == "__main__":
    main()
