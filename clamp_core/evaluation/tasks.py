"""The zero-shot tasks of the quality report and of calibration: which label of which
collections, the classes kept, and the prompts of each class (rules chosen on val)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

from clamp_core.datasets.labels import COMPOSERS
from clamp_core.datasets.texts import composer_phrases, place_name


@dataclass
class Task:
    """One zero-shot task: which label, which records, and the prompts of each class."""

    name: str
    label: str
    collections: tuple[str, ...]
    templates: tuple[str, ...] = ("{}",)  # used for classes the prompt rule does not cover
    top: int | None = None  # keep the most frequent classes only
    min_test: int = 3  # a class needs this many test works
    # prompts of a class made from a rule and the class's training records, when given
    prompt_rule: Callable[[str, list[dict]], list[str]] | None = None

    def class_prompts(self, classes: list[str],
                      train: list[dict] | None = None) -> dict[str, list[str]]:
        out = {}
        for c in classes:
            if self.prompt_rule and train is not None:
                out[c] = self.prompt_rule(c, [r for r in train if r["labels"].get(self.label) == c])
            out[c] = out.get(c) or [t.format(c) for t in self.templates]
        return out


def composer_prompts(key: str, _train: list[dict]) -> list[str]:
    """A music21 composer named as our training texts and the `composers` label set name them:
    full name, with dates and era where known (val: margins 0.128 -> 0.178, accuracy 1.0 both)."""
    if key not in COMPOSERS:
        return []
    name, born, died, era = COMPOSERS[key]
    return composer_phrases(name, born, died, era)


def region_prompts(_region: str, train: list[dict], k: int = 10) -> list[str]:
    """A region as the places its training songs name most often ("a folk song from Lorraine").
    On val this beat the hand-written prompts with each of five checkpoints (+0.02 to +0.06)."""
    places = Counter(place_name(r["labels"]["region_detail"]).split(",")[0] for r in train
                     if r["labels"].get("region_detail"))
    return [f"a folk song from {p}" for p, _ in places.most_common(k)]


TUNE_TEMPLATES = ("a {}", "an Irish {}", "a {}, a traditional fiddle tune", "this tune is a {}")
COMPOSER_TEMPLATES = ("music by {}", "a piece composed by {}", "{}")
# chosen on the validation split (30 songs: 0.30 -> 0.43 with the previous model), as the works
# are all songs; the test split was not consulted
SONG_COMPOSER_TEMPLATES = ("a song by {}", "a Lied by {}", "composed by {}", "by {}")

TASKS = [
    Task("tune_type", "tune_type_coarse", ("ryans", "oneills"), templates=TUNE_TEMPLATES),
    Task("essen_region", "region", ("essen",), prompt_rule=region_prompts),
    Task("composer", "composer", ("bach", "palestrina", "monteverdi", "trecento", "beethoven",
                                  "mozart", "haydn"), templates=COMPOSER_TEMPLATES, min_test=2,
         prompt_rule=composer_prompts),
    Task("lieder_composer", "composer", ("lieder",), templates=SONG_COMPOSER_TEMPLATES, top=8,
         min_test=1),
]


def task_records(records: list[dict], task: Task) -> list[dict]:
    """The records a task scores: of its collections, with its label."""
    return [r for r in records if r["labels"].get("collection") in task.collections
            and r["labels"].get(task.label)]


def task_classes(task: Task, train: list[dict], test: list[dict]) -> list[str]:
    """The task's classes: its most frequent in training (``top``), each with enough test works
    (``min_test``); with no training records, the most frequent in test."""
    counts = Counter(r["labels"][task.label] for r in (train or test))
    test_counts = Counter(r["labels"][task.label] for r in test)
    return [c for c, _ in counts.most_common(task.top) if test_counts[c] >= task.min_test]


def task_sets(records: list[dict]) -> list[tuple[Task, list[dict], dict[str, list[str]]]]:
    """(task, test records, class -> prompts) for every task the records support. ``records``
    may be a whole dataset: its test split is scored and its train split feeds the prompt rules
    (a region's places); records without a split are all test records."""
    test = [r for r in records if r.get("split", "test") == "test"]
    train = [r for r in records if r.get("split") == "train"]
    out = []
    for task in TASKS:
        te = task_records(test, task)
        classes = [c for c, n in Counter(r["labels"][task.label] for r in te).most_common(task.top)
                   if n >= task.min_test]
        if len(classes) < 2:
            continue
        te = [r for r in te if r["labels"][task.label] in classes]
        out.append((task, te, task.class_prompts(classes, task_records(train, task) or None)))
    return out
