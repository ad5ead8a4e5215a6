"""clamp_core.scores.load: every input format from files and from bytes, metadata from real
OpenScore Lieder files, the MuseScore routes, the reader table, music21 left as it was, and
one-line ClampErrors for bad input."""

from __future__ import annotations

import collections
import os
import re
import stat
import subprocess
import sys
import textwrap
import threading
import zipfile
from pathlib import Path

import pytest
from music21 import corpus, note, spanner, stream

from clamp_core.errors import ClampError, one_line
from clamp_core.notation.convert import score_to_abc
from clamp_core.scores import musescore as scores_musescore
from clamp_core.scores import readers as scores_readers
from clamp_core.scores import safety as scores_safety
from clamp_core.scores.load import SUPPORTED_EXTENSIONS, Score, load_score

FIX = Path(__file__).parents[1] / "fixtures" / "scores"


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


# ---------------------------------------------------------------- bytes and the reader table


def _musicxml_of(mxl: Path) -> bytes:
    with zipfile.ZipFile(mxl) as zf:
        member = next(m for m in zf.namelist()
                      if m.endswith((".xml", ".musicxml")) and not m.startswith("META-INF"))
        return zf.read(member)


def test_reader_table_is_the_list_of_extensions() -> None:
    import clamp_core.scores as scores

    table = tuple(e for r in scores_readers.READERS for e in r.extensions)
    assert SUPPORTED_EXTENSIONS == scores_readers.SUPPORTED_EXTENSIONS == table
    assert table == scores.SUPPORTED_EXTENSIONS
    assert set(table) == {".xml", ".musicxml", ".mxl", ".mid", ".midi", ".abc", ".krn", ".mscz",
                          ".mscx"}
    assert len(set(table)) == len(table)  # one reader per extension
    assert [r.format for r in scores_readers.READERS] == [
        "musicxml", "mxl", "midi", "abc", "humdrum", "mscz", "mscx"]
    for r in scores_readers.READERS:
        assert scores_readers.reader_for_format(r.format) is r
        for ext in r.extensions:
            assert scores_readers.reader_for_extension(ext.upper()) is r
            assert scores_readers.reader_for_format(ext) is r


@pytest.mark.parametrize("name,fmt", [
    ("lieder_6053984.mxl", "mxl"),
    ("lieder_5071622.mxl", ".MXL"),
    ("small.mid", "midi"),
    ("small.mid", ".midi"),
    ("little_tune.krn", "humdrum"),
    ("two_tunes.abc", "abc"),
    ("handmade.mscx", "mscx"),
    ("lieder_6053984.mscz", ".mscz"),
    ("lieder_6053984_ms3.mscz", "mscz"),
])
def test_bytes_read_like_the_file(name: str, fmt: str) -> None:
    path = FIX / name
    from_file = load_score(path, musescore="reader")
    from_bytes = load_score(path.read_bytes(), format=fmt, musescore="reader")
    assert score_to_abc(from_bytes) == score_to_abc(from_file)
    assert from_bytes.meta == from_file.meta
    assert from_bytes.abc_source == from_file.abc_source
    assert from_bytes.format == from_file.format == scores_readers.reader_for_format(fmt).format
    assert from_bytes.source == f"<{from_bytes.format} data>"


def test_musicxml_bytes_and_text_file(tmp_path: Path) -> None:
    data = _musicxml_of(FIX / "lieder_6053984.mxl")
    p = tmp_path / "song.musicxml"
    p.write_bytes(data)
    ref = score_to_abc(load_score(FIX / "lieder_6053984.mxl"))
    assert score_to_abc(load_score(p)) == ref
    for fmt in ("musicxml", ".xml", "xml"):
        s = load_score(bytearray(data), format=fmt, name="song from memory")
        assert score_to_abc(s) == ref and s.source == "song from memory"
        assert s.format == "musicxml"


