"""A corpus of hostile and broken score files (plus a few good ones), generated on demand.

Every case names the file to write, what a robust reader must do with it ("refuse": a one-line
error; "accept": read it), and the category it stands for in bench/results/robustness.json.
Nothing here is downloaded: the bad files are built byte by byte, the good ones are copies of
tests/fixtures/scores (CC0, see its LICENSE.md) or written out here.
"""

from __future__ import annotations

import functools
import io
import os
import shutil
import struct
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

FIXTURE_SCORES = Path(__file__).resolve().parent.parent / "fixtures" / "scores"

# Written to a file outside the corpus; an XXE reader would copy it into its output.
SECRET_MARKER = "CLAMP-XXE-SECRET-5b1f0c9e"
SECRET_NAME = "secret.txt"

HUGE_BARS = 20_000
HUGE_EVENTS = 210_000  # in one bar: over the 200,000 notes-and-rests limit (CLAMP_MAX_EVENTS)


@dataclass(frozen=True)
class Case:
    name: str          # file name inside the corpus folder (may hold spaces and non-ASCII)
    category: str
    expect: str        # "refuse" or "accept"
    make: Callable[[Path, Path], bytes | None]  # (corpus folder, secret file) -> bytes to write
    # words the one-line error must contain (case-insensitive), any of them
    says: tuple[str, ...] = ()


# ---------------------------------------------------------------- building blocks
def musicxml(measures: int = 2, note: str | None = None, title: str = "Test",
             doctype: str = "", divisions: str = "1", extra_work: str = "") -> bytes:
    """A small partwise MusicXML score: ``measures`` bars of one whole note each."""
    note = note if note is not None else (
        "<note><pitch><step>C</step><octave>4</octave></pitch><duration>4</duration>"
        "<type>whole</type></note>")
    bars = []
    for i in range(1, measures + 1):
        attrs = (f"<attributes><divisions>{divisions}</divisions><key><fifths>0</fifths></key>"
                 "<time><beats>4</beats><beat-type>4</beat-type></time><clef><sign>G</sign>"
                 "<line>2</line></clef></attributes>") if i == 1 else ""
        bars.append(f'<measure number="{i}">{attrs}{note}</measure>')
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n' + doctype +
        '<score-partwise version="3.1">'
        f"<work><work-title>{title}</work-title>{extra_work}</work>"
        '<part-list><score-part id="P1"><part-name>Flute</part-name></score-part></part-list>'
        '<part id="P1">' + "".join(bars) + "</part></score-partwise>\n"
    ).encode("utf-8")


