"""Search latency of the library index: exact (numpy over a memory-mapped matrix) and
approximate (FAISS IVF-Flat), p50/p99 for k=10, with recall@10 of the approximate search.

Embeddings are random unit vectors written to a float32 file and memory-mapped, as the index
does. Random vectors have no cluster structure, so they are the worst case for IVF recall; a
second, clustered set (unit vectors around 1,000 centres) stands in for real embeddings.

    python bench/search_latency.py [--sizes 10000,100000,1000000] [--dims 384,768]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from clamp_core.index.search import AnnIndex, exact_topk, faiss_available

K = 10
OUT = Path(__file__).parent / "results" / "search_latency"


def unit_rows(rng: np.random.Generator, n: int, d: int, clustered: bool) -> np.ndarray:
    if not clustered:
        x = rng.standard_normal((n, d), dtype=np.float32)
    else:
        centres = rng.standard_normal((1000, d), dtype=np.float32)
        x = centres[rng.integers(0, 1000, n)] + 0.6 * rng.standard_normal((n, d), dtype=np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    return x


def write_matrix(path: Path, n: int, d: int, seed: int, clustered: bool) -> np.memmap:
    rng = np.random.default_rng(seed)
    with open(path, "wb") as f:
        f.writelines(unit_rows(rng, min(100_000, n - s), d, clustered).tobytes()
                     for s in range(0, n, 100_000))
    return np.memmap(path, dtype=np.float32, mode="r", shape=(n, d))


def timed(fn, queries: np.ndarray) -> tuple[list, np.ndarray]:
    out, ms = [], []
    fn(queries[0])  # warm: page cache, BLAS threads
    for q in queries:
        t = time.perf_counter()
        out.append(fn(q))
        ms.append(1000 * (time.perf_counter() - t))
    return out, np.array(ms)


def stats(ms: np.ndarray) -> dict:
    return {"p50_ms": round(float(np.percentile(ms, 50)), 3),
            "p99_ms": round(float(np.percentile(ms, 99)), 3)}


def run_case(n: int, d: int, clustered: bool, tmp: Path, ann: bool) -> list[dict]:
    mat = write_matrix(tmp / "m.f32", n, d, seed=n + d, clustered=clustered)
    n_q = 200 if n <= 100_000 else 50
    rng = np.random.default_rng(1)
    # queries: perturbed rows (a query has true neighbours, as a real one does)
    queries = np.asarray(mat[rng.integers(0, n, n_q)]) + 0.5 * unit_rows(rng, n_q, d, False)
    queries /= np.linalg.norm(queries, axis=1, keepdims=True)
    base = {"rows": n, "dim": d, "data": "clustered" if clustered else "random", "k": K,
            "queries": n_q}
    exact, ms = timed(lambda q: exact_topk(mat, q, K)[0], queries)
    rows = [{**base, "method": "exact", **stats(ms), "recall@10": 1.0}]
    print(rows[-1], flush=True)
    if ann:
        t = time.perf_counter()
        index = AnnIndex.build(mat, np.arange(n))
        build_s = time.perf_counter() - t
        nlist = index.index.nlist
        for nprobe in sorted({max(1, nlist // 32), max(1, nlist // 8), max(1, nlist // 2)}):
            index.index.nprobe = nprobe
            got, ms = timed(lambda q: index.search(q, K)[0], queries)
            recall = np.mean([len(set(g) & set(e)) / K for g, e in zip(got, exact, strict=True)])
            rows.append({**base, "method": f"faiss-ivf nlist={nlist} nprobe={nprobe}", **stats(ms),
                         "recall@10": round(float(recall), 4), "build_s": round(build_s, 1)})
            print(rows[-1], flush=True)
    os.remove(tmp / "m.f32")  # the memmap stays readable until dropped; the space is freed then
    return rows


def markdown(results: dict) -> str:
    lines = ["# Search latency (k=10)", "",
             f"{results['machine']}; numpy {results['numpy']}, faiss {results['faiss']}.",
             ("Exact: numpy matmul over the memory-mapped float32 matrix + argpartition. "
              "Approximate: FAISS IVF-Flat (inner product), nlist = sqrt(rows); the index "
              "default is nprobe = nlist/8. Queries: a row plus noise, renormalised. "
              "Timings on a shared, busy machine."), "",
             "| rows | dim | data | method | p50 ms | p99 ms | recall@10 | build s |",
             "|---:|---:|---|---|---:|---:|---:|---:|"]
    for r in results["rows"]:
        lines.append(f"| {r['rows']:,} | {r['dim']} | {r['data']} | {r['method']} | {r['p50_ms']} "
                     f"| {r['p99_ms']} | {r['recall@10']} | {r.get('build_s', '')} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="10000,100000,1000000")
    ap.add_argument("--dims", default="384,768", help="384: the default (small) model; "
                    "768: official clamp-small checkpoints")
    ap.add_argument("--clustered", default="1", help="also run the clustered data set (0/1)")
    ap.add_argument("--out", default=str(OUT))
    args = ap.parse_args()
    ann = faiss_available()
    faiss_version = None
    if ann:
        import faiss

        faiss_version = faiss.__version__
    machine = (f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores (shared), "
               f"{platform.system()}")
    results = {"machine": machine,
               "numpy": np.__version__, "faiss": faiss_version, "rows": []}
    kinds = [False, True] if args.clustered == "1" else [False]
    with tempfile.TemporaryDirectory() as tmp:
        for d in map(int, args.dims.split(",")):
            for n in map(int, args.sizes.split(",")):
                for clustered in kinds:
                    results["rows"] += run_case(n, d, clustered, Path(tmp), ann)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".json").write_text(json.dumps(results, indent=2) + "\n")
    out.with_suffix(".md").write_text(markdown(results))
    print(markdown(results))


if __name__ == "__main__":
    main()
