"""Passages: windows of bars of a model-ready ABC text, each a complete tune of its own."""

from __future__ import annotations

import pytest
from conftest import FIXTURES

from clamp_core import ClampError
from clamp_core.notation.convert import score_to_abc
from clamp_core.notation.passages import (
    cut_passages,
    excerpt,
    parse_bar_range,
    parse_tune,
    score_bar_numbers,
    windows,
)
from clamp_core.notation.patches import abc_to_patch_strings
from clamp_core.scores.load import load_score

SCORES = FIXTURES / "scores"


def _read(name: str):
    score = load_score(SCORES / name)
    return score_to_abc(score), score_bar_numbers(score.stream)


def test_windows_cover_every_bar_with_full_windows():
    assert windows(20, 8, 4) == [(0, 8), (4, 12), (8, 16), (12, 20)]
    assert windows(22, 8, 4) == [(0, 8), (4, 12), (8, 16), (12, 20), (14, 22)]
    assert windows(5, 8, 4) == [(0, 5)]
    assert windows(0, 8, 4) == []
    for n in range(1, 40):
        cut = windows(n, 6, 3)
        assert {b for lo, hi in cut for b in range(lo, hi)} == set(range(n))
        assert all(hi - lo == min(6, n) for lo, hi in cut)


def test_multi_voice_song_keeps_every_voice_and_the_header():
    abc, numbers = _read("lieder_6312216.mxl")
    tune = parse_tune(abc)
    assert len(tune.voices) >= 2
    assert numbers == list(range(1, len(numbers) + 1))
    assert all(len(bars) == len(numbers) for bars in tune.voices.values())
    passages = cut_passages(abc, 8, 4, numbers)
    assert passages[0].first == 1 and passages[-1].last == numbers[-1]
    header = [ln for ln in abc.split("\n") if ln.startswith(("%%score", "L:", "M:", "K:"))]
    for p in passages:
        assert p.last - p.first == 7
        lines = p.abc.split("\n")
        assert all(h in lines for h in header)
        # each voice: its V: line, then its 8 bars (the bar patches the model will see)
        bar_patches = [s for s in abc_to_patch_strings(p.abc) if not s[:2].endswith(":")
                       and not s.startswith("%%")]
        assert len(bar_patches) == 8 * len(tune.voices)


def test_pickup_bar_is_numbered_as_the_score_numbers_it():
    abc, numbers = _read("handmade.mscx")
    assert numbers[0] == 0  # the anacrusis
    p = cut_passages(abc, 2, 2, numbers)
    assert (p[0].first, p[0].last) == (0, 1)
    assert (p[-1].first, p[-1].last) == (numbers[-2], numbers[-1])
    assert "G2 |" in p[0].abc  # the pickup's own music


def test_key_metre_and_length_changes_carry_into_later_windows():
    abc = ("L:1/8\nM:4/4\nK:D\nV:1\nDEFG ABcd | d4 A4 |\nK:Bb\nBcde f2 f2 | [M:3/4] B2 d2 f2 |"
           " g2 f2 e2 | d6 |]\n")
    p = cut_passages(abc, 2, 2)
    assert [(x.first, x.last) for x in p] == [(1, 2), (3, 4), (5, 6)]
    assert "K:Bb" not in p[0].abc
    assert "K:Bb" in p[1].abc and "M:3/4" not in p[1].abc.split("\n")
    assert "K:Bb" in p[2].abc and "M:3/4" in p[2].abc.split("\n")  # inline [M:] carried


def test_last_bar_without_barline_and_lyrics_lines():
    abc = "L:1/4\nM:2/4\nK:C\nC D | E F |\nw: do re mi fa\nG A | B c"
    tune = parse_tune(abc)
    assert [b.text.strip() for b in tune.voices[""]] == ["C D |", "E F |", "G A |", "B c |"]
    assert all("w:" not in p.abc for p in cut_passages(abc, 2, 1))


def test_multi_tune_abc_pickup_and_numbers_from_music21():
    abc, numbers = _read("two_tunes.abc")
    tune = parse_tune(abc)
    assert tune.n_bars == len(numbers)  # ABC bars as music21 counts them, pickup included
    (only,) = cut_passages(abc, 8, 4, numbers)
    assert (only.first, only.last) == (numbers[0], numbers[-1])


def test_excerpt_and_bar_ranges():
    abc, numbers = _read("lieder_6312216.mxl")
    p = excerpt(abc, 9, 16, numbers)
    assert (p.first, p.last) == (9, 16)
    same = [q for q in cut_passages(abc, 8, 4, numbers) if (q.first, q.last) == (9, 16)]
    assert same and same[0].abc == p.abc  # the query of --bars 9-16 is the stored passage
    assert excerpt(abc, numbers[-1] - 1, numbers[-1] + 50, numbers).last == numbers[-1]
    with pytest.raises(ClampError, match="not in this score"):
        excerpt(abc, 500, 508, numbers)
    assert parse_bar_range("9-16") == (9, 16)
    assert parse_bar_range(" 12 ") == (12, 12)
    for bad in ("16-9", "nine", "", "9-"):
        with pytest.raises(ClampError, match="FIRST-LAST|e.g."):
            parse_bar_range(bad)
