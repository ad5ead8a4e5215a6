"""Guards for untrusted score files: bounded reads, zip-bomb caps, no XML entity declarations,
bounded work per score (bars and notes counted before any parser builds a score).

Scores arrive from e-mail, downloads and shared folders, so every byte we hand to a parser
goes through here first.
"""

from __future__ import annotations

import codecs
import io
import os
import re
import zipfile
import zlib
from pathlib import Path, PurePosixPath
from xml.parsers import expat

from clamp_core.errors import ClampError, one_line

# Large orchestral MusicXML files reach 20-40 MB uncompressed; 200 MB leaves room for them
# while stopping a zip bomb long before it exhausts memory.
MAX_FILE_BYTES = 200 * 1024 * 1024
MAX_MEMBER_BYTES = 200 * 1024 * 1024

# music21 builds every bar as Python objects (and its ABC reader is quadratic in bars per voice),
# so a 20,000-bar file would take many minutes; the longest real works stay under ~3,000 bars
# per part. Counted cheaply from the raw file before any parser sees it.
DEFAULT_MAX_BARS = 5000
MAX_BARS_ENV = "CLAMP_MAX_BARS"

# The bar limit does not bound the work inside a bar: one bar can hold any number of notes.
# music21 reads about 15,000 notes a second (MusicXML, one core), so 200,000 notes and rests
# per score cost it under half a minute; a large orchestral movement (25 staves, 500 bars)
# holds about 50,000 and a whole long opera act in one file about 150,000. Counted cheaply
# (MusicXML <note>, MuseScore <Note>/<Rest>, MIDI note-ons, ABC notes and rests, Humdrum
# data tokens) before any parser builds a score.
DEFAULT_MAX_EVENTS = 200_000
MAX_EVENTS_ENV = "CLAMP_MAX_EVENTS"

