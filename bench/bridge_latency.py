"""Latency of the MuseScore bridge on real Lieder scores.

Warm: the service (default model, loaded and warmed once) answers caption, classify (genres)
and similar (a library index of the scores) over HTTP on 127.0.0.1, with the score sent as the
plugin sends it: MusicXML text (MuseScore 3, writeScore) and the cursor walk (MuseScore 4).
p50/p99 over every request. Cold: `clamp musescore caption|classify|similar FILE` in a fresh
process each time (imports, model load and caption banks included), median and max.

    python bench/bridge_latency.py [--scores DIR] [--n 12] [--rounds 3] [--cold-runs 3]

DIR defaults to the workspace's OpenScore Lieder MusicXML folder, else tests/fixtures/scores.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from musescore_bridge.service import start_service  # noqa: E402  (after the sys.path insert)

OUT = Path(__file__).parent / "results" / "bridge_latency"
LIEDER = ROOT.parent / "shared" / "data" / "lieder" / "mxl"
FIXTURES = ROOT / "tests" / "fixtures"


def musicxml_of(mxl: Path) -> str:
    with zipfile.ZipFile(mxl) as zf:
        name = next(m for m in zf.namelist()
                    if m.endswith((".xml", ".musicxml")) and not m.startswith("META-INF"))
        return zf.read(name).decode("utf-8")


def cursor_walk_of(score) -> dict:
    """The cursor-walk JSON the plugin would send for a loaded score (built from its stream)."""
    from music21 import chord, note

    div = 480
    m0 = score.stream.parts[0].getElementsByClass("Measure")
    measures, tick = [], 0
    for m in m0:
        ts = m.getContextByClass("TimeSignature")
        ticks = round(m.duration.quarterLength * div) or div
        measures.append({"tick": tick, "ticks": ticks,
                         "time_signature": [ts.numerator, ts.denominator] if ts else [4, 4]})
        tick += ticks
    parts = []
    for p in score.stream.parts:
        chords = []
        for n in p.flatten().notesAndRests:
            if n.duration.isGrace:
                continue
            pitches = n.pitches if isinstance(n, (note.Note, chord.Chord)) else ()
            chords.append({"tick": round(float(n.getOffsetInHierarchy(p)) * div), "voice": 0,
                           "ticks": max(1, round(float(n.quarterLength) * div)),
                           "notes": [{"pitch": x.midi} for x in pitches]})
        parts.append({"name": p.partName or "Part", "staves": [{"keys": [], "chords": chords}]})
    return {"format": "clamp-cursor-walk", "version": 1, "title": score.meta.title or "",
            "division": div, "measures": measures, "parts": parts}


def stats(ms: list[float]) -> dict:
    a = np.array(ms)
    return {"n": len(ms), "p50_ms": round(float(np.percentile(a, 50)), 1),
            "p99_ms": round(float(np.percentile(a, 99)), 1), "max_ms": round(float(a.max()), 1)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--scores", type=Path,
                    default=LIEDER if LIEDER.is_dir() else FIXTURES / "scores")
    ap.add_argument("--n", type=int, default=12, help="Scores used (sorted by name, first n).")
    ap.add_argument("--rounds", type=int, default=3, help="Warm requests per score and action.")
    ap.add_argument("--cold-runs", type=int, default=3)
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args()
    from clamp_core.api import Clamp
    from clamp_core.index.library import Index
    from clamp_core.scores.load import load_score

    files = sorted(args.scores.glob("*.mxl"))[: args.n]
    if not files:
        sys.exit(f"no .mxl scores in {args.scores}")
    clamp = Clamp.load("default")
    work = Path(tempfile.mkdtemp(prefix="bridge-bench-"))
    lib = work / "lib"
    lib.mkdir()
    for f in files:
        (lib / f.name).write_bytes(f.read_bytes())
    with Index.create(work / "index", clamp) as idx:
        idx.update(lib, clamp, workers=0, progress=False)
    payloads = {"musicxml": [{"musicxml": musicxml_of(f)} for f in files],
                "cursor": [{"cursor": cursor_walk_of(load_score(f))} for f in files]}
    options = {"caption": {}, "classify": {"label_set": "genres"},
               "similar": {"index": str(work / "index"), "k": 10}}
    warm: dict = {}
    with start_service(clamp, warm=True) as svc:
        for action, opts in options.items():
            for kind, items in payloads.items():
                ms = []
                for _ in range(args.rounds):
                    for p in items:
                        t = time.perf_counter()
                        status, body = svc.request("POST", f"/{action}", {**p, **opts})
                        ms.append(1000 * (time.perf_counter() - t))
                        if status != 200:
                            sys.exit(f"{action}/{kind}: HTTP {status}: {body.get('error')}")
                warm[f"{action}/{kind}"] = stats(ms)
                print(action, kind, warm[f"{action}/{kind}"], flush=True)
    cold: dict = {}
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    target = files[0]
    cmds = {"caption": ["caption", str(target), "--json"],
            "classify": ["classify", str(target), "--label-set", "genres", "--json"],
            "similar": ["similar", str(target), "--index", str(work / "index"), "--json"]}
    for action, cmd in cmds.items():
        ms = []
        for _ in range(args.cold_runs):
            t = time.perf_counter()
            subprocess.run([sys.executable, "-m", "clamp_core", "musescore", *cmd], env=env,
                           check=True, capture_output=True)
            ms.append(1000 * (time.perf_counter() - t))
        cold[action] = {"n": len(ms), "median_ms": round(float(np.median(ms)), 1),
                        "max_ms": round(float(max(ms)), 1)}
        print("cold", action, cold[action], flush=True)
    results = {
        "bench": "bridge_latency", "scores": os.path.relpath(args.scores, ROOT),
        "n_scores": len(files),
        "rounds": args.rounds, "model": "default",
        "machine": (f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores "
                    f"(shared with other jobs), {platform.system()}, torch CPU"),
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "warm": warm, "cold_cli": cold,
        "note": "warm = HTTP round trip on 127.0.0.1 incl. parsing, ABC conversion and the model; "
                "cursor = the MuseScore 4 route (walk JSON built here from the same scores)",
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.with_suffix(".json").write_text(json.dumps(results, indent=2) + "\n")
    args.out.with_suffix(".md").write_text(markdown(results))


def markdown(r: dict) -> str:
    lines = [(f"# Bridge latency ({r['n_scores']} OpenScore Lieder scores, {r['machine']}, "
             f"load {r['load_average']})"), "",
             "Warm service (HTTP on 127.0.0.1, model loaded once):", "",
             "| action / input | requests | p50 ms | p99 ms |", "|---|---|---|---|"]
    for k, v in r["warm"].items():
        lines.append(f"| {k} | {v['n']} | {v['p50_ms']} | {v['p99_ms']} |")
    lines += ["", "Cold CLI (`clamp musescore <action> FILE`, a fresh process each run):", "",
              "| action | runs | median ms | max ms |", "|---|---|---|---|"]
    for k, v in r["cold_cli"].items():
        lines.append(f"| {k} | {v['n']} | {v['median_ms']} | {v['max_ms']} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
