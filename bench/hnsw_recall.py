"""HNSW recall on the model's own embeddings: what a PostgreSQL store's approximate search finds
of the true top 10, for pgvector's build settings (m, ef_construction) and search depth
(ef_search), with the queries a library gets.

Library: the music vectors of a dataset's train and val works (the default model, cached pooled
states through its projection). Beyond the corpus's distinct works, rows are its vectors moved
slightly (each a real vector plus Gaussian noise scaled so that its cosine to the original is
the corpus's median nearest-neighbour cosine): the density around each work stays that of real
music, not of random points (bench/scale_out.py measures those). Queries: title-free
descriptions of test works (text -> music search) and test works' own vectors (similar).

    python bench/hnsw_recall.py --data corpus.jsonl --features DIR [--rows 100000]
        [--m 16 32] [--ef-construction 64 128] [--ef-search 40 100 200 400]

Writes bench/results/hnsw_recall.{json,md}. The server is pgserver's (PostgreSQL 16 + pgvector
0.6.2) on a unix socket, on this machine; ``--engine faiss`` measures FAISS's HNSW instead.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def corpus_vectors(data: str, features: str | None, model: str, queries: int, seed: int = 0
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[str]]:
    """Library vectors (train + val works), description and music query vectors (test works),
    and the descriptions."""
    from clamp_core.api import Clamp
    from clamp_core.datasets.records import load_records
    from clamp_core.datasets.texts import title_free
    from clamp_core.runtime.encoder import l2_normalise
    from clamp_core.runtime.feature_cache import music_lookup

    encoder = Clamp.load(model, precision="fp32").encoder
    music = music_lookup(encoder, features)
    library = load_records(data, "train") + load_records(data, "val")
    library = list({r["abc"]: r for r in library}.values())
    rng = np.random.default_rng(seed)
    test = load_records(data, "test")
    picked = [test[int(i)] for i in rng.choice(len(test), min(queries, len(test)), replace=False)]
    texts = []
    for r in picked:
        free = sorted(title_free(r["texts"], r.get("meta", {}).get("title")))
        texts.append(free[int(rng.integers(len(free)))] if free else r["texts"][0])
    return (l2_normalise(music(library)), l2_normalise(encoder.encode_texts(texts)),
            l2_normalise(music(picked)), texts)


def grow(real: np.ndarray, rows: int, seed: int = 1) -> tuple[np.ndarray, float]:
    """``rows`` vectors: the real ones, then real ones moved to the median nearest-neighbour
    cosine of the real set; also returns that cosine."""
    rng = np.random.default_rng(seed)
    sample = real[rng.choice(len(real), min(2000, len(real)), replace=False)]
    sims = sample @ real.T
    sims[sims > 0.99999] = -1  # a vector itself (and exact duplicates)
    target = float(np.median(sims.max(1)))
    extra = rows - len(real)
    if extra <= 0:
        return real[:rows], target
    base = real[rng.integers(0, len(real), extra)]
    # noise orthogonal-ish in high dimension: cos = 1 / sqrt(1 + sigma^2 * dim)
    sigma = np.sqrt((1 / target**2 - 1) / real.shape[1])
    moved = base + sigma * rng.standard_normal(base.shape).astype(np.float32)
    moved /= np.linalg.norm(moved, axis=1, keepdims=True)
    return np.concatenate([real, moved]).astype(np.float32), target


def _scored(data: np.ndarray, q: np.ndarray, got: list[int], exact: tuple) -> dict:
    """Recall@10 of ``got`` against the exact top 10, the share of it among the exact top 50,
    and how much lower its mean cosine is than the exact top 10's (misses among near-ties
    cost almost nothing; misses far down the ranking are wrong answers)."""
    ids, scores = exact
    found = set(got)
    mean_got = float(np.mean(data[got] @ q)) if got else 0.0
    return {"recall": len(found & set(ids[:10].tolist())) / 10,
            "top50": len(found & set(ids.tolist())) / 10,
            "deficit": float(np.mean(scores[:10])) - mean_got}


def _summary(ef: int, kind: str, rows: list[dict], times: list[float], **extra) -> dict:
    return {"ef_search": ef, "queries": kind,
            "recall@10": round(float(np.mean([r["recall"] for r in rows])), 4),
            "in_true_top50": round(float(np.mean([r["top50"] for r in rows])), 4),
            "cosine_deficit": round(float(np.mean([r["deficit"] for r in rows])), 4),
            "p50_ms": round(1000 * float(np.median(times)), 2),
            "p99_ms": round(1000 * float(np.percentile(times, 99)), 2), **extra}


def _searches(data: np.ndarray, query_sets: dict[str, np.ndarray], exact: dict, ef: int,
              search, **extra) -> list[dict]:
    """Each set of queries through ``search(q) -> row ids``, timed and scored against the
    exact answers (``exact``: each query's exact top 50, ids and cosines)."""
    out = []
    for kind, qs in query_sets.items():
        times, scored = [], []
        for q, ex in zip(qs, exact[kind], strict=True):
            t0 = time.perf_counter()
            got = search(q)
            times.append(time.perf_counter() - t0)
            scored.append(_scored(data, q, got, ex))
        out.append(_summary(ef, kind, scored, times, **extra))
    return out


def measure(server, data: np.ndarray, query_sets: dict[str, np.ndarray], exact: dict,
            ms: list[int], efcs: list[int], efs: list[int], work_mem_gb: int) -> list[dict]:
    import psycopg
    from scale_out import vector_table

    from clamp_core.index.pgstore import vector_text

    server.psql("DROP DATABASE IF EXISTS ann; CREATE DATABASE ann;")
    url = server.get_uri().replace("/postgres?", "/ann?")
    out = []
    with psycopg.connect(url, autocommit=True) as c:
        vector_table(c, data)
        c.execute(f"SET maintenance_work_mem = '{work_mem_gb}GB'")
        sql = "SELECT id FROM v ORDER BY e <=> %s::vector LIMIT 10"
        for m in ms:
            for efc in efcs:
                c.execute("DROP INDEX IF EXISTS v_hnsw")
                t0 = time.perf_counter()
                c.execute(f"CREATE INDEX v_hnsw ON v USING hnsw (e vector_cosine_ops) "
                          f"WITH (m = {m}, ef_construction = {efc})")
                build = time.perf_counter() - t0
                row = {"m": m, "ef_construction": efc, "build_s": round(build, 1),
                       "searches": []}
                for ef in efs:
                    with c.transaction():
                        c.execute(f"SET LOCAL hnsw.ef_search = {ef}")
                        plan = " ".join(r[0] for r in c.execute(
                            "EXPLAIN " + sql, (vector_text(data[0]),)).fetchall())
                        row["searches"] += _searches(
                            data, query_sets, exact, ef,
                            lambda q: [r[0] for r in c.execute(sql, (vector_text(q),))],
                            index_scan="Index Scan" in plan)
                print(json.dumps(row), file=sys.stderr, flush=True)
                out.append(row)
    return out


def measure_faiss(data: np.ndarray, query_sets: dict[str, np.ndarray], exact: dict,
                  ms: list[int], efcs: list[int], efs: list[int]) -> list[dict]:
    """The same measures on FAISS's HNSW (inner product on unit vectors = cosine), to tell
    what is HNSW's on these vectors from what is pgvector's."""
    import faiss

    def top10(index, q: np.ndarray) -> list[int]:
        _, ids = index.search(q[None].astype(np.float32), 10)
        return [int(i) for i in ids[0] if i >= 0]

    out = []
    for m in ms:
        for efc in efcs:
            index = faiss.IndexHNSWFlat(data.shape[1], m, faiss.METRIC_INNER_PRODUCT)
            index.hnsw.efConstruction = efc
            t0 = time.perf_counter()
            index.add(data)
            row = {"m": m, "ef_construction": efc, "build_s": round(time.perf_counter() - t0, 1),
                   "searches": []}
            for ef in efs:
                index.hnsw.efSearch = ef
                row["searches"] += _searches(data, query_sets, exact, ef,
                                             lambda q, index=index: top10(index, q))
            print(json.dumps(row), file=sys.stderr, flush=True)
            out.append(row)
    return out


def markdown(report: dict) -> str:
    lines = [f"# HNSW recall on the model's own embeddings ({report.get('engine', 'pgvector')})",
             "",
             f"Model `{report['model']}`; library {report['rows']:,} rows "
             f"({report['real_rows']:,} real music vectors of `{report['data']}` train + val, "
             f"the rest moved copies at cosine {report['moved_cosine']:.3f}, the real set's "
             f"median nearest-neighbour cosine); {report['queries']} queries of each kind from "
             f"the test split; maintenance_work_mem {report['work_mem_gb']} GB; "
             f"{report['machine']}. Recall against numpy's exact top 10; \"in top 50\": the "
             "share of the 10 answers among the exact top 50; \"deficit\": the exact top 10's "
             "mean cosine minus the answers'.", "",
             "| m | ef_construction | build s | ef_search | description recall@10 | "
             "description in top 50 | description deficit | similar-work recall@10 | "
             "p50 ms | p99 ms |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for row in report["builds"]:
        by = {}
        for s in row["searches"]:
            by.setdefault(s["ef_search"], {})[s["queries"]] = s
        for ef, kinds in by.items():
            d, w = kinds["descriptions"], kinds["similar"]
            lines.append(f"| {row['m']} | {row['ef_construction']} | {row['build_s']} | {ef} | "
                         f"{d['recall@10']} | {d.get('in_true_top50', '')} | "
                         f"{d.get('cosine_deficit', '')} | {w['recall@10']} | "
                         f"{max(d['p50_ms'], w['p50_ms'])} | {max(d['p99_ms'], w['p99_ms'])} |")
    ranks = report.get("exact_cosine_at_rank_1_10_50", {})
    if ranks:
        lines += ["", "Exact cosine at ranks 1 / 10 / 50, mean over queries (the scale a deficit "
                  "is read on): " + "; ".join(f"{k} {' / '.join(f'{x:.3f}' for x in v)}"
                                              for k, v in ranks.items()) + "."]
    lines += ["", f"Command: `{report['command']}`", ""]
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", required=True, help="dataset JSONL (train + val: library)")
    ap.add_argument("--features", default=None, help="tune-text / evaluate features folder")
    ap.add_argument("--model", default="default")
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--m", type=int, nargs="+", default=[16, 32])
    ap.add_argument("--ef-construction", type=int, nargs="+", default=[64, 128])
    ap.add_argument("--ef-search", type=int, nargs="+", default=[40, 100, 200, 400])
    ap.add_argument("--work-mem-gb", type=int, default=2)
    ap.add_argument("--engine", choices=["pgvector", "faiss"], default="pgvector",
                    help="faiss: FAISS's HNSW on the same rows, to tell HNSW from pgvector")
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "hnsw_recall")
    args = ap.parse_args()
    real, texts_q, music_q, _ = corpus_vectors(args.data, args.features, args.model,
                                               args.queries)
    data, moved = grow(real, args.rows)
    from clamp_core.index.search import exact_topk

    queries = {"descriptions": texts_q, "similar": music_q}
    # each query's exact top 50 (ids, cosines), once for every build and depth
    exact = {k: [exact_topk(data, q, 50) for q in qs] for k, qs in queries.items()}
    if args.engine == "faiss":
        builds = measure_faiss(data, queries, exact, args.m, args.ef_construction,
                               args.ef_search)
    else:
        import pgserver

        tmp = Path(tempfile.mkdtemp(prefix="clamp-hnsw-"))
        server = pgserver.get_server(str(tmp / "pg"), cleanup_mode="stop")
        try:
            builds = measure(server, data, queries, exact, args.m, args.ef_construction,
                             args.ef_search, args.work_mem_gb)
        finally:
            server.cleanup()
            shutil.rmtree(tmp, ignore_errors=True)
    ranks = {k: np.mean([scores[[0, 9, 49]] for _, scores in ex], axis=0)
             for k, ex in exact.items()}
    report = {"engine": args.engine, "model": args.model, "data": args.data, "rows": len(data),
              "exact_cosine_at_rank_1_10_50": {k: [round(float(x), 4) for x in v]
                                               for k, v in ranks.items()},
              "real_rows": min(len(real), len(data)), "moved_cosine": moved,
              "queries": args.queries, "work_mem_gb": args.work_mem_gb,
              "machine": f"{os.cpu_count()} cores", "builds": builds,
              "command": "python bench/hnsw_recall.py " + " ".join(sys.argv[1:])}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.with_suffix(".json").write_text(json.dumps(report, indent=2) + "\n")
    args.out.with_suffix(".md").write_text(markdown(report))


if __name__ == "__main__":
    main()
