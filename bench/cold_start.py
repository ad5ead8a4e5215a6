"""Cold start of the command line: a new `clamp classify` and `clamp caption` process each time,
as a shell user or the MuseScore plugin without a running service waits for it.

Run it with the `clamp` of the install to measure, e.g. a plain `pip install clamp-notation`
(torch-free, ONNX bundle) and the development venv (torch):

    python bench/cold_start.py --clamp /path/to/venv/bin/clamp --label "pip install (ONNX)"

Appends a row per verb to bench/results/cold_start.json and rewrites cold_start.md from it.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCORE = ROOT / "tests" / "fixtures" / "scores" / "lieder_5071622.mxl"
VERBS = {
    "classify": ["classify", str(SCORE), "--labels", "chorale,reel,waltz"],
    "caption": ["caption", str(SCORE)],
}
TARGETS = {"classify": 2.0, "caption": 3.0}


def time_runs(clamp: str, args: list[str], runs: int, env: dict) -> list[float]:
    seconds = []
    for _ in range(runs):
        t0 = time.perf_counter()
        res = subprocess.run([clamp, *args], capture_output=True, text=True, env=env, check=False)
        seconds.append(time.perf_counter() - t0)
        if res.returncode != 0:
            sys.exit(f"{clamp} {' '.join(args)} failed: {res.stderr.strip()[-500:]}")
    return seconds


def backend_of(clamp: str, env: dict) -> str:
    python = Path(clamp).with_name("python")
    probe = "from clamp_core import Clamp; c = Clamp.load('default'); print(c.backend, c.precision)"
    res = subprocess.run([str(python), "-c", probe], capture_output=True, text=True, env=env,
                         check=False)
    return res.stdout.strip() or "unknown"


def write_markdown(rows: list[dict], path: Path) -> None:
    lines = ["# Cold start of `clamp classify` and `clamp caption`", "",
             "A new process per call (nothing cached in memory), median of several runs; "
             "`python bench/cold_start.py --clamp PATH/bin/clamp --label NAME`. Targets: classify "
             "<= 2 s, caption <= 3 s on 2 cores.", "",
             "| install | backend | verb | median s | min s | max s | runs | target s | machine |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['label']} | {r['backend']} | {r['verb']} | {r['median_s']:.2f} | "
                     f"{r['min_s']:.2f} | {r['max_s']:.2f} | {r['runs']} | {r['target_s']} | "
                     f"{r['machine']} |")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clamp", default="clamp", help="the clamp executable of the install to time")
    ap.add_argument("--label", default="this environment")
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--out", default=str(ROOT / "bench" / "results" / "cold_start.json"))
    args = ap.parse_args()
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    env.pop("PYTHONPATH", None)
    machine = f"{os.cpu_count()} cores, {platform.machine()}"
    backend = backend_of(args.clamp, env)
    out = Path(args.out)
    rows = json.loads(out.read_text()) if out.is_file() else []
    rows = [r for r in rows if r["label"] != args.label]
    for verb, verb_args in VERBS.items():
        time_runs(args.clamp, verb_args, 1, env)  # warm the OS file cache, not the process
        s = time_runs(args.clamp, verb_args, args.runs, env)
        row = {"label": args.label, "backend": backend, "verb": verb,
               "median_s": statistics.median(s), "min_s": min(s), "max_s": max(s),
               "runs": args.runs, "target_s": TARGETS[verb], "machine": machine}
        rows.append(row)
        print(f"{args.label:24s} {verb:9s} median {row['median_s']:.2f} s "
              f"(min {row['min_s']:.2f}, max {row['max_s']:.2f})")
    out.write_text(json.dumps(rows, indent=2) + "\n", encoding="utf-8")
    write_markdown(rows, out.with_suffix(".md"))


if __name__ == "__main__":
    main()
