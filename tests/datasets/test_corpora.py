"""Public corpora read from a local clone: what each file says about itself, and the labels and
texts a build writes from it (real Humdrum files from the Polish corpus, tests/fixtures)."""

from pathlib import Path

import pytest

from clamp_core.datasets.build import build_dataset
from clamp_core.datasets.corpora import (
    CORPORA,
    composer_dates,
    composer_name,
    corpus_items,
    cre_title,
    humdrum_row,
    nottingham_items,
)
from clamp_core.datasets.records import load_records
from clamp_core.errors import ClampError

POLISH = Path(__file__).parent.parent / "fixtures" / "corpora" / "polish"


def test_humdrum_reference_records_give_the_row():
    items = corpus_items(f"polish={POLISH}")
    rows = {Path(it.path).name.split("_")[1]: it.extra["row"] for it in items}
    mass = rows["zieleniewicz-mathias--msza-2ga-benedictus.krn"]
    assert mass["title"] == "Benedictus" and mass["composer"] == "Mathias Zieleniewicz"
    assert mass["genre"] == "mass" and mass["sacred"] == "yes"
    assert mass["instruments"] == "1 alto 1 bass 1 soprn 1 tenor"
    assert rows["anonim--mazurek.krn"]["genre"] == "mazurka"
    assert all(it.id.startswith("polish/") and it.collection == "polish" for it in items)


def test_reference_value_parsing():
    assert composer_name("Chopin, Fryderyk") == "Fryderyk Chopin"
    assert composer_name("Howie") == "Howie"
    assert composer_dates("~1520-~1560") == (1520, 1560)
    assert composer_dates("1810/03/01/-1849/10/17/") == (1810, 1849)
    assert composer_dates("") == (None, None)
    assert humdrum_row({"AGN": "Secular; Polonaise", "OTL": "Polonez"})["genre"] == "polonaise"


def test_cre_names_give_title_and_tune_type():
    assert cre_title("AchonryLassesreelThe") == ("The Achonry Lasses", "reel")
    assert cre_title("ATripToGalway") == ("A Trip To Galway", None)
    assert cre_title("Kesh2jig")[1] == "jig"


def test_nottingham_books_give_tune_types(tmp_path):
    folder = tmp_path / "ABC_cleaned"
    folder.mkdir()
    tune = "X: {n}\nT:Tune {n}\nM:6/8\nL:1/8\nK:G\nGAB cBA|G3 G3:|\n\n"
    (folder / "jigs.abc").write_text(tune.format(n=1) + tune.format(n=2))
    (folder / "ashover.abc").write_text(tune.format(n=7))
    items = nottingham_items(tmp_path)
    assert [(it.tune, it.extra["row"].get("tune_type")) for it in items] == [
        (7, None), (1, "jig"), (2, "jig")]


def test_unknown_corpus_and_missing_clone_are_one_line_errors(tmp_path):
    with pytest.raises(ClampError, match="NAME=PATH"):
        corpus_items(f"nosuch={tmp_path}")
    for name in CORPORA:
        with pytest.raises(ClampError) as e:
            corpus_items(f"{name}={tmp_path / 'absent'}")
        assert "\n" not in str(e.value)


def test_build_labels_and_texts_from_the_score(tmp_path):
    items = corpus_items(f"polish={POLISH}")
    summary = build_dataset(items, tmp_path / "d.jsonl", cache_dir=tmp_path / "cache",
                            workers=1, progress=False, test_groups=None)
    assert summary["works"] == 2, summary
    recs = {r["id"].rsplit("_", 1)[1]: r for r in load_records(tmp_path / "d.jsonl")}
    kyrie, mazurek = recs["zieleniewicz-mathias--msza-2ga-benedictus"], recs["anonim--mazurek"]
    assert kyrie["labels"]["form"] == "mass"
    assert kyrie["labels"]["ensemble_class"] == "choir"  # soprano, alto, tenor, bass
    assert kyrie["labels"]["texture"] == "polyphonic"
    assert kyrie["labels"]["composer"] == "mathias zieleniewicz"
    assert mazurek["labels"]["form"] == "mazurka"
    assert "composer" not in mazurek["labels"]  # "Anonim" is no composer
    assert not any("Anonim" in t for t in mazurek["texts"])
    assert mazurek["labels"]["metre_family"] == "triple"
    # movements of one source stay in one group; the two sources differ
    assert kyrie["group"] != mazurek["group"] and kyrie["group"].startswith("polish-")
    texts = " | ".join(kyrie["texts"])
    assert "mass" in texts and any(w in texts for w in ("choir", "choral", "voices"))


