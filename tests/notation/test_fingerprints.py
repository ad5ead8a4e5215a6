"""Note fingerprints of bars: the same notes written differently agree, other notes do not."""

from __future__ import annotations

from fractions import Fraction

from conftest import FIXTURES

from clamp_core.notation import bar_prints, parse_tune, shared_bars
from clamp_core.notation.convert import score_to_abc
from clamp_core.notation.fingerprints import bar_tokens
from clamp_core.notation.passages import cut_passages, excerpt, score_bar_numbers
from clamp_core.notation.transpose import transpose_abc_steps
from clamp_core.notation.variants import plain_abc
from clamp_core.scores.load import load_score

SONG = FIXTURES / "scores" / "lieder_6312216.mxl"  # 48 bars, voice and piano


def _prints(abc: str) -> list[str]:
    return bar_prints(parse_tune(abc))


def test_same_notes_written_differently_agree():
    a = ("L:1/8\nM:4/4\nK:G\nV:1\n!p! (c2 d2) \"^dolce\" {/e}e>f g2 | [CEG]4 z4 |\n"
         "V:2\nC,8 | G,,8 |\n")
    # another unit length, voices in the other order, beamed, chord notes reordered, no marks
    b = ("L:1/4\nM:4/4\nK:G\nV:2\nC,4 | G,,4 |\nV:1\ncd e/>f/g | [GCE]2 z2 |\n")
    assert _prints(a) == _prints(b)
    assert all(_prints(a))


def test_other_notes_lengths_or_rhythms_differ():
    base = _prints("L:1/8\nK:C\ncdef gabc' |\n")[0]
    assert _prints("L:1/8\nK:C\ncdef gab^c' |\n")[0] != base      # a pitch
    assert _prints("L:1/8\nK:C\ncdef gab2 |\n")[0] != base        # a length
    assert _prints("L:1/8\nK:C\n(3cde f gabc' |\n")[0] != base    # a tuplet
    assert _prints("L:1/8\nK:C\nz8 | x8 |\n") == ["", ""]         # rests only: no print


def test_bar_tokens_apply_the_unit_length():
    assert bar_tokens("c2 d/ [CE]3/2", Fraction(1, 8)) == ["c1/4", "d1/16", "C3/16", "E3/16"]
    assert bar_tokens("c2 d/ [CE]3/2", Fraction(1, 4)) == ["c1/2", "d1/8", "C3/8", "E3/8"]


def test_a_real_song_keeps_its_prints_in_the_plain_view_and_loses_them_transposed():
    score = load_score(SONG)
    abc = score_to_abc(score)
    written = _prints(abc)
    assert len(written) == 48 and sum(1 for p in written if p) >= 40
    assert _prints(plain_abc(abc)) == written  # what MuseScore 4's cursor walk leaves
    moved, _ = transpose_abc_steps(abc, 2)
    assert sum(a == b for a, b in zip(_prints(moved), written, strict=True) if a) <= 2


def test_shared_bars_lays_the_query_over_the_passage():
    score = load_score(SONG)
    abc, numbers = score_to_abc(score), score_bar_numbers(score.stream)
    cut = excerpt(abc, 19, 23, numbers)  # 5 bars
    windows = {p.first: p for p in cut_passages(abc, 8, 2, numbers)}
    assert shared_bars(cut.prints, windows[17].prints) == 1.0   # bars 17-24 hold 19-23
    assert shared_bars(cut.prints, windows[21].prints) == 0.6   # bars 21-28 hold 21-23
    assert shared_bars(cut.prints, windows[1].prints) < 0.6
    assert shared_bars(["", ""], windows[17].prints) == 0.0
    assert shared_bars(cut.prints, []) == 0.0


def test_musescore_4_cursor_walk_holds_the_same_notes_as_the_musicxml():
    """A real recording of the plugin's cursor walk (MuseScore 4) and the song's MusicXML,
    each written by our ABC writer: nearly every bar has the same fingerprint."""
    import json

    from musescore_bridge.cursor_json import cursor_json_to_stream

    for song in ("5071622", "6053984"):
        walk = json.loads((FIXTURES / "musescore" / f"lieder_{song}_cursor.json").read_text())
        walked = _prints(score_to_abc(load_score(cursor_json_to_stream(walk))))
        written = _prints(score_to_abc(load_score(FIXTURES / "scores" / f"lieder_{song}.mxl")))
        assert len(walked) == len(written)
        same = sum(1 for a, b in zip(walked, written, strict=True) if a and a == b)
        assert same >= 0.9 * len(written), (song, same, len(written))
