"""The plain-notes view used for annotation dropout: a song's MusicXML, made plain, has the
notes MuseScore 4's cursor walk sends for it."""

from __future__ import annotations

import json
import re

import numpy as np
from bridge_util import CURSOR, SCORES

from clamp_core.notation.convert import score_to_abc
from clamp_core.notation.variants import plain_abc, rebeam_abc
from clamp_core.scores.load import load_score
from clamp_core.training.contrastive import PairBatcher
from musescore_bridge.cursor_json import cursor_json_to_stream


def test_rebeaming_drops_spaces_of_music_lines_only():
    abc = "V:1 treble nm=\"Voice one\"\nC2 C F G A | B2 A G2 F |\n"
    dropped = [rebeam_abc(abc, np.random.default_rng(s)) for s in range(50)]
    assert all(d.startswith("V:1 treble nm=\"Voice one\"\n") for d in dropped)
    assert all(d.replace(" ", "") == abc.replace(" ", "") for d in dropped)
    spaces = [d.split("\n")[1].count(" ") for d in dropped]
    assert 0 < min(spaces) < max(spaces) < abc.split("\n")[1].count(" ")
    assert rebeam_abc(abc, np.random.default_rng(0), drop=0.0) == abc


def test_marks_go_and_notes_tuplets_and_headers_stay():
    abc = 'X:1\nT:Da "Capo" (1)\nK:G\n"^Lento" (3ABc (de) !p! "Am" {/g}a2 !fermata!g |]\n'
    assert plain_abc(abc) == 'X:1\nT:Da "Capo" (1)\nK:G\n (3ABc de   a2 g |]\n'


def _voice_bodies(abc: str) -> dict[str, str]:
    """Music of each voice, spaces removed (beaming is not what the plain view is about)."""
    out: dict[str, str] = {}
    voice = None
    for line in abc.split("\n"):
        if re.match(r"V:\S+$", line):
            voice = line
        elif voice and line and not re.match(r"[A-Za-z]:|%%", line):
            out[voice] = out.get(voice, "") + line.replace(" ", "")
    return out


def test_plain_musicxml_matches_the_cursor_walk():
    written = score_to_abc(load_score(SCORES / "lieder_6053984.mxl"))
    walk = json.loads((CURSOR / "lieder_6053984_cursor.json").read_text(encoding="utf-8"))
    walked = _voice_bodies(score_to_abc(load_score(cursor_json_to_stream(walk))))
    plain = _voice_bodies(plain_abc(written))
    assert _voice_bodies(written)["V:1"] != walked["V:1"]  # dynamics, grace notes, tempo text
    for voice in ("V:1", "V:2", "V:4"):  # voice 3 differs only in a trailing rest
        assert plain[voice] == walked[voice], voice


def test_training_sees_the_plain_view_at_the_asked_rate():
    written, plain = np.zeros((3, 64), np.uint8), np.ones((3, 64), np.uint8)
    rebeamed = np.full((3, 64), 2, np.uint8)
    for prob in (0.0, 0.3, 1.0):
        batcher = PairBatcher(None, [written], [["a text"]], variants=[[plain], [rebeamed]],
                              variant_prob=prob)
        seen = np.array([batcher._training_view(0, np.random.default_rng([0, e, 0]))[0, 0]
                         for e in range(600)])
        assert abs(np.mean(seen > 0) - prob) < 0.06
        assert abs(np.mean(seen == 1) - prob / 2) < 0.06


def test_paired_views_cut_both_writings_at_one_window():
    written = np.repeat(np.arange(40, dtype=np.uint8)[:, None], 64, axis=1)  # row r holds r
    variant = written + 50
    batcher = PairBatcher(None, [written], [["a text"]], variants=[[variant]], variant_prob=0.5,
                          paired=True)
    variant_first, starts = [], set()
    for e in range(200):
        main, other = batcher._paired_views(0, np.random.default_rng([0, e, 0]), 16)
        assert main.shape == other.shape == (16, 64)
        rows = np.minimum(main, other)[:, 0]
        assert np.array_equal(rows, np.arange(rows[0], rows[0] + 16))  # one window, both writings
        assert np.array_equal(np.abs(main.astype(int) - other), np.full((16, 64), 50))
        variant_first.append(bool(main[0, 0] >= 50))
        starts.add(int(rows[0]))
    assert 0.35 < np.mean(variant_first) < 0.65 and len(starts) > 10
