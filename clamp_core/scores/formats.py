"""Per-format readers behind ``load_score``: MusicXML (plain and .mxl), MIDI, Humdrum, ABC.

Every reader takes the score's bytes (already size-capped) and a name for its error messages.
"""

from __future__ import annotations

import codecs
import io
import logging
import re
import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from music21 import abcFormat, converter, stream
from music21.abcFormat import translate as abc_translate
from music21.humdrum import spineParser

from clamp_core.errors import ClampError, one_line
from clamp_core.scores.safety import (
    check_bars,
    check_events,
    container_rootfiles,
    humdrum_events,
    midi_extent,
    musicxml_bars,
    musicxml_events,
    open_zip,
    read_zip_member,
    xml_text,
)

log = logging.getLogger(__name__)


def _silence_music21_measure_warning() -> None:
    """music21's MusicXML reader warns "The following exception took place in m. N" on stderr
    right before it raises that exception, which we turn into our one-line error: the warning
    only makes that error two lines. Re-installed per parse (idempotent) because code that
    wraps us in ``warnings.catch_warnings`` (pytest, notebooks) resets the filters."""
    warnings.filterwarnings("ignore", message="The following exception took place",
                            module=r"music21\.")


_MUSICXML_SUFFIXES = (".xml", ".musicxml")
_ABC_FIELD = re.compile(r"^[A-Za-z+]:")
_ABC_X = re.compile(r"^X:\s*(\d*)")
_ABC_KEY_LINE = re.compile(r"^\s*K:", re.MULTILINE)
_ABC_NOTES = re.compile(r"[A-Ga-gz][,']*\d*")


def _as_score(obj: object, name: str) -> stream.Score:
    if isinstance(obj, stream.Opus):
        scores = list(obj.scores)
        if not scores:
            raise ClampError(f"{name}: the file holds no score; check that it is not empty")
        obj = scores[0]
    if isinstance(obj, stream.Score):
        return obj
    if isinstance(obj, stream.Stream):
        sc = stream.Score()
        sc.insert(0, obj)
        return sc
    raise ClampError(f"{name}: the reader returned no score; re-export the file")


def musicxml_text(data: bytes, name: str) -> str:
    """Uncompressed MusicXML decoded once it has passed the entity scan in its own encoding
    (music21 itself does not guard) and the bar and event limits."""
    text = xml_text(data, name, damaged="cannot read the MusicXML ({why}); check that it is a "
                    "complete MusicXML file or re-export it")
    check_bars(musicxml_bars(text), name)
    check_events(musicxml_events(text), name)
    head = text[:4000]
    if "<score-timewise" in head:
        raise ClampError(f"{name}: timewise MusicXML is not supported; re-export it as "
                         "(partwise) MusicXML from your notation program")
    if "<score-partwise" not in head and "<museScore" in head:
        raise ClampError(f"{name}: this is a MuseScore file, not MusicXML; rename it to .mscx")
    return text


def parse_musicxml_bytes(data: bytes, name: str) -> stream.Score:
    """Parse uncompressed MusicXML with music21 after the checks of ``musicxml_text``."""
    text = musicxml_text(data, name)
    _silence_music21_measure_warning()
    try:
        return _as_score(converter.parseData(text, format="musicxml"), name)
    except ClampError:
        raise
    except Exception as exc:  # noqa: BLE001 - music21 raises many types on malformed input
        raise ClampError(f"{name}: cannot read the MusicXML ({one_line(exc)}); check that it is a "
                         "complete MusicXML file or re-export it") from None


