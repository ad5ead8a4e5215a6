"""bench/mixed_library.py: relevance rules on the broad corpus's labels and on an older dataset's,
the capped seeded library, and a run end to end with a real tiny model on WikiMT ABC."""

import importlib.util
import json
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench" / "mixed_library.py"


@pytest.fixture(scope="module")
def ml():
    spec = importlib.util.spec_from_file_location("mixed_library", BENCH)
    mod = importlib.util.module_from_spec(spec)
    sys.modules["mixed_library"] = mod  # its dataclass looks its module up there
    spec.loader.exec_module(mod)
    yield mod
    sys.modules.pop("mixed_library", None)


def _query(ml, text):
    return next(q for q in ml.QUERIES if q.text == text)


def test_rules_read_new_labels_and_fall_back_on_old_ones(ml):
    def rec(**labels):
        return {"id": "x", "labels": labels}

    voice_piano = _query(ml, "a song for voice and piano").rule
    assert voice_piano(rec(collection="polish", ensemble_class="voice and piano"))
    assert voice_piano(rec(collection="lieder", ensemble="voice and piano"))  # older dataset
    assert not voice_piano(rec(collection="lieder", ensemble_class="choir"))
    assert ml.ensemble_class(rec(collection="palestrina", ensemble="five voices")) == "choir"
    hymn = _query(ml, "a hymn for choir").rule
    assert hymn(rec(collection="bach")) and hymn(rec(collection="polish", form="hymn"))
    assert not hymn(rec(collection="lieder"))
    irish = _query(ml, "an Irish fiddle tune").rule
    assert irish(rec(collection="cre")) and irish(rec(collection="nottingham",
                                                      tune_type_coarse="jig"))
    assert not irish(rec(collection="nottingham", tune_type_coarse="waltz"))
    polonaise = _query(ml, "a polonaise for piano").rule
    assert polonaise(rec(collection="chopin", form="polonaise", ensemble_class="solo piano"))
    assert not polonaise(rec(collection="polish", form="polonaise", ensemble_class="orchestra"))
    schubert = _query(ml, "a Lied by Schubert").rule
    assert schubert(rec(collection="lieder", composer="franz schubert"))
    air = _query(ml, "a slow air").rule
    assert air(rec(collection="essen", tempo="slow")) and not air(rec(collection="bach",
                                                                      tempo="slow"))


def test_library_is_capped_and_seeded(ml):
    recs = [{"id": f"{c}/{i}", "labels": {"collection": c}} for c in ("a", "b") for i in range(30)]
    recs += [{"id": "c/0", "labels": {"collection": "c"}}]
    lib = ml.library(recs, cap=10, seed=0)
    assert [r["labels"]["collection"] for r in lib].count("a") == 10 and len(lib) == 21
    assert lib == ml.library(list(reversed(recs)), cap=10, seed=0)  # input order plays no part
    assert lib != ml.library(recs, cap=10, seed=1)


def test_run_end_to_end_with_a_tiny_model(ml, tmp_path, wikimt):
    from clamp_core.model.checkpoint import create_model, save_model
    from clamp_core.model.config import preset

    save_model(create_model(preset("tiny"), seed=0), tmp_path / "m")
    data = tmp_path / "d.jsonl"
    kinds = [("bach", {"form": "chorale", "ensemble_class": "choir", "era": "baroque"}),
             ("nottingham", {"tune_type_coarse": "jig", "era": "folk"}),
             ("lieder", {"ensemble": "voice and piano", "composer": "franz schubert"})]
    with data.open("w") as f:
        for i, row in enumerate(wikimt[:75]):
            c, labels = kinds[i % 3]
            f.write(json.dumps({"id": str(i), "abc": row["abc"], "texts": [row["title"]],
                                "split": "test" if i < 66 else "train",
                                "labels": {"collection": c, **labels},
                                "meta": {"title": row["title"]}}) + "\n")
    res = ml.run(str(tmp_path / "m"), str(data), cap=20, seed=0, min_relevant=10, device=None,
                 precision="fp32")
    assert res["library"] == {"bach": 20, "lieder": 20, "nottingham": 20}
    scored = {q["query"]: q for q in res["queries"]}
    # Bach: chorale query, hymn (chorale), Baroque; Nottingham jigs: Irish fiddle tune, jig;
    # Lieder: voice and piano, Schubert
    assert set(scored) == {"a chorale harmonised for four voices", "a hymn for choir",
                           "a Baroque piece", "an Irish fiddle tune", "a jig in 6/8",
                           "a song for voice and piano", "a Lied by Schubert"}
    for q in scored.values():
        assert q["n_relevant"] == 20 and q["random_precision@10"] == pytest.approx(1 / 3)
        assert len(q["top"]) == 10 and 0 <= q["precision@10"] <= 1
    lo, hi = res["mean_precision@10_ci"]
    assert lo <= res["mean_precision@10"] <= hi
    assert {s["query"] for s in res["skipped"]} == {q.text for q in ml.QUERIES} - set(scored)
    md = ml.markdown(res)
    assert "Mean precision@10 over 7 queries" in md and "a string quartet" in md
