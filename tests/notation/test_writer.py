"""Tests for the ABC writer (clamp_core.notation.writer) and the official header filter."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

music21 = pytest.importorskip("music21")
from music21 import (  # noqa: E402  (after the importorskip)
    bar,
    chord,
    clef,
    converter,
    duration,
    expressions,
    harmony,
    instrument,
    key,
    meter,
    note,
    spanner,
    stream,
    tempo,
)

from clamp_core.errors import ClampError  # noqa: E402  (after the importorskip)
from clamp_core.notation.writer import filter_abc_header, stream_to_abc  # noqa: E402  (after the importorskip)

sys.path.insert(0, str(Path(__file__).parents[1]))
from abc_roundtrip_util import compare, load_work, sample_works  # noqa: E402  (after the sys.path insert)

FIXTURES = Path(__file__).parents[1] / "fixtures" / "abc"


# ---------------------------------------------------------------- helpers


def N(name: str, ql: float = 1.0) -> note.Note:
    return note.Note(name, quarterLength=ql)


def R(ql: float = 1.0) -> note.Rest:
    return note.Rest(quarterLength=ql)


def make_part(*measures, ts: str | None = "4/4", ks=None, name: str | None = None,
              first_clef=None) -> stream.Part:
    part = stream.Part()
    if name:
        part.partName = name
    for i, items in enumerate(measures):
        m = stream.Measure(number=i + 1)
        if i == 0:
            if first_clef is not None:
                m.append(first_clef)
            if ts:
                m.append(meter.TimeSignature(ts))
            if ks is not None:
                m.append(ks)
        for item in items:
            m.append(item)
        part.append(m)
    return part


def body(abc: str) -> str:
    """The music lines of the first voice (after its `V:1` body line)."""
    lines = abc.split("\n")
    start = lines.index("V:1", lines.index("V:1") + 1) if lines.count("V:1") > 1 else \
        lines.index("V:1")
    out = []
    for line in lines[start + 1:]:
        if not line or line.startswith("V:"):
            break
        out.append(line)
    return "\n".join(out)


def notes_of(abc: str) -> list[list[tuple]]:
    parsed = converter.parse(abc, format="abc")
    return [[(n.nameWithOctave, float(n.quarterLength)) for n in p.flatten().notes
             if not isinstance(n, harmony.Harmony) and isinstance(n, note.Note)]
            for p in parsed.parts if p.flatten().notes]


# ---------------------------------------------------------------- golden examples


def test_full_output_shape():
    p = make_part([N("C4"), N("D4", 0.5), N("E4", 0.5), N("F4", 1.5), N("G4", 0.5)],
                  [R(2), N("C5"), N("C6", 0.5), N("C3", 0.5)], ks=key.Key("C"))
    assert stream_to_abc(p) == (
        "L:1/8\nM:4/4\nK:C\nV:1 treble \nV:1\n C2 DE F3 G | z4 c2 c'C, |\n\n\n")


def test_rests_dots_and_fractional_lengths():
    p = make_part([N("C4", 3.0), N("D4", 0.75), N("E4", 0.25)], [R(1.5), N("G4", 0.5), R(2)])
    assert body(stream_to_abc(p)) == " C6 D>E | z3 G z4 |"


def test_unit_length_quarter_when_shorter():
    p = make_part([N("C4"), N("D4"), N("E4"), N("F4")], [N("G4", 4)])
    abc = stream_to_abc(p)
    assert abc.startswith("L:1/4\n")
    assert body(abc) == " C D E F | G4 |"


def test_accidentals_follow_bar_rule_and_repeat():
    # In G: F# is implied; a natural must be written, and repeated for music21's reader.
    p = make_part([N("F#4"), N("F4"), N("F4"), N("B-4")], [N("F4"), N("F#4", 2), N("C#5")],
                  ks=key.Key("G"))
    assert body(stream_to_abc(p)) == " F =F =F _B | =F ^F2 ^c |"


def test_natural_restores_key_after_accidental():
    p = make_part([N("B-4"), N("B4"), N("B-4"), N("E-4")], ks=key.Key("F"))
    assert body(stream_to_abc(p)) == " B =B _B _E |"


def test_double_accidentals_and_octaves():
    p = make_part([N("C##4"), N("D--5"), N("E3"), N("G2")], [N("C7", 4)])
    assert body(stream_to_abc(p)) == " ^^C __d E, G,, | c''4 |"


@pytest.mark.parametrize("k,expected", [
    (key.Key("D", "mixolydian"), "K:Dmix"), (key.Key("a"), "K:Amin"),
    (key.Key("a", "dorian"), "K:Ador"), (key.Key("E-"), "K:Eb"), (key.KeySignature(3), "K:A"),
    (key.Key("f#"), "K:F#min"), (None, "K:none"),
])
def test_key_with_mode(k, expected):
    p = make_part([N("A4", 4)], ks=k)
    assert expected + "\n" in stream_to_abc(p)


def test_ties_and_chords():
    c1 = chord.Chord(["C4", "E4", "G4"], quarterLength=2)
    c1.tie = music21.tie.Tie("start")
    c2 = chord.Chord(["C4", "E4", "G4"], quarterLength=2)
    n1 = N("A4", 2)
    n1.tie = music21.tie.Tie("start")
    p = make_part([c1, n1], [c2, N("A4", 2)])
    assert body(stream_to_abc(p)) == " [CEG]2- A2- | [CEG]2 A2 |"


def test_partial_chord_tie():
    c1 = chord.Chord(["C4", "E4"], quarterLength=4)
    c1.notes[0].tie = music21.tie.Tie("start")
    p = make_part([c1], [chord.Chord(["C4", "F4"], quarterLength=4)])
    assert body(stream_to_abc(p)) == " [C-E]4 | [CF]4 |"


def test_slurs():
    notes = [N("C4"), N("D4"), N("E4"), N("F4")]
    p = make_part(notes)
    p.insert(0, spanner.Slur(notes[0], notes[2]))
    assert body(stream_to_abc(p)) == " (C D E) F |"


def test_triplets_and_general_tuplets():
    trip = [N("C5", 1 / 3), N("D5", 1 / 3), N("E5", 1 / 3)]
    quint = [N("G4", 0.2) for _ in range(5)]
    p = make_part(trip + [N("F4")] + quint + [N("A4")])
    assert body(stream_to_abc(p)) == " (3c2d2e2 F4 (5:4:5GGGGG A4 |"


def test_tuplet_with_longer_note():
    # A quarter + eighth under one triplet bracket: (3:2:2.
    p = make_part([N("C5", 2 / 3), N("D5", 1 / 3), N("E4", 3)])
    assert body(stream_to_abc(p)) == " (3:2:2c d/ E3 |"


def test_grace_notes():
    g = N("G5", 0.5).getGrace()
    g.duration.slash = False
    acc = N("A5", 0.5).getGrace()
    acc.duration.slash = True
    p = make_part([N("C5"), g, N("D5"), acc, N("E5"), N("F5")])
    assert body(stream_to_abc(p)) == " c{g} d{/a} e f |"


def test_chord_symbols():
    m1 = [harmony.ChordSymbol("Am7"), N("A4", 2), harmony.ChordSymbol("D7"), N("D5", 2)]
    m2 = [harmony.ChordSymbol("B-"), N("B-4", 2), harmony.ChordSymbol("C/E"), N("C5", 2)]
    p = make_part(m1, m2, ks=key.Key("C"))
    assert body(stream_to_abc(p)) == '"Am7" A2"D7" d2 |"Bb" _B2"C/E" c2 |'


def test_repeats_and_voltas():
    p = make_part([N("C4", 4)], [N("D4", 4)], [N("E4", 4)], [N("F4", 4)], [N("G4", 4)])
    ms = list(p.getElementsByClass(stream.Measure))
    ms[0].leftBarline = bar.Repeat(direction="start")
    ms[2].rightBarline = bar.Repeat(direction="end")
    p.insert(0, spanner.RepeatBracket(ms[2], number=1))
    p.insert(0, spanner.RepeatBracket(ms[3], number=2))
    ms[4].rightBarline = bar.Barline("final")
    assert body(stream_to_abc(p)) == "|: C4 | D4 |1 E4 :|2 F4 || G4 |]"


def test_double_bar_and_mid_repeat():
    p = make_part([N("C4", 4)], [N("D4", 4)], [N("E4", 4)])
    ms = list(p.getElementsByClass(stream.Measure))
    ms[0].rightBarline = bar.Barline("double")
    ms[1].leftBarline = bar.Repeat(direction="start")
    ms[1].rightBarline = bar.Repeat(direction="end")
    ms[2].leftBarline = bar.Repeat(direction="start")
    assert body(stream_to_abc(p)) == " C4 |: D4 :: E4 |"


def test_meter_and_key_changes_inline():
    p = make_part([N("C4", 4)], [N("D4", 3)], [N("B-4", 3)], ks=key.Key("C"))
    ms = list(p.getElementsByClass(stream.Measure))
    ms[1].insert(0, meter.TimeSignature("3/4"))
    ms[2].insert(0, key.Key("F"))
    abc = stream_to_abc(p)
    assert "M:4/4\nK:C\n" in abc
    # After [K:F] the B-flat is still spelled out: music21's reader ignores inline keys.
    assert body(abc) == " C4 |[M:3/4] D3 |[K:F] _B3 |"


def test_tempo_header_and_change():
    p = make_part([N("C4", 4)], [N("D4", 4)])
    ms = list(p.getElementsByClass(stream.Measure))
    ms[0].insert(0, tempo.MetronomeMark(number=120))
    ms[1].insert(0, tempo.MetronomeMark(number=90, referent=duration.Duration(1.5)))
    abc = stream_to_abc(p)
    assert "L:1/4\nQ:1/4=120\nM:4/4\n" in abc
    assert body(abc) == " C4 |[Q:3/8=90] D4 |"


def test_two_parts_with_names_and_clefs():
    s = stream.Score()
    s.insert(0, make_part([N("C5", 4)], name="Flute"))
    s.insert(0, make_part([N("C3", 4)], name="Cello", first_clef=clef.BassClef()))
    abc = stream_to_abc(s)
    assert abc == ('%%score 1 2\nL:1/4\nM:4/4\nK:none\nV:1 treble nm="Flute"\n'
                   'V:2 bass nm="Cello"\nV:1\n c4 |\nV:2\n C,4 |\n\n\n')


def test_two_voices_in_one_part():
    m = stream.Measure(number=1)
    m.append(meter.TimeSignature("2/4"))
    v1, v2 = stream.Voice(id="1"), stream.Voice(id="2")
    for n in (N("E5"), N("F5")):
        v1.append(n)
    v2.append(N("C4", 2))
    m.insert(0, v1)
    m.insert(0, v2)
    m2 = stream.Measure(number=2)
    m2.append(N("G5", 2))
    p = stream.Part([m, m2])
    abc = stream_to_abc(p)
    assert abc.startswith("%%score ( 1 2 )\nL:1/4\nM:2/4\n")
    assert "V:1\n e f | g2 |\nV:2\n C2 | x2 |\n" in abc
    assert notes_of(abc) == [[("E5", 1.0), ("F5", 1.0), ("G5", 2.0)], [("C4", 2.0)]]


def test_per_voice_unit_length_line():
    s = stream.Score()
    s.insert(0, make_part([N("C5"), N("D5"), N("E5"), N("F5")]))
    s.insert(0, make_part([N("C4", 0.5)] * 1 + [N("D4", 0.5) for _ in range(7)]))
    abc = stream_to_abc(s)
    assert "V:1 treble \nV:2 treble \nL:1/8\nV:1\n" in abc


def test_pickup_bar():
    p = make_part([N("G4")], [N("C5", 4)], [N("C5", 3)], ts="4/4")
    ms = list(p.getElementsByClass(stream.Measure))
    ms[0].number = 0
    ms[0].paddingLeft = 3
    assert body(stream_to_abc(p)) == " G | c4 | c3 |"


def test_full_measure_rests_in_sequence():
    p = make_part([R(4)], [R(4)], [R(4)], [N("C4", 4)])
    assert body(stream_to_abc(p)) == " z4 | z4 | z4 | C4 |"


def test_decorations():
    n1, n2, n3 = N("C5"), N("D5"), N("E5", 2)
    n1.articulations.append(music21.articulations.Staccato())
    n2.articulations.append(music21.articulations.Accent())
    n3.expressions.append(expressions.Fermata())
    p = make_part([n1, n2, n3])
    assert body(stream_to_abc(p)) == " .c !>!d !fermata!e2 |"


def test_octave_clef_writes_notated_octave():
    p = make_part([N("G3", 4)], first_clef=clef.Treble8vbClef())
    abc = stream_to_abc(p)
    assert "V:1 treble-8 \n" in abc
    assert body(abc) == " G4 |"


def test_transposing_instrument_written_pitch():
    p = make_part([N("D5", 4)], ks=key.Key("D"))
    p.insert(0, instrument.Clarinet())
    p.atSoundingPitch = False
    abc = stream_to_abc(p)
    assert "V:1 treble transpose=-2 " in abc
    assert body(abc) == "[K:D] d4 |"


def test_unmeasured_stream_gets_measures():
    s = stream.Stream([meter.TimeSignature("2/4"), N("C4"), N("D4"), N("E4", 2)])
    assert body(stream_to_abc(s)) == " C D | E2 |]"


def test_non_ascii_names_are_unidecoded():
    p = make_part([N("C4", 4)], name="Flûte à bec")
    assert 'nm="Flute a bec"' in stream_to_abc(p)


def test_empty_stream_raises():
    with pytest.raises(ClampError):
        stream_to_abc(stream.Score())
    with pytest.raises(ClampError):
        stream_to_abc(make_part([R(4)]))


def test_unsupported_objects_are_skipped():
    notes = [N("C4"), N("D4"), N("E4"), N("F4")]
    p = make_part(notes)
    p.insert(0, spanner.Glissando(notes[0], notes[1]))
    p.insert(0, music21.dynamics.Crescendo(notes[1], notes[2]))
    assert body(stream_to_abc(p)) == " C D E F |"


def test_output_is_deterministic():
    s = music21.corpus.parse("bach/bwv66.6")
    assert stream_to_abc(s) == stream_to_abc(s)


def test_wikimt_fixture_reproduced_header():
    # A WikiMT string (MIT, microsoft/muzic) read by music21 and written again keeps L/M/K/V.
    text = (FIXTURES / "wikimt_sample.abc").read_text()
    s = converter.parse(text, format="abc")
    ours = stream_to_abc(s)
    head = [x for x in ours.split("\n") if x[:2] in ("L:", "M:", "K:")]
    assert head == [x for x in text.split("\n") if x[:2] in ("L:", "M:", "K:")]


# ---------------------------------------------------------------- header filter


def test_filter_drops_metadata_lines():
    text = "X:1\nT:Title\nC:Someone\nA:x\nB:x\nD:x\nF:x\nH:x\nN:x\nO:x\nR:reel\nr:x\nS:x\n" \
           "W:x\nw:la la\nZ:x\nL:1/8\nM:4/4\nK:G\nabc |\n"
    assert filter_abc_header(text) == "L:1/8\nM:4/4\nK:G\nabc |\n\n"


def test_filter_keeps_g_field_and_drops_lone_g():
    # The official list has 'G' without a colon: `G:` lines survive, a line "G" does not.
    assert filter_abc_header("G:Group\nG\nGA |") == "G:Group\nGA |\n"


def test_filter_keeps_score_and_drops_other_comments():
    text = "%%score ( 1 2 )\n%%MIDI program 1\n% comment\nL:1/8\nV:1 treble nm=\"Piano\"\n"
    assert filter_abc_header(text) == '%%score ( 1 2 )\nL:1/8\nV:1 treble nm="Piano"\n\n'


def test_filter_strips_bar_number_and_one_more_char():
    assert filter_abc_header(" abc | def | %2\n") == " abc | def |\n\n"
    # Only the last %-segment goes, with the character before it.
    assert filter_abc_header('"50%" c2 | %4') == '"50%" c2 |\n'
    assert filter_abc_header("abc%") == "ab\n"


def test_filter_removes_carriage_returns_and_keeps_blank_lines():
    assert filter_abc_header("L:1/8\r\n\r\nabc |\r\n") == "L:1/8\n\nabc |\n\n"


def test_filter_matches_wikimt_fixture_idempotently():
    text = (FIXTURES / "wikimt_sample.abc").read_text()
    once = filter_abc_header(text)
    assert once == text + "\n"  # the fixture is already filtered; only a newline is added


# ---------------------------------------------------------------- round trip


ROUNDTRIP_SAMPLE = (
    [("essen", w) for w in sample_works("essen", 80)]
    + [("ryans", w) for w in sample_works("ryans", 60)]
    + [("oneills", w) for w in sample_works("oneills", 60)]
    + [("bach", w) for w in sample_works("bach", 12)]  # MusicXML parsing is slow
)


def test_roundtrip_music21_corpus():
    """music21 reads back the same notes for >= 98% of ~200 corpus works."""
    failures = []
    for collection, (path, number) in ROUNDTRIP_SAMPLE:
        score = load_work(path, number)
        try:
            reason = compare(score, stream_to_abc(score))
        except Exception as exc:  # noqa: BLE001 - a crash counts as a failure, with its reason
            reason = f"{type(exc).__name__}: {exc}"
        if reason:
            failures.append((collection, path, number, reason))
    rate = 1 - len(failures) / len(ROUNDTRIP_SAMPLE)
    assert len(ROUNDTRIP_SAMPLE) >= 200
    assert rate >= 0.98, failures