def mxl_score_bytes(data: bytes, name: str) -> bytes:
    """Compressed MusicXML: the bytes of the root file named by META-INF/container.xml (else
    the first MusicXML member), read with caps."""
    with open_zip(data, name) as zf:
        members = zf.namelist()
        candidates = [m for m in container_rootfiles(zf, name) if m.lower().endswith(
            _MUSICXML_SUFFIXES) and m in members]
        candidates += [m for m in members if m.lower().endswith(_MUSICXML_SUFFIXES)
                       and not m.startswith("META-INF/")]
        if not candidates:
            hint = ("it holds a MuseScore file; rename it to .mscz"
                    if any(m.lower().endswith(".mscx") for m in members)
                    else "re-export the score as compressed MusicXML (.mxl)")
            raise ClampError(f"{name}: zip archive without a MusicXML score inside; {hint}")
        return read_zip_member(zf, candidates[0], name)


def read_mxl(data: bytes, name: str) -> stream.Score:
    """Compressed MusicXML read with music21 (see ``mxl_score_bytes``)."""
    return parse_musicxml_bytes(mxl_score_bytes(data, name), name)


def read_midi(data: bytes, name: str) -> stream.Score:
    bars, notes = midi_extent(data)
    check_bars(bars, name)
    check_events(notes, name)
    return _read_with_music21(lambda: converter.parseData(data, format="midi"), name, "MIDI")


def read_humdrum(data: bytes, name: str) -> stream.Score:
    check_bars(data.count(b"\n="), name)  # one barline record ("=...") per bar for all spines
    # as music21 reads a .krn file: Latin-1, universal newlines, one line per record
    text = data.decode("latin-1")
    check_events(humdrum_events(text), name)
    lines = list(io.StringIO(text, newline=None))

    def parse() -> stream.Stream:
        collection = spineParser.HumdrumDataCollection(lines)
        collection.parse()
        return collection.stream

    return _read_with_music21(parse, name, "Humdrum **kern")


def _read_with_music21(parse, name: str, label: str) -> stream.Score:
    try:
        obj = parse()
    except Exception as exc:  # noqa: BLE001 - music21 raises many types on malformed input
        why = ("a tempo or time division of zero" if isinstance(exc, ZeroDivisionError)
               else one_line(exc))
        raise ClampError(f"{name}: cannot read the {label} file ({why}); check that it "
                         f"is a valid {label} file or re-export it") from None
    return _as_score(obj, name)


# ---------------------------------------------------------------- ABC


@dataclass
class AbcTune:
    number: int
    text: str


def decode_abc(data: bytes) -> str:
    """ABC bytes as text: a BOM or a UTF-16 byte pattern wins, then UTF-8, then Latin-1 (ABC 2.1
    allows other charsets, and old collections are often ISO-8859-1); never raises."""
    if data.startswith(codecs.BOM_UTF8):
        return data[3:].decode("utf-8", errors="replace")
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return data.decode("utf-16", errors="replace")
    head = data[:4096]
    if len(head) >= 4 and head.count(b"\0") * 3 > len(head):  # ASCII text stored as UTF-16
        nul_odd = head[1::2].count(b"\0") > head[0::2].count(b"\0")
        return data.decode("utf-16-le" if nul_odd else "utf-16-be", errors="replace")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def abc_bars(text: str) -> float:
    """Bars per voice of one ABC tune: barlines in music lines over the voices named by V:."""
    voices = set(re.findall(r"^V:\s*(\S+)", text, re.MULTILINE)) | set(
        re.findall(r"\[V:\s*([^\]\s]+)", text))
    music = "\n".join(ln for ln in text.split("\n") if not _ABC_FIELD.match(ln)
                      and not ln.startswith("%"))
    return len(re.findall(r"\|+|::", music)) / max(1, len(voices))


_ABC_SKIPPED = re.compile(r'"[^"\n]*"|![^!\n]*!|\+[^+\n]*\+')  # chord symbols, decorations


def abc_events(text: str) -> int:
    """Notes and rests of one ABC tune (note letters of its music lines, chord members each)."""
    music = "\n".join(ln.split("%", 1)[0] for ln in text.split("\n") if not _ABC_FIELD.match(ln))
    return sum(1 for _ in _ABC_NOTES.finditer(_ABC_SKIPPED.sub("", music)))