def zip_bytes(members: dict[str, bytes], compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


def mxl(score: bytes, inner: str = "score.musicxml") -> bytes:
    container = (b'<?xml version="1.0" encoding="UTF-8"?><container><rootfiles>'
                 b'<rootfile full-path="' + inner.encode() + b'"/></rootfiles></container>')
    return zip_bytes({"META-INF/container.xml": container, inner: score})


@functools.lru_cache(maxsize=1)
def _deflated_zeros(unpacked: int) -> tuple[bytes, int]:
    comp = zlib.compressobj(9, zlib.DEFLATED, -15)
    chunk = b"\0" * 2**20
    parts = [comp.compress(chunk) for _ in range(unpacked // len(chunk))]
    parts.append(comp.flush())
    crc = 0
    for _ in range(unpacked // len(chunk)):
        crc = zlib.crc32(chunk, crc)
    return b"".join(parts), crc


def zip_bomb(inner: str, unpacked: int = 320 * 2**20) -> bytes:
    """One deflated member of ``unpacked`` zero bytes (about 1000:1), built in chunks so the
    test never holds the unpacked data; the sizes in its headers are honest."""
    data, crc = _deflated_zeros(unpacked)
    name = inner.encode()
    local = struct.pack("<4s5H3L2H", b"PK\x03\x04", 20, 0, 8, 0, 0, crc, len(data), unpacked,
                        len(name), 0) + name
    central = struct.pack("<4s6H3L5H2L", b"PK\x01\x02", 20, 20, 0, 8, 0, 0, crc, len(data),
                          unpacked, len(name), 0, 0, 0, 0, 0, 0) + name
    end = struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, 1, 1, len(central),
                      len(local) + len(data), 0)
    return local + data + central + end


def billion_laughs(encoding: str = "utf-8") -> bytes:
    ents = ['<!ENTITY lol0 "lol">'] + [
        f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, 10)]
    doctype = "<!DOCTYPE score-partwise [" + "".join(ents) + "]>\n"
    text = musicxml(title="&lol9;", doctype=doctype).decode()
    if encoding != "utf-8":
        text = text.replace('encoding="UTF-8"', f'encoding="{encoding.upper()}"')
        return text.encode(encoding if encoding != "utf-16" else "utf-16")
    return text.encode()


def billion_laughs_declared(encoding: str) -> bytes:
    """The entity bomb in an encoding the byte pre-check cannot read (UTF-7 spells ``<`` as
    ``+ADw-``): an ASCII XML declaration naming it, then the rest in that encoding."""
    text = billion_laughs().decode()
    decl, _, rest = text.partition("\n")
    return decl.replace("UTF-8", encoding.upper()).encode("ascii") + b"\n" + rest.encode(encoding)


def shift_jis_musicxml() -> bytes:
    """A good score saved in Shift_JIS, as Japanese notation programs may write it."""
    text = musicxml(4, title="さくら さくら").decode().replace('encoding="UTF-8"',
                                                          'encoding="Shift_JIS"')
    return text.encode("shift_jis")


def one_huge_bar(kind: str) -> bytes:
    """A score whose single bar holds HUGE_EVENTS notes: under the bar limit, over the event one."""
    n = HUGE_EVENTS
    if kind == "musicxml":
        return musicxml(1, note="<note><pitch><step>C</step><octave>4</octave></pitch>"
                                "<duration>1</duration></note>" * n)
    if kind == "mscx":
        chord = "<Chord><durationType>16th</durationType><Note><pitch>60</pitch></Note></Chord>"
        return mscx().replace(b"<Chord>", chord.encode() * n + b"<Chord>", 1)
    if kind == "abc":
        return abc("CDEFGABc" * (n // 8) + "|]").encode()
    if kind == "krn":
        return ("**kern\n*M4/4\n=1\n" + "16c\n" * n + "==\n*-\n").encode()
    if kind == "mid":
        notes = b"".join(vlq(0) + b"\x90\x3c\x50" + vlq(1) + b"\x80\x3c\x00" for _ in range(n))
        return midi([b"\x00\xff\x51\x03\x07\xa1\x20" + notes + b"\x00\xff\x2f\x00"])
    raise ValueError(kind)


def xxe_doctype(secret: Path) -> str:
    return f'<!DOCTYPE score-partwise [<!ENTITY xxe SYSTEM "{secret.as_uri()}">]>\n'


def mscx(title: str = "Test", doctype: str = "", notes: bool = True) -> bytes:
    chord = ("<Chord><durationType>whole</durationType><Note><pitch>60</pitch><tpc>14</tpc>"
             "</Note></Chord>") if notes else "<Rest><durationType>measure</durationType>" \
                                              "<duration>4/4</duration></Rest>"
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n' + doctype +
        '<museScore version="3.02"><Score><Division>480</Division>'
        f'<metaTag name="workTitle">{title}</metaTag>'
        "<Part><Staff id=\"1\"/><trackName>Flute</trackName></Part>"
        '<Staff id="1"><Measure><voice><TimeSig><sigN>4</sigN><sigD>4</sigD></TimeSig>'
        f"{chord}</voice></Measure></Staff></Score></museScore>\n"
    ).encode()


def mscz(inner_mscx: bytes) -> bytes:
    container = (b'<?xml version="1.0" encoding="UTF-8"?><container><rootfiles>'
                 b'<rootfile full-path="score.mscx"/></rootfiles></container>')
    return zip_bytes({"META-INF/container.xml": container, "score.mscx": inner_mscx})


def abc(body: str, header: str = "X:1\nT:Tune\nM:4/4\nL:1/8\nK:D\n") -> str:
    return header + body + "\n"


GOOD_ABC = abc("|:DFA dAF|GBd gdB|AFA dAF|GEC D3:|", "X:1\nT:Señorita jig\nM:6/8\nL:1/8\nK:D\n")


def midi(tracks: list[bytes], division: int = 480, fmt: int = 1, ntracks: int | None = None,
         ) -> bytes:
    head = struct.pack(">4sLHHH", b"MThd", 6, fmt, len(tracks) if ntracks is None else ntracks,
                       division)
    return head + b"".join(struct.pack(">4sL", b"MTrk", len(t)) + t for t in tracks)


def vlq(n: int) -> bytes:
    out = [n & 0x7F]
    n >>= 7
    while n:
        out.append(0x80 | (n & 0x7F))
        n >>= 7
    return bytes(reversed(out))


def midi_track(tempo_us: int | None = 500_000, notes: list[tuple[int, int]] | None = None) -> bytes:
    """One track: an optional tempo event, then (delta-before, duration-ticks) middle Cs."""
    ev = b""
    if tempo_us is not None:
        ev += b"\x00\xff\x51\x03" + tempo_us.to_bytes(3, "big")
    for delta, dur in notes if notes is not None else [(0, 480), (0, 480)]:
        ev += vlq(delta) + b"\x90\x3c\x50" + vlq(dur) + b"\x80\x3c\x00"
    return ev + b"\x00\xff\x2f\x00"


def garbage(n: int, seed: int) -> bytes:
    import random

    return random.Random(seed).randbytes(n)


def _fixture(name: str) -> Callable[[Path, Path], bytes]:
    return lambda folder, secret: (FIXTURE_SCORES / name).read_bytes()


def _truncated(name: str, frac: float) -> Callable[[Path, Path], bytes]:
    def make(folder: Path, secret: Path) -> bytes:
        data = (FIXTURE_SCORES / name).read_bytes()
        return data[: int(len(data) * frac)]
    return make


def _const(data: bytes | str) -> Callable[[Path, Path], bytes]:
    raw = data.encode() if isinstance(data, str) else data
    return lambda folder, secret: raw


def _deep_xml(depth: int) -> bytes:
    return (b'<?xml version="1.0"?><score-partwise version="3.1"><part-list/><part id="P1">'
            + b"<measure>" * depth + b"</measure>" * depth + b"</part></score-partwise>")


def _sparse_oversized(folder: Path, secret: Path) -> None:
    """A 201 MB file of zeros, sparse on disk (costs nothing to write): written by write_corpus."""


# ---------------------------------------------------------------- the cases
def _xxe_cases() -> list[Case]:
    def xxe_xml(folder, secret):
        return musicxml(title="&xxe;", doctype=xxe_doctype(secret))

    def xxe_mxl(folder, secret):
        return mxl(musicxml(title="&xxe;", doctype=xxe_doctype(secret)))

    def xxe_mscx(folder, secret):
        return mscx(title="&xxe;", doctype=xxe_doctype(secret))

    def xxe_mscz(folder, secret):
        return mscz(mscx(title="&xxe;", doctype=xxe_doctype(secret)))

    def xxe_param(folder, secret):
        doctype = (f'<!DOCTYPE score-partwise [<!ENTITY % ext SYSTEM "{secret.as_uri()}"> '
                   '%ext;]>\n')
        return musicxml(title="x", doctype=doctype)

    def ext_dtd(folder, secret):
        # no entity declaration at all: an external DTD a careless parser would fetch
        dtd = folder.parent / "evil.dtd"
        dtd.write_text(f'<!ENTITY xxe SYSTEM "{secret.as_uri()}">')
        return musicxml(title="&xxe;",
                        doctype=f'<!DOCTYPE score-partwise SYSTEM "{dtd.as_uri()}">\n')

    def xinclude(folder, secret):
        inc = (f'<xi:include xmlns:xi="http://www.w3.org/2001/XInclude" href="{secret.as_uri()}" '
               'parse="text"/>')
        return musicxml(title="Included", extra_work=f"<work-number>{inc}</work-number>")

    return [
        Case("xxe.musicxml", "xml_external_entity", "refuse", xxe_xml, ("entity",)),
        Case("xxe.mxl", "xml_external_entity", "refuse", xxe_mxl, ("entity",)),
        Case("xxe.mscx", "xml_external_entity", "refuse", xxe_mscx, ("entity",)),
        Case("xxe.mscz", "xml_external_entity", "refuse", xxe_mscz, ("entity",)),
        Case("xxe_parameter_entity.xml", "xml_external_entity", "refuse", xxe_param, ("entity",)),
        Case("xxe_external_dtd.xml", "xml_external_entity", "refuse", ext_dtd,
             ("entity", "musicxml")),
        # XInclude is not processed by any reader we use: the score reads, the file stays unread
        Case("xinclude.xml", "xml_external_entity", "accept", xinclude),
    ]


def cases() -> list[Case]:
    """All cases; file names are unique."""
    out = [
        # -- good files (some with awkward names)
        Case("good/lieder 6053984 (copy).mxl", "good", "accept", _fixture("lieder_6053984.mxl")),
        Case("good/Schubert – Lied ünd Grüße.mscz", "good", "accept",
             _fixture("lieder_6053984.mscz")),
        Case("good/small tune.mid", "good", "accept", _fixture("small.mid")),
        Case("good/little_tune.krn", "good", "accept", _fixture("little_tune.krn")),
        Case("good/handmade.mscx", "good", "accept", _fixture("handmade.mscx")),
        Case("good/日本の歌 space.abc", "good", "accept", _const(GOOD_ABC)),
        Case("good/plain.musicxml", "good", "accept", _const(musicxml(4))),
        Case("good/shift_jis.musicxml", "good", "accept", _const(shift_jis_musicxml())),
        # -- zip containers
        Case("truncated.mxl", "invalid_zip", "refuse", _truncated("lieder_6053984.mxl", 0.5),
             ("zip", "archive")),
        Case("truncated_head.mxl", "invalid_zip", "refuse", _truncated("lieder_6053984.mxl", 0.05),
             ("zip", "archive")),
        Case("truncated.mscz", "invalid_zip", "refuse", _truncated("lieder_6053984.mscz", 0.5),
             ("zip", "archive")),
        Case("not_a_zip.mxl", "invalid_zip", "refuse", _const(b"PK\x03\x04 this is not a zip"),
             ("zip",)),
        Case("not_a_zip.mscz", "invalid_zip", "refuse", _const("just some text\n"), ("zip",)),
        Case("empty_zip.mxl", "invalid_zip", "refuse", _const(zip_bytes({})), ("musicxml",)),
        Case("no_score_inside.mscz", "invalid_zip", "refuse",
             _const(zip_bytes({"readme.txt": b"hello"})), ("musescore", "mscx")),
        Case("crc_error.mxl", "invalid_zip", "refuse",
             lambda f, s: _corrupt_member(mxl(musicxml(8)))),
        Case("zip_bomb.mxl", "zip_bomb", "refuse", lambda f, s: zip_bomb("score.musicxml"),
             ("limit", "mb")),
        Case("zip_bomb.mscz", "zip_bomb", "refuse", lambda f, s: zip_bomb("score.mscx"),
             ("limit", "mb")),
        # -- XML attacks and oddities
        Case("billion_laughs.musicxml", "xml_entity_bomb", "refuse", _const(billion_laughs()),
             ("entity",)),
        Case("billion_laughs_utf16.xml", "xml_entity_bomb", "refuse",
             _const(billion_laughs("utf-16")), ("entity",)),
        Case("billion_laughs_utf7.musicxml", "xml_entity_bomb", "refuse",
             _const(billion_laughs_declared("utf-7")), ("entity",)),
        Case("billion_laughs_utf7.mxl", "xml_entity_bomb", "refuse",
             lambda f, s: mxl(billion_laughs_declared("utf-7")), ("entity",)),
        Case("billion_laughs_utf32.xml", "xml_entity_bomb", "refuse",
             _const(billion_laughs("utf-32")), ("entity",)),
        Case("billion_laughs.mscx", "xml_entity_bomb", "refuse",
             lambda f, s: mscx(title="&lol9;", doctype=billion_laughs().decode().split(
                 "\n")[1].replace("score-partwise", "museScore") + "\n"), ("entity",)),
        *_xxe_cases(),
        Case("deeply_nested.xml", "deep_xml", "refuse", _const(_deep_xml(100_000))),
        Case("deeply_nested.mscx", "deep_xml", "refuse", lambda f, s: (
            b'<?xml version="1.0"?><museScore version="3.02"><Score>' + b"<Staff>" * 100_000
            + b"</Staff>" * 100_000 + b"</Score></museScore>")),
        Case("unclosed_tags.musicxml", "invalid_xml", "refuse", _const(musicxml(4)[:-60])),
        Case("oversized_sparse.xml", "oversized", "refuse", _sparse_oversized, ("mb", "limit")),
        # -- wrong extension
        Case("midi_named.xml", "wrong_extension", "refuse", _fixture("small.mid")),
        Case("musicxml_named.mid", "wrong_extension", "refuse", _const(musicxml(2))),
        Case("mscz_named.mxl", "wrong_extension", "refuse", _fixture("lieder_6053984.mscz"),
             ("mscz", "musescore")),
        Case("mxl_named.mscz", "wrong_extension", "refuse", _fixture("lieder_6053984.mxl")),
        Case("abc_named.krn", "wrong_extension", "refuse", _const(GOOD_ABC)),
        Case("score.pdf", "wrong_extension", "refuse", _const(b"%PDF-1.4\n%\xe2\xe3\n"),
             ("unsupported",)),
        # -- empty, no notes
        Case("empty.xml", "empty", "refuse", _const(b""), ("empty",)),
        Case("empty.abc", "empty", "refuse", _const(b""), ("empty",)),
        Case("empty.mid", "empty", "refuse", _const(b""), ("empty",)),
        Case("empty.mscz", "empty", "refuse", _const(b""), ("empty",)),
        Case("whitespace.abc", "empty", "refuse", _const("\n\n   \n"), ("no abc tune", "no notes")),
        Case("rests_only.musicxml", "no_notes", "refuse", _const(musicxml(
            3, note="<note><rest/><duration>4</duration><type>whole</type></note>")),
             ("no notes",)),
        Case("no_measures.musicxml", "no_notes", "refuse", _const(musicxml(0))),
        Case("rests_only.abc", "no_notes", "refuse", _const(abc("z8|z8|z8|]")), ("no notes",)),
        Case("header_only.abc", "no_notes", "refuse", _const(abc(""))),
        Case("rests_only.mscx", "no_notes", "refuse", lambda f, s: mscx(notes=False),
             ("no notes",)),
        # -- size
        Case("huge_20000_bars.abc", "huge_score", "refuse",
             _const(abc("|".join(["CDEF GABc"] * HUGE_BARS) + "|]")), ("clamp_max_bars",)),
        Case("huge_20000_bars.musicxml", "huge_score", "refuse", _const(musicxml(HUGE_BARS)),
             ("clamp_max_bars",)),
        *[Case(f"one_huge_bar.{kind}", "huge_score", "refuse",
               functools.partial(lambda k, f, s: one_huge_bar(k), kind), ("clamp_max_events",))
          for kind in ("musicxml", "mscx", "abc", "krn", "mid")],
        # -- binary garbage
        *[Case(f"garbage{ext}", "binary_garbage", "refuse", _const(garbage(4096, i)))
          for i, ext in enumerate((".xml", ".mxl", ".mid", ".abc", ".krn", ".mscx", ".mscz"))],
        # -- encodings of ABC
        Case("latin1.abc", "abc_encoding", "accept", _const(GOOD_ABC.encode("latin-1"))),
        Case("utf16_bom.abc", "abc_encoding", "accept", _const(GOOD_ABC.encode("utf-16"))),
        Case("utf16le_no_bom.abc", "abc_encoding", "accept", _const(GOOD_ABC.encode("utf-16-le"))),
        Case("utf8_bom.abc", "abc_encoding", "accept", _const(b"\xef\xbb\xbf" + GOOD_ABC.encode())),
        # -- ABC syntax errors
        Case("prose.abc", "abc_syntax", "refuse", _const("Dear diary,\ntoday I wrote no music.\n"),
             ("abc",)),
        Case("bad_length.abc", "abc_syntax", "refuse",
             _const(abc("CDEF|", "X:1\nM:4/4\nL:1/0\nK:C\n"))),
        Case("bad_meter.abc", "abc_syntax", "refuse",
             _const(abc("CDEF|", "X:1\nM:0/0\nL:1/8\nK:C\n"))),
        Case("bad_key.abc", "abc_syntax", "any",
             _const(abc("CDEF|", "X:1\nM:4/4\nL:1/8\nK:Q#mixo\n"))),
        Case("brackets.abc", "abc_syntax", "refuse", _const(abc("[[[[((((|:::|]]]]{{{{"))),
        Case("bad_tuplet.abc", "abc_syntax", "refuse", _const(abc("(0ABC (99999ABC|"))),
        # -- MIDI structure, tempo and durations
        Case("no_tracks.mid", "midi_structure", "refuse", _const(midi([], ntracks=0))),
        Case("claims_tracks.mid", "midi_structure", "refuse", _const(midi([], ntracks=3))),
        Case("header_only.mid", "midi_structure", "refuse", _const(b"MThd\x00\x00\x00\x06\x00")),
        Case("track_no_notes.mid", "midi_structure", "refuse",
             _const(midi([midi_track(notes=[])])), ("no notes",)),
        Case("zero_division.mid", "absurd_values", "refuse",
             _const(midi([midi_track()], division=0)),
             ("division of zero",)),
        Case("tempo_zero.mid", "absurd_values", "refuse", _const(midi([midi_track(tempo_us=0)])),
             ("division of zero",)),
        Case("tempo_max.mid", "absurd_values", "accept",
             _const(midi([midi_track(tempo_us=0xFFFFFF)]))),
        Case("huge_delta.mid", "absurd_values", "refuse", _const(midi([midi_track(
            notes=[(0, 480), (0x0FFFFFFF, 480)])]))),
        Case("huge_note.mid", "absurd_values", "refuse", _const(midi([midi_track(
            notes=[(0, 0x0FFFFFFF)])]))),
        Case("tempo_zero.abc", "absurd_values", "any",
             _const(abc("CDEF GABc|", "X:1\nM:4/4\nL:1/8\nQ:1/4=0\nK:C\n"))),
        Case("tempo_huge.abc", "absurd_values", "accept",
             _const(abc("CDEF GABc|", "X:1\nM:4/4\nL:1/8\nQ:1/4=999999999\nK:C\n"))),
        Case("long_note.abc", "absurd_values", "any", _const(abc("C99999999|"))),
        Case("tiny_unit.abc", "absurd_values", "any",
             _const(abc("CDEF|", "X:1\nM:4/4\nL:1/99999999\nK:C\n"))),
        Case("huge_duration.musicxml", "absurd_values", "any", _const(musicxml(
            1, note="<note><pitch><step>C</step><octave>4</octave></pitch>"
                    "<duration>1000000000000</duration><type>whole</type></note>"))),
        Case("zero_divisions.musicxml", "absurd_values", "any", _const(musicxml(1, divisions="0"))),
    ]
    names = [c.name for c in out]
    assert len(names) == len(set(names)), "duplicate case names"
    return out


def _corrupt_member(data: bytes) -> bytes:
    """Flip bytes inside the deflated data of the last member (the CRC check must catch it)."""
    b = bytearray(data)
    at = b.rfind(b"score.musicxml", 0, b.find(b"PK\x01\x02"))
    for i in range(at + 20, at + 60):
        b[i] ^= 0x5A
    return bytes(b)


def write_corpus(folder: Path, loops: bool = True) -> tuple[list[tuple[Case, Path]], Path]:
    """Write every case under ``folder`` (created), the secret file beside it and, with
    ``loops``, symlink loops inside it. Returns (case, path) pairs and the secret's path."""
    folder.mkdir(parents=True, exist_ok=True)
    secret = folder.parent / SECRET_NAME
    secret.write_text(f"{SECRET_MARKER}\n", encoding="utf-8")
    written = []
    for case in cases():
        path = folder / case.name
        path.parent.mkdir(parents=True, exist_ok=True)
        data = case.make(folder, secret)
        if data is None:  # the sparse oversized file
            with open(path, "wb") as f:
                f.truncate(201 * 2**20)
        else:
            path.write_bytes(data)
        written.append((case, path))
    if loops:
        os.symlink(".", folder / "good" / "loop")            # a folder loop
        os.symlink("self_loop.abc", folder / "self_loop.abc")  # a file that points at itself
        os.symlink("missing.xml", folder / "dangling.xml")     # points at nothing
    return written, secret


def copy_good(folder: Path, dest: Path) -> None:
    shutil.copytree(folder / "good", dest, symlinks=True)
