"""The robustness campaign of issue 8, end to end, with its figures: every hostile file of
tests/robustness/corpus.py through a real `clamp info` process (exit code, wall time, peak RSS
under an address-space cap), the whole corpus indexed at once, kill -9 trials of `clamp index`
and `clamp train`, and the local service under load and attack.

    python bench/robustness.py [--index-kills 20] [--train-trials 3] [--requests 2000]

Writes bench/results/robustness.json and robustness.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "tests" / "robustness"))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import corpus  # noqa: E402  (after the sys.path insert)
import crash  # noqa: E402  (after the sys.path insert)
from service_load import attacks, load, slow_body, slow_headers  # noqa: E402  (after the sys.path insert)

OUT = Path(__file__).parent / "results" / "robustness"
MEMORY_LIMIT = 2 * 2**30
PER_FILE_LIMIT_S = 120
CAPPED_CLAMP = ("import resource, runpy, sys; lim = int(sys.argv[1]); "
                "resource.setrlimit(resource.RLIMIT_AS, (lim, lim)); "
                "sys.argv = ['clamp', *sys.argv[2:]]; "
                "runpy.run_module('clamp_core', run_name='__main__')")


def info_process(path: Path, tmp: Path) -> dict:
    """One `clamp info FILE` process under the cap: exit code, seconds, peak RSS, stderr."""
    out = tmp / f"{os.getpid()}-{threading.get_ident()}.out"
    err = tmp / f"{threading.get_ident()}.err"
    t0 = time.perf_counter()
    with open(out, "wb") as fo, open(err, "wb") as fe:
        proc = subprocess.Popen([sys.executable, "-c", CAPPED_CLAMP, str(MEMORY_LIMIT), "info",
                                 str(path)], stdout=fo, stderr=fe, env=crash.ENV)
        timer = threading.Timer(PER_FILE_LIMIT_S, proc.kill)
        timer.start()
        _, status, usage = os.wait4(proc.pid, 0)
        timer.cancel()
        proc.returncode = os.waitstatus_to_exitcode(status)
    return {"exit": proc.returncode, "seconds": round(time.perf_counter() - t0, 2),
            "peak_rss_mb": round(usage.ru_maxrss / 1024, 1),
            "stdout": out.read_text("utf-8", "replace"),
            "stderr": err.read_text("utf-8", "replace")}


def single_files(written, tmp: Path) -> dict:
    rows = []
    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(lambda cp: info_process(cp[1], tmp), written))
    for (case, _), r in zip(written, results, strict=True):
        lines = [ln for ln in r["stderr"].splitlines() if ln.strip()]
        refused = r["exit"] == 1 and len(lines) == 1 and lines[0].startswith("Error: ")
        ok = ((case.expect == "accept" and r["exit"] == 0)
              or (case.expect == "refuse" and refused)
              or (case.expect == "any" and (r["exit"] == 0 or refused)))
        ok = ok and "Traceback" not in r["stderr"] and corpus.SECRET_MARKER not in (
            r["stdout"] + r["stderr"])
        rows.append({"file": case.name, "category": case.category, "expect": case.expect,
                     "exit": r["exit"], "seconds": r["seconds"], "peak_rss_mb": r["peak_rss_mb"],
                     "ok": ok,  # the scratch folder's name is this run's, not the result's
                     "error": lines[-1].replace(str(tmp), "<scratch>")[:200]
                     if lines and r["exit"] else None})
    by_cat: dict[str, Counter] = {}
    for row in rows:
        by_cat.setdefault(row["category"], Counter())["files"] += 1
        by_cat[row["category"]]["ok"] += row["ok"]
    return {"files": len(rows), "bad_inputs": sum(r["category"] != "good" for r in rows),
            "all_ok": all(r["ok"] for r in rows),
            "exit_codes": dict(Counter(str(r["exit"]) for r in rows)),
            "max_seconds": max(r["seconds"] for r in rows),
            "max_peak_rss_mb": max(r["peak_rss_mb"] for r in rows),
            "memory_cap_mb": MEMORY_LIMIT // 2**20,
            "by_category": {k: dict(v) for k, v in sorted(by_cat.items())}, "rows": rows}


def index_all(folder: Path, model: Path, tmp: Path) -> dict:
    t0 = time.perf_counter()
    res = crash.run("index", str(folder), "--index", str(tmp / "idx-all"), "--model", str(model),
                    "--workers", "2", "--json")
    rep = json.loads(res.stdout)
    return {"exit": res.returncode, "seconds": round(time.perf_counter() - t0, 1),
            "entries": rep["entries"], "failures": rep["failures_total"],
            "secret_leaked": corpus.SECRET_MARKER in res.stdout + res.stderr}


def crash_trials(folder: Path, model: Path, tmp: Path, index_kills: int, train_trials: int,
                 ) -> dict:
    lib = tmp / "lib"
    shutil.copytree(folder, lib, symlinks=True)
    crash.add_tunes(lib, 30)
    clean, clean_failed = crash.clean_index(lib, tmp / "clean", model)
    t0 = time.perf_counter()
    idx = crash.index_crash_trials(lib, tmp / "idx", model, index_kills, seed=8, clean=clean,
                                   clean_failed=clean_failed)
    index_s = time.perf_counter() - t0
    data = tmp / "pairs.jsonl"
    rows = [json.loads(x) for x in (ROOT / "tests/fixtures/wikimt/wikimt_abc.jsonl").read_text(
        encoding="utf-8").splitlines()[:40]]
    with data.open("w") as f:
        for i, row in enumerate(rows):
            f.write(json.dumps({"id": f"w{i}", "abc": row["abc"], "labels": {},
                                "texts": [row["title"], "a lead sheet"],
                                "split": "val" if i >= 32 else "train"}) + "\n")
    train = crash.train_crash_trials(data, tmp / "train", train_trials, seed=5)
    return {"index": {"trials": len(idx), "killed": sum(o["killed"] for o in idx),
                      "seconds": round(index_s, 1),
                      "final": {"entries": len(clean), "failures": len(clean_failed),
                                "consistent": True, "matches_clean_build": True},
                      "outcomes": idx},
            "train": {"trials": train_trials, "outcomes": train}}


def service(folder: Path, model: Path, requests: int) -> dict:
    from clamp_core.api import Clamp
    from musescore_bridge import service as service_mod
    from musescore_bridge.service import start_service

    with start_service(Clamp.load(str(model))) as svc:
        stall = service_mod.SOCKET_TIMEOUT_S + 60
        slow: dict = {}
        threads = [threading.Thread(target=lambda k=k, f=f: slow.__setitem__(k, f(svc, stall)))
                   for k, f in (("body", slow_body), ("headers", slow_headers))]
        for t in threads:
            t.start()
        report = load(svc, folder, clients=16, requests=requests)
        att = attacks(svc)
        for t in threads:
            t.join()
        health = svc.request("GET", "/health")[0]
    report["wrong"] = report["wrong"][:10]
    return {"load": report, "attacks": att, "slow_clients": slow,
            "socket_timeout_s": service_mod.SOCKET_TIMEOUT_S, "health_after": health}


def markdown(res: dict) -> str:
    s = res["single_file"]
    lines = ["# Robustness campaign", "",
             (f"{s['files']} files ({s['bad_inputs']} bad) through `clamp info`, one process each "
             f"under a {s['memory_cap_mb']} MB address-space cap: all as expected: "
             f"{s['all_ok']}; exit codes {s['exit_codes']}; slowest {s['max_seconds']} s; "
             f"peak RSS {s['max_peak_rss_mb']} MB."), "",
             "| category | files | as expected |", "|---|---|---|"]
    lines += [f"| {k} | {v['files']} | {v.get('ok', 0)} |" for k, v in s["by_category"].items()]
    i = res["index_all"]
    lines += ["", (f"Index of the whole corpus: exit {i['exit']}, {i['entries']} entries, "
              f"{i['failures']} failures listed, {i['seconds']} s, secret leaked: "
              f"{i['secret_leaked']}.")]
    c = res.get("crash")
    if c:
        lines += [(f"kill -9 of `clamp index`: {c['index']['trials']} trials "
                  f"({c['index']['killed']} killed mid-run), then a re-run equal to a clean build. "
                  f"kill -9 of `clamp train`: {c['train']['trials']} trials, resumed at step "
                  f"{c['train']['outcomes'][-1]['resume_step']}, finished at step "
                  f"{c['train']['outcomes'][-1]['final_step']}.")]
    v = res.get("service")
    if v:
        ld = v["load"]
        lines += ["", (f"Service: {ld['clients']} clients, {ld['requests']} requests in "
                  f"{ld['seconds']} s, statuses {ld['status_histogram']}, latency p50 "
                  f"{ld['latency_ms']['p50']} ms / p95 {ld['latency_ms']['p95']} ms, wrong "
                  f"answers {len(ld['wrong'])}; attacks refused cleanly: "
                  f"{sum(a['clean'] for a in v['attacks'].values())}/{len(v['attacks'])}; slow "
                  f"clients dropped after "
                  f"{[x['closed_after_s'] for x in v['slow_clients'].values()]}"
                  f" s; /health afterwards {v['health_after']}.")]
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--index-kills", type=int, default=20)
    ap.add_argument("--train-trials", type=int, default=3)
    ap.add_argument("--requests", type=int, default=2000)
    ap.add_argument("--skip", default="", help="comma-separated: crash, service")
    args = ap.parse_args()
    skip = set(filter(None, args.skip.split(",")))
    from clamp_core.model.checkpoint import create_model, save_model
    from clamp_core.model.config import preset

    res: dict = {"machine": {"python": platform.python_version(), "cpus": os.cpu_count(),
                             "platform": platform.platform()}}
    with tempfile.TemporaryDirectory(prefix="clamp-robust-") as tmp_name:
        tmp = Path(tmp_name)
        model = tmp / "tiny"
        save_model(create_model(preset("tiny"), seed=0), model)
        folder = tmp / "corpus with spaces é"
        written, _ = corpus.write_corpus(folder)
        t0 = time.perf_counter()
        res["single_file"] = single_files(written, tmp)
        print(f"single files: {time.perf_counter() - t0:.0f} s", file=sys.stderr)
        res["index_all"] = index_all(folder, model, tmp)
        if "crash" not in skip:
            t0 = time.perf_counter()
            res["crash"] = crash_trials(folder, model, tmp, args.index_kills, args.train_trials)
            print(f"crash trials: {time.perf_counter() - t0:.0f} s", file=sys.stderr)
        if "service" not in skip:
            res["service"] = service(folder, model, args.requests)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.with_suffix(".json").write_text(json.dumps(res, indent=2, ensure_ascii=False) + "\n")
    OUT.with_suffix(".md").write_text(markdown(res))
    print(markdown(res))


if __name__ == "__main__":
    main()
