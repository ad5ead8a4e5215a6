"""Mixed-library search: plain-phrase queries over a library holding several kinds of music at
once, as a user's collection does (folk tunes, chorales, masses, Lieder, quartets, piano music,
pop songs ...), each query judged by a relevance rule over the works' dataset labels.

The library is the test split of a dataset JSONL, at most ``--cap`` works of each collection
(a seeded sample). Works and queries are encoded with the public API (``Clamp.encode_abc``,
``Clamp.encode_texts``) and ranked by cosine. Per query: precision@10, the rank of the first
relevant work, and what a random ranking gets (the library's share of relevant works); the mean
precision@10 over queries with a 95% bootstrap interval. A query with fewer than
``--min-relevant`` relevant works in the library is reported as skipped, not scored.

Relevance rules read the broad corpus's labels (ensemble_class, form, era, tempo ...) and fall
back on what older datasets carry (their "ensemble" words, the collection) where those are
absent.

    python bench/mixed_library.py --model default --data DATA.jsonl \\
        [--out bench/results/mixed_library] [--cap 60] [--seed 0]

Writes OUT.json and OUT.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from clamp_core.datasets.records import load_records  # noqa: E402  (after the sys.path insert)
from clamp_core.evaluation.metrics import bootstrap_ci  # noqa: E402

OUT = Path(__file__).parent / "results" / "mixed_library"
K = 10

FIDDLE = {"oneills", "ryans", "cre"}
FOLK = {"essen", "ryans", "oneills", "airds", "miscfolk", "nottingham", "cre"}
POP = {"pop909", "cantopop"}
VOCAL = {"bach", "palestrina", "monteverdi", "trecento", "josquin"}
# the form of every work of a collection, for datasets built before the "form" label
_COLLECTION_FORM = {"bach": "chorale", "palestrina": "mass", "monteverdi": "madrigal",
                    "lieder": "song", "pop909": "pop song", "cantopop": "cantopop"}


# -- a work's facets, from the broad corpus's labels or what older datasets say --------------
def collection(rec: dict) -> str:
    return rec["labels"].get("collection", "")


def ensemble_class(rec: dict) -> str | None:
    """The broad label, else the older "ensemble" words mapped to its classes."""
    lab = rec["labels"]
    if lab.get("ensemble_class"):
        return lab["ensemble_class"]
    old = lab.get("ensemble") or ""
    if old in ("solo melody", "one voice", "solo piano", "voice and piano", "string quartet"):
        return "solo melody" if old == "one voice" else old
    if old.endswith("voices and piano"):
        return "voices and instruments"
    if old.endswith("voices"):
        return "choir"
    if collection(rec) == "lieder":
        return "voice and piano"
    return "choir" if collection(rec) in VOCAL else None


def form(rec: dict) -> str | None:
    return rec["labels"].get("form") or _COLLECTION_FORM.get(collection(rec))


def tune_type(rec: dict) -> str | None:
    lab = rec["labels"]
    return lab.get("tune_type_coarse") or lab.get("tune_type")


def is_folk(rec: dict) -> bool:
    return collection(rec) in FOLK or rec["labels"].get("era") == "folk"


def composer_is(rec: dict, surname: str) -> bool:
    return surname in (rec["labels"].get("composer") or "").split()


@dataclass
class Query:
    text: str
    relevant: str  # the rule, in words, for the report
    rule: Callable[[dict], bool]


QUERIES = [
    Query("an Irish fiddle tune", "collection O'Neill's, Ryan's or CRE, or a Nottingham reel, "
          "jig or hornpipe",
          lambda r: collection(r) in FIDDLE or (collection(r) == "nottingham"
                                                and tune_type(r) in ("reel", "jig", "hornpipe"))),
    Query("a chorale harmonised for four voices", "collection Bach (the chorales)",
          lambda r: collection(r) == "bach"),
    Query("a string quartet", "ensemble string quartet",
          lambda r: ensemble_class(r) == "string quartet"),
    Query("a song for voice and piano", "ensemble voice and piano",
          lambda r: ensemble_class(r) == "voice and piano"),
    Query("music for solo piano", "ensemble solo piano",
          lambda r: ensemble_class(r) == "solo piano"),
    Query("an orchestral movement", "ensemble orchestra",
          lambda r: ensemble_class(r) == "orchestra"),
    Query("a mazurka", "form or tune type mazurka",
          lambda r: "mazurka" in (form(r), tune_type(r))),
    Query("a polonaise for piano", "form polonaise, for solo piano or keyboard",
          lambda r: form(r) == "polonaise" and ensemble_class(r) in ("solo piano", "keyboard")),
    Query("a waltz", "form or tune type waltz", lambda r: "waltz" in (form(r), tune_type(r))),
    Query("a Renaissance mass", "Renaissance era and form mass, or collection Palestrina",
          lambda r: collection(r) == "palestrina"
          or (r["labels"].get("era") == "renaissance" and form(r) == "mass")),
    Query("a hymn for choir", "form hymn or chorale", lambda r: form(r) in ("hymn", "chorale")),
    Query("a madrigal", "form madrigal", lambda r: form(r) == "madrigal"),
    Query("a Lied by Schubert", "composer Schubert", lambda r: composer_is(r, "schubert")),
    Query("a pop song", "collection POP909 or Cantopop", lambda r: collection(r) in POP),
    Query("a Chinese folk song", "Essen region China",
          lambda r: r["labels"].get("region") == "china"),
    Query("a German folk song", "Essen region German-speaking",
          lambda r: r["labels"].get("region") == "german-speaking"),
    Query("a jig in 6/8", "tune type jig", lambda r: tune_type(r) == "jig"),
    Query("a reel", "tune type reel", lambda r: tune_type(r) == "reel"),
    Query("a slow air", "tune type air, or a folk tune at a slow tempo",
          lambda r: tune_type(r) == "air" or (is_folk(r) and r["labels"].get("tempo") == "slow")),
    Query("a Baroque piece", "era Baroque", lambda r: r["labels"].get("era") == "baroque"),
]


def library(records: list[dict], cap: int, seed: int) -> list[dict]:
    """At most ``cap`` works of each collection: a seeded sample, in a fixed order."""
    rng = np.random.default_rng(seed)
    by_coll: dict[str, list[dict]] = defaultdict(list)
    for r in records:
        by_coll[collection(r)].append(r)
    out = []
    for c in sorted(by_coll):
        recs = sorted(by_coll[c], key=lambda r: r["id"])
        if len(recs) > cap:
            recs = [recs[i] for i in sorted(rng.choice(len(recs), cap, replace=False))]
        out += recs
    return out


def score_query(sims: np.ndarray, relevant: np.ndarray, lib: list[dict], k: int = K) -> dict:
    """One query's figures from its cosines to the library and which works are relevant."""
    order = np.argsort(-sims, kind="stable")
    hits = relevant[order]
    first = int(hits.argmax()) + 1 if hits.any() else None
    top = [{"id": lib[i]["id"], "collection": collection(lib[i]),
            "title": (lib[i].get("meta") or {}).get("title"), "cosine": round(float(sims[i]), 4),
            "relevant": bool(relevant[i])} for i in order[:k]]
    return {"n_relevant": int(relevant.sum()), f"precision@{k}": float(hits[:k].mean()),
            "first_relevant_rank": first, f"random_precision@{k}": float(relevant.mean()),
            "top": top}


