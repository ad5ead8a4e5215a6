"""Guards for untrusted score files: bounded reads, zip-bomb caps, no XML entity declarations.

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

_ENTITY_PATTERNS = tuple(
    "<!ENTITY".encode(enc) for enc in ("utf-8", "utf-16-le", "utf-16-be")
)
_XML_DECL = re.compile(r"^\s*<\?xml[^>]*\?>", re.DOTALL)
_ENCODING_DECL = re.compile(rb"^\s*<\?xml[^>]*encoding\s*=\s*[\"']([A-Za-z0-9._-]+)[\"']")


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


def check_xml(data: bytes, name: str) -> None:
    """Refuse XML that declares entities (billion-laughs expansion, external-entity reads).

    Real MusicXML and MuseScore files never declare entities; an external DTD reference in
    the DOCTYPE is fine because neither expat nor music21 fetches it.
    """
    if any(p in data for p in _ENTITY_PATTERNS):
        raise ClampError(
            f"{name}: refusing XML with <!ENTITY> declarations (possible entity-expansion attack); "
            "re-export the score from your notation program"
        )


def decode_xml(data: bytes, name: str) -> str:
    """Decode XML bytes to text (BOM, then the encoding declaration, then UTF-8), dropping the
    XML declaration so parsers that take ``str`` do not trip over a stale encoding label."""
    if data.startswith(codecs.BOM_UTF8):
        enc = "utf-8-sig"
    elif data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        enc = "utf-16"
    else:
        m = _ENCODING_DECL.match(data)
        enc = m.group(1).decode("ascii") if m else "utf-8"
    try:
        text = data.decode(enc)
    except (LookupError, UnicodeDecodeError) as exc:
        raise ClampError(
            f"{name}: cannot decode the XML as {enc} ({exc.__class__.__name__}); "
            "re-export the score as UTF-8 MusicXML"
        ) from None
    return _XML_DECL.sub("", text, count=1)


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
    check_xml(data, name)
    try:
        root = ET.fromstring(data)
    except ET.ParseError:
        return []
    paths = []
    for el in root.iter():
        if el.tag.rsplit("}", 1)[-1] == "rootfile" and el.get("full-path"):
            paths.append(el.get("full-path", ""))
    return [p for p in paths if safe_member_name(p)]


def safe_member_name(member: str) -> bool:
    """Member names are only looked up, never extracted, but reject absurd ones anyway."""
    p = PurePosixPath(member)
    return bool(member) and not p.is_absolute() and ".." not in p.parts


def max_bars() -> int:
    """The bar limit: $CLAMP_MAX_BARS if set to a positive number, else the default."""
    try:
        value = int(os.environ.get(MAX_BARS_ENV, ""))
    except ValueError:
        return DEFAULT_MAX_BARS
    return value if value > 0 else DEFAULT_MAX_BARS


def check_bars(bars: float, name: str) -> None:
    """Refuse a score longer than the bar limit before it is parsed (a clear limit, not a hang)."""
    limit = max_bars()
    if bars > limit:
        raise ClampError(
            f"{name}: about {int(bars)} bars, over the {limit}-bar limit for one score; split it, "
            f"or set {MAX_BARS_ENV}={int(bars) + 1} to read it anyway (slow: minutes)"
        )


def musicxml_bars(data: bytes) -> float:
    """Bars per part of partwise MusicXML (measures over parts), from the raw bytes."""
    parts = len(re.findall(rb"<part[\s>]", data))
    return data.count(b"<measure") / max(1, parts)


def mscx_bars(data: bytes) -> float:
    """Bars per staff of MuseScore XML: each staff is declared in its Part and again with music."""
    return data.count(b"<Measure") / max(1, data.count(b"<Staff id=") // 2)


def midi_bars(data: bytes) -> float:
    """Length of a MIDI file in 4/4 bars (its last event, in quarter notes over four). music21
    turns silence into bars, so a single huge delta time is a long score too. 0 if unreadable:
    the reader then reports what is wrong."""
    from music21 import midi

    mf = midi.MidiFile()
    try:
        mf.readstr(data)
        tpq = mf.ticksPerQuarterNote or 0
        ticks = max((sum(e.time for e in t.events if isinstance(e, midi.DeltaTime))
                     for t in mf.tracks), default=0)
    except Exception:  # noqa: BLE001 - malformed MIDI: the music21 reader gives the error
        return 0.0
    return ticks / tpq / 4 if tpq > 0 else 0.0
