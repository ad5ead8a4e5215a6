"""Build a contrastive dataset (JSONL, one record per work) from the music21 corpus, a folder
of scores with a metadata table, or a folder of ABC files.

Record: {"id", "abc", "texts", "labels", "meta", "split", "source", "group"}. Parsing runs in
worker processes; converted ABC and facts are cached by content hash; failures are recorded in
``<out>.failures.jsonl`` and never stop the build; ``<out>.summary.json`` holds the counts.
"""

from __future__ import annotations

import json
import logging
import multiprocessing as mp
import os
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

from clamp_core.datasets.convert import (
    cache_key,
    convert_work,
    converter_version,
    read_cache,
    write_cache,
)
from clamp_core.datasets.records import make_record
from clamp_core.datasets.sources import WorkItem, file_cost
from clamp_core.files import file_sha256

log = logging.getLogger(__name__)

DEFAULT_CACHE = Path("~/.cache/clamp-notation/dataset")
from clamp_core.resources import TEST_GROUPS_FILE  # noqa: E402  (re-exported)

# label keys whose every value is counted in the summary (others: the 30 most common)
_SMALL_LABELS = ("collection", "tune_type", "tune_type_coarse", "region", "mode", "ensemble",
                 "era")


def read_test_groups(path: str | Path | None = TEST_GROUPS_FILE) -> set[str]:
    """Frozen test group keys (one per line, '#' comments); empty when the file is missing."""
    if path is None or not Path(path).is_file():
        return set()
    lines = Path(path).read_text(encoding="utf-8").splitlines()
    return {ln.strip() for ln in lines if ln.strip() and not ln.startswith("#")}


def write_test_groups(records: list[dict], path: str | Path, frozen: set[str]) -> int:
    """Freeze the test groups of a build (plus those frozen before); returns their count."""
    groups = sorted(frozen | {r["group"] for r in records if r["split"] == "test"})
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    header = ("# Frozen test groups of `clamp dataset build` (normalised titles / work keys).\n"
              "# Works whose group is listed here always go to the test split.\n")
    Path(path).write_text(header + "\n".join(groups) + "\n", encoding="utf-8")
    return len(groups)


def _cheap_first_fair(todo: list[WorkItem]) -> list[WorkItem]:
    """Each collection's works cheapest first, every collection given an equal share of the
    estimated conversion time (not of works): a build stopped early (or cut with --cached-only)
    holds some of every collection, and a collection of small tunes is not held back one tune
    per large opera of another (taking the collections in turn did that: 521 Essen tunes of
    0.03 s each waited behind 200 Polish scores of up to 90 s)."""
    shares = Counter(it.path for it in todo)  # a tune of a 300-tune ABC file costs 1/300 of it
    costs = {path: file_cost(path) for path in shares}  # one stat a file, not one a tune
    by_coll: dict[str, list[tuple[float, WorkItem]]] = defaultdict(list)
    for it in todo:
        by_coll[it.collection].append((costs[it.path] / shares[it.path], it))
    keyed: list[tuple[float, str, int, WorkItem]] = []
    for coll, items in by_coll.items():
        spent = 0.0  # the collection's estimated time before this work starts
        for i, (cost, it) in enumerate(sorted(items, key=lambda c: c[0])):
            keyed.append((spent, coll, i, it))
            spent += cost
    return [it for *_, it in sorted(keyed, key=lambda k: k[:3])]


def _worker(args: tuple[WorkItem, int]) -> tuple[str, dict]:
    item, timeout = args
    return item.id, convert_work(item, timeout)


def _worker_init() -> None:
    logging.disable(logging.WARNING)  # music21 logs per file; the parent reports failures


def _convert_all(todo: list[WorkItem], workers: int, timeout: int, cache_dir: Path,
                 keys: dict[str, str], progress: bool) -> dict[str, dict]:
    """Convert works not in the cache, cheapest first (a build stopped early has converted as
    many works as it could; the cache makes a rerun carry on), caching each."""
    from tqdm import tqdm

    results: dict[str, dict] = {}
    todo = _cheap_first_fair(todo)
    bar = tqdm(total=len(todo), desc="converting scores", unit="work", file=sys.stderr,
               disable=not progress or not todo, smoothing=0.05)
    args = [(it, timeout) for it in todo]

    def collect(wid: str, res: dict) -> None:
        results[wid] = res
        if "error" not in res:
            write_cache(cache_dir, keys[wid], res)
        bar.update(1)

    if workers <= 1 or len(todo) < 2:
        for a in args:
            collect(*_worker(a))
    else:
        ctx = mp.get_context("fork" if "fork" in mp.get_all_start_methods() else "spawn")
        # maxtasksperchild: music21 caches grow; recycle workers now and then
        with ctx.Pool(workers, initializer=_worker_init, maxtasksperchild=200) as pool:
            for wid, res in pool.imap_unordered(_worker, args, chunksize=1):
                collect(wid, res)
    bar.close()
    return results


