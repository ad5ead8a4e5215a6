"""Dataset building: record schema, labels, texts, splits, cache, failures (tiny fixtures and a
few music21 corpus works; never reads the workspace data folder)."""

from __future__ import annotations

import functools
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from clamp_core.cli.root import cli
from clamp_core.datasets.build import build_dataset, read_test_groups
from clamp_core.datasets.labels import (
    WorkInfo,
    era_from_dates,
    essen_genre,
    essen_region,
    tune_type,
    tune_type_coarse,
)
from clamp_core.datasets.records import load_records, split_of
from clamp_core.datasets.sources import abc_items, folder_items, music21_items
from clamp_core.datasets.texts import build_texts, key_words, title_free

FIX = Path(__file__).parents[1] / "fixtures" / "dataset"
LABEL_KEYS = {"collection", "tune_type", "tune_type_coarse", "region", "region_detail",
              "composer", "genre", "meter", "key", "mode", "ensemble", "era", "ensemble_class",
              "mode_class", "metre_family", "tempo", "form", "texture"}


@functools.lru_cache(maxsize=1)
def _corpus_items() -> tuple:
    return tuple(music21_items(["essen", "ryans", "oneills"], limit=2))


def _items() -> list:
    return (list(_corpus_items())
            + folder_items(FIX / "scores", FIX / "metadata.tsv", collection="lieder")
            + abc_items(FIX / "abc"))


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """One build shared by the read-only tests: (records, summary, out path, cache dir)."""
    tmp = tmp_path_factory.mktemp("ds")
    out, cache = tmp / "d.jsonl", tmp / "cache"
    summary = build_dataset(_items(), out, cache_dir=cache, workers=1, test_groups=None,
                            progress=False)
    return load_records(out), summary, out, cache


def test_records_have_the_schema(built):
    records, summary, out, _ = built
    assert summary["works"] == len(records) == 10  # 6 corpus tunes, 2 .krn, 2 ABC tunes
    for r in records:
        assert set(r) >= {"id", "abc", "texts", "labels", "meta", "split", "source"}
        assert r["split"] in ("train", "val", "test")
        assert r["abc"].strip() and "K:" in r["abc"]
        assert set(r["labels"]) <= LABEL_KEYS
        for v in r["labels"].values():
            assert isinstance(v, str) and v == v.lower() and v.strip()
        assert {"title", "key", "meter", "n_bars", "parts"} <= set(r["meta"])
    assert len({r["id"] for r in records}) == len(records)
    assert Path(str(out) + ".summary.json").is_file()


def test_labels_from_sources(built):
    by_id = {r["id"]: r for r in built[0]}
    essen = [r for r in by_id.values() if r["labels"]["collection"] == "essen"]
    assert essen and all(r["labels"]["region"] == "german-speaking" for r in essen)
    assert all(r["labels"]["era"] == "folk" for r in essen)
    ryans = [r for r in by_id.values() if r["labels"]["collection"] == "ryans"]
    assert [r["labels"].get("tune_type") for r in ryans] == ["strathspey", "reel"]
    song = by_id["lieder/lullaby"]["labels"]
    assert song["composer"] == "anna example" and song["era"] == "romantic"
    assert song["genre"] == "lied" and song["meter"] == "3/4" and song["mode"] == "minor"
    assert by_id["lieder/march"]["labels"]["ensemble"] == "two voices"  # a vocal collection
    jig = by_id["abc/tunes#2"]["labels"]
    assert (jig["tune_type"], jig["tune_type_coarse"], jig["mode"]) == ("double jig", "jig",
                                                                          "dorian")
    assert by_id["abc/tunes#1"]["labels"]["tune_type"] == "slip jig"


def test_texts_have_title_free_candidates(built):
    for r in built[0]:
        title = r["meta"].get("title")
        assert len(r["texts"]) >= 3 and len(set(r["texts"])) == len(r["texts"])
        assert len(title_free(r["texts"], title)) >= 2, r["texts"]
    song = next(r for r in built[0] if r["id"] == "lieder/lullaby")
    assert "Evening Lullaby" in song["texts"]
    assert any("Anna Example (1810-1870)" in t or "Anna Example" in t for t in song["texts"])
    assert any("Sleep now my little one" in t for t in song["texts"])  # lyrics/ folder


