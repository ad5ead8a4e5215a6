"""Metrics against hand-computed values, and `clamp evaluate` end to end on a labelled mini set."""

import json

import numpy as np
import pytest

from clamp_core.evaluation import metrics as M


def test_classification_metrics():
    y = ["a", "a", "b", "c"]
    p = ["a", "b", "b", "b"]
    assert M.accuracy(y, p) == 0.5
    # F1: a = 2/3, b = 2*1/(2+2+0) = 0.5, c = 0
    assert M.macro_f1(y, p, ["a", "b", "c"]) == pytest.approx((2 / 3 + 0.5 + 0) / 3)
    maj = M.majority_baseline(["b", "b", "a"], y, ["a", "b", "c"])
    assert maj["answer"] == "b" and maj["accuracy"] == 0.25
    rnd = M.random_baseline(y * 50, ["a", "b", "c"], trials=50)
    assert abs(rnd["accuracy"] - 1 / 3) < 0.03


def test_retrieval_metrics_and_ties():
    sims = np.array([[0.9, 0.1, 0.2], [0.5, 0.5, 0.1], [0.8, 0.7, 0.6]])
    ranks = M.retrieval_ranks(sims)
    assert ranks.tolist() == [1, 1, 3]  # the tie in row 1 favours the match
    r = M.retrieval_metrics(ranks)
    assert r["mrr"] == pytest.approx((1 + 1 + 1 / 3) / 3) and r["hit@1"] == pytest.approx(2 / 3)
    assert M.random_retrieval(4)["mrr"] == pytest.approx((1 + 1 / 2 + 1 / 3 + 1 / 4) / 4)


def test_bootstrap_interval_brackets_the_score_and_narrows_with_more_works():
    rng = np.random.default_rng(1)
    small, large = rng.random(100) < 0.8, rng.random(2000) < 0.8
    lo, hi = M.bootstrap_ci(small)
    assert lo < small.mean() < hi and 0.05 < hi - lo < 0.25  # about +-1.96 * sqrt(.16 / 100)
    lo2, hi2 = M.bootstrap_ci(large)
    assert lo2 < large.mean() < hi2 and hi2 - lo2 < (hi - lo) / 3
    assert M.bootstrap_ci([1.0] * 30) == [1.0, 1.0]
    assert M.bootstrap_ci(small) == [lo, hi]  # seeded: the report is reproducible


def test_relevance_metrics_count_every_work_a_query_describes():
    sims = np.array([[0.9, 0.8, 0.1, 0.0], [0.1, 0.2, 0.3, 0.9]])
    relevant = np.array([[True, False, True, False], [True, False, False, False]])
    r = M.relevance_metrics(sims, relevant, k=2)
    # query 0: ranked 0,1,2,3 -> relevant at rank 1; query 1: ranked 3,2,1,0 -> first at rank 4
    assert r["mrr_first_relevant"] == pytest.approx((1 + 1 / 4) / 2)
    assert r["precision@2"] == pytest.approx((1 / 2 + 0) / 2)
    assert r["random_precision@2"] == pytest.approx(3 / 8)


def test_linear_probe_separates_separable_data():
    rng = np.random.default_rng(0)
    x = np.concatenate([rng.normal(0, 1, (40, 8)), rng.normal(3, 1, (40, 8))])
    y = ["x"] * 40 + ["y"] * 40
    pred = M.linear_probe(x[::2], y[::2], x[1::2], ["x", "y"])
    assert M.accuracy(y[1::2], pred) > 0.95


