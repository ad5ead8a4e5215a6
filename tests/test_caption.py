"""Captions and label sets on real fixture scores with a tiny real model."""

import json

import pytest
from conftest import FIXTURES

from clamp_core import Clamp, ClampError
from clamp_core.caption import TUNE_GENRES, ensemble_phrase, tempo_word
from clamp_core.labels import builtin_names, load_label_set


@pytest.fixture(scope="module")
def clamp(tmp_path_factory):
    from clamp_core.model.checkpoint import create_model, save_model
    from clamp_core.model.config import preset

    folder = tmp_path_factory.mktemp("m") / "tiny"
    save_model(create_model(preset("tiny"), seed=0), folder)
    return Clamp.load(str(folder), precision="fp32")


def test_builtin_label_sets_are_valid():
    names = builtin_names()
    assert {"tune_types", "genres", "eras", "moods", "ensembles", "composers"} <= set(names)
    for n in names:
        ls = load_label_set(n)
        assert len(ls.labels) >= 2 and all("{}" in t for t in ls.templates)


def test_user_label_set_file_and_errors(tmp_path):
    f = tmp_path / "mine.json"
    f.write_text(json.dumps({"labels": ["happy", "sad"], "templates": ["a {} song"]}))
    ls = load_label_set(str(f))
    assert ls.labels == ("happy", "sad") and ls.name == "mine"
    with pytest.raises(ClampError, match="unknown label set"):
        load_label_set("no-such-set")
    f.write_text(json.dumps({"labels": ["a", "b"], "templates": ["no slot"]}))
    with pytest.raises(ClampError, match="no '{}'"):
        load_label_set(str(f))
    f.write_text("{not json")
    with pytest.raises(ClampError, match="not a readable JSON"):
        load_label_set(str(f))
    f.write_text(json.dumps({"labels": ["jig", "reel"],
                             "prompts": {"jig": ["a lively tune in 6/8"]}}))
    assert load_label_set(str(f)).prompts == {"jig": ("a lively tune in 6/8",)}
    f.write_text(json.dumps({"labels": ["jig", "reel"], "prompts": {"waltz": ["in 3/4"]}}))
    with pytest.raises(ClampError, match="'waltz', which is not one of the labels"):
        load_label_set(str(f))
    f.write_text(json.dumps({"labels": ["jig", "reel"], "prompts": {"jig": "in 6/8"}}))
    with pytest.raises(ClampError, match="maps a label to a list"):
        load_label_set(str(f))


def test_composers_are_also_named_with_dates_and_era():
    ls = load_label_set("composers")
    assert set(ls.prompts) == set(ls.labels)
    assert "by Johann Sebastian Bach (1685-1750)" in ls.prompts["Johann Sebastian Bach"]
    assert all("?" not in t for texts in ls.prompts.values() for t in texts)


def test_fact_helpers():
    assert [tempo_word(b) for b in (50, 70, 100, 120, 150, 200, None)] == [
        "very slow", "slow", "moderate", "lively", "fast", "very fast", None]
    assert ensemble_phrase(["Singstimme Voice", "Pianoforte"]) == "voice and piano"
    assert ensemble_phrase(["Soprano", "Alto", "Tenor", "Bass"]) == "four voices"
    assert ensemble_phrase(["Violin"]) == "solo Violin"
    assert ensemble_phrase(["Part 1"]) == ensemble_phrase([""]) == "a single melodic line"
    assert ensemble_phrase(["Violin I", "Violin II", "Viola", "Cello"]).startswith("four parts")


def test_caption_states_facts_from_the_score(clamp):
    cap = clamp.caption(FIXTURES / "scores" / "lieder_6053984.mxl")
    f = cap.facts
    assert ((f["key"], f["meter"], f["ensemble"], f["bars"])
            == ("F major", "6/8", "voice and piano", 8))
    assert f["range"] == "F2-F5"
    assert "An eine Blume" in cap.text and "F major" in cap.text and "voice and piano" in cap.text
    d = cap.to_dict()
    # the parts say what plays: the facts answer the ensemble, the model is not asked
    assert "ensembles" not in d["facets"]
    for facet in ("genres", "moods", "tune_types", "eras"):
        probs = [x["probability"] for x in d["facets"][facet]]
        assert len(probs) == 3 and probs == sorted(probs, reverse=True) and 0 < probs[0] <= 1
    # an uncalibrated model states no facet: it says it is unsure of each, in plain words
    assert d["stated"] == {} and set(d["unsure"]) == {"genres", "moods", "tune_types", "eras"}
    assert "The model is unsure of its genre, form, era and character." in cap.text
    assert d["sentence"] is None and d["novelty"]["out_of_domain"] is False
    json.dumps(d)  # serialisable for --json


def test_caption_articles_and_generic_parts():
    from clamp_core.caption import article, parts_name_ensemble

    assert [article(w) for w in ("air", "hornpipe", "Irish reel", "18th-century", "unison")] == [
        "an", "a", "an", "an", "a"]
    assert parts_name_ensemble(["Soprano", "Alto"]) and parts_name_ensemble(["Violin"])
    assert not parts_name_ensemble(["Part 1", "Staff 2", "P1", ""])
    assert not parts_name_ensemble([])


def test_classify_set_matches_classify_with_its_templates(clamp):
    path = FIXTURES / "scores" / "two_tunes.abc"
    ls = load_label_set("tune_types")
    assert clamp.classify_set(path, "tune_types") == clamp.classify(path, ls.labels, ls.templates)


def test_the_default_model_names_no_fiddle_dance_type_for_a_chorale():
    """The tune-type facet is calibrated on folk tunes: a Bach chorale it hears as a chorale
    (stated or, short of the genre threshold, only ranked first) gets no 'in the form of a
    march', while a strathspey keeps its dance type."""
    from music21 import corpus

    model = Clamp.load("default", precision="fp32")
    chorale = model.caption(str(corpus.getWork("bach/bwv1.6.mxl")))
    assert chorale.facets["genres"][0][0] == "chorale"
    assert "tune_types" not in chorale.facets and "form of" not in chorale.text
    strathspey = next(p for p in sorted(corpus.getComposer("ryansMammoth"))
                      if p.name == "42dHighlandRegimentStrathspey.abc")
    tune = model.caption(str(strathspey))
    assert tune.facets["genres"][0][0] in TUNE_GENRES
    assert tune.stated["tune_types"][0] == "strathspey" and "form of a strathspey" in tune.text