def test_corrupt_file_is_a_recorded_failure(built):
    _, summary, out, _ = built
    fails = [json.loads(x) for x in Path(str(out) + ".failures.jsonl").read_text().splitlines()]
    assert [f["id"] for f in fails] == ["lieder/broken"]
    assert fails[0]["error"] and "\n" not in fails[0]["error"]
    assert summary["failures"] == 1 and summary["collections"]["lieder"]["failures"] == 1


def test_cache_hit_and_deterministic_rebuild(built, tmp_path):
    records, summary, _, cache = built
    assert summary["converted"] == 11 and summary["cached"] == 0
    out2 = tmp_path / "again.jsonl"
    s2 = build_dataset(_items(), out2, cache_dir=cache, workers=1, test_groups=None,
                       progress=False)
    assert s2["converted"] == 1 and s2["cached"] == 10  # only the broken file is retried
    assert load_records(out2) == records  # same splits, texts and labels


def test_frozen_test_groups_go_to_test(built, tmp_path):
    records, _, _, cache = built
    train = [r for r in records if r["split"] == "train"][:2]
    groups = tmp_path / "test_groups.txt"
    groups.write_text("# frozen\n" + "\n".join(r["group"] for r in train) + "\n")
    assert read_test_groups(groups) == {r["group"] for r in train}
    out = tmp_path / "frozen.jsonl"
    build_dataset(_items(), out, cache_dir=cache, workers=1, test_groups=groups, progress=False)
    split = {r["id"]: r["split"] for r in load_records(out)}
    assert all(split[r["id"]] == "test" for r in train)
    others = [r for r in records if r["group"] not in read_test_groups(groups)]
    assert all(split[r["id"]] == r["split"] for r in others)


def test_split_rule():
    assert split_of("somegroup", set()) == split_of("somegroup", set())
    assert split_of("somegroup", {"somegroup"}) == "test"
    counts = {"train": 0, "val": 0, "test": 0}
    for i in range(4000):
        counts[split_of(f"g{i}", set())] += 1
    assert 0.87 < counts["train"] / 4000 < 0.93 and counts["val"] > 120 and counts["test"] > 120


def test_label_normalisation():
    assert tune_type(" Slipjig") == "slip jig" and tune_type("Jig") == "jig"
    assert tune_type("DOUBLE JIG") == "double jig" and tune_type("nonsense") is None
    assert tune_type_coarse("double jig") == "jig" and tune_type_coarse("reel") == "reel"
    assert essen_region("China, Shaanxi, Zizhou") == "china"
    assert essen_region("Europa, Mitteleuropa, Deutschland, Schlesien") == "german-speaking"
    assert essen_region("Mitteleuropa, Deutschland (DDR) , Brandenburg") == "german-speaking"
    assert essen_region("Europa, Mitteleuropa, Oesterreich") == "german-speaking"
    # German-speaking communities outside today's Germany, Austria and Switzerland count too
    assert essen_region("Luxemburg") == "german-speaking"
    assert essen_region("Lothringen, Metz ( St. Vinzent )") == "german-speaking"
    assert essen_region("Mitteleuropa, Deutschland / Frankreich, Lothringen") == "german-speaking"
    assert essen_region("Suedosteuropa, Jugoslawien, Gottschee") == "german-speaking"
    assert essen_region("Europa, Mitteleuropa, Nieder - Oesterreich") == "german-speaking"
    assert essen_region("Osteuropa, Ungarn") == "other" and essen_region("Irland") == "other"
    assert essen_region("Mitteleuropa, Niederlande, Flaemisch") == "other"
    assert essen_region("Franzoesische Schweiz, Jura") == "other"
    assert essen_region("Suedosteuropa, Jugoslawien, Kroatien") == "other"
    assert essen_genre("Liebes - Lied, Leid, Klage") == "liebeslied, leid, klage"
    assert essen_genre("Xiaodiao]") == "xiaodiao" and essen_genre("???") is None
    assert era_from_dates(1833, 1897) == "romantic" and era_from_dates(1685, 1750) == "baroque"
    assert key_words("bb major") == "B-flat major" and key_words("f# minor") == "F-sharp minor"


