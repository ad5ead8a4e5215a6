"""Reading speed: what loading a score and writing it as ABC costs, stage by stage, and a
byte-for-byte reference of the output so that speed work can prove it changed nothing.

A score is read as `clamp index` reads it: MusicXML the direct reader covers in one stage,
direct (``clamp_core.musicxml``: bytes -> ABC and facts, no music21 objects), anything else in
the stages ``load_score`` runs: parse (the format's reader: bytes -> music21 Score), meta
(``extract_meta``) and abc (``score_to_abc``). $CLAMP_MUSICXML_READER=music21 reads every
score through the stages. Stage costs are CPU seconds of this process (time.process_time), which
other jobs on a shared machine barely change; wall seconds are kept beside them.
With --index it also times ``clamp index`` end to end on the same files
(fresh index in a temporary folder, default model, ``--workers`` reader processes).

The reference (JSON lines: id, sha256 of the ABC, the meta as a dict, or the error) is written
with --write and compared with --check, which prints every score that differs and exits 1 on
any difference; --processes reads in that many processes (at most 2 on a 2-core machine).

Usage:
  python bench/read_speed.py [--folder DIR] [--limit N] [--index] [--label before]
  python bench/read_speed.py --reference .cache/ref_lieder.jsonl --write --processes 2
  python bench/read_speed.py --music21-corpus --reference .cache/ref_corpus.jsonl --check
Timing runs add their figures under --label to bench/results/read_speed.{json,md}.
"""

from __future__ import annotations

import argparse
import difflib
import hashlib
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

LIEDER = ROOT.parent / "shared" / "data" / "lieder" / "mxl"
RESULTS = ROOT / "bench" / "results"
_MUSICXML = (".mxl", ".xml", ".musicxml")


def music21_corpus_files() -> list[tuple[str, Path]]:
    """Every MusicXML file of music21's own corpus, named by its path inside the corpus."""
    import music21

    base = Path(music21.__file__).parent / "corpus"
    files = sorted(p for p in base.rglob("*") if p.suffix.lower() in _MUSICXML)
    return [(str(p.relative_to(base)), p) for p in files]


def score_files(args) -> list[tuple[str, Path]]:
    if args.music21_corpus:
        files = music21_corpus_files()
    else:
        folder = Path(args.folder)
        files = [(p.name, p) for p in sorted(folder.iterdir()) if p.suffix.lower() in _MUSICXML]
    return files[:args.limit] if args.limit else files


def read_one(path: Path) -> dict:
    """One score read as `clamp index` reads it: directly (clamp_core.musicxml) where the
    direct reader covers it, else through the stages of ``load_score`` + ``score_to_abc``,
    timed ($CLAMP_MUSICXML_READER=music21 forces the stages)."""
    from clamp_core.musicxml import read_file_direct

    clocks = (time.process_time, time.perf_counter)
    t0 = [c() for c in clocks]
    direct = read_file_direct(path, str(path))
    if direct is not None:
        t1 = [c() for c in clocks]
        return {"seconds": {"direct": t1[0] - t0[0]}, "wall_seconds": t1[1] - t0[1],
                "sha256": hashlib.sha256(direct.abc.encode("utf-8")).hexdigest(),
                "abc": direct.abc, "meta": direct.meta.to_dict()}
    return read_stages(path)


def read_stages(path: Path) -> dict:
    """One score through the stages of ``load_score`` + ``score_to_abc``, timed."""
    from clamp_core.errors import ClampError
    from clamp_core.notation.convert import score_to_abc
    from clamp_core.scores.load import Score
    from clamp_core.scores.meta import extract_meta
    from clamp_core.scores.readers import ReadRequest, reader_for_extension

    out: dict = {}
    clocks = (time.process_time, time.perf_counter)
    try:
        t0 = [c() for c in clocks]
        reader = reader_for_extension(path.suffix)
        sc, _ = reader.read(ReadRequest(path.read_bytes(), str(path), path, None, "reader"))
        t1 = [c() for c in clocks]
        meta = extract_meta(sc)
        t2 = [c() for c in clocks]
        abc = score_to_abc(Score(stream=sc, meta=meta, source=str(path), format=reader.format))
        t3 = [c() for c in clocks]
    except ClampError as exc:
        return {"error": str(exc)}
    out["seconds"] = {"parse": t1[0] - t0[0], "meta": t2[0] - t1[0], "abc": t3[0] - t2[0]}
    out["wall_seconds"] = t3[1] - t0[1]
    out["sha256"] = hashlib.sha256(abc.encode("utf-8")).hexdigest()
    out["abc"] = abc
    out["meta"] = meta.to_dict()
    return out