def test_evaluate_cli_writes_results(tmp_path, wikimt, run_clamp):
    from clamp_core.model.checkpoint import create_model, save_model
    from clamp_core.model.config import preset

    save_model(create_model(preset("tiny"), seed=0), tmp_path / "m")
    data = tmp_path / "d.jsonl"
    types = ["reel", "jig", "hornpipe"]
    with data.open("w") as f:
        for i, row in enumerate(wikimt[:60]):
            t = types[i % 3]
            split = "test" if i % 4 == 0 else "val" if i % 4 == 1 else "train"
            rec = {"id": str(i), "abc": row["abc"], "split": split,
                   "texts": [row["title"], f"an Irish {t}", "a tune in 4/4"],
                   "labels": {"collection": "ryans", "tune_type_coarse": t},
                   "meta": {"title": row["title"]}}
            f.write(json.dumps(rec) + "\n")
    out = tmp_path / "q.json"
    run_clamp("evaluate", str(tmp_path / "m"), "--data", str(data), "--out", str(out))
    res = json.loads(out.read_text())
    task = res["tasks"]["tune_type"]
    assert res["split"] == "test"
    assert task["n_test"] == 15 and set(task["classes"]) == set(types)
    for part in ("zero_shot", "linear_probe", "majority", "random"):
        assert 0 <= task[part]["accuracy"] <= 1
    lo, hi = task["zero_shot"]["accuracy_ci"]
    assert lo <= task["zero_shot"]["accuracy"] <= hi
    ret = res["retrieval"]
    assert ret["text_to_music"]["n"] == 15 and 0 < ret["text_to_music"]["mrr"] <= 1
    # Queries never contain the title of their work.
    assert all(q in ("an Irish reel", "an Irish jig", "an Irish hornpipe", "a tune in 4/4")
               for q in ret["examples"])
    anym = ret["text_to_music_any_match"]
    # every query is one of three phrases shared by 5 works (tune type) or by all 15 (metre)
    assert anym["n"] == 15 and 0.3 < anym["random_precision@10"] < 1
    assert 0 <= anym["precision@10"] <= 1 and "precision@10" in out.with_suffix(".md").read_text()
    desc = ret["text_to_music_description"]
    assert desc["n"] == 15 and 0 < desc["mrr"] <= 1
    # The joined description holds every title-free candidate and still no title.
    for q in ret["description_examples"]:
        parts = q.split(". ")
        assert len(parts) == 2 and "a tune in 4/4" in parts
        assert any(p in ("an Irish reel", "an Irish jig", "an Irish hornpipe") for p in parts)
    assert "joined description" in out.with_suffix(".md").read_text()
    assert "zero-shot acc" in out.with_suffix(".md").read_text()
    # --split val scores the other 15 works, for choices made without the test split
    run_clamp("evaluate", str(tmp_path / "m"), "--data", str(data), "--out", str(out),
              "--split", "val")
    res_val = json.loads(out.read_text())
    assert res_val["split"] == "val" and res_val["tasks"]["tune_type"]["n_test"] == 15
    assert res_val["retrieval"]["text_to_music"]["mrr"] != ret["text_to_music"]["mrr"]


def test_prompt_rules_follow_the_training_texts():
    """Region prompts name the places the class's training songs come from, most frequent first,
    from every training song (not the probe's subsample); composers are named in full, as the
    training texts name them."""
    from clamp_core.datasets.labels import WorkInfo
    from clamp_core.datasets.texts import build_texts
    from clamp_core.evaluation.tasks import TASKS

    def song(i, region, detail):
        return {"id": str(i),
                "labels": {"collection": "essen", "region": region, "region_detail": detail}}

    train = ([song(i, "german-speaking", "europa, mitteleuropa, deutschland, schlesien")
              for i in range(5)]
             + [song(i, "german-speaking", "europa, mitteleuropa, lothringen") for i in range(5, 8)]
             + [song(i, "other", "europa, irland") for i in range(8, 9)])
    region = next(t for t in TASKS if t.name == "essen_region")
    prompts = region.class_prompts(["german-speaking", "other"], train)
    assert prompts["german-speaking"] == ["a folk song from Germany", "a folk song from Lorraine"]
    assert prompts["other"] == ["a folk song from Ireland"]

    composer = next(t for t in TASKS if t.name == "composer")
    bach = composer.class_prompts(["bach"], [])["bach"]
    assert "by Johann Sebastian Bach (1685-1750)" in bach
    info = WorkInfo(id="bach/x", collection="bach", title="Chorale",
                    composer="Johann Sebastian Bach", born=1685, died=1750,
                    labels={"era": "baroque"})
    assert len(set(bach) & set(build_texts(info))) == 1  # the training text is one of the prompts