def build_dataset(items: list[WorkItem], out: str | Path, *, cache_dir: str | Path | None = None,
                  workers: int | None = None, timeout: int = 600,
                  test_groups: str | Path | None = TEST_GROUPS_FILE,
                  freeze_test_groups: str | Path | None = None, progress: bool = True,
                  command: str | None = None, cached_only: bool = False) -> dict:
    """Convert every work (cached), write ``out`` JSONL + failures + summary; return the summary.
    ``cached_only`` converts nothing: works not in the cache yet (another build may be converting
    them) are recorded as failures, so a dataset can be cut from a build still under way."""
    t0 = time.time()
    out = Path(out).expanduser()
    out.parent.mkdir(parents=True, exist_ok=True)
    cache = Path(cache_dir or DEFAULT_CACHE).expanduser()
    cache.mkdir(parents=True, exist_ok=True)
    workers = workers or os.cpu_count() or 1
    version = converter_version()
    frozen = read_test_groups(test_groups)

    seen: set[str] = set()
    unique = []
    for it in items:  # ids are unique per source; guard against overlapping inputs
        if it.id not in seen:
            seen.add(it.id)
            unique.append(it)
    file_hashes: dict[str, str] = {}
    keys: dict[str, str] = {}
    results: dict[str, dict] = {}
    failures: list[dict] = []
    todo: list[WorkItem] = []
    for it in unique:
        try:
            if it.path not in file_hashes:
                file_hashes[it.path] = file_sha256(it.path)
        except OSError as e:
            failures.append({"id": it.id, "source": it.source, "error": f"cannot read: {e}"})
            continue
        keys[it.id] = cache_key(file_hashes[it.path], it.tune, version)
        hit = read_cache(cache, keys[it.id])
        if hit is not None:
            results[it.id] = hit
        else:
            todo.append(it)
    n_cached = len(results)
    log.info("%d works: %d cached, %d to convert with %d workers", len(unique), n_cached,
             len(todo), workers)
    if cached_only:
        results.update({it.id: {"error": "not converted yet; build without --cached-only"}
                        for it in todo})
        todo = []
    results.update(_convert_all(todo, workers, timeout, cache, keys, progress))

    records: list[dict] = []
    for it in unique:
        res = results.get(it.id)
        if res is None:
            continue
        if "error" in res:
            failures.append({"id": it.id, "source": it.source, "error": res["error"]})
            continue
        try:
            records.append(make_record(it, res, frozen))
        except Exception as e:  # noqa: BLE001 - a bad record is a recorded failure, not a crash
            failures.append({"id": it.id, "source": it.source,
                             "error": f"record: {type(e).__name__}: {e}"})

    tmp = out.with_name(out.name + ".tmp")
    with tmp.open("w", encoding="utf-8") as f:
        for r in records:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
    tmp.replace(out)
    fail_path = out.with_name(out.name + ".failures.jsonl")
    with fail_path.open("w", encoding="utf-8") as f:
        for fl in failures:
            f.write(json.dumps(fl, ensure_ascii=False) + "\n")
    frozen_written = None
    if freeze_test_groups:
        frozen_written = write_test_groups(records, freeze_test_groups, frozen)
    summary = summarise(records, failures, items=unique)
    summary.update(out=str(out), failures_file=str(fail_path), converter_version=version,
                   converted=len(todo), cached=n_cached, workers=workers,
                   seconds=round(time.time() - t0, 1), frozen_test_groups=len(frozen),
                   command=command)
    if frozen_written is not None:
        summary["test_groups_written"] = {"path": str(freeze_test_groups), "count": frozen_written}
    out.with_name(out.name + ".summary.json").write_text(
        json.dumps(summary, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return summary


def summarise(records: list[dict], failures: list[dict], items: list[WorkItem]) -> dict:
    """Counts per collection and split, label distributions, failures per collection."""
    coll_of = {it.id: it.collection for it in items}
    per_coll: dict[str, Counter] = defaultdict(Counter)
    labels: dict[str, Counter] = defaultdict(Counter)
    n_texts = Counter()
    for r in records:
        per_coll[r["labels"]["collection"]][r["split"]] += 1
        for k, v in r["labels"].items():
            labels[k][v] += 1
        n_texts[len(r["texts"])] += 1
    fails = Counter(coll_of.get(f["id"], "?") for f in failures)
    collections = {c: {"works": sum(s.values()), **dict(sorted(s.items())),
                       "failures": fails.get(c, 0)} for c, s in sorted(per_coll.items())}
    for c, n in fails.items():
        collections.setdefault(c, {"works": 0, "failures": n})
    label_summary = {k: dict(v.most_common() if k in _SMALL_LABELS else v.most_common(30))
                     | ({"(distinct values)": len(v)} if k not in _SMALL_LABELS else {})
                     for k, v in sorted(labels.items())}
    return {
        "works": len(records), "failures": len(failures),
        "splits": dict(Counter(r["split"] for r in records)),
        "groups": len({r["group"] for r in records}),
        "collections": collections, "labels": label_summary,
        "texts_per_work": dict(sorted(n_texts.items())),
    }