def _read_named(item: tuple[str, str]) -> tuple[str, dict]:
    name, path = item
    return name, read_one(Path(path))


def read_all(files: list[tuple[str, Path]], processes: int):
    """(name, result) per file in order, in this process or a pool of ``processes``."""
    items = [(n, str(p)) for n, p in files]
    if processes <= 1:
        yield from map(_read_named, items)
        return
    import multiprocessing as mp

    with mp.get_context("spawn").Pool(processes) as pool:
        yield from pool.imap(_read_named, items, chunksize=4)


def reference_row(name: str, res: dict) -> dict:
    """What the reference keeps of a score; "abc" is there only to show what differs."""
    if "error" in res:
        return {"id": name, "error": res["error"]}
    return {"id": name, "sha256": res["sha256"], "meta": res["meta"], "abc": res["abc"]}


def _compared(row: dict) -> dict:
    return {k: v for k, v in row.items() if k != "abc"}


def write_reference(files, processes: int, ref: Path) -> int:
    ref.parent.mkdir(parents=True, exist_ok=True)
    with ref.open("w", encoding="utf-8") as f:
        for name, res in read_all(files, processes):
            f.write(json.dumps(reference_row(name, res), ensure_ascii=False) + "\n")
    print(f"wrote {len(files)} scores to {ref}")
    return 0


def check_reference(files, processes: int, ref: Path) -> int:
    want = {}
    for line in ref.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        want[row["id"]] = row
    differ = missing = 0
    for name, res in read_all(files, processes):
        got = reference_row(name, res)
        if name not in want:
            missing += 1
            print(f"NOT IN REFERENCE {name}")
        elif _compared(got) != _compared(want[name]):
            differ += 1
            old = want[name]
            fields = sorted(k for k in set(old) | set(got) if old.get(k) != got.get(k))
            if "meta" in fields:
                fields.remove("meta")
                fields += [f"meta.{k}" for k in sorted(old.get("meta") or {})
                           if (old.get("meta") or {}).get(k) != (got.get("meta") or {}).get(k)]
            print(f"DIFFERS {name}: {', '.join(fields)}")
            if "sha256" in fields and old.get("abc") and got.get("abc"):
                diff = difflib.unified_diff(old["abc"].splitlines(), got["abc"].splitlines(),
                                            "reference", "now", lineterm="", n=0)
                print("\n".join(list(diff)[:12]))
    print(f"checked {len(files)} scores against {ref}: {differ} differ, {missing} not in it")
    return 1 if differ or missing else 0


def stage_times(files) -> dict:
    """CPU seconds per stage over the scores read: "direct" for scores the direct reader
    covered, "parse", "meta" and "abc" for the others (means are over all scores)."""
    per: dict[str, list[float]] = {"direct": [], "parse": [], "meta": [], "abc": []}
    failed = n = 0
    wall = 0.0
    for _name, res in read_all(files, 1):
        if "error" in res:
            failed += 1
            continue
        n += 1
        for k, v in res["seconds"].items():
            per[k].append(v)
        wall += res["wall_seconds"]
    total = sum(sum(v) for v in per.values())
    return {"n_scores": n, "failed": failed, "n_direct": len(per["direct"]),
            "stages": {k: {"scores": len(v), "seconds": round(sum(v), 2),
                           "mean_s": round(sum(v) / n, 4),
                           "median_s": round(statistics.median(v), 4) if v else 0.0,
                           "share": round(sum(v) / total, 3)} for k, v in per.items()},
            "mean_s_per_score": round(total / n, 4),
            "scores_per_s_one_core": round(n / total, 2),
            "mean_wall_s_per_score": round(wall / n, 4)}


def index_time(files, workers: int) -> dict:
    """``clamp index`` of these files into a fresh index (files copied into a temp folder
    unless they are the whole folder)."""
    clamp = Path(sys.executable).parent / "clamp"
    with tempfile.TemporaryDirectory() as tmp:
        lib = Path(tmp) / "lib"
        lib.mkdir()
        for name, p in files:
            shutil.copy(p, lib / name.replace("/", "_"))
        cmd = [str(clamp), "index", str(lib), "--index", str(Path(tmp) / "idx"),
               "--workers", str(workers), "--json"]
        t0 = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
        seconds = time.perf_counter() - t0
    if proc.returncode not in (0, 3):
        raise SystemExit(f"clamp index failed ({proc.returncode}): {proc.stderr[-2000:]}")
    report = json.loads(proc.stdout)
    return {"command": " ".join(["clamp", "index", "FOLDER", "--index", "IDX", "--workers",
                                 str(workers)]),
            "workers": workers, "n_files": len(files), "seconds": round(seconds, 2),
            "scores_per_s": round(len(files) / seconds, 2),
            "added": report.get("added"), "failed": report.get("failed")}


