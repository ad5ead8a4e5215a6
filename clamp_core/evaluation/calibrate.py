"""`clamp calibrate`: fit a model's calibration (clamp_core.calibration) on the validation split
of a dataset, and measure it on any split.

Zero-shot tasks are clamp evaluate's (tune type, Essen region, composers) plus the caption
facets whose label sets the dataset's labels can answer (genre, era, tune type, ensemble). The
test split is never read here; `clamp evaluate` reads it once with the fitted calibration.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from clamp_core.calibration import Calibration
from clamp_core.caption import abc_source_hash
from clamp_core.datasets.texts import title_free
from clamp_core.evaluation.tasks import TASKS, task_classes, task_records
from clamp_core.labels import load_label_set
from clamp_core.runtime.encoder import Encoder, l2_normalise
from clamp_core.runtime.feature_cache import music_lookup
from clamp_core.zero_shot import label_prompts, label_prototypes, softmax

log = logging.getLogger(__name__)

TARGET_PRECISION = 0.85  # chosen on val with a margin, so the test split keeps >= 0.80
MIN_STATED = 20          # a facet threshold needs this many val works above it
OOD_QUANTILE = 0.03      # share of val works below the novelty threshold (target <= 5% on test)
NO_MATCH_QUANTILE = 0.05  # share of val queries whose best match counts as "no good match"
REFERENCE_SIZE = 2048    # training music embeddings kept for the novelty check
BANK_SIZE = 2000         # real descriptions kept for captions


# -- facet labels from dataset labels -------------------------------------------------------
_ERA = {"folk": "traditional folk", "modern": "20th-century"}
_GENRE_BY_COLLECTION = {"essen": "folk song", "ryans": "fiddle tune", "oneills": "fiddle tune",
                        "cre": "fiddle tune", "lieder": "art song", "pop909": "pop song",
                        "cantopop": "cantonese pop song"}
_GENRE = {"lied": "art song", "cantopop": "cantonese pop song"}
_ENSEMBLE = {"four voices": "choir", "three voices": "choir", "five voices": "choir",
             "six voices": "choir", "one voice": "solo melody"}


def _match(value: str | None, labels: list[str], aliases: dict[str, str]) -> str | None:
    if not value:
        return None
    value = aliases.get(value.lower(), value.lower())
    return next((x for x in labels if x.lower() == value), None)


def facet_truth(facet: str, rec: dict, labels: list[str]) -> str | None:
    """The label of a caption facet's label set that a record's dataset labels support."""
    lab = rec["labels"]
    if facet == "eras":
        return _match(lab.get("era"), labels, _ERA)
    if facet == "genres":
        return (_match(lab.get("genre"), labels, _GENRE)
                or _match(lab.get("form"), labels, _GENRE)
                or _match(_GENRE_BY_COLLECTION.get(lab.get("collection", "")), labels, {}))
    if facet == "tune_types":
        return (_match(lab.get("tune_type"), labels, {})
                or _match(lab.get("tune_type_coarse"), labels, {}))
    if facet == "ensembles":  # the ensemble class where a build wrote one
        return (_match(lab.get("ensemble_class"), labels, {})
                or _match(lab.get("ensemble"), labels, _ENSEMBLE))
    return None


CAPTION_FACETS = ("genres", "eras", "tune_types", "ensembles")


@dataclass
class TaskScores:
    """One zero-shot task on one split: cosines to each class and the true class index."""

    name: str
    classes: list[str]
    cosines: np.ndarray  # [N, C]
    truth: np.ndarray    # [N]


def zero_shot_scores(encoder: Encoder, train: list[dict], split: list[dict],
                     music: Callable[[list[dict]], np.ndarray]) -> list[TaskScores]:
    """Every task the records support: evaluate's tasks (classes as there, prompts from train)
    and the caption facets (the label set's labels, templates and prompts)."""
    out = []
    for task in TASKS:
        tr, te = task_records(train, task), task_records(split, task)
        classes = task_classes(task, tr, te)
        te = [r for r in te if r["labels"][task.label] in classes]
        if len(classes) < 2 or not te:
            continue
        prompts = task.class_prompts(classes, [r for r in tr if r["labels"][task.label] in classes])
        protos = label_prototypes(encoder.encode_texts, [prompts[c] for c in classes])
        truth = np.array([classes.index(r["labels"][task.label]) for r in te])
        out.append(TaskScores(task.name, classes, l2_normalise(music(te)) @ protos.T, truth))
    for facet in CAPTION_FACETS:
        ls = load_label_set(facet)
        labels = list(ls.labels)
        recs = [(r, facet_truth(facet, r, labels)) for r in split]
        recs = [(r, t) for r, t in recs if t]
        if len({t for _, t in recs}) < 2:
            continue
        protos = label_prototypes(encoder.encode_texts,
                                  label_prompts(labels, ls.templates, ls.prompts))
        truth = np.array([labels.index(t) for _, t in recs])
        out.append(TaskScores(f"facet:{facet}", labels,
                              l2_normalise(music([r for r, _ in recs])) @ protos.T, truth))
    return out


# -- calibration maths ----------------------------------------------------------------------
def nll(tasks: list[TaskScores], logit_scale: float, temperature: float) -> float:
    """Mean over tasks of each task's mean negative log-likelihood (every task counts alike)."""
    losses = []
    for t in tasks:
        p = _probs(t.cosines, logit_scale / temperature)
        losses.append(-np.mean(np.log(p[np.arange(len(t.truth)), t.truth].clip(1e-12))))
    return float(np.mean(losses))


def _probs(cosines: np.ndarray, scale: float) -> np.ndarray:
    return softmax(scale * cosines)


def fit_temperature(tasks: list[TaskScores], logit_scale: float, objective: str = "ece",
                    ) -> float:
    """The temperature that makes the validation answers' confidence match their accuracy:
    the lowest pooled calibration error (``objective="ece"``; among near-ties the lowest NLL),
    or the lowest NLL. On the default model's val tasks the NLL optimum left the error at 0.07
    where the error optimum reached 0.02 (bench/results/calibration.md)."""
    grid = np.exp(np.linspace(np.log(0.05), np.log(25.0), 241))
    if objective == "nll":
        return float(min(grid, key=lambda t: nll(tasks, logit_scale, t)))
    errors = np.array([pooled_reliability(tasks, logit_scale / t)["ece"] for t in grid])
    near = grid[errors <= errors.min() + 0.002]
    return float(min(near, key=lambda t: nll(tasks, logit_scale, t)))


def task_temperature(calibration: Calibration, task: TaskScores) -> float:
    """The temperature the product uses for a task's labels (a built-in set's own, else the
    temperature for other labels): measured exactly as users get it."""
    return calibration.temperature_for(task.classes)


def reliability(confidence: np.ndarray, correct: np.ndarray, bins: int = 10) -> dict:
    """Expected calibration error over equal-width confidence bins, and the table behind it."""
    edges = np.linspace(0, 1, bins + 1)
    which = np.clip(np.digitize(confidence, edges[1:-1]), 0, bins - 1)
    table, ece = [], 0.0
    for b in range(bins):
        m = which == b
        if not m.any():
            continue
        conf, acc = float(confidence[m].mean()), float(correct[m].mean())
        ece += m.mean() * abs(acc - conf)
        table.append({"bin": f"{edges[b]:.1f}-{edges[b + 1]:.1f}", "n": int(m.sum()),
                      "confidence": round(conf, 3), "accuracy": round(acc, 3)})
    return {"ece": float(ece), "n": int(len(confidence)), "table": table}


def pooled_reliability(tasks: list[TaskScores], scale: float,
                       calibration: Calibration | None = None) -> dict:
    """Calibration error over every task's answers pooled, at ``scale`` divided by the
    temperature ``calibration`` gives each task (none: ``scale`` as it is)."""
    conf, correct = [], []
    for t in tasks:
        p = _probs(t.cosines, scale / (task_temperature(calibration, t) if calibration else 1.0))
        conf.append(p.max(1))
        correct.append(p.argmax(1) == t.truth)
    return reliability(np.concatenate(conf), np.concatenate(correct))


def facet_threshold(confidence: np.ndarray, correct: np.ndarray,
                    target: float = TARGET_PRECISION, min_stated: int = MIN_STATED,
                    ) -> float | None:
    """The lowest confidence from which the stated answers are right at least ``target`` of
    the time (over at least ``min_stated`` works); None when no threshold gets there."""
    order = np.argsort(-confidence, kind="stable")
    hits = np.cumsum(correct[order])
    n = np.arange(1, len(order) + 1)
    ok = (hits / n >= target) & (n >= min_stated)
    if not ok.any():
        return None
    last = int(np.nonzero(ok)[0].max())
    return float(confidence[order][last])


def label_thresholds(classes: list[str], confidence: np.ndarray, answer: np.ndarray,
                     truth: np.ndarray, min_stated: int = MIN_STATED) -> dict[str, float | None]:
    """A threshold of its own for each answer the model gave at least ``min_stated`` times on
    val: one facet-wide threshold lets a reliable answer ("fiddle tune") pay for an unreliable
    one ("art song" said of folk songs), so the caption either withholds both or states both."""
    out: dict[str, float | None] = {}
    for k in np.unique(answer):
        given = answer == k
        if given.sum() >= min_stated:
            out[classes[int(k)]] = facet_threshold(confidence[given], truth[given] == k,
                                                   min_stated=min_stated)
    return out


def stated_precision(confidence: np.ndarray, correct: np.ndarray,
                     thresholds: float | np.ndarray | None) -> dict:
    """Precision and coverage of the answers a caption states: ``thresholds`` is the facet's,
    or one for each answer (NaN: that answer is never stated)."""
    bar = np.broadcast_to(np.asarray(np.nan if thresholds is None else thresholds, np.float64),
                          confidence.shape)
    m = confidence >= bar  # NaN compares False: never stated
    return {"coverage": float(m.mean()) if len(m) else 0.0,
            "precision": float(correct[m].mean()) if m.any() else None, "n": len(confidence)}


def fit_relevance(text_music: np.ndarray, relevant: np.ndarray, max_pairs: int = 200_000,
                  seed: int = 0) -> dict[str, float]:
    """Logistic map cosine -> P(the work fits the query), fitted on val (query, work) pairs by
    Newton's method on two parameters; negatives subsampled to bound the cost."""
    x, y = text_music.ravel().astype(np.float64), relevant.ravel().astype(np.float64)
    if len(x) > max_pairs:
        keep = np.random.default_rng(seed).choice(len(x), max_pairs, replace=False)
        x, y = x[keep], y[keep]
    w = np.zeros(2)
    X = np.stack([x, np.ones_like(x)], 1)
    for _ in range(50):
        p = 1 / (1 + np.exp(-(X @ w)))
        grad = X.T @ (p - y) + 1e-6 * w
        hess = (X * (p * (1 - p))[:, None]).T @ X + 1e-6 * np.eye(2)
        step = np.linalg.solve(hess, grad)
        w -= step
        if np.abs(step).max() < 1e-8:
            break
    return {"slope": float(w[0]), "intercept": float(w[1])}


def _queries(recs: list[dict], rng: np.random.Generator) -> tuple[list[str], np.ndarray]:
    """One title-free phrase per work, and which works each phrase describes."""
    own = [set(title_free(r["texts"], r.get("meta", {}).get("title"))) for r in recs]
    queries, rows = [], []
    for texts in own:
        if texts:
            q = sorted(texts)[int(rng.integers(len(texts)))]
            queries.append(q)
            rows.append([q in t for t in own])
    return queries, np.array(rows, dtype=bool)


def _reference(train: list[dict], rng: np.random.Generator, size: int) -> list[dict]:
    """A training sample that keeps every collection present (256 each at most first, then
    random), so a small collection is not missing from the novelty reference."""
    by_coll: dict[str, list[int]] = {}
    for i, r in enumerate(train):
        by_coll.setdefault(r["labels"].get("collection", ""), []).append(i)
    pick: set[int] = set()
    for idx in by_coll.values():
        pick.update(rng.choice(idx, min(len(idx), 256), replace=False).tolist())
    rest = [i for i in range(len(train)) if i not in pick]
    more = max(0, size - len(pick))
    if rest and more:
        pick.update(rng.choice(rest, min(more, len(rest)), replace=False).tolist())
    return [train[i] for i in sorted(pick)][:max(size, len(by_coll))]


def _bank(train: list[dict], rng: np.random.Generator, size: int) -> tuple[list[str], list[str]]:
    """Real descriptions: title-free training texts that say more than a bare label."""
    seen: set[str] = set()
    texts, sources = [], []
    for i in rng.permutation(len(train)):
        r = train[int(i)]
        for t in title_free(r["texts"], r.get("meta", {}).get("title")):
            if len(t.split()) >= 4 and t.lower() not in seen:
                seen.add(t.lower())
                texts.append(t[0].upper() + t[1:])
                sources.append(abc_source_hash(r["abc"]))
                break
        if len(texts) >= size:
            break
    return texts, sources


def fit(encoder: Encoder, train: list[dict], val: list[dict], seed: int = 0,
        reference_size: int = REFERENCE_SIZE, bank_size: int = BANK_SIZE,
        features: str | Path | None = None) -> Calibration:
    """Fit every part of a model's calibration from the train and val splits (``features``: a
    folder where music features are kept between runs)."""
    rng = np.random.default_rng(seed)
    music = music_lookup(encoder, features)

    log.info("calibration: zero-shot tasks on %d val works", len(val))
    tasks = zero_shot_scores(encoder, train, val, music)
    if not tasks:
        raise ValueError("the val split supports no zero-shot task; build a dataset with labels")
    scale = encoder.logit_scale
    others = [t for t in tasks if not t.name.startswith("facet:")] or tasks
    temperature = fit_temperature(others, scale)
    cal = Calibration(fingerprint=encoder.fingerprint, temperature=temperature)
    thresholds: dict[str, float | None] = {}
    for t in tasks:
        if t.name.startswith("facet:"):
            cal.label_set_temperatures[t.name[6:]] = {
                "labels": list(t.classes), "temperature": fit_temperature([t], scale)}
    report = {"val_works": len(val), "tasks": {t.name: len(t.truth) for t in tasks},
              "temperature": round(temperature, 4),
              "val_before": pooled_reliability(tasks, scale)["ece"],
              "val_after": pooled_reliability(tasks, scale, cal)["ece"]}
    for t in tasks:
        if t.name.startswith("facet:"):
            p = _probs(t.cosines, scale / task_temperature(cal, t))
            conf, pred = p.max(1), p.argmax(1)
            thresholds[t.name[6:]] = facet_threshold(conf, pred == t.truth)
            cal.label_thresholds[t.name[6:]] = label_thresholds(t.classes, conf, pred, t.truth)
    cal.facet_thresholds = thresholds
    log.info("calibration: novelty reference from %d training works", reference_size)
    ref_recs = _reference(train, rng, reference_size)
    unit_ref = l2_normalise(music(ref_recs))
    cal.reference_center = unit_ref.mean(0)
    cal.reference = l2_normalise(unit_ref - cal.reference_center)
    val_near = cal.nearest(music(val))
    ood_threshold = float(np.quantile(val_near, OOD_QUANTILE))
    log.info("calibration: text -> music relevance on val")
    queries, relevant = _queries(val, rng)
    sims = l2_normalise(encoder.encode_texts(queries)) @ l2_normalise(music(val)).T
    relevance = fit_relevance(sims, relevant, seed=seed)
    best = 1 / (1 + np.exp(-(relevance["slope"] * sims.max(1) + relevance["intercept"])))
    relevance["no_match"] = float(np.quantile(best, NO_MATCH_QUANTILE))
    log.info("calibration: description bank")
    bank_texts, bank_sources = _bank(train, rng, bank_size)
    bank_vectors = l2_normalise(encoder.encode_texts(bank_texts)) if bank_texts else None
    report.update({"reference_works": len(ref_recs),
                   "reference_collections": dict(Counter(
                       r["labels"].get("collection", "") for r in ref_recs)),
                   "ood_val_flagged": float((val_near < ood_threshold).mean()),
                   "relevance_val_queries": len(queries)})
    cal.ood_threshold, cal.relevance, cal.report = ood_threshold, relevance, report
    cal.bank_texts, cal.bank_vectors, cal.bank_sources = bank_texts, bank_vectors, bank_sources
    return cal


def measure(encoder: Encoder, calibration: Calibration, train: list[dict], split: list[dict],
            music: Callable[[list[dict]], np.ndarray] | None = None) -> dict:
    """Calibration error (raw and calibrated), the stated caption facets' precision and
    coverage, and the novelty flag's rate, on one split (the test split in `clamp evaluate`)."""
    music = music or music_lookup(encoder)  # each work encoded once for every task
    tasks = zero_shot_scores(encoder, train, split, music)
    scale = encoder.logit_scale
    out: dict = {"temperature": calibration.temperature,
                 "label_set_temperatures": {k: v["temperature"] for k, v in
                                            calibration.label_set_temperatures.items()},
                 "raw": pooled_reliability(tasks, scale),
                 "calibrated": pooled_reliability(tasks, scale, calibration),
                 "per_task_ece": {}, "facets": {}}
    for t in tasks:
        p = _probs(t.cosines, scale / task_temperature(calibration, t))
        conf, answer = p.max(1), p.argmax(1)
        correct = answer == t.truth
        out["per_task_ece"][t.name] = round(reliability(conf, correct)["ece"], 4)
        if t.name.startswith("facet:"):
            facet = t.name[6:]
            # each answer's bar; None (never stated) becomes NaN
            bars = np.array([calibration.facet_threshold(facet, t.classes[k]) for k in answer],
                            dtype=np.float64)
            out["facets"][facet] = {"threshold": calibration.facet_threshold(facet),
                                    **stated_precision(conf, correct, bars)}
    if calibration.reference is not None:
        near = calibration.nearest(music(split))
        out["ood_flagged_in_domain"] = {"rate": float((near < calibration.ood_threshold).mean()),
                                        "n": len(split)}
    return out


def novelty_rate(encoder: Encoder, calibration: Calibration, folder: str) -> dict:
    """How often the novelty flag fires on the readable scores of a folder (music of kinds the
    model was not trained on: the rate should be high)."""
    from clamp_core.errors import ClampError
    from clamp_core.notation import score_to_abc
    from clamp_core.scores import SUPPORTED_EXTENSIONS, load_score

    abcs, failed = [], 0
    for path in sorted(Path(folder).rglob("*")):
        if path.suffix.lower() in SUPPORTED_EXTENSIONS:
            try:
                abcs.append(score_to_abc(load_score(path)))
            except ClampError:
                failed += 1
    if not abcs or calibration.reference is None:
        return {"folder": str(folder), "n": len(abcs), "unreadable": failed, "rate": None}
    near = calibration.nearest(encoder.encode_abc(abcs))
    return {"folder": str(folder), "n": len(abcs), "unreadable": failed,
            "rate": float((near < calibration.ood_threshold).mean()),
            "median_nearest_cosine": float(np.median(near))}
