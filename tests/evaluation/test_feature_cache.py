"""Music features kept between runs: `clamp evaluate --features` gives the results it gives
without, and a second model with the same music encoder but other heads encodes nothing again."""

import json

import numpy as np
import pytest
import torch

from clamp_core.evaluation.report import evaluate
from clamp_core.model.checkpoint import create_model, load_model, save_model
from clamp_core.model.config import preset


@pytest.fixture(scope="module")
def tune_types(tmp_path_factory, wikimt):
    data = tmp_path_factory.mktemp("tunes") / "d.jsonl"
    types = ["reel", "jig", "hornpipe"]
    with data.open("w") as f:
        for i, row in enumerate(wikimt[:48]):
            t = types[i % 3]
            split = "test" if i % 4 == 0 else "val" if i % 4 == 1 else "train"
            f.write(json.dumps({"id": str(i), "abc": row["abc"], "split": split,
                                "texts": [row["title"], f"an Irish {t}", "a tune in 4/4"],
                                "labels": {"collection": "ryans", "tune_type_coarse": t},
                                "meta": {"title": row["title"]}}) + "\n")
    return data


def _scores(res: dict) -> list[float]:
    task = res["tasks"]["tune_type"]
    ret = res["retrieval"]
    return [task["zero_shot"]["accuracy"], task["linear_probe"]["accuracy"],
            task["prompt_search"]["mrr_first_relevant"], ret["text_to_music"]["mrr"],
            ret["text_to_music_description"]["mrr"]]


def test_cached_features_give_the_same_report_and_are_shared_across_heads(tune_types,
                                                                          tmp_path):
    save_model(create_model(preset("tiny"), seed=0), tmp_path / "a")
    other = load_model(tmp_path / "a")
    with torch.no_grad():  # same music encoder, another music head (as tune-text makes)
        other.music_proj.weight.mul_(-1.5)
    save_model(other, tmp_path / "b")
    feats = tmp_path / "features"

    first = evaluate(tmp_path / "a", tune_types, features=feats)
    assert np.allclose(_scores(first), _scores(evaluate(tmp_path / "a", tune_types)), atol=1e-6)
    tables = list(feats.iterdir())
    assert [p.name[:7] for p in tables] == ["pooled-"]
    stamp = tables[0].stat().st_mtime_ns

    second = evaluate(tmp_path / "b", tune_types, features=feats)
    assert tables[0].stat().st_mtime_ns == stamp  # every piece was read from the table
    assert np.allclose(_scores(second), _scores(evaluate(tmp_path / "b", tune_types)),
                       atol=1e-6)
    assert _scores(second) != _scores(first)  # the other head's vectors, not the first's
