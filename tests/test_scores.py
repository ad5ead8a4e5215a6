"""clamp_core.scores.load: every input format, metadata from real OpenScore Lieder files, the
MuseScore routes, and one-line ClampErrors for bad input."""

from __future__ import annotations

import collections
import zipfile
from pathlib import Path

import pytest
from music21 import corpus, note, spanner, stream

from clamp_core.scores import musescore as scores_musescore

from clamp_core.scores import safety as scores_safety
from clamp_core.errors import ClampError
from clamp_core.scores.load import SUPPORTED_EXTENSIONS, Score, load_score

FIX = Path(__file__).parent / "fixtures" / "scores"


def events(sc: stream.Score) -> collections.Counter:
    """(onset, spelled pitch, quarter length, is grace) for every note head of the score."""
    ev: collections.Counter = collections.Counter()
    for p in sc.parts:
        for m in p.getElementsByClass(stream.Measure):
            for n in m.recurse().notes:
                off = round(float(m.offset + n.getOffsetInHierarchy(m)), 3)
                for pp in n.pitches:
                    ev[(off, pp.nameWithOctave, round(float(n.quarterLength), 3),
                        n.duration.isGrace)] += 1
    return ev


def match_rate(a: stream.Score, b: stream.Score) -> float:
    ea, eb = events(a), events(b)
    return sum((ea & eb).values()) / max(sum(ea.values()), sum(eb.values()), 1)


def assert_one_line_error(exc_info: pytest.ExceptionInfo, *fragments: str) -> None:
    msg = str(exc_info.value)
    assert "\n" not in msg and msg.strip() == msg and len(msg) < 400, msg
    for f in fragments:
        assert f in msg, msg


# ---------------------------------------------------------------- real files


def test_lieder_mxl_metadata_schroeter() -> None:
    # metadata.tsv: 6053984 "An eine Blume", Corona Schröter, set "25 Lieder"
    s = load_score(FIX / "lieder_6053984.mxl")
    assert isinstance(s, Score) and s.source.endswith("lieder_6053984.mxl")
    assert s.abc_source is None
    m = s.meta
    assert m.title == "An eine Blume" and m.work == "25 Lieder"
    assert m.composer is not None and "Schröter" in m.composer
    assert m.parts == ["Singstimme Voice", "Pianoforte"]
    assert (m.meter, m.key, m.n_bars) == ("6/8", "F major", 8)
    assert (m.tempo, m.tempo_text) == (110.0, "Munter, doch nicht zu geschwind")
    assert m.duration_quarters == 24.0
    assert m.duration_seconds == pytest.approx(24 * 60 / 110, abs=0.01)
    assert m.n_notes == 126
    d = m.to_dict()
    assert d["title"] == "An eine Blume" and d["parts"] == m.parts


def test_lieder_mxl_metadata_brahms_minor_key() -> None:
    # metadata.tsv: 5071622 "Der Überläufer", Johannes Brahms; three sharps, ends on F#
    m = load_score(str(FIX / "lieder_5071622.mxl")).meta
    assert (m.title, m.composer, m.work) == ("Der Überläufer", "Johannes Brahms",
                                             "7 Lieder, Op.48")
    assert (m.meter, m.key, m.n_bars) == ("2/4", "F# minor", 38)
    assert (m.tempo, m.tempo_text) == (92.0, "Andante con moto")


@pytest.mark.parametrize("name", ["lieder_6053984.mscz", "lieder_6053984_ms3.mscz"])
def test_musescore_reader_matches_mxl(name: str) -> None:
    """MuseScore 4 file from the corpus and a MuseScore 3 conversion of the same song."""
    ref = load_score(FIX / "lieder_6053984.mxl")
    got = load_score(FIX / name, musescore="reader")
    assert match_rate(got.stream, ref.stream) >= 0.99
    for f in ("title", "composer", "parts", "key", "meter", "tempo", "tempo_text", "n_bars",
              "n_notes", "duration_quarters", "work"):
        assert getattr(got.meta, f) == getattr(ref.meta, f), f
    assert len(got.stream.parts) == 3  # voice + the two piano staves
    assert isinstance(got.stream.parts[1], stream.PartStaff)