def test_abc_bytes_tune_and_encodings() -> None:
    data = (FIX / "two_tunes.abc").read_bytes()
    reel = load_score(data, format="abc", tune=7)
    assert reel.meta.title == "Accidental Reel" and "X:7" in (reel.abc_source or "")
    assert reel.abc_source == load_score(FIX / "two_tunes.abc", tune=7).abc_source
    utf16 = load_score(data.decode("utf-8").encode("utf-16"), format="abc", tune=7)
    assert utf16.abc_source == reel.abc_source
    with pytest.raises(ClampError) as e:
        load_score(data, format="abc", tune=3)
    assert_one_line_error(e, "<abc data>", "X:3", "1, 7")


def test_path_with_a_format_overrides_its_extension(tmp_path: Path) -> None:
    p = tmp_path / "tune.txt"
    p.write_bytes((FIX / "two_tunes.abc").read_bytes())
    with pytest.raises(ClampError) as e:
        load_score(p)
    assert_one_line_error(e, "tune.txt", "unsupported file type", ".abc")
    s = load_score(p, format="abc", tune=7)
    assert s.meta.title == "Accidental Reel" and s.format == "abc" and s.source == str(p)


def test_bytes_without_a_format_or_with_a_wrong_one() -> None:
    data = (FIX / "small.mid").read_bytes()
    with pytest.raises(ClampError) as e:
        load_score(data)
    assert_one_line_error(e, "format=", "musicxml", "mxl", "midi", "abc", "humdrum", "mscz",
                          "mscx", ".mxl")
    for bad in ("pdf", ".pdf", "", "song", 3):
        with pytest.raises(ClampError) as e:
            load_score(data, format=bad)  # type: ignore[arg-type]
        assert_one_line_error(e, "unknown score format", *SUPPORTED_EXTENSIONS)
    with pytest.raises(ClampError) as e:
        load_score(corpus.parse("bach/bwv66.6"), format="musicxml")
    assert_one_line_error(e, "format=", "bytes")
    with pytest.raises(ClampError) as e:
        load_score("X:1\nT:Text Tune\nK:A\nA B c |\n", format="midi")
    assert_one_line_error(e, "format=", "bytes")
    assert load_score("X:1\nT:Text Tune\nK:A\nA B c |\n", format="abc").format == "abc"


