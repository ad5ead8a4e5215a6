"""Search filters on the facts an index stores (--where): parsing with one-line errors, each
field's matching on facts read from real scores, and filtered search over a real index."""

import shutil

import pytest
from conftest import FIXTURES

from clamp_core import Clamp, ClampError
from clamp_core.index import build_index
from clamp_core.index.filters import FIELDS, matches_all, parse_conditions
from clamp_core.scores.load import load_score

SCORES = FIXTURES / "scores"


@pytest.fixture(scope="module")
def facts():
    """Title -> stored facts (ScoreMeta.to_dict) of real fixture scores."""
    out = {}
    for name in ("lieder_5071622.mxl", "lieder_6181050.mxl", "little_tune.krn", "handmade.mscx"):
        meta = load_score(SCORES / name).meta
        out[name] = meta.to_dict()
    return out


def _passing(facts, *specs):
    conds = parse_conditions(list(specs))
    return sorted(n for n, m in facts.items() if matches_all(conds, m))


def test_each_field_matches_what_the_score_says(facts):
    # Brahms, Der Überläufer: voice and piano, 2/4, F# minor, 38 bars, Andante con moto, words
    assert _passing(facts, "composer=brahms") == ["lieder_5071622.mxl"]
    assert _passing(facts, "composer=Brähms") == ["lieder_5071622.mxl"]  # accents folded
    assert _passing(facts, "key=F# minor") == ["lieder_5071622.mxl"]
    assert _passing(facts, "key=minor") == ["lieder_5071622.mxl", "lieder_6181050.mxl"]
    assert _passing(facts, "metre=3/4") == ["handmade.mscx", "little_tune.krn"]
    assert _passing(facts, "metre=triple") == ["handmade.mscx", "little_tune.krn"]
    assert _passing(facts, "ensemble=voice and piano") == ["lieder_5071622.mxl"]
    assert "lieder_6181050.mxl" in _passing(facts, "ensemble=piano")  # a part name
    assert _passing(facts, "lyrics=yes") == ["lieder_5071622.mxl", "lieder_6181050.mxl"]
    assert _passing(facts, "bars>30", "lyrics=yes") == ["lieder_5071622.mxl",
                                                         "lieder_6181050.mxl"]
    assert _passing(facts, "bars<=5") == ["handmade.mscx", "little_tune.krn"]
    assert _passing(facts, "tempo=andante") == ["lieder_5071622.mxl"]
    assert _passing(facts, "composer!=brahms", "lyrics=yes") == ["lieder_6181050.mxl"]
    assert _passing(facts, "chords=yes") == []


def test_a_fact_the_score_does_not_state_never_matches(facts):
    no_tempo = [n for n, m in facts.items() if not m["tempo"]]
    assert no_tempo and not set(no_tempo) & set(_passing(facts, "tempo>10"))
    old_index_entry = {k: v for k, v in facts["lieder_5071622.mxl"].items()
                       if k not in ("has_lyrics", "has_chord_symbols")}
    assert not matches_all(parse_conditions(["lyrics=yes"]), old_index_entry)
    assert not matches_all(parse_conditions(["lyrics=no"]), old_index_entry)


@pytest.mark.parametrize("spec,says", [
    ("colour=red", "no field 'colour'"), ("composer", "not FIELD=VALUE"),
    ("bars<=many", "needs a number"), ("composer>Bach", "takes = or !="),
    ("lyrics=maybe", "yes or no")])
def test_bad_filters_say_what_is_wrong_in_one_line(spec, says):
    with pytest.raises(ClampError) as e:
        parse_conditions([spec])
    assert says in str(e.value) and "\n" not in str(e.value)
    if "field" in says:
        assert all(f in str(e.value) for f in FIELDS)


def test_filtered_search_and_similar_over_a_real_index(tmp_path):
    clamp = Clamp.load("default", backend="onnx")
    lib = tmp_path / "lib"
    shutil.copytree(SCORES, lib, ignore=shutil.ignore_patterns("*.md"))
    build_index(lib, tmp_path / "idx", clamp, progress=False)
    everything = clamp.search("a song", tmp_path / "idx", k=50)
    assert len(everything) >= 8
    songs = clamp.search("a song", tmp_path / "idx", k=50, where={"ensemble": "voice and piano"})
    assert songs and all(h.meta["has_lyrics"] for h in songs)
    assert len(songs) < len(everything)
    assert [h.score for h in songs] == sorted((h.score for h in songs), reverse=True)
    short = clamp.similar(SCORES / "lieder_5071622.mxl", tmp_path / "idx", k=50,
                          where=["bars<=8", "metre=6/8"])
    assert short and all(h.meta["n_bars"] <= 8 and h.meta["meter"] == "6/8" for h in short)
    assert clamp.search("a song", tmp_path / "idx", where=["composer=nobody"]) == []