def test_musescore_executable_route() -> None:
    exe = scores_musescore.find_musescore()
    if exe is None:
        pytest.skip("no MuseScore executable on PATH")
    if (scores_musescore.musescore_major_version(exe) or 0) < 3:
        pytest.skip(f"{exe} is older than MuseScore 3")
    ref = load_score(FIX / "lieder_6053984.mxl")
    got = load_score(FIX / "lieder_6053984_ms3.mscz", musescore="executable")
    assert match_rate(got.stream, ref.stream) >= 0.99
    assert (got.meta.title, got.meta.n_bars, got.meta.key) == ("An eine Blume", 8, "F major")


def test_musescore_auto_route_loads_musescore4_file() -> None:
    # with an older MuseScore installed, auto must still fall back to the reader
    s = load_score(FIX / "lieder_6053984.mscz")
    assert s.meta.n_notes == 126 and s.meta.n_bars == 8


def test_musescore_reader_constructs() -> None:
    """Pickup, tuplets, ties, grace notes, ottava, voices and repeats in a hand-written file."""
    s = load_score(FIX / "handmade.mscx", musescore="reader")
    m = s.meta
    assert (m.title, m.composer, m.parts) == ("Handmade Reader Test", "Test Composer", ["Flute"])
    assert (m.key, m.meter, m.tempo, m.n_bars, m.duration_quarters) == (
        "G major", "3/4", 90.0, 5, 12.0)
    part = s.stream.parts[0]
    measures = list(part.getElementsByClass(stream.Measure))
    assert [x.number for x in measures] == [0, 1, 2, 3, 4]
    assert measures[0].paddingLeft == 2.0
    ev = events(s.stream)
    third = round(1 / 3, 3)
    assert ev[(1.0, "D5", third, False)] == 1 and ev[(round(1 + 2 / 3, 3), "F#5", third, False)]
    ties = [n.tie.type for n in part.recurse().notes if n.tie is not None]
    assert ties == ["start", "stop"]
    grace = [n for n in part.recurse().notes if n.duration.isGrace]
    assert len(grace) == 1 and grace[0].duration.slash
    # MuseScore stores the displayed pitch under 8va; we keep sounding pitch like music21
    assert grace[0].pitch.nameWithOctave == "A5"
    ottava = part.getElementsByClass(spanner.Ottava).first()
    assert ottava is not None and not ottava.transposing
    assert [p.nameWithOctave for p in ottava.getLast().pitches] == ["C6", "E6"]
    voices = measures[3].voices
    assert len(voices) == 3
    hidden = [r for r in voices[1].notesAndRests if isinstance(r, note.Rest)]
    assert hidden[0].style.hideObjectOnPrint and hidden[0].quarterLength == 2.0
    assert measures[4].rightBarline.direction == "end"
    assert m.n_notes == 13  # the tied G is counted once


def test_musescore_reader_transposing_instrument(tmp_path: Path) -> None:
    """.mscx stores concert pitch; like MusicXML we keep written pitch plus the transposition."""
    text = (FIX / "handmade.mscx").read_text(encoding="utf-8").replace(
        "<longName>Flute</longName>",
        "<longName>Clarinet in Bb</longName><transposeDiatonic>-1</transposeDiatonic>"
        "<transposeChromatic>-2</transposeChromatic>")
    p = tmp_path / "clarinet.mscx"
    p.write_text(text, encoding="utf-8")
    part = load_score(p, musescore="reader").stream.parts[0]
    assert not part.atSoundingPitch
    assert str(part.getInstrument().transposition.directedName) == "M-2"
    assert str(part.recurse().notes.first().pitches[0]) == "A4"   # concert G4
    assert part.recurse().getElementsByClass("KeySignature").first().sharps == 3


# ---------------------------------------------------------------- other formats


def test_midi_fixture() -> None:
    m = load_score(FIX / "small.mid").meta
    assert (m.meter, m.key, m.tempo, m.n_bars, m.n_notes) == ("3/4", "F major", 90.0, 3, 7)
    assert m.duration_seconds == pytest.approx(9 * 60 / 90, abs=0.01)


