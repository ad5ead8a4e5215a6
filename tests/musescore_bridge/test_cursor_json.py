"""Cursor-walk JSON (written by the plugin in real MuseScore 3.2.3) -> music21 -> ABC, checked
against the same Lieder songs read from MusicXML."""

from __future__ import annotations

import copy
import json

import pytest
from bridge_util import CURSOR, SCORES

from clamp_core.errors import ClampError
from clamp_core.notation.convert import score_to_abc
from clamp_core.scores.load import load_score
from musescore_bridge.cursor_json import cursor_json_to_stream, spell


def walk(name: str) -> dict:
    return json.loads((CURSOR / name).read_text(encoding="utf-8"))


@pytest.mark.parametrize("walk_name,mxl", [
    ("lieder_6053984_cursor.json", "lieder_6053984.mxl"),
    ("lieder_5071622_cursor.json", "lieder_5071622.mxl"),
])
def test_walk_reads_like_the_musicxml(walk_name, mxl):
    ours = load_score(cursor_json_to_stream(walk(walk_name)))
    ref = load_score(SCORES / mxl)
    for field in ("title", "composer", "key", "meter", "n_bars", "parts", "tempo"):
        assert getattr(ours.meta, field) == getattr(ref.meta, field), field
    assert len(ours.stream.parts) == len(ref.stream.parts)
    abc = score_to_abc(ours)
    assert abc.count("V:") == score_to_abc(ref).count("V:")
    assert "bass" in abc  # the piano's left hand got a bass clef from its range


def test_first_song_has_the_musicxml_notes_except_grace_notes():
    ours = load_score(cursor_json_to_stream(walk("lieder_6053984_cursor.json")))
    ref = load_score(SCORES / "lieder_6053984.mxl")
    ref_parts = [[x.midi for n in p.recurse().notes if not n.duration.isGrace for x in n.pitches]
                 for p in ref.stream.parts]
    our_parts = [[x.midi for n in p.recurse().notes for x in n.pitches] for p in ours.stream.parts]
    assert [sorted(p) for p in our_parts] == [sorted(p) for p in ref_parts]
    abc = score_to_abc(ours)
    assert "K:F" in abc and "M:6/8" in abc and "Q:1/4=110" in abc
    assert " C2 C FGA | B2 A G2 F |" in abc


def test_walk_encodes_close_to_the_musicxml():
    from bridge_util import shared_clamp

    clamp = shared_clamp()
    ours = load_score(cursor_json_to_stream(walk("lieder_6053984_cursor.json")))
    feats = clamp.encode_scores([ours, SCORES / "lieder_6053984.mxl",
                                 SCORES / "lieder_5071622.mxl"])
    same, other = float(feats[0] @ feats[1]), float(feats[0] @ feats[2])
    assert same > 0.9 and same > other


@pytest.mark.parametrize("tpc,midi,name", [
    (14, 60, "C4"), (13, 65, "F4"), (12, 70, "B-4"), (20, 66, "F#4"), (21, 61, "C#4"),
    (7, 59, "C-4"), (8, 66, "G-4"), (26, 60, "B#3"), (-1, 63, "F--4"), (33, 61, "B##3"),
    (None, 61, "C#4"),
])
def test_spelling_from_tonal_pitch_class(tpc, midi, name):
    p = spell(midi, tpc)
    assert p.nameWithOctave == name and p.midi == midi


def test_triplets_are_cut_at_the_next_onset_and_ties_join():
    data = {"format": "clamp-cursor-walk", "version": 1, "division": 480,
            "measures": [{"tick": 0, "ticks": 1920, "time_signature": [4, 4]},
                         {"tick": 1920, "ticks": 1920, "time_signature": [4, 4]}],
            "parts": [{"name": "Flute", "staves": [{"keys": [{"tick": 0, "fifths": 2}], "chords": [
                # three written eighths in the time of two (MuseScore 3.2 sends written values)
                {"tick": 0, "ticks": 240, "notes": [{"pitch": 74, "tpc": 16}]},
                {"tick": 160, "ticks": 240, "notes": [{"pitch": 76, "tpc": 18}]},
                {"tick": 320, "ticks": 240, "notes": [{"pitch": 78, "tpc": 20}]},
                {"tick": 480, "ticks": 1440, "notes": [{"pitch": 79, "tpc": 15}]},
                {"tick": 1920, "ticks": 960, "notes": [{"pitch": 79, "tpc": 15, "tie_back": True}]},
            ]}]}]}
    sc = cursor_json_to_stream(data)
    notes = list(sc.parts[0].recurse().notes)
    assert [float(n.quarterLength) for n in notes[:3]] == pytest.approx([1 / 3] * 3)
    assert notes[3].tie.type == "start" and notes[4].tie.type == "stop"
    rests = list(sc.parts[0].recurse().getElementsByClass("Rest"))
    assert len(rests) == 1 and rests[0].quarterLength == 2  # the gap after the tied note
    abc = score_to_abc(load_score(sc))
    assert "K:D" in abc and "(3" in abc and "-" in abc


@pytest.mark.parametrize("mutate,needle", [
    (lambda d: d.update(format="musicxml"), "'format'"),
    (lambda d: d.update(version=2), "version 2"),
    (lambda d: d.update(measures=[]), "no measures"),
    (lambda d: d["measures"][0].update(time_signature=[3, 5]), "time_signature"),
    (lambda d: d["measures"][1].update(tick=0), "starts before"),
    (lambda d: d["parts"][0]["staves"][0]["chords"][0].update(tick=-5), "'tick'"),
    (lambda d: d["parts"][0]["staves"][0]["chords"][0]["notes"][0].update(pitch=300), "'pitch'"),
    (lambda d: d["parts"][0]["staves"][0]["chords"][0].update(voice=7), "'voice'"),
    (lambda d: d.update(title=["x"]), "'title'"),
    (lambda d: d.update(tempo_bpm="fast"), "tempo_bpm"),
    (lambda d: d.update(parts="x"), "'parts'"),
    (lambda d: d["parts"].__setitem__(0, 5), "object"),
])
def test_malformed_walks_are_one_line_errors(mutate, needle):
    data = copy.deepcopy(walk("lieder_6053984_cursor.json"))
    mutate(data)
    with pytest.raises(ClampError, match="cursor-walk JSON") as err:
        cursor_json_to_stream(data)
    assert needle in str(err.value) and "\n" not in str(err.value)


def test_walk_without_notes_is_refused_by_the_loader():
    data = copy.deepcopy(walk("lieder_6053984_cursor.json"))
    for part in data["parts"]:
        for staff in part["staves"]:
            staff["chords"] = []
    with pytest.raises(ClampError, match="no notes"):
        load_score(cursor_json_to_stream(data))
