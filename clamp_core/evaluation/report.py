"""`clamp evaluate`: zero-shot classification and text->music retrieval on the frozen test split,
read against random and majority baselines and a linear probe (the supervised ceiling). Any
`Encoder` is evaluated alike: a torch model folder or a clamp-export bundle."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import numpy as np

from clamp_core.datasets.records import load_records
from clamp_core.datasets.texts import title_free
from clamp_core.evaluation import metrics as M
from clamp_core.evaluation.tasks import TASKS, Task, task_classes, task_records, task_sets
from clamp_core.runtime.encoder import Encoder, l2_normalise
from clamp_core.runtime.feature_cache import music_lookup
from clamp_core.zero_shot import label_prototypes, nearest_labels

Music = Callable[[list[dict]], np.ndarray]


def zero_shot(encoder: Encoder, music: np.ndarray,
              class_prompts: dict[str, list[str]]) -> list[str]:
    """Nearest class by cosine, each class the renormalised mean of its prompt embeddings."""
    classes = list(class_prompts)
    protos = label_prototypes(encoder.encode_texts, [class_prompts[c] for c in classes])
    return [classes[i] for i in nearest_labels(music, protos)]


def zero_shot_accuracy(encoder: Encoder, records: list[dict]) -> dict:
    """Zero-shot accuracy per task of any encoder on the same records: how clamp-export
    measures what quantisation costs (fp32 bundle, int8 bundle, torch)."""
    results = {}
    for task, recs, prompts in task_sets(records):
        pred = zero_shot(encoder, encoder.encode_abc([r["abc"] for r in recs]), prompts)
        truth = [r["labels"][task.label] for r in recs]
        results[task.name] = {"accuracy": M.accuracy(truth, pred), "n": len(recs),
                              "classes": len(prompts)}
    return results


def evaluate_task(encoder: Encoder, task: Task, train: list[dict], test: list[dict],
                  max_probe: int = 3000, seed: int = 0, music: Music | None = None,
                  ) -> dict | None:
    """One task: zero-shot accuracy and macro-F1 (with a bootstrap interval), the baselines, a
    linear probe, and each class's prompts used as a search query over the task's test works."""
    music = music or (lambda recs: encoder.encode_abc([r["abc"] for r in recs]))
    tr, te = task_records(train, task), task_records(test, task)
    classes = task_classes(task, tr, te)
    if len(classes) < 2 or not tr:  # no training works: no probe, no majority class
        return None
    test_counts = Counter(r["labels"][task.label] for r in te)
    tr = [r for r in tr if r["labels"][task.label] in classes]
    te = [r for r in te if r["labels"][task.label] in classes]
    prompts = task.class_prompts(classes, tr)  # from every training work, before the subsample
    if len(tr) > max_probe:  # a seeded subsample keeps the probe's encoding time bounded
        keep = np.random.default_rng(seed).choice(len(tr), max_probe, replace=False)
        tr = [tr[i] for i in sorted(keep)]
    y_tr = [r["labels"][task.label] for r in tr]
    y_te = [r["labels"][task.label] for r in te]
    x_te, x_tr = music(te), music(tr)
    protos = label_prototypes(encoder.encode_texts, [prompts[c] for c in classes])
    pred = [classes[i] for i in nearest_labels(x_te, protos)]
    # class -> works: a class's prompts as a query, its test works the relevant ones
    relevant = np.array([[y == c for y in y_te] for c in classes])
    search = M.relevance_metrics(protos @ l2_normalise(x_te).T, relevant)
    probe = M.linear_probe(x_tr, y_tr, x_te, classes, seed=seed)
    return {
        "classes": {c: test_counts[c] for c in classes}, "n_test": len(te),
        "n_probe_train": len(tr),
        "zero_shot": {"accuracy": M.accuracy(y_te, pred),
                      "macro_f1": M.macro_f1(y_te, pred, classes),
                      "accuracy_ci": M.bootstrap_ci(
                          [a == b for a, b in zip(y_te, pred, strict=True)])},
        "random": M.random_baseline(y_te, classes, seed=seed),
        "majority": M.majority_baseline(y_tr, y_te, classes),
        "linear_probe": {"accuracy": M.accuracy(y_te, probe),
                         "macro_f1": M.macro_f1(y_te, probe, classes),
                         "accuracy_ci": M.bootstrap_ci(
                             [a == b for a, b in zip(y_te, probe, strict=True)])},
        "prompt_search": search,
    }


def title_free_text(rec: dict, rng: np.random.Generator) -> str | None:
    """A held-out query for a work: one of its text candidates that does not name its title."""
    pool = title_free(rec["texts"], rec.get("meta", {}).get("title"))
    return pool[int(rng.integers(len(pool)))] if pool else None


def title_free_description(rec: dict, rng: np.random.Generator) -> str | None:
    """A held-out query for a work: all of its title-free candidates, shuffled and joined (the
    CLaMP text-dropout form with every candidate kept): a description a user might type."""
    pool = title_free(rec["texts"], rec.get("meta", {}).get("title"))
    return ". ".join(pool[i] for i in rng.permutation(len(pool))) if pool else None


def evaluate_retrieval(encoder: Encoder, test: list[dict], max_n: int = 1000,
                       seed: int = 0, music: Music | None = None) -> dict:
    """Text->music ranking among the test works with two kinds of title-free query: one candidate
    (often generic: "a solo melody" fits hundreds of works) and the joined description. A single
    phrase is also scored against every work it describes (one of that work's own title-free
    texts), which is what a user searching "a jig for fiddle" sees."""
    rng = np.random.default_rng(seed)
    recs = [r for r in test if title_free(r["texts"], r.get("meta", {}).get("title"))]
    if len(recs) > max_n:
        recs = [recs[i] for i in sorted(rng.choice(len(recs), max_n, replace=False))]
    single = [title_free_text(r, rng) for r in recs]
    described = [title_free_description(r, rng) for r in recs]
    music = music or (lambda rs: encoder.encode_abc([r["abc"] for r in rs]))
    vectors = l2_normalise(music(recs))
    sims = {name: l2_normalise(encoder.encode_texts(queries)) @ vectors.T
            for name, queries in (("single", single), ("described", described))}
    own = [set(title_free(r["texts"], r.get("meta", {}).get("title"))) for r in recs]
    relevant = np.array([[q in texts for texts in own] for q in single])
    return {"text_to_music": M.retrieval_metrics(M.retrieval_ranks(sims["single"])),
            "text_to_music_description": M.retrieval_metrics(M.retrieval_ranks(sims["described"])),
            "text_to_music_any_match": M.relevance_metrics(sims["single"], relevant),
            "random": M.random_retrieval(len(recs)),
            "examples": single[:5],
            "description_examples": described[:3]}


def evaluate(model: Encoder | str | Path, data: str | Path, max_probe: int = 3000, seed: int = 0,
             split: str = "test", ood_folders: tuple[str, ...] = (),
             features: str | Path | None = None) -> dict:
    """All tasks on the test split of a dataset JSONL (or on ``split="val"``, for choices made
    before the test split is looked at). ``model``: an Encoder, a torch ClampModel, or what
    `Clamp.load` takes (a model folder, "default", an ONNX bundle). ``features``: a folder
    where music features are kept between runs (see clamp_core.runtime.feature_cache)."""
    encoder = as_encoder(model)
    train, test = load_records(data, "train"), load_records(data, split)
    results = {"data": str(data), "split": split, "n_test": len(test), "tasks": {}}
    music = music_lookup(encoder, features)
    for task in TASKS:
        out = evaluate_task(encoder, task, train, test, max_probe, seed, music)
        if out is not None:
            results["tasks"][task.name] = out
    results["retrieval"] = evaluate_retrieval(encoder, test, seed=seed, music=music)
    results["calibration"] = evaluate_calibration(encoder, train, test, ood_folders, music)
    return results


def evaluate_calibration(encoder: Encoder, train: list[dict], test: list[dict],
                         ood_folders: tuple[str, ...] = (), music: Music | None = None
                         ) -> dict | None:
    """Calibration error, stated caption facets and the novelty flag with the calibration the
    model carries (None for a model that was never calibrated)."""
    from clamp_core.calibration import Calibration
    from clamp_core.evaluation.calibrate import measure, novelty_rate

    cal = Calibration.load(getattr(encoder, "folder", None), encoder.fingerprint)
    if not cal.fitted:
        return None
    out = measure(encoder, cal, train, test, music)
    out["ood_sets"] = [novelty_rate(encoder, cal, f) for f in ood_folders]
    return out


def as_encoder(model) -> Encoder:
    """An Encoder from an Encoder, a bare torch model, or a name `load_encoder` opens."""
    if isinstance(model, Encoder):
        return model
    if isinstance(model, (str, Path)):
        from clamp_core.runtime.loading import load_encoder

        return load_encoder(model, precision="fp32")
    from clamp_core.runtime.torch_encoder import TorchEncoder

    return TorchEncoder(model)


def markdown_table(results: dict) -> str:
    """A short Markdown summary of evaluate()'s results."""
    lines = [("| task | n test | classes | zero-shot acc (95% CI) | zero-shot macro-F1 | random acc"
              " | majority acc | linear probe acc (95% CI) |"), "|---|---|---|---|---|---|---|---|"]
    for name, r in results["tasks"].items():
        lines.append(
            f"| {name} | {r['n_test']} | {len(r['classes'])} | "
            f"{r['zero_shot']['accuracy']:.3f}{_ci(r['zero_shot'].get('accuracy_ci'))} | "
            f"{r['zero_shot']['macro_f1']:.3f} | {r['random']['accuracy']:.3f} | "
            f"{r['majority']['accuracy']:.3f} | {r['linear_probe']['accuracy']:.3f}"
            f"{_ci(r['linear_probe'].get('accuracy_ci'))} |")
    ret = results["retrieval"]
    rows = [("model, one candidate", ret["text_to_music"]),
            ("model, joined description", ret.get("text_to_music_description")),
            ("random", ret["random"])]
    lines += ["", "| text -> music (title-free queries) | n | MRR (95% CI) | Hit@1 | Hit@10 |",
              "|---|---|---|---|---|"]
    lines += [f"| {name} | {t['n']} | {t['mrr']:.3f}{_ci(t.get('mrr_ci'))} | {t['hit@1']:.3f} | "
              f"{t['hit@10']:.3f} |" for name, t in rows if t]
    anym = ret.get("text_to_music_any_match")
    if anym:
        lines += ["", ("| one phrase, any work it describes | n | first relevant MRR "
                       "| precision@10 | random precision@10 |"), "|---|---|---|---|---|"]
        lines.append(f"| model | {anym['n']} | {anym['mrr_first_relevant']:.3f} | "
                     f"{anym['precision@10']:.3f} | {anym['random_precision@10']:.3f} |")
    lines += prompt_search_table(results["tasks"])
    lines += calibration_table(results.get("calibration"))
    return "\n".join(lines) + "\n"