def test_humdrum_fixture() -> None:
    m = load_score(FIX / "little_tune.krn").meta
    assert (m.title, m.composer) == ("Little Humdrum Tune", "Test Composer")
    assert (m.meter, m.key, m.n_bars, m.n_notes) == ("3/4", "G major", 4, 8)


def test_abc_file_first_tune_and_selection() -> None:
    first = load_score(FIX / "two_tunes.abc")
    assert first.meta.title == "The First Test Jig" and first.meta.meter == "6/8"
    assert first.abc_source is not None and first.abc_source.startswith("X:1\n")
    assert "L:1/8" in first.abc_source  # the file header travels with each tune
    reel = load_score(FIX / "two_tunes.abc", tune=7)
    assert (reel.meta.title, reel.meta.key, reel.meta.meter) == ("Accidental Reel", "G minor",
                                                                "4/4")
    assert reel.abc_source is not None and "X:7" in reel.abc_source
    assert "B2 ^F B d2 c2" in reel.abc_source  # kept as written
    with pytest.raises(ClampError) as e:
        load_score(FIX / "two_tunes.abc", tune=3)
    assert_one_line_error(e, "X:3", "1, 7")


def test_abc_text_input_keeps_source() -> None:
    text = "X:1\nT:Text Tune\nM:3/4\nL:1/4\nK:A\nA B c | d2 e | c3 |]\n"
    s = load_score(text)
    assert s.source == "<abc>" and s.abc_source == text
    assert (s.meta.title, s.meta.key, s.meta.n_bars, s.meta.n_notes) == (
        "Text Tune", "A major", 3, 6)
    # no X: and no K: line, but header fields followed by notes
    s2 = load_score("T:Bare\nM:2/4\nL:1/8\nCDEF|G2G2|\n")
    assert s2.meta.title == "Bare" and s2.meta.n_notes == 6


def test_music21_streams() -> None:
    chorale = corpus.parse("bach/bwv66.6")
    s = load_score(chorale)
    assert s.source == "<stream>" and s.stream is chorale and s.meta.n_bars == 10
    part = load_score(chorale.parts[0])
    assert len(part.stream.parts) == 1 and part.meta.n_bars == 10
    opus = stream.Opus()
    for i, tune in enumerate(("X:1\nT:One\nK:C\nCDEF|\n", "X:2\nT:Two\nK:G\nGABc|\n")):
        sc = load_score(tune).stream
        sc.metadata.number = i + 1
        opus.append(sc)
    assert load_score(opus).meta.title == "One"
    assert load_score(opus, tune=2).meta.title == "Two"


# ---------------------------------------------------------------- errors


def _zip(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path


_BAD_XML = (b'<?xml version="1.0"?>\n<!DOCTYPE lolz [<!ENTITY lol "lol">'
            b'<!ENTITY lol2 "&lol;&lol;&lol;">]>\n<score-partwise><work><work-title>&lol2;'
            b"</work-title></work></score-partwise>")
_EMPTY_XML = (b'<?xml version="1.0"?>\n<score-partwise version="4.0"><part-list><score-part '
              b'id="P1"><part-name>Flute</part-name></score-part></part-list><part id="P1">'
              b"<measure number=\"1\"><attributes><divisions>1</divisions></attributes>"
              b"<note><rest/><duration>4</duration></note></measure></part></score-partwise>")


def test_error_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ClampError) as e:
        load_score(tmp_path / "nope.mxl")
    assert_one_line_error(e, "nope.mxl", "not found")


def test_error_unsupported_extension(tmp_path: Path) -> None:
    p = tmp_path / "song.pdf"
    p.write_bytes(b"%PDF-1.4")
    with pytest.raises(ClampError) as e:
        load_score(p)
    assert_one_line_error(e, "song.pdf", ".pdf", *SUPPORTED_EXTENSIONS)


