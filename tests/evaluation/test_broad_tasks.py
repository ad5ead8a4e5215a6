"""The broad benchmark's zero-shot tasks (ensemble, era, form, mode, metre, tempo, Polish
composers, English and Irish folk tune types): which records and classes each scores, the
prompts of each class, that a dataset without their labels skips them, and `evaluate` end to end
with a real (tiny, untrained) model. Records are real WikiMT ABC with the labels the broad corpus
writes."""

import json

import pytest

from clamp_core.evaluation.tasks import TASKS, person_name, task_sets
from clamp_core.runtime.feature_cache import music_lookup

NEW_LABELS = ("ensemble_class", "era", "form", "mode_class", "metre_family", "tempo")
NEW_TASKS = {"ensemble", "era", "form", "mode", "metre", "tempo", "polish_composer",
             "folk_tune_type"}
OLD_TASKS = {"tune_type", "essen_region", "composer", "lieder_composer"}
COMPOSERS = [("józef elsner", "Józef Elsner (1769-1854)"),
             ("karol kurpiński", "Karol Kurpiński (1785-1857)"),
             ("fryderyk chopin", "Fryderyk Chopin (1810-1849)")]


def _labels(group: str, j: int) -> tuple[dict, list[str]]:
    """Labels and texts of the j-th pair (one test, one training work) of a group."""
    common = {"mode_class": ("major", "minor", "modal")[j % 3],
              "metre_family": ("duple", "triple", "compound")[(j + 1) % 3],
              "tempo": ("slow", "moderate", "lively", "fast")[j % 4]}
    if group == "polish":
        key, shown = COMPOSERS[j % 3]
        return ({"collection": "chopin" if key == "fryderyk chopin" else "polish",
                 "composer": key, "form": ("mazurka", "polonaise", "waltz")[(j // 3) % 3],
                 "ensemble_class": ("solo piano", "voice and piano")[j % 2],
                 "era": ("classical", "romantic")[(j // 2) % 2], **common},
                [f"by {shown}", "a piano piece"])
    if group == "english":
        tt = ("jig", "reel", "waltz")[j % 3]
        return ({"collection": ("nottingham", "cre")[(j // 3) % 2], "tune_type": tt,
                 "tune_type_coarse": tt, "era": "folk", "ensemble_class": "solo melody",
                 **common}, [f"a {tt}", "a single melody line"])
    if group == "ryans":
        tt = ("reel", "jig")[j % 2]
        return ({"collection": "ryans", "tune_type_coarse": tt, "era": "folk",
                 "ensemble_class": "solo melody", **common}, [f"an American {tt}", "a tune"])
    if group == "bach":
        return ({"collection": "bach", "composer": "bach", "form": "chorale", "era": "baroque",
                 "ensemble_class": "choir", **common}, ["a Lutheran chorale", "for choir"])
    return ({"collection": "pop909", "form": "pop song", "ensemble_class": "voice and piano",
             **common}, ["a pop song", "piano music"])


@pytest.fixture(scope="module")
def records(wikimt) -> list[dict]:
    """120 works: 12 pairs in each of five groups, one of each pair in test, one in train."""
    out = []
    for g, group in enumerate(("polish", "english", "ryans", "bach", "pop")):
        for j in range(12):
            labels, texts = _labels(group, j)
            for split in ("test", "train"):
                i = len(out)
                row = wikimt[i]
                out.append({"id": f"{group}/{i}", "abc": row["abc"], "split": split,
                            "texts": [row["title"], *texts], "labels": dict(labels),
                            "meta": {"title": row["title"]}, "group": f"{group}{g}-{j}"})
    return out


def _sets(records):
    return {task.name: (task, recs, prompts) for task, recs, prompts in task_sets(records)}


def test_new_tasks_score_their_collections_and_classes(records):
    sets = _sets(records)
    assert set(sets) == NEW_TASKS | {"tune_type"}  # one Bach composer: no composer task

    _, recs, prompts = sets["ensemble"]  # every collection
    assert set(prompts) == {"solo piano", "voice and piano", "solo melody", "choir"}
    assert len(recs) == 60 and all(r["split"] == "test" for r in recs)
    assert "a song for voice and piano" in prompts["voice and piano"]
    assert "music for solo piano" in prompts["solo piano"]

    _, recs, prompts = sets["era"]  # art music only: no folk tunes, no pop songs
    assert set(prompts) == {"classical", "romantic", "baroque"}
    assert {r["labels"]["collection"] for r in recs} == {"polish", "chopin", "bach"}
    assert "a Baroque piece" in prompts["baroque"]

    _, recs, prompts = sets["form"]
    assert set(prompts) == {"mazurka", "polonaise", "waltz", "chorale"}  # no "pop song"
    assert "a mazurka" in prompts["mazurka"] and "a polonaise" in prompts["polonaise"]

    assert "a piece in a minor key" in sets["mode"][2]["minor"]
    assert set(sets["mode"][2]) == {"major", "minor", "modal"}
    assert "music in triple time" in sets["metre"][2]["triple"]
    assert set(sets["tempo"][2]) == {"slow", "moderate", "lively", "fast"}
    assert "a slow piece" in sets["tempo"][2]["slow"]

    _, recs, prompts = sets["folk_tune_type"]  # Nottingham and CRE, not Ryan's
    assert {r["labels"]["collection"] for r in recs} == {"nottingham", "cre"}
    assert set(prompts) == {"jig", "reel", "waltz"} and "a folk waltz" in prompts["waltz"]
    # the fiddle-collection task is as it was: Ryan's only, its own templates
    task, recs, prompts = sets["tune_type"]
    assert {r["labels"]["collection"] for r in recs} == {"ryans"}
    assert prompts["reel"] == [t.format("reel") for t in task.templates]

    # composers named as their training works name them, each prompt set averaged as a class
    _, recs, prompts = sets["polish_composer"]
    assert set(prompts) == {k for k, _ in COMPOSERS}
    assert prompts["józef elsner"] == ["by Józef Elsner (1769-1854)"]
    assert {r["labels"]["collection"] for r in recs} == {"polish", "chopin"}
    # no training split: the name written out in the templates
    test_only = _sets([r for r in records if r["split"] == "test"])
    assert "music by Karol Kurpiński" in test_only["polish_composer"][2]["karol kurpiński"]


def test_every_class_has_prompts_a_user_would_type():
    for task in TASKS:
        for c, words in task.phrases.items():
            assert words and all(w and "{}" not in w for w in words), (task.name, c)
    assert person_name("ludwig van beethoven") == "Ludwig van Beethoven"
    assert person_name("jan-stefan kowalski") == "Jan-Stefan Kowalski"


def test_tasks_without_their_labels_are_skipped(records):
    # an older dataset: none of the broad corpus's labels, and no Polish or folk collections
    old = [dict(r, labels={k: v for k, v in r["labels"].items()
                           if k not in NEW_LABELS and k != "composer"})
           for r in records if r["labels"]["collection"] in ("ryans", "bach", "pop909")]
    assert set(_sets(old)) == {"tune_type"}
    # one class only (every work slow): no tempo task; a class with too few test works dropped
    one = [dict(r, labels={**r["labels"], "tempo": "slow"}) for r in records]
    assert "tempo" not in _sets(one)
    few = [dict(r, labels={**r["labels"], "form": "fugue"}) if r["id"] == "bach/72" else r
           for r in records]
    assert "fugue" not in _sets(few)["form"][2]


def test_evaluate_reports_the_new_tasks(tmp_path, records):
    from clamp_core.evaluation import calibrate as C
    from clamp_core.evaluation.report import as_encoder, evaluate, markdown_table
    from clamp_core.model.checkpoint import create_model
    from clamp_core.model.config import preset

    data = tmp_path / "d.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in records))
    encoder = as_encoder(create_model(preset("tiny"), seed=0))
    res = evaluate(encoder, data, max_probe=200)
    assert set(res["tasks"]) >= NEW_TASKS
    md = markdown_table(res)
    for name in NEW_TASKS:
        r = res["tasks"][name]
        lo, hi = r["zero_shot"]["accuracy_ci"]
        assert lo <= r["zero_shot"]["accuracy"] <= hi
        lo, hi = r["linear_probe"]["accuracy_ci"]
        assert lo <= r["linear_probe"]["accuracy"] <= hi
        search = r["prompt_search"]
        assert search["n"] == len(r["classes"]) and 0 <= search["precision@10"] <= 1
        row = next(ln for ln in md.splitlines() if ln.startswith(f"| {name} | {r['n_test']} |"))
        assert row.count("(") == 2  # zero-shot and probe intervals
        assert any(ln.startswith(f"| {name} | {len(r['classes'])} |") for ln in md.splitlines())
    assert res["tasks"]["ensemble"]["n_test"] == 60
    # calibration fits over the same tasks
    train = [r for r in records if r["split"] == "train"]
    test = [r for r in records if r["split"] == "test"]
    scores = C.zero_shot_scores(encoder, train, test, music_lookup(encoder))
    assert {t.name for t in scores} >= NEW_TASKS
