"""What quantisation costs in use: zero-shot accuracy of clamp evaluate's tasks on the frozen
test split, for any encoder pair (fp32 bundle, int8 bundle, torch), on identical class sets."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence

import numpy as np

from clamp_core.evaluation.metrics import l2_normalise

Encode = Callable[[Sequence[str]], np.ndarray]


def task_sets(records: list[dict]) -> list[tuple[str, list[dict], dict[str, list[str]]]]:
    """(task name, test records, class -> prompts) for every evaluate task the records support;
    classes are those with at least the task's minimum of test works. ``records`` may be a whole
    dataset: its test split is scored and its train split feeds the prompt rules (a region's
    places), as in `clamp evaluate`; records without a split are all test records."""
    from clamp_core.evaluation.report import TASKS, _task_records

    test = [r for r in records if r.get("split", "test") == "test"]
    train = [r for r in records if r.get("split") == "train"] or None
    out = []
    for task in TASKS:
        recs = _task_records(test, task)
        counts = Counter(r["labels"][task.label] for r in recs)
        classes = [c for c, n in counts.most_common(task.top) if n >= task.min_test]
        if len(classes) < 2:
            continue
        recs = [r for r in recs if r["labels"][task.label] in classes]
        out.append((task.name, recs, task.class_prompts(classes, train and _task_records(train, task))))
    return out


def zero_shot_accuracy(encode_music: Encode, encode_text: Encode, records: list[dict]) -> dict:
    """Accuracy per task: nearest class prototype (renormalised mean of prompt embeddings)."""
    results = {}
    for name, recs, prompts in task_sets(records):
        classes = list(prompts)
        protos = np.stack([l2_normalise(l2_normalise(encode_text(prompts[c])).mean(0))
                           for c in classes])
        music = l2_normalise(encode_music([r["abc"] for r in recs]))
        pred = (music @ protos.T).argmax(1)
        truth = np.array([classes.index(r["labels"][_label(name)]) for r in recs])
        results[name] = {"accuracy": float((pred == truth).mean()), "n": len(recs),
                         "classes": len(classes)}
    return results


def _label(task_name: str) -> str:
    from clamp_core.evaluation.report import TASKS

    return next(t.label for t in TASKS if t.name == task_name)


def accuracy_change(base: dict, other: dict) -> dict:
    """Per-task accuracy difference (other - base) in percentage points."""
    return {k: round(100 * (other[k]["accuracy"] - base[k]["accuracy"]), 2) for k in base if k in other}
