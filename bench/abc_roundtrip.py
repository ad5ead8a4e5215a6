"""Round-trip benchmark for the ABC writer: music21 corpus -> ABC -> music21, per collection.

Writes bench/results/abc_roundtrip.json and .md. Usage: python bench/abc_roundtrip.py [--n 300]
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from abc_roundtrip_util import compare, load_work, sample_works  # noqa: E402  (after the sys.path insert)
from music21 import converter  # noqa: E402  (after the sys.path insert)

from clamp_core.notation.writer import stream_to_abc  # noqa: E402  (after the sys.path insert)

# ../shared beside the repo
WIKIMT = ROOT.parent / "shared" / "data" / "wikimt" / "wikimt_abc.jsonl"
RESULTS = ROOT / "bench" / "results"


def run_collection(name: str, n: int, budget_s: float) -> dict:
    """Round-trip up to `n` works of one collection within `budget_s` seconds."""
    works = sample_works(name, n)
    start = time.perf_counter()
    write_ms: list[float] = []
    failures = []
    done = 0
    for path, number in works:
        if time.perf_counter() - start > budget_s:
            break
        work_id = f"{path}#{number}" if number else path
        try:
            score = load_work(path, number)
        except Exception as exc:  # noqa: BLE001 - corpus files music21 itself cannot read are not counted
            print(f"skip {work_id}: {exc}", file=sys.stderr)
            continue
        done += 1
        try:
            t = time.perf_counter()
            abc = stream_to_abc(score)
            write_ms.append((time.perf_counter() - t) * 1000)
            reason = compare(score, abc)
        except Exception as exc:  # noqa: BLE001
            reason = f"{type(exc).__name__}: {str(exc)[:120]}"
        if reason:
            failures.append({"id": work_id, "reason": reason})
    identical = done - len(failures)
    return {
        "n": done,
        "identical": identical,
        "rate": round(identical / done, 4) if done else None,
        "median_write_ms": round(statistics.median(write_ms), 2) if write_ms else None,
        "failures": failures,
    }


def _header_set(abc: str) -> list[str]:
    return [line for line in abc.split("\n") if re.match(r"^[LMKV]:", line)]


def dialect_check(n: int) -> dict:
    """How often re-writing a WikiMT string keeps its exact L/M/K/V header lines."""
    if not WIKIMT.exists():
        return {"n": 0, "note": "WikiMT data not found"}
    rows = [json.loads(x) for x in WIKIMT.read_text().splitlines()]
    rows = rows[:: max(1, len(rows) // n)][:n]
    same, same_lmk, errors, diffs = 0, 0, 0, Counter()
    for row in rows:
        try:
            ours = stream_to_abc(converter.parse(row["abc"], format="abc"))
        except Exception:  # noqa: BLE001
            errors += 1
            continue
        a, b = _header_set(row["abc"]), _header_set(ours)
        same_lmk += [x for x in a if x[0] != "V"] == [x for x in b if x[0] != "V"]
        if a == b:
            same += 1
        else:
            for line in set(a) ^ set(b):
                diffs[re.sub(r"^(V:\d+).*", r"\1 ...", line)[:40]] += 1
    return {
        "n": len(rows), "header_identical": same, "rate": round(same / len(rows), 4),
        "lmk_identical": same_lmk, "lmk_rate": round(same_lmk / len(rows), 4),
        "errors": errors, "most_common_differences": diffs.most_common(10),
        "note": "informative: music21's ABC reader loses part names/clefs, so V: lines differ",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=300, help="works per folk collection")
    parser.add_argument("--bach-budget", type=float, default=240.0, help="seconds for Bach")
    parser.add_argument("--wikimt", type=int, default=200, help="WikiMT strings to check")
    args = parser.parse_args()
    results = {}
    for name in ("essen", "ryans", "oneills"):
        results[name] = run_collection(name, args.n, budget_s=600)
        print(name, {k: v for k, v in results[name].items() if k != "failures"})
    results["bach"] = run_collection("bach", 10_000, budget_s=args.bach_budget)
    print("bach", {k: v for k, v in results["bach"].items() if k != "failures"})
    out = {"collections": results, "wikimt_dialect": dialect_check(args.wikimt)}
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "abc_roundtrip.json").write_text(json.dumps(out, indent=2) + "\n")
    lines = [
        "# ABC writer round trip (music21 -> ABC -> music21 reader)",
        "",
        "| collection | works | identical | rate | median write ms |",
        "|---|---|---|---|---|",
    ]
    for name, r in results.items():
        lines.append(f"| {name} | {r['n']} | {r['identical']} | {r['rate']:.2%} "
                     f"| {r['median_write_ms']} |")
    d = out["wikimt_dialect"]
    if d.get("n"):
        note = (f"WikiMT dialect check (informative): L/M/K/V header lines identical for "
                f"{d['header_identical']}/{d['n']} strings re-written after music21 parsing "
                f"(L/M/K alone: {d['lmk_identical']}/{d['n']}).")
        lines += ["", note]
    (RESULTS / "abc_roundtrip.md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