def test_data_card_names_every_source_its_licence_and_commit(tmp_path):
    from clamp_core.datasets.data_card import data_card, read_lock

    summary = {"works": 5, "splits": {"train": 4, "test": 1}, "failures": 1,
               "collections": {"polish": {"works": 3, "train": 3, "failures": 1},
                               "essen": {"works": 2, "train": 1, "test": 1}}}
    lock = tmp_path / "corpora.lock"
    lock.write_text("# comment\npolish\tpl-wnifc/humdrum-polish-scores\t" + "c" * 40 + "\t.\n")
    card = data_card(summary, read_lock(lock))
    polish = next(ln for ln in card.splitlines() if ln.startswith("| polish "))
    assert "CC BY 4.0" in polish and "c" * 12 in polish and "| 3 | 0 | 0 | 1 | 0 |" in polish
    essen = next(ln for ln in card.splitlines() if ln.startswith("| essen "))
    assert "UNCLEAR" in essen
    assert "OpenEWLD" in card  # the reserved evaluation sets are named
    cut = data_card(summary, None, {"polish": 1})  # a --cached-only cut: not reached, not failed
    assert "| 3 | 0 | 0 | 0 | 1 |" in cut and "0 recorded failures, 1 works not converted" in cut
    noted = data_card(summary, None, None, "The text side read a 4-work cut.").splitlines()
    assert noted[noted.index("The text side read a 4-work cut.") - 2].startswith("    clamp")


HYMNS = Path(__file__).parent.parent / "fixtures" / "corpora" / "hymns"


def test_open_hymnal_rows_and_rights(tmp_path):
    """Real Open Hymnal files (one Latin-1): title, composer and dates from %OHCOMPOSER, a
    hymnal named as the source is no composer; a file whose words or setting claim a copyright
    stays out."""
    from clamp_core.datasets.corpora import hymns_items, open_hymnal_row

    rows = {it.extra["row"]["title"]: it.extra["row"] for it in corpus_items(f"hymns={HYMNS}")}
    king = rows["A Child of The King"]
    assert (king["composer"], king["composer_born"], king["composer_died"]) == (
        "John Bunnell Sumner", "1838", "1918")
    assert king["genre"] == "hymn" and king["category"] == "justification"
    wonder = rows["A Great and Mighty Wonder"]
    assert "composer" not in wonder and wonder["category"] == "christmas"
    text = (HYMNS / "Complete/A_Child_of_The_King/A_Child_of_The_King-Binghamton.abc").read_text()
    claimed = text.replace("C: copyright: public domain.",
                           "C: copyright: music public domain. Words: Copyright 2009, A. Poet.")
    assert open_hymnal_row(claimed) is None
    assert open_hymnal_row(text.replace("public domain", "freely reproduced")) is None
    (tmp_path / "Complete").mkdir()
    (tmp_path / "Complete" / "claimed.abc").write_text(claimed)
    assert hymns_items(tmp_path) == []


def test_build_hymns_as_four_part_choir_music(tmp_path):
    summary = build_dataset(corpus_items(f"hymns={HYMNS}"), tmp_path / "d.jsonl",
                            cache_dir=tmp_path / "cache", workers=1, progress=False,
                            test_groups=None)
    assert summary["works"] == 2, summary
    recs = {r["labels"].get("composer"): r for r in load_records(tmp_path / "d.jsonl")}
    king = recs["john bunnell sumner"]
    assert king["labels"]["form"] == "hymn" and king["labels"]["ensemble_class"] == "choir"
    assert king["labels"]["era"] == "romantic" and king["labels"]["metre_family"] == "triple"
    assert any("hymn" in t for t in king["texts"])
    assert all("V:" in r["abc"] for r in recs.values())  # all four voices kept