@pytest.mark.parametrize("name,data,fragment", [
    ("bad.mxl", b"this is not a zip at all", "not a valid zip"),
    ("bad.mid", b"MThd\x00\x00\x00\x06garbage", "MIDI"),
    ("bad.musicxml", b"<?xml version='1.0'?><score-partwise><part id=", "MusicXML"),
    ("bad.mscx", b"<museScore version='4.60'><Score><Staff", "damaged"),
    ("old.mscx", b"<museScore version='2.06'><Score/></museScore>", "MuseScore 2.06"),
    ("bad.mscz", b"PK\x03\x04 truncated", "zip"),
    ("empty.xml", b"", "empty"),
])
def test_error_corrupt_files(tmp_path: Path, name: str, data: bytes, fragment: str) -> None:
    p = tmp_path / name
    p.write_bytes(data)
    with pytest.raises(ClampError) as e:
        load_score(p, musescore="reader")
    assert_one_line_error(e, name, fragment)


def test_error_zip_without_score(tmp_path: Path) -> None:
    for name, fragment in (("notes.mxl", "without a MusicXML score"),
                           ("notes.mscz", "without a MuseScore score")):
        p = _zip(tmp_path / name, {"readme.txt": b"hello"})
        with pytest.raises(ClampError) as e:
            load_score(p, musescore="reader")
        assert_one_line_error(e, name, fragment)


def test_error_empty_score(tmp_path: Path) -> None:
    p = tmp_path / "silent.musicxml"
    p.write_bytes(_EMPTY_XML)
    with pytest.raises(ClampError) as e:
        load_score(p)
    assert_one_line_error(e, "silent.musicxml", "no notes")
    with pytest.raises(ClampError) as e:
        load_score("X:1\nT:Nothing\nK:C\n")
    assert_one_line_error(e, "<abc>", "no notes")


def test_error_abc_text_without_tune() -> None:
    with pytest.raises(ClampError) as e:
        load_score("T:Just a title\nC:Nobody\n")
    assert_one_line_error(e, "neither an existing file path nor ABC")


def test_error_entity_declarations(tmp_path: Path) -> None:
    p = tmp_path / "lol.musicxml"
    p.write_bytes(_BAD_XML)
    with pytest.raises(ClampError) as e:
        load_score(p)
    assert_one_line_error(e, "lol.musicxml", "ENTITY")
    z = _zip(tmp_path / "lol.mxl", {"score.xml": _BAD_XML})
    with pytest.raises(ClampError) as e:
        load_score(z)
    assert_one_line_error(e, "lol.mxl", "ENTITY")
    m = _zip(tmp_path / "lol.mscz", {"x.mscx": _BAD_XML.replace(b"score-partwise",
                                                                  b"museScore")})
    with pytest.raises(ClampError) as e:
        load_score(m, musescore="reader")
    assert_one_line_error(e, "lol.mscz", "ENTITY")


def test_error_zip_bomb(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(scores_safety, "MAX_MEMBER_BYTES", 100_000)
    p = _zip(tmp_path / "bomb.mxl", {"score.xml": b"<" + b" " * 1_000_000})
    assert p.stat().st_size < 10_000
    with pytest.raises(ClampError) as e:
        load_score(p)
    assert_one_line_error(e, "bomb.mxl", "limit")


def test_error_no_musescore_executable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(scores_musescore, "find_musescore", lambda: None)
    with pytest.raises(ClampError) as e:
        load_score(FIX / "lieder_6053984.mscz", musescore="executable")
    assert_one_line_error(e, "lieder_6053984.mscz", "apt install musescore3", "reader")


def test_error_bad_arguments(tmp_path: Path) -> None:
    with pytest.raises(ClampError) as e:
        load_score(42)  # type: ignore[arg-type]
    assert_one_line_error(e, "int")
    with pytest.raises(ClampError) as e:
        load_score(tmp_path)
    assert_one_line_error(e, "folder")
    with pytest.raises(ClampError) as e:
        load_score(FIX / "handmade.mscx", musescore="fast")  # type: ignore[arg-type]
    assert_one_line_error(e, "'auto', 'executable' or 'reader'")