def run(model: str, data: str, cap: int, seed: int, min_relevant: int, device: str | None,
        precision: str) -> dict:
    from clamp_core.api import Clamp

    test = load_records(data, "test")
    lib = library(test, cap, seed)
    if not lib:
        raise SystemExit(f"{data}: no test works")
    clamp = Clamp.load(model, device=device, precision=precision)
    t0 = time.perf_counter()
    music = clamp.encode_abc([r["abc"] for r in lib])
    encode_s = time.perf_counter() - t0
    texts = clamp.encode_texts([q.text for q in QUERIES])
    sims = texts @ music.T
    scored, skipped = [], []
    for q, row in zip(QUERIES, sims, strict=True):
        relevant = np.array([bool(q.rule(r)) for r in lib])
        entry = {"query": q.text, "relevant_rule": q.relevant}
        if relevant.sum() < min_relevant:
            skipped.append({**entry, "n_relevant": int(relevant.sum())})
            continue
        scored.append({**entry, **score_query(row, relevant, lib)})
    p10 = [s[f"precision@{K}"] for s in scored]
    return {
        "model": model, "fingerprint": clamp.fingerprint, "backend": clamp.backend,
        "precision": clamp.precision, "data": str(data), "split": "test", "cap": cap,
        "seed": seed, "min_relevant": min_relevant, "k": K, "library_size": len(lib),
        "library": dict(sorted(Counter(collection(r) for r in lib).items())),
        "encode_seconds": round(encode_s, 1),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, {clamp.device}",
        f"mean_precision@{K}": float(np.mean(p10)) if p10 else None,
        f"mean_precision@{K}_ci": bootstrap_ci(p10) if p10 else None,
        f"mean_random_precision@{K}": (float(np.mean([s[f"random_precision@{K}"]
                                                      for s in scored])) if scored else None),
        "queries": scored, "skipped": skipped,
    }