def test_cli_dataset_build(tmp_path):
    out = tmp_path / "cli.jsonl"
    res = CliRunner().invoke(cli, [
        "dataset", "build", "--out", str(out), "--folder", str(FIX / "scores"),
        "--meta", str(FIX / "metadata.tsv"), "--folder-collection", "lieder",
        "--cache", str(tmp_path / "cache"), "--workers", "2", "--json"])
    assert res.exit_code == 3, res.output  # partial: the broken file failed, the rest was built
    summary = json.loads(res.output[res.output.index("{"):])
    assert summary["works"] == 2 and summary["failures"] == 1
    bad = CliRunner().invoke(cli, ["dataset", "build", "--out", str(out), "--meta", "x.tsv"])
    assert bad.exit_code == 1 and "--folder" in bad.output


def test_build_order_gives_each_collection_equal_time_not_equal_works():
    """Real music21 corpus works: small Essen tunes (one 250 kB file of 500+ tunes) against
    Beethoven movements (MusicXML files of 100 kB+). Every collection starts at once, and the
    tunes are not held back one per large movement: most of them come before the
    movements' tail."""
    from clamp_core.datasets.build import _cheap_first_fair

    tunes = [it for it in music21_items(["essen"]) if it.path.endswith("han1.abc")]
    movements = music21_items(["beethoven"])
    assert len(tunes) > 500 and len(movements) > 10
    order = _cheap_first_fair(movements + tunes)
    assert sorted(id(it) for it in order) == sorted(id(it) for it in movements + tunes)
    assert {it.collection for it in order[:2]} == {"essen", "beethoven"}
    last_movement = max(i for i, it in enumerate(order) if it.collection == "beethoven")
    tunes_before_tail = sum(it.collection == "essen" for it in order[:last_movement])
    assert tunes_before_tail == len(tunes)  # a tune costs ~1/500 of its file: all fit earlier
    beethoven = [it for it in order if it.collection == "beethoven"]
    assert [it.cost for it in beethoven] == sorted(it.cost for it in beethoven)


@pytest.mark.parametrize("collection, labels, word", [
    ("oneills", {"genre": "fiddle tune"}, ("fiddle", "irish")),  # no tune type known
    ("ryans", {"genre": "fiddle tune", "tune_type": "strathspey"}, ("fiddle",)),
    ("cre", {"tune_type": "reel"}, ("irish",)),
    ("nottingham", {"tune_type": "jig"}, ("folk",)),
    ("essen", {"genre": "romanze, ballade, lied",
               "region_detail": "europa, mitteleuropa, deutschland"}, ("folk song",)),
])
def test_every_traditional_tune_is_said_to_be_one(collection, labels, word):
    """A tune type or a ballad's region alone never says what kind of music the piece is; each
    piece of a folk collection gets a phrase that does, whichever random choices are drawn."""
    for n in range(12):
        lab = {"collection": collection, "mode": "major", **labels}
        info = WorkInfo(id=f"{collection}-{n}", collection=collection, title=f"Tune {n}",
                        labels=lab, region_detail=labels.get("region_detail"))
        texts = [t.lower() for t in build_texts(info)]
        assert all(any(w in t for t in texts) for w in word), texts


def test_an_essen_songs_folk_phrase_names_its_place():
    """A bare "a folk song" would be the positive of every Essen song in a batch and pull them
    all one way; with a known place the phrase says where the song is from."""
    for n in range(24):
        lab = {"collection": "essen", "mode": "minor", "genre": "romanze, ballade, lied",
               "region_detail": "europa, mitteleuropa, deutschland"}
        info = WorkInfo(id=f"essen-{n}", collection="essen", title=f"Lied {n}", labels=lab,
                        region_detail=lab["region_detail"])
        folk = [t for t in build_texts(info) if "folk song" in t.lower()]
        assert folk and all("Germany" in t for t in folk), folk