def looks_like_abc(text: str) -> bool:
    """A K: line, or header fields followed by a line of notes; never binary data (ABC is text:
    control characters other than tab and line breaks are rare)."""
    head = text[:8192]
    controls = sum(1 for c in head if c < " " and c not in "\t\n\r\f")
    if controls > 0.01 * len(head) or "\0" in head:
        return False
    if _ABC_KEY_LINE.search(text):
        return True
    seen_field = False
    for line in text.splitlines():
        s = line.strip()
        if not s or s.startswith("%"):
            continue
        if _ABC_FIELD.match(s):
            seen_field = True
        elif seen_field and _ABC_NOTES.search(s) and "|" in s:
            return True
    return False


def split_abc(text: str) -> list[AbcTune]:
    """Split ABC text into tunes at X: lines; file-header fields are copied into each tune so
    every tune's text stands on its own (ABC 2.1: the file header applies to all tunes)."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    starts = [i for i, ln in enumerate(lines) if _ABC_X.match(ln)]
    if not starts:
        body = text.strip()
        return [AbcTune(1, body)] if body else []
    header = [ln for ln in lines[: starts[0]]
              if _ABC_FIELD.match(ln) or ln.startswith("%%")]
    tunes = []
    for j, start in enumerate(starts):
        end = starts[j + 1] if j + 1 < len(starts) else len(lines)
        block = lines[start:end]
        digits = _ABC_X.match(block[0]).group(1)  # type: ignore[union-attr]
        number = int(digits) if digits else j + 1
        tune_lines = [block[0], *header, *block[1:]]
        tunes.append(AbcTune(number, "\n".join(tune_lines).strip() + "\n"))
    return tunes


def select_abc_tune(text: str, tune: int | None, name: str) -> AbcTune:
    tunes = split_abc(text)
    if not tunes:
        raise ClampError(f"{name}: no ABC tune found; an ABC tune needs header lines "
                         "(X:, T:, M:, L:, K:) followed by notes")
    if tune is None:
        return tunes[0]
    for t in tunes:
        if t.number == tune:
            return t
    numbers = ", ".join(str(t.number) for t in tunes[:20]) + (" ..." if len(tunes) > 20 else "")
    raise ClampError(f"{name}: no tune X:{tune}; this ABC holds tunes {numbers}")


# Annotations ("^text", "_text", "<text", ">text", "@text") and decorations (!f!, +trill+) that
# music21's ABC reader chokes on; chord symbols ("Am7") are kept.
_ABC_ANNOTATION = re.compile(r'"[\^_<>@][^"\n]*"')
_ABC_DECORATION = re.compile(r"![^!\n]*!|\+[^+\n]*\+")


def simplify_abc_for_music21(text: str) -> str:
    """A copy without annotations and decorations (they carry no pitch or duration)."""
    out = []
    for line in text.split("\n"):
        if _ABC_FIELD.match(line) or line.startswith("%"):
            out.append(line)
        else:
            out.append(_ABC_DECORATION.sub("", _ABC_ANNOTATION.sub("", line)))
    return "\n".join(out)


# music21's ABC reader beams every bar through whole-part context searches, quadratic in the
# number of bars (a 300-bar tune: 16 s instead of 0.5 s). Nothing downstream needs those beams
# (the model reads the ABC as written; our ABC writer beams ABC imports by beat itself), so
# beaming is skipped while a thread of ours reads ABC. Its reader also prints warnings
# ("assuming C") straight to stderr; those go to our debug log then, so a bad file's error stays
# one line. The patches exist only while some thread reads ABC (importing us changes nothing in
# music21); the thread-local depth keeps other threads' music21 calls as music21 wrote them.
_READING_ABC = threading.local()
_PATCH_LOCK = threading.Lock()
_patch_users = 0
_ABSENT = object()
_saved: list[tuple[object, str, object]] = []  # (owner, attribute, own value or _ABSENT)


def _reading_abc() -> bool:
    return getattr(_READING_ABC, "depth", 0) > 0


def _patches() -> list[tuple[object, str, object]]:
    make_beams = stream.Part.makeBeams

    def make_beams_unless_reading_abc(self, *args, **kwargs):
        if _reading_abc():
            return None if kwargs.get("inPlace") else self
        return make_beams(self, *args, **kwargs)

    def quiet(env):
        music21_warn = env.warn

        def warn(msg, header=None):
            if not _reading_abc():
                return music21_warn(msg, header)
            log.debug("music21 ABC reader: %s", " ".join(map(str, msg)) if isinstance(
                msg, (list, tuple)) else msg)
            return None

        return warn

    envs = (abcFormat.environLocal, abc_translate.environLocal)
    return [(stream.Part, "makeBeams", make_beams_unless_reading_abc),
            *((env, "warn", quiet(env)) for env in envs)]


@contextmanager
def music21_patched_for_abc() -> Iterator[None]:
    """Patch music21 for reading ABC in this thread, and restore it once no thread reads ABC.
    Re-entrant and thread-safe: the first user installs, the last one restores."""
    global _patch_users
    with _PATCH_LOCK:
        if _patch_users == 0:
            for owner, attr, value in _patches():
                # only the owner's own attribute is saved: an inherited method or a bound one
                # is restored by deleting ours
                _saved.append((owner, attr, vars(owner).get(attr, _ABSENT)))
                setattr(owner, attr, value)
        _patch_users += 1
    _READING_ABC.depth = getattr(_READING_ABC, "depth", 0) + 1
    try:
        yield
    finally:
        _READING_ABC.depth -= 1
        with _PATCH_LOCK:
            _patch_users -= 1
            if _patch_users == 0:
                while _saved:
                    owner, attr, value = _saved.pop()
                    if value is _ABSENT:
                        delattr(owner, attr)
                    else:
                        setattr(owner, attr, value)


def _parse_abc_data(text: str) -> object:
    with music21_patched_for_abc():
        return converter.parseData(text, format="abc")


def parse_abc_tune(tune: AbcTune, name: str) -> stream.Score:
    """music21 stream of one tune; when music21's reader fails on annotations or decorations
    (valid ABC it does not support) it reads a copy without them; the ABC kept for the model is
    the original either way."""
    text = tune.text
    check_bars(abc_bars(text), name)
    check_events(abc_events(text), name)
    if not re.search(r"^\s*[LM]:", text, re.MULTILINE):
        # ABC 2.1: without L: and M: the unit note length is 1/8; music21 refuses to guess
        first, _, rest = text.partition("\n")
        text = f"{first}\nL:1/8\n{rest}" if _ABC_X.match(first) else f"L:1/8\n{text}"
    try:
        obj = _parse_abc_data(text)
    except Exception as exc:  # noqa: BLE001 - music21 ABC reader raises many types
        simpler = simplify_abc_for_music21(text)
        try:
            if simpler == text:
                raise
            obj = _parse_abc_data(simpler)
        except Exception:  # noqa: BLE001
            raise ClampError(f"{name}: cannot read ABC tune X:{tune.number} ({one_line(exc)}); "
                             "check its header (K: line) and note syntax") from None
    return _as_score(obj, name)


def read_abc(data: bytes, name: str, tune: int | None) -> tuple[stream.Score, str]:
    """One tune of ABC bytes (the first, or the one numbered ``tune``) and its ABC text."""
    text = decode_abc(data)
    if not looks_like_abc(text):
        raise ClampError(f"{name}: no ABC tune found (no K: line, and no header fields followed "
                         "by bars of notes); check that this is an ABC file")
    t = select_abc_tune(text, tune, name)
    return parse_abc_tune(t, name), t.text