def markdown(res: dict) -> str:
    lib = ", ".join(f"{c} {n}" for c, n in res["library"].items())
    lines = ["# Mixed-library search", "",
             f"Model `{res['model']}` ({res['backend']}, {res['precision']}, fingerprint "
             f"{res['fingerprint']}); data `{res['data']}`, test split.",
             f"Library: {res['library_size']} works, at most {res['cap']} per collection "
             f"(seed {res['seed']}): {lib}.",
             f"Queries with fewer than {res['min_relevant']} relevant works in the library are "
             "skipped. Random precision@10: the library's share of relevant works.", ""]
    mean = res[f"mean_precision@{K}"]
    if mean is not None:
        lo, hi = res[f"mean_precision@{K}_ci"]
        lines += [f"**Mean precision@10 over {len(res['queries'])} queries: {mean:.3f} "
                  f"(95% CI {lo:.2f}-{hi:.2f}; random "
                  f"{res[f'mean_random_precision@{K}']:.3f}).**", ""]
    lines += ["| query | relevant when | relevant works | precision@10 | random | first "
              "relevant rank | top 10 by collection |", "|---|---|---:|---:|---:|---:|---|"]
    for q in res["queries"]:
        top = Counter(h["collection"] for h in q["top"])
        top_txt = ", ".join(f"{c} {n}" for c, n in top.most_common())
        lines.append(f"| {q['query']} | {q['relevant_rule']} | {q['n_relevant']} | "
                     f"{q[f'precision@{K}']:.1f} | {q[f'random_precision@{K}']:.3f} | "
                     f"{q['first_relevant_rank'] or '-'} | {top_txt} |")
    if res["skipped"]:
        lines += ["", "Skipped (too few relevant works in this library): "
                  + "; ".join(f"\"{s['query']}\" ({s['n_relevant']})" for s in res["skipped"])
                  + "."]
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="default", help="model folder, ONNX bundle or 'default'")
    ap.add_argument("--data", required=True, help="dataset JSONL (its test split is read)")
    ap.add_argument("--out", default=str(OUT), help="results path without suffix")
    ap.add_argument("--cap", type=int, default=60, help="works per collection at most")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--min-relevant", type=int, default=10,
                    help="a query needs this many relevant works in the library to count")
    ap.add_argument("--device", default=None, help="cpu (default) or cuda")
    ap.add_argument("--precision", default="fp32")
    args = ap.parse_args()
    res = run(args.model, args.data, args.cap, args.seed, args.min_relevant, args.device,
              args.precision)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".json").write_text(json.dumps(res, indent=2, ensure_ascii=False) + "\n")
    out.with_suffix(".md").write_text(markdown(res))
    print(markdown(res))


if __name__ == "__main__":
    main()