def test_bytes_get_the_file_safety_checks(tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    cases = [
        (b"", "musicxml", "empty"),
        (_BAD_XML, "musicxml", "ENTITY"),
        (_zip(tmp_path / "lol.mxl", {"score.xml": _BAD_XML}).read_bytes(), "mxl", "ENTITY"),
        (_BAD_XML.replace(b"score-partwise", b"museScore"), "mscx", "ENTITY"),
        (b"this is not a zip at all", "mxl", "not a valid zip"),
        (b"PK\x03\x04 truncated", "mscz", "zip"),
        (b"MThd\x00\x00\x00\x06garbage", "midi", "MIDI"),
        (b"\x00\x01\x02 binary", "abc", "no ABC tune"),
    ]
    for data, fmt, fragment in cases:
        with pytest.raises(ClampError) as e:
            load_score(data, format=fmt, musescore="reader")
        assert_one_line_error(e, f"<{fmt} data>", fragment)
    monkeypatch.setattr(scores_safety, "MAX_MEMBER_BYTES", 100_000)
    bomb = _zip(tmp_path / "bomb.mxl", {"score.xml": b"<" + b" " * 1_000_000})
    with pytest.raises(ClampError) as e:
        load_score(bomb.read_bytes(), format="mxl", name="<upload.mxl>")
    assert_one_line_error(e, "<upload.mxl>", "limit")
    monkeypatch.setenv(scores_safety.MAX_BARS_ENV, "3")
    with pytest.raises(ClampError) as e:
        load_score(_musicxml_of(FIX / "lieder_6053984.mxl"), format="musicxml")
    assert_one_line_error(e, "<musicxml data>", "3-bar limit", scores_safety.MAX_BARS_ENV)
    monkeypatch.setattr(scores_safety, "MAX_FILE_BYTES", 1000)
    with pytest.raises(ClampError) as e:
        load_score((FIX / "small.mid").read_bytes() * 10, format="midi")
    assert_one_line_error(e, "<midi data>", "limit")


def test_musescore_bytes_through_the_executable(tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """Bytes reach MuseScore as a temporary file with the right extension, removed after; a
    stand-in executable (none is installed in CI) answers with the song's MusicXML."""
    xml = tmp_path / "answer.musicxml"
    xml.write_bytes(_musicxml_of(FIX / "lieder_6053984.mxl"))
    seen = tmp_path / "seen.txt"
    mscz = FIX / "lieder_6053984.mscz"
    exe = tmp_path / "fake-mscore"
    exe.write_text(textwrap.dedent(f"""\
        #!{sys.executable}
        import pathlib, shutil, sys
        if sys.argv[1] == "--version":
            print("MuseScore4 4.2.1")
            sys.exit(0)
        out, src = sys.argv[2], pathlib.Path(sys.argv[3])
        same = src.read_bytes() == pathlib.Path({str(mscz)!r}).read_bytes()
        pathlib.Path({str(seen)!r}).write_text(f"{{src}}\\n{{same}}")
        shutil.copy({str(xml)!r}, out)
        """), encoding="utf-8")
    exe.chmod(exe.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv(scores_musescore.ENV_VAR, str(exe))
    s = load_score(mscz.read_bytes(), format="mscz", musescore="executable")
    src, same = seen.read_text().split("\n")
    assert src.endswith("score.mscz") and same == "True"
    assert not os.path.exists(src), "the temporary copy must be removed"
    assert s.meta.n_notes == 126 and s.format == "mscz"
    # from a file, MuseScore opens the file itself
    load_score(mscz, musescore="executable")
    assert seen.read_text().split("\n")[0] == str(mscz.resolve())


# ---------------------------------------------------------------- music21 left as it was


def test_importing_and_loading_leave_music21_untouched() -> None:
    """In a fresh interpreter: music21's originals before importing clamp_core.scores are the
    ones in place after the import and after loading ABC (the reader that patches music21)."""
    script = textwrap.dedent(f"""\
        from music21 import abcFormat, stream
        from music21.abcFormat import translate
        owners = (stream.Part, abcFormat.environLocal, translate.environLocal)
        before = [dict(vars(o)) for o in owners]
        make_beams = stream.Part.makeBeams
        import clamp_core.scores
        from clamp_core.scores import load_score
        assert [dict(vars(o)) for o in owners] == before, "import changed music21"
        assert load_score({str(FIX / "two_tunes.abc")!r}, tune=7).meta.n_notes > 0
        assert load_score({str(FIX / "lieder_6053984.mxl")!r}).meta.n_notes == 126
        assert [dict(vars(o)) for o in owners] == before, "loading left music21 patched"
        assert stream.Part.makeBeams is make_beams and "makeBeams" not in vars(stream.Part)
        assert "warn" not in vars(abcFormat.environLocal)
        assert "warn" not in vars(translate.environLocal)
        print("untouched")
        """)
    res = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         timeout=300, check=False)
    assert res.returncode == 0 and res.stdout.strip() == "untouched", res.stderr[-2000:]


def test_music21_patched_only_while_reading_abc_in_any_thread() -> None:
    from music21 import abcFormat

    from clamp_core.scores import formats

    make_beams = stream.Part.makeBeams
    warn = abcFormat.environLocal.warn
    with formats.music21_patched_for_abc():
        assert stream.Part.makeBeams is not make_beams
        with formats.music21_patched_for_abc():  # re-entrant
            assert stream.Part.makeBeams is not make_beams
        assert stream.Part.makeBeams is not make_beams  # the outer read still runs
    assert stream.Part.makeBeams is make_beams and abcFormat.environLocal.warn == warn

    # while another thread reads ABC, this thread's music21 calls still beam as music21 does
    part = load_score(FIX / "two_tunes.abc").stream.parts[0]
    inside, done = threading.Event(), threading.Event()

    def hold_a_read() -> None:
        with formats.music21_patched_for_abc():
            inside.set()
            done.wait(60)

    holder = threading.Thread(target=hold_a_read)
    holder.start()
    try:
        assert inside.wait(60) and stream.Part.makeBeams is not make_beams
        assert part.makeBeams(inPlace=False) is not part  # a skipped beaming returns the part
    finally:
        done.set()
        holder.join(60)

    # many concurrent readers: the last one out restores music21
    errors: list[BaseException] = []

    def read() -> None:
        try:
            for _ in range(3):
                assert load_score(FIX / "two_tunes.abc", tune=7).meta.n_notes > 0
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread
            errors.append(exc)

    threads = [threading.Thread(target=read) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert not errors, errors
    assert stream.Part.makeBeams is make_beams and "makeBeams" not in vars(stream.Part)
    assert abcFormat.environLocal.warn == warn and "warn" not in vars(abcFormat.environLocal)


def test_one_line() -> None:
    assert one_line(ValueError("a\n  b\tc")) == "a b c"
    assert one_line(KeyError()) == "KeyError"
    long = "x" * 500
    assert len(one_line(RuntimeError(long))) == 160 and one_line(RuntimeError(long)).endswith("...")
    assert one_line(ClampError(long)) == long  # ours are whole: their end says what to do


def test_entities_refused_in_every_encoding_and_other_encodings_read(tmp_path: Path) -> None:
    """The scan reads the XML as its parser will (any encoding Python knows): an entity
    declaration is refused however it is spelled; a score in Shift_JIS or UTF-32 reads with its
    title intact."""
    text = _BAD_XML.decode()
    decl, _, rest = text.partition("\n")
    for enc in ("utf-7", "utf-32", "utf-16-be", "cp1252"):
        head = decl.replace('version="1.0"', f'version="1.0" encoding="{enc}"')
        # UTF-7 spells "<" as "+ADw-" after an ASCII declaration; UTF-16/32 spell everything
        body = (head.encode("ascii") + b"\n" + rest.encode(enc) if enc in ("utf-7", "cp1252")
                else f"{head}\n{rest}".encode(enc))
        with pytest.raises(ClampError) as e:
            load_score(body, format="musicxml")
        assert_one_line_error(e, "<musicxml data>", "ENTITY")
    good = _musicxml_of(FIX / "lieder_6053984.mxl").decode("utf-8")
    title = load_score(good.encode(), format="musicxml").meta.title
    for enc, new_title in (("Shift_JIS", "野ばら"), ("UTF-32", "Heidenröslein")):
        changed = re.sub(r'encoding="[^"]+"', f'encoding="{enc}"', good, count=1).replace(
            f">{title}<", f">{new_title}<")
        data = changed.encode(enc, "xmlcharrefreplace")  # what Shift_JIS lacks: &#246;
        assert load_score(data, format="musicxml").meta.title == new_title


def test_event_limit_refuses_a_score_before_parsing(monkeypatch: pytest.MonkeyPatch) -> None:
    """The bar limit does not bound the notes in a bar: the event limit does, per format, on
    real scores (limit set under their note count), naming the variable that lifts it."""
    monkeypatch.setenv(scores_safety.MAX_EVENTS_ENV, "5")
    cases = [(_musicxml_of(FIX / "lieder_6053984.mxl"), "musicxml"),
             ((FIX / "lieder_6053984.mscz").read_bytes(), "mscz"),
             ((FIX / "small.mid").read_bytes(), "midi"),
             ((FIX / "little_tune.krn").read_bytes(), "humdrum"),
             ((FIX / "two_tunes.abc").read_bytes(), "abc")]
    for data, fmt in cases:
        with pytest.raises(ClampError) as e:
            load_score(data, format=fmt, musescore="reader")
        assert_one_line_error(e, f"<{fmt} data>", "more than 5 notes",
                              scores_safety.MAX_EVENTS_ENV)
    monkeypatch.setenv(scores_safety.MAX_EVENTS_ENV, "100000")
    for data, fmt in cases:
        assert load_score(data, format=fmt, musescore="reader")