_ENTITY_PATTERNS = tuple(
    "<!ENTITY".encode(enc) for enc in ("utf-8", "utf-16-le", "utf-16-be")
)
_XML_DECL = re.compile(r"^\s*<\?xml[^>]*\?>", re.DOTALL)
_ENCODING_DECL = re.compile(rb"^\s*<\?xml[^>]*encoding\s*=\s*[\"']([A-Za-z0-9._-]+)[\"']")
# byte order marks, UTF-32 before UTF-16 (FF FE 00 00 starts with FF FE)
_BOMS = ((codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"),
         (codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"),
         (codecs.BOM_UTF16_BE, "utf-16"))
_SCAN_CHUNK = 1 << 20  # characters handed to the expat scan at a time
_REFUSED_ENTITIES = ("refusing XML with <!ENTITY> declarations (possible entity-expansion "
                     "attack); re-export the score from your notation program")


def check_size(size: int, name: str, what: str = "file", limit: int | None = None) -> None:
    """Refuse a score of ``size`` bytes over ``limit`` (default MAX_FILE_BYTES)."""
    limit = MAX_FILE_BYTES if limit is None else limit
    if size > limit:
        raise ClampError(
            f"{name}: {what} is {size // 2**20} MB, over the {limit // 2**20} MB limit for "
            "scores; split the score or export a smaller excerpt"
        )


def read_file(path: Path, limit: int | None = None) -> bytes:
    """Read a whole file, refusing files larger than ``limit`` before reading a byte."""
    check_size(path.stat().st_size, str(path), limit=limit)
    return path.read_bytes()


class DamagedXMLError(ClampError):
    """XML that is not well-formed; ``why`` is expat's one-line reason. Callers that know the
    format reword it (``xml_text``'s ``damaged``)."""

    def __init__(self, message: str, why: str) -> None:
        super().__init__(message)
        self.why = why


def check_xml(data: bytes, name: str) -> None:
    """The cheap byte pre-check: refuse ``<!ENTITY`` in UTF-8 or UTF-16 before decoding.

    Not the guard itself (other encodings spell it differently): ``scan_xml`` is.
    """
    if any(p in data for p in _ENTITY_PATTERNS):
        raise ClampError(f"{name}: {_REFUSED_ENTITIES}")


def xml_encoding(data: bytes) -> str:
    """The codec of XML bytes as a parser must read them: a byte order mark, else the UTF-16/32
    byte pattern of the first characters (XML 1.0 appendix F), else the encoding declaration,
    else UTF-8."""
    for bom, enc in _BOMS:
        if data.startswith(bom):
            return enc
    head = data[:4]
    if len(head) == 4:
        if head[:3] == b"\0\0\0" and head[3]:
            return "utf-32-be"
        if head[0] and head[1:] == b"\0\0\0":
            return "utf-32-le"
        if head[0] == head[2] == 0 and head[1] and head[3]:
            return "utf-16-be"
        if head[1] == head[3] == 0 and head[0] and head[2]:
            return "utf-16-le"
    m = _ENCODING_DECL.match(data)
    return m.group(1).decode("ascii") if m else "utf-8"


def decode_xml(data: bytes, name: str) -> str:
    """Decode XML bytes to text (``xml_encoding``: any encoding Python knows, Shift_JIS and
    windows-1252 included), dropping the XML declaration so parsers that take ``str`` do not
    trip over a stale encoding label. Not checked: ``xml_text`` decodes and checks."""
    enc = xml_encoding(data)
    try:
        text = data.decode(enc)
    except (LookupError, UnicodeDecodeError) as exc:
        raise ClampError(
            f"{name}: cannot decode the XML as {enc} ({exc.__class__.__name__}); "
            "re-export the score as UTF-8 MusicXML"
        ) from None
    return _XML_DECL.sub("", text, count=1)


def scan_xml(text: str, name: str) -> None:
    """Read decoded XML once with expat (C speed, no tree) under defusedxml's rules: any entity
    declaration, external entity or reference to an undeclared entity is refused, parameter
    entities and the external DTD are never read. An external DTD reference in the DOCTYPE
    (usual in MusicXML) is fine. The text is scanned as UTF-8, the encoding Python parsers use
    for ``str``, whatever its declaration said, so what is scanned is what they will read.

    Raises ClampError (entities) or DamagedXMLError (not well-formed XML).
    """
    def entity_declared(*args: object) -> None:
        raise ClampError(f"{name}: {_REFUSED_ENTITIES}")

    def external_entity(*args: object) -> int:
        raise ClampError(f"{name}: refusing XML that reads an external entity; "
                         "re-export the score from your notation program")

    def undeclared_entity(entity: str, is_parameter: bool) -> None:
        ref = f"%{entity};" if is_parameter else f"&{entity};"
        raise ClampError(f"{name}: refusing XML that uses the undeclared entity {ref} (it "
                         "would come from an external DTD); re-export the score")

    parser = expat.ParserCreate("UTF-8")
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    parser.EntityDeclHandler = entity_declared
    parser.UnparsedEntityDeclHandler = entity_declared
    parser.ExternalEntityRefHandler = external_entity
    parser.SkippedEntityHandler = undeclared_entity
    try:
        for i in range(0, len(text), _SCAN_CHUNK):
            parser.Parse(text[i:i + _SCAN_CHUNK].encode("utf-8", "surrogatepass"), False)
        parser.Parse(b"", True)
    except expat.ExpatError as exc:
        why = one_line(exc)
        raise DamagedXMLError(f"{name}: the XML is damaged ({why}); re-export the score",
                              why) from None


def xml_text(data: bytes, name: str, damaged: str | None = None) -> str:
    """The text of untrusted XML bytes for a parser: the byte pre-check, one decode, one expat
    scan (``scan_xml``). Returns the decoded text without its XML declaration; parse that
    text (or its UTF-8 bytes), never ``data``. ``damaged``: the message for XML that is not
    well-formed, with ``{why}`` for expat's reason (raised as DamagedXMLError)."""
    check_xml(data, name)
    text = decode_xml(data, name)
    try:
        scan_xml(text, name)
    except DamagedXMLError as exc:
        if damaged is None:
            raise
        raise DamagedXMLError(f"{name}: {damaged.format(why=exc.why)}", exc.why) from None
    return text


def read_zip_member(zf: zipfile.ZipFile, member: str, name: str,
                    limit: int | None = None) -> bytes:
    """Read one zip member, never inflating more than ``limit`` bytes whatever the header claims."""
    limit = MAX_MEMBER_BYTES if limit is None else limit
    try:
        info = zf.getinfo(member)
        if info.file_size > limit:
            raise ClampError(
                f"{name}: member {member!r} unpacks to {info.file_size // 2**20} MB, over the "
                f"{limit // 2**20} MB limit; this is not a normal score file"
            )
        with zf.open(info) as fh:
            data = fh.read(limit + 1)
    except ClampError:
        raise
    except (zipfile.BadZipFile, KeyError, OSError, RuntimeError, EOFError, ValueError,
            zlib.error) as exc:
        raise ClampError(
            f"{name}: damaged archive, cannot unpack {member!r} ({one_line(exc)}); "
            "re-save or re-export the file"
        ) from None
    if len(data) > limit:
        raise ClampError(
            f"{name}: member {member!r} unpacks to more than {limit // 2**20} MB; "
            "this is not a normal score file"
        )
    return data


def open_zip(source: Path | bytes, name: str) -> zipfile.ZipFile:
    """Open a zip container (a file or its bytes) with a one-line error for anything that is
    not a zip."""
    try:
        return zipfile.ZipFile(io.BytesIO(source) if isinstance(source, bytes) else source)
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise ClampError(
            f"{name}: not a valid zip container ({one_line(exc)}); the file is damaged or "
            "has the wrong extension"
        ) from None


def container_rootfiles(zf: zipfile.ZipFile, name: str) -> list[str]:
    """Root files listed in META-INF/container.xml (MusicXML and MuseScore use the same layout)."""
    import xml.etree.ElementTree as ET

    if "META-INF/container.xml" not in zf.namelist():
        return []
    data = read_zip_member(zf, "META-INF/container.xml", name, limit=1024 * 1024)
    try:
        root = ET.fromstring(xml_text(data, name))
    except (DamagedXMLError, ET.ParseError):
        return []  # the score itself is looked for by name
    paths = []
    for el in root.iter():
        if el.tag.rsplit("}", 1)[-1] == "rootfile" and el.get("full-path"):
            paths.append(el.get("full-path", ""))
    return [p for p in paths if safe_member_name(p)]


def safe_member_name(member: str) -> bool:
    """Member names are only looked up, never extracted, but reject absurd ones anyway."""
    p = PurePosixPath(member)
    return bool(member) and not p.is_absolute() and ".." not in p.parts


def _env_limit(name: str, default: int) -> int:
    """$name if set to a positive whole number, else ``default``."""
    try:
        value = int(os.environ.get(name, ""))
    except ValueError:
        return default
    return value if value > 0 else default


def max_bars() -> int:
    """The bar limit: $CLAMP_MAX_BARS if set to a positive number, else the default."""
    return _env_limit(MAX_BARS_ENV, DEFAULT_MAX_BARS)


def check_bars(bars: float, name: str) -> None:
    """Refuse a score longer than the bar limit before it is parsed (a clear limit, not a hang)."""
    limit = max_bars()
    if bars > limit:
        raise ClampError(
            f"{name}: about {int(bars)} bars, over the {limit}-bar limit for one score; split it, "
            f"or set {MAX_BARS_ENV}={int(bars) + 1} to read it anyway (slow: minutes)"
        )


def max_events() -> int:
    """The note-and-rest limit: $CLAMP_MAX_EVENTS if set to a positive number, else the default."""
    return _env_limit(MAX_EVENTS_ENV, DEFAULT_MAX_EVENTS)


def check_events(events: int, name: str) -> None:
    """Refuse a score with more notes and rests than the limit before it is parsed: the bar
    limit alone lets one enormous bar through."""
    limit = max_events()
    if events > limit:
        raise ClampError(
            f"{name}: more than {limit} notes and rests, the limit for one score; split it, or "
            f"set {MAX_EVENTS_ENV} to a higher number to read it anyway (slow: minutes)"
        )


_MUSICXML_NOTE = re.compile(r"<note[\s>/]")
_MSCX_EVENT = re.compile(rb"<(?:Note|Rest)[\s>/]")


def musicxml_bars(text: str) -> float:
    """Bars per part of partwise MusicXML (measures over parts), from its decoded text."""
    parts = len(re.findall(r"<part[\s>]", text))
    return text.count("<measure") / max(1, parts)


def musicxml_events(text: str) -> int:
    """Notes and rests of decoded MusicXML (every <note> element, chord members included)."""
    return sum(1 for _ in _MUSICXML_NOTE.finditer(text))


def mscx_bars(data: bytes) -> float:
    """Bars per staff of MuseScore XML: each staff is declared in its Part and again with music."""
    return data.count(b"<Measure") / max(1, data.count(b"<Staff id=") // 2)


def mscx_events(data: bytes) -> int:
    """Notes and rests of MuseScore XML (each <Note> of a chord and each <Rest>)."""
    return sum(1 for _ in _MSCX_EVENT.finditer(data))


def humdrum_events(text: str) -> int:
    """Data tokens of a Humdrum file that are not null tokens: notes, rests and other spine
    data (an upper bound of what music21 builds)."""
    events = 0
    for line in text.splitlines():
        if line and line[0] not in "!*=":
            events += sum(1 for tok in line.split("\t") if tok and tok != ".")
    return events


def midi_extent(data: bytes, stop_at: int | None = None) -> tuple[float, int]:
    """A MIDI file's length in 4/4 bars (its longest track, in quarter notes over four) and its
    note count (note-ons with a velocity), from one walk over the events (music21's own MIDI
    reader takes seconds on a huge file: the walk is what bounds it). music21 turns silence into
    bars, so a single huge delta time is a long score too. Counting stops past ``stop_at`` notes
    (default: the event limit). Whatever is unreadable counts as nothing: the reader then says
    what is wrong."""
    stop_at = max_events() if stop_at is None else stop_at
    if len(data) < 14 or data[:4] != b"MThd":
        return 0.0, 0
    header_len = int.from_bytes(data[4:8], "big")
    division = int.from_bytes(data[12:14], "big")
    tpq = division if division and not division & 0x8000 else 0  # SMPTE time: no quarters
    pos, longest, notes = 8 + header_len, 0, 0
    while pos + 8 <= len(data) and notes <= stop_at:
        chunk, size = data[pos:pos + 4], int.from_bytes(data[pos + 4:pos + 8], "big")
        body = data[pos + 8:pos + 8 + size]
        pos += 8 + size
        if chunk == b"MTrk":
            ticks, track_notes = _walk_midi_track(body, stop_at - notes)
            longest, notes = max(longest, ticks), notes + track_notes
    return (longest / tpq / 4 if tpq else 0.0), notes


# data bytes after a channel status (high nibble): program change and channel pressure take one
_MIDI_DATA_BYTES = {0x80: 2, 0x90: 2, 0xA0: 2, 0xB0: 2, 0xC0: 1, 0xD0: 1, 0xE0: 2}


def _read_vlq(body: bytes, i: int) -> tuple[int, int]:
    """A MIDI variable-length quantity at ``i``: (value, index after it)."""
    value, n = 0, len(body)
    while i < n:
        b = body[i]
        i += 1
        value = (value << 7) | (b & 0x7F)
        if not b & 0x80:
            break
    return value, i


def _walk_midi_track(body: bytes, stop_at: int) -> tuple[int, int]:
    """(ticks, note-ons) of one track chunk; running status as the standard allows."""
    i, n, ticks, notes, status = 0, len(body), 0, 0, 0
    while i < n and notes <= stop_at:
        delta, i = _read_vlq(body, i)
        ticks += delta
        if i >= n:
            break
        if body[i] & 0x80:
            status = body[i]
            i += 1
        if status == 0xFF or status in (0xF0, 0xF7):  # meta (type byte first) or sysex
            if status == 0xFF:
                i += 1
            length, i = _read_vlq(body, i)
            i += length
            status = 0  # no running status after meta or sysex
            continue
        kind = status & 0xF0
        size = _MIDI_DATA_BYTES.get(kind)
        if size is None:  # a data byte with no status before it: damaged, stop here
            break
        if kind == 0x90 and i + 1 < n and body[i + 1]:
            notes += 1
        i += size
    return ticks, notes
