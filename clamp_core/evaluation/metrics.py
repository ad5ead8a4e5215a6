"""Classification and retrieval metrics, and the baselines they are read against."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import numpy as np


def accuracy(y_true: Sequence[str], y_pred: Sequence[str]) -> float:
    return (float(np.mean([a == b for a, b in zip(y_true, y_pred, strict=True)]))
            if len(y_true) else float("nan"))


def bootstrap_ci(values: Sequence[float], level: float = 0.95, resamples: int = 2000,
                 seed: int = 0) -> list[float]:
    """Percentile bootstrap interval of the mean of per-item values (1/0 for correct answers,
    1/rank for MRR): how far a score on a few hundred test works could move on another draw."""
    v = np.asarray(values, dtype=float)
    if not len(v):
        return [float("nan"), float("nan")]
    means = v[np.random.default_rng(seed).integers(len(v), size=(resamples, len(v)))].mean(1)
    lo, hi = np.quantile(means, [(1 - level) / 2, (1 + level) / 2])
    return [float(lo), float(hi)]


def macro_f1(y_true: Sequence[str], y_pred: Sequence[str], classes: Sequence[str]) -> float:
    """Unweighted mean of per-class F1 over ``classes`` (a class never predicted nor present
    scores 0)."""
    scores = []
    for c in classes:
        tp = sum(t == c and p == c for t, p in zip(y_true, y_pred, strict=True))
        fp = sum(t != c and p == c for t, p in zip(y_true, y_pred, strict=True))
        fn = sum(t == c and p != c for t, p in zip(y_true, y_pred, strict=True))
        scores.append(0.0 if tp == 0 else 2 * tp / (2 * tp + fp + fn))
    return float(np.mean(scores)) if scores else float("nan")


def majority_baseline(train_labels: Sequence[str], y_true: Sequence[str],
                      classes: Sequence[str]) -> dict:
    """Always answer the most frequent training class."""
    top = Counter(train_labels).most_common(1)[0][0]
    pred = [top] * len(y_true)
    return {"accuracy": accuracy(y_true, pred), "macro_f1": macro_f1(y_true, pred, classes),
            "answer": top}


def random_baseline(y_true: Sequence[str], classes: Sequence[str], trials: int = 200,
                    seed: int = 0) -> dict:
    """Uniform guessing, averaged over seeded trials."""
    rng = np.random.default_rng(seed)
    accs, f1s = [], []
    for _ in range(trials):
        pred = [classes[i] for i in rng.integers(len(classes), size=len(y_true))]
        accs.append(accuracy(y_true, pred))
        f1s.append(macro_f1(y_true, pred, classes))
    return {"accuracy": float(np.mean(accs)), "macro_f1": float(np.mean(f1s))}


def retrieval_ranks(sims: np.ndarray) -> np.ndarray:
    """Rank (1 = best) of the matching item, the diagonal, in each row; ties favour the match."""
    return 1 + (sims > np.diag(sims)[:, None]).sum(axis=1)


def retrieval_metrics(ranks: np.ndarray) -> dict:
    return {"mrr": float(np.mean(1.0 / ranks)), "mrr_ci": bootstrap_ci(1.0 / ranks),
            "hit@1": float(np.mean(ranks <= 1)), "hit@10": float(np.mean(ranks <= 10)),
            "n": len(ranks)}


def relevance_metrics(sims: np.ndarray, relevant: np.ndarray, k: int = 10) -> dict:
    """Ranking of every item a query is true of, not only its source: ``relevant[i, j]`` says
    query i describes item j. Precision@k, the MRR of the first relevant item, and what a random
    ranking gets (the mean share of relevant items)."""
    order = np.argsort(-sims, axis=1, kind="stable")
    ranked = np.take_along_axis(relevant, order, axis=1)
    first = ranked.argmax(1) + 1
    return {f"precision@{k}": float(ranked[:, :k].mean()),
            "mrr_first_relevant": float(np.mean(1.0 / first)),
            f"random_precision@{k}": float(relevant.mean()), "n": len(sims)}


def random_retrieval(n: int) -> dict:
    """Expected figures for a uniformly random ranking of n items."""
    return {"mrr": float(np.sum(1.0 / np.arange(1, n + 1)) / n), "hit@1": 1.0 / n,
            "hit@10": min(10, n) / n, "n": n}


def linear_probe(x_train: np.ndarray, y_train: Sequence[str], x_test: np.ndarray,
                 classes: Sequence[str], weight_decay: float = 1e-3, seed: int = 0) -> list[str]:
    """Multinomial logistic regression (L-BFGS, L2) on standardised features: the supervised
    ceiling of what a linear read-out of the embeddings can do."""
    import torch

    torch.manual_seed(seed)
    idx = {c: i for i, c in enumerate(classes)}
    mu, sd = x_train.mean(0), x_train.std(0) + 1e-6
    xt = torch.tensor((x_train - mu) / sd, dtype=torch.float32)
    yt = torch.tensor([idx[y] for y in y_train])
    lin = torch.nn.Linear(xt.shape[1], len(classes))
    opt = torch.optim.LBFGS(lin.parameters(), max_iter=200, line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        loss = (torch.nn.functional.cross_entropy(lin(xt), yt)
                + weight_decay * lin.weight.pow(2).sum())
        loss.backward()
        return loss

    opt.step(closure)
    with torch.no_grad():
        pred = lin(torch.tensor((x_test - mu) / sd, dtype=torch.float32)).argmax(1)
    return [classes[i] for i in pred.tolist()]