def write_results(label: str, run: dict) -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / "read_speed.json"
    data = json.loads(path.read_text()) if path.exists() else {}
    data.setdefault("runs", {})[label] = run
    data["machine"] = f"{platform.machine()}, {os.cpu_count()} cores, {platform.system()}"
    path.write_text(json.dumps(data, indent=2) + "\n")
    lines = ["# Reading speed (clamp index's reading: MusicXML directly, else load_score + "
             "score_to_abc)", "",
             f"{data['machine']}; a shared machine (other jobs may run meanwhile).",
             "Command: `python bench/read_speed.py [--limit N] [--index] --label LABEL`.", "",
             "Per score, CPU seconds of one process: the direct MusicXML reader's one stage, "
             "else the stages in the order `load_score` runs them (wall seconds, which other "
             "jobs on the machine inflate, in the last column):", "",
             "| run | scores | read directly | direct s | parse s | meta s | abc s | total s "
             "| scores/s (1 core) | wall s |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for name, r in data["runs"].items():
        if "stages" not in r:
            continue
        s = r["stages"]
        direct = s.get("direct", {"mean_s": 0.0})
        lines.append(f"| {name} | {r['n_scores']} | {r.get('n_direct', 0)} | "
                     f"{direct['mean_s']:.4f} | {s['parse']['mean_s']:.4f} | "
                     f"{s['meta']['mean_s']:.4f} | {s['abc']['mean_s']:.4f} | "
                     f"{r['mean_s_per_score']:.4f} | {r['scores_per_s_one_core']} | "
                     f"{r.get('mean_wall_s_per_score', '')} |")
    index_rows = [(n, r["index"]) for n, r in data["runs"].items() if "index" in r]
    if index_rows:
        lines += ["", "End to end, `clamp index` into a fresh index, default model "
                  "(target: all 1,356 Lieder in <= 90 s, >= 15 scores/s):", "",
                  "| run | files | reader processes | seconds | scores/s |",
                  "|---|---:|---:|---:|---:|"]
        for name, ix in index_rows:
            lines.append(f"| {name} | {ix['n_files']} | {ix['workers']} | {ix['seconds']} | "
                         f"{ix['scores_per_s']} |")
    notes = RESULTS / "read_speed_notes.md"
    if notes.exists():
        lines += ["", notes.read_text().strip()]
    (RESULTS / "read_speed.md").write_text("\n".join(lines) + "\n")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--folder", default=str(LIEDER), help="folder of MusicXML files")
    ap.add_argument("--music21-corpus", action="store_true",
                    help="read music21's corpus MusicXML files instead of --folder")
    ap.add_argument("--limit", type=int, default=0, help="only the first N files (0: all)")
    ap.add_argument("--reference", type=Path, help="JSON lines of every score's ABC hash + meta")
    mode = ap.add_mutually_exclusive_group()
    mode.add_argument("--write", action="store_true", help="write --reference")
    mode.add_argument("--check", action="store_true", help="compare with --reference")
    ap.add_argument("--processes", type=int, default=1, help="for --write/--check")
    ap.add_argument("--index", action="store_true", help="also time `clamp index` end to end")
    ap.add_argument("--index-only", action="store_true", help="only time `clamp index`")
    ap.add_argument("--workers", type=int, default=2, help="reader processes of `clamp index`")
    ap.add_argument("--label", default="current", help="name of this run in the results")
    args = ap.parse_args()
    files = score_files(args)
    if not files:
        raise SystemExit("no MusicXML files found")
    if args.reference is not None:
        if args.write:
            return write_reference(files, args.processes, args.reference)
        if args.check:
            return check_reference(files, args.processes, args.reference)
        raise SystemExit("--reference needs --write or --check")
    run: dict = {}
    if not args.index_only:
        run = stage_times(files)
        print(json.dumps(run, indent=2))
    if args.index or args.index_only:
        run["index"] = index_time(files, args.workers)
        print(json.dumps(run["index"], indent=2))
    old = {}
    path = RESULTS / "read_speed.json"
    if path.exists():
        old = json.loads(path.read_text()).get("runs", {}).get(args.label, {})
    write_results(args.label, {**old, **run})
    return 0


if __name__ == "__main__":
    sys.exit(main())
