"""The direct MusicXML reader (clamp_core.musicxml) gives what music21's route gives.

The oracle is the route every other format takes: ``load_score`` (music21's importer) then
``score_to_abc`` and the score's facts. Every score the direct reader takes must come out with
the same ABC, byte for byte, the same facts and the same bar numbers; scores it does not cover
must be left to music21 (and still index).
"""

from __future__ import annotations

from pathlib import Path

import pytest

music21 = pytest.importorskip("music21")

from clamp_core.errors import ClampError  # noqa: E402  (after the importorskip)
from clamp_core.index.scan import parse_file  # noqa: E402  (after the importorskip)
from clamp_core.musicxml import (  # noqa: E402  (after the importorskip)
    READER_ENV,
    Unsupported,
    read_direct,
    read_file_direct,
)
from clamp_core.musicxml.notes import inferred_tuplet  # noqa: E402  (after the importorskip)
from clamp_core.notation.convert import score_to_abc  # noqa: E402  (after the importorskip)
from clamp_core.notation.events import _tuplet_info  # noqa: E402  (after the importorskip)
from clamp_core.notation.passages import score_bar_numbers  # noqa: E402  (after the importorskip)
from clamp_core.scores.load import load_score  # noqa: E402  (after the importorskip)

FIXTURES = Path(__file__).parents[1] / "fixtures"
HANDWRITTEN = sorted((FIXTURES / "musicxml").glob("*.musicxml"))
LIEDER = sorted((FIXTURES / "scores").glob("lieder_*.mxl"))
# music21's own corpus (installed with it): chorales, orchestral parts, trecento, exercises
CORPUS = ["bach/bwv248.42-4.mxl", "bach/bwv295.mxl", "demos/multiple-verses.xml",
          "theoryExercises/checker_demo.mxl", "trecento/PMFC_13_02-Kyrie-Questa-fanciulla.mxl",
          "trecento/PMFC_04-Cara mi donna.xml"]  # the last has an octave-transposing part


def _format(path: Path) -> str:
    return "mxl" if path.suffix == ".mxl" else "musicxml"


def _music21_route(path: Path) -> tuple[str, dict, list[int]]:
    score = load_score(path)
    return score_to_abc(score), score.meta.to_dict(), score_bar_numbers(score.stream)


def _assert_same(path: Path) -> None:
    direct = read_direct(path.read_bytes(), str(path), _format(path))
    abc, meta, bars = _music21_route(path)
    assert direct.abc == abc
    assert direct.meta.to_dict() == meta
    assert direct.bar_numbers == bars


@pytest.mark.parametrize("path", LIEDER, ids=lambda p: p.name)
def test_lieder_read_directly_equal_music21s_route(path):
    _assert_same(path)


@pytest.mark.parametrize("name", ["features.musicxml", "piano.musicxml"])
def test_handwritten_features_read_directly_equal_music21s_route(name):
    _assert_same(FIXTURES / "musicxml" / name)


@pytest.mark.parametrize("name", CORPUS)
def test_music21_corpus_scores_read_directly_equal_music21s_route(name):
    _assert_same(Path(music21.__file__).parent / "corpus" / name)


def test_a_transposing_part_is_written_with_its_transposition():
    path = Path(music21.__file__).parent / "corpus" / "trecento" / "PMFC_04-Cara mi donna.xml"
    abc = read_direct(path.read_bytes(), str(path), "musicxml").abc
    assert "transpose=-12" in abc


def test_features_fixture_exercises_what_it_claims():
    """The handwritten score really holds the hard cases (else the test above proves less)."""
    abc = read_direct((FIXTURES / "musicxml" / "features.musicxml").read_bytes(), "f",
                      "musicxml").abc
    for piece in ("(3", "{f}", "Te2", "[c-e]", "|:", "|1", ":|2", "[K:C]", "[M:2/4]",
                  "[Q:1/4=72]", "Q:3/8=60", '"_dolce"', "V:2", "z6"):
        assert piece in abc


def test_chord_symbols_are_left_to_music21_and_still_indexed():
    path = FIXTURES / "musicxml" / "lead_sheet.musicxml"
    with pytest.raises(Unsupported):
        read_direct(path.read_bytes(), str(path), "musicxml")
    assert read_file_direct(path, str(path)) is None
    item = parse_file(str(path), "lead_sheet.musicxml")[0]
    assert item["status"] == "ok"
    assert item["abc"] == _music21_route(path)[0]
    assert '"Am7"' in item["abc"]


def test_index_reads_musicxml_directly_with_the_same_result(monkeypatch):
    path = LIEDER[0]
    direct = parse_file(str(path), path.name)[0]
    monkeypatch.setenv(READER_ENV, "music21")
    assert read_file_direct(path, str(path)) is None
    through_music21 = parse_file(str(path), path.name)[0]
    assert direct == through_music21


def test_damaged_files_get_the_same_error_as_music21s_route(tmp_path):
    broken = FIXTURES / "dataset" / "scores" / "broken.mxl"
    with pytest.raises(ClampError) as direct:
        read_direct(broken.read_bytes(), str(broken), "mxl")
    with pytest.raises(ClampError) as m21:
        load_score(broken)
    assert str(direct.value) == str(m21.value)
    bomb = tmp_path / "entities.musicxml"
    bomb.write_text('<?xml version="1.0"?><!DOCTYPE s [<!ENTITY a "aaaa">]>'
                    "<score-partwise><part-list/></score-partwise>")
    with pytest.raises(ClampError) as direct:
        read_direct(bomb.read_bytes(), str(bomb), "musicxml")
    with pytest.raises(ClampError) as m21:
        load_score(bomb)
    assert str(direct.value) == str(m21.value)


@pytest.mark.parametrize("ql", [1, 0.5, 1.5, 0.75, 1 / 3, 2 / 3, 0.2, 1 / 6, 4 / 7, 2.5, 5 / 12])
def test_tuplets_worked_out_from_a_length_match_the_writers(ql):
    from fractions import Fraction

    from music21 import note

    length = Fraction(ql).limit_denominator(64)
    assert inferred_tuplet(length) == _tuplet_info(note.Note(quarterLength=length))


def test_musicxml_the_direct_reader_trips_on_goes_to_music21(tmp_path):
    odd = tmp_path / "odd.musicxml"
    text = (FIXTURES / "musicxml" / "piano.musicxml").read_text()
    odd.write_text(text.replace("<duration>8</duration>", "<duration>eight</duration>", 1))
    assert read_file_direct(odd, str(odd)) is None
    item = parse_file(str(odd), "odd.musicxml")[0]
    with pytest.raises(ClampError) as m21:
        load_score(odd)
    assert item == {"id": "odd.musicxml", "tune": None, "status": "failed",
                    "error": str(m21.value)}