def prompt_search_table(tasks: dict) -> list[str]:
    """Markdown lines for each task's class prompts used as search queries (reports written
    before this part have none)."""
    rows = [(name, r["prompt_search"]) for name, r in tasks.items() if r.get("prompt_search")]
    if not rows:
        return []
    lines = ["", ("| class prompts as a query, the class's test works relevant | classes "
                  "| first relevant MRR | precision@10 | random precision@10 |"),
             "|---|---|---|---|---|"]
    lines += [f"| {name} | {s['n']} | {s['mrr_first_relevant']:.3f} | {s['precision@10']:.3f} "
              f"| {s['random_precision@10']:.3f} |" for name, s in rows]
    return lines


def calibration_table(cal: dict | None) -> list[str]:
    """Markdown lines for the calibration part of a report (none for an uncalibrated model)."""
    if not cal:
        return []
    raw, fit = cal["raw"], cal["calibrated"]
    lines = ["", f"Calibration (temperature {cal['temperature']:.3f}): expected calibration error "
             f"{raw['ece']:.3f} raw -> {fit['ece']:.3f} calibrated, over {fit['n']} zero-shot "
             "answers of every task.", "", "| confidence | n | mean confidence | accuracy |",
             "|---|---|---|---|"]
    lines += [f"| {b['bin']} | {b['n']} | {b['confidence']:.3f} | {b['accuracy']:.3f} |"
              for b in fit["table"]]
    if cal.get("facets"):
        lines += ["", "| caption facet | facet threshold (frequent answers: their own) | "
                  "coverage | precision of stated | n |",
                  "|---|---|---|---|---|"]
        for name, f in cal["facets"].items():
            prec = "-" if f["precision"] is None else f"{f['precision']:.3f}"
            thr = "never stated" if f["threshold"] is None else f"{f['threshold']:.3f}"
            lines.append(f"| {name} | {thr} | {f['coverage']:.3f} | {prec} | {f['n']} |")
    ood = cal.get("ood_flagged_in_domain")
    if ood:
        lines += ["", "| novelty flag | n | flagged |", "|---|---|---|",
                  f"| held-out in-domain works | {ood['n']} | {ood['rate']:.3f} |"]
        lines += [f"| {o['folder']} | {o['n']} | {o['rate']:.3f} |"
                  for o in cal.get("ood_sets", []) if o.get("rate") is not None]
    return lines


def _ci(interval: list[float] | None) -> str:
    return f" ({interval[0]:.2f}-{interval[1]:.2f})" if interval else ""


def write_results(results: dict, out: str | Path) -> None:
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")
    out.with_suffix(".md").write_text(markdown_table(results))
