"""Load a score from any supported source into one shape: a music21 Score plus its facts.

Sources: a file path, the bytes of a score with their format, ABC text, or a music21 Stream.
Formats come from the reader table (``readers.READERS``): MusicXML .xml/.musicxml/.mxl, MIDI,
ABC, Humdrum, MuseScore .mscz/.mscx. Every problem a user can cause becomes a one-line
ClampError.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from music21 import stream

from clamp_core.errors import ClampError, one_line
from clamp_core.scores.formats import looks_like_abc, parse_abc_tune, select_abc_tune
from clamp_core.scores.meta import ScoreMeta, extract_meta
from clamp_core.scores.musescore import MuseScoreRoute, find_musescore
from clamp_core.scores.readers import (
    FORMATS,
    SUPPORTED_EXTENSIONS,
    Reader,
    ReadRequest,
    reader_for_extension,
    reader_for_format,
)
from clamp_core.scores.safety import check_size

__all__ = ["SUPPORTED_EXTENSIONS", "Score", "ScoreMeta", "find_musescore", "load_score"]

_BYTES_TYPES = (bytes, bytearray, memoryview)


@dataclass
class Score:
    """A loaded score: the music21 stream, its facts, where it came from, for ABC input the
    tune's own ABC text (kept as written: music21's ABC reader loses accidentals that carry
    through a bar, so downstream uses this instead of re-writing the stream) and the format it
    was read as (a reader's format name; None for a music21 Stream)."""

    stream: stream.Score
    meta: ScoreMeta
    source: str
    abc_source: str | None = None
    format: str | None = None


def load_score(source: str | os.PathLike | bytes | stream.Stream, *, format: str | None = None,
               tune: int | None = None, musescore: MuseScoreRoute = "auto",
               name: str | None = None) -> Score:
    """Load a score file, a score's bytes, ABC text or a music21 Stream.

    ``format`` says how bytes are read, and is required for them: "musicxml", "mxl", "midi",
    "abc", "humdrum", "mscz", "mscx" or an extension such as ".mxl"; for a file path it
    overrides the extension. ``tune`` picks a tune by its X: number in multi-tune ABC (or a
    score of an Opus); ``musescore`` picks the .mscz/.mscx route: "auto" (MuseScore if
    installed, else the built-in reader), "executable" or "reader". ``name`` is what errors and
    ``Score.source`` call the score (default: the path, "<abc>", "<stream>", "<FORMAT data>").
    """
    abc_text: str | None = None
    fmt: str | None = None  # the format it is read as
    if isinstance(source, _BYTES_TYPES):
        if format is None:
            raise ClampError("score bytes need format=: one of " + ", ".join(FORMATS)
                             + " or an extension such as '.mxl'")
        reader = reader_for_format(format)
        label, fmt = name or f"<{reader.format} data>", reader.format
        sc, abc_text = _from_bytes(bytes(source), label, reader, tune, musescore)
    elif isinstance(source, stream.Stream):
        _no_format(format)
        label = name or "<stream>"
        sc = _from_stream(source, tune, label)
    elif isinstance(source, (str, os.PathLike)):
        path, text = _path_or_text(source)
        if path is not None:
            label = name or str(path)
            reader = _path_reader(path, label, format)
            fmt = reader.format
            sc, abc_text = _from_path(path, label, reader, tune, musescore)
        else:
            if format is not None and reader_for_format(format).format != "abc":
                _no_format(format)
            label, fmt = name or "<abc>", "abc"
            t = select_abc_tune(text, tune, label)
            sc, abc_text = parse_abc_tune(t, label), t.text
    else:
        raise ClampError(f"cannot load a score from a {type(source).__name__}; pass a file path, "
                         "a score's bytes with format=, ABC text or a music21 Stream")
    try:
        meta = extract_meta(sc)
    except Exception as exc:  # noqa: BLE001 - a stream music21 built but cannot analyse
        raise ClampError(f"{label}: cannot read the score's contents ({one_line(exc)}); "
                         "re-export it from your notation program") from None
    if meta.n_notes == 0:
        raise ClampError(f"{label}: the score has no notes; pick a file or tune with music in it")
    return Score(stream=sc, meta=meta, source=label, abc_source=abc_text, format=fmt)


def _no_format(fmt: str | None) -> None:
    if fmt is not None:
        raise ClampError(f"format={fmt!r} says how bytes or a file are read; pass the score's "
                         "bytes (e.g. text.encode('utf-8')) or a file path with it")


def _path_or_text(source: str | os.PathLike) -> tuple[Path | None, str]:
    """Decide whether a str is a path or ABC text: an existing path wins, then multi-line
    text that looks like ABC; a single line is taken as a (possibly missing) path."""
    if isinstance(source, os.PathLike):
        return Path(source), ""
    text = source
    is_multiline = "\n" in text or "\r" in text
    if not is_multiline and text.strip():
        return Path(text.strip()).expanduser(), ""
    if looks_like_abc(text):
        return None, text
    raise ClampError("input text is neither an existing file path nor ABC notation "
                     "(no K: line and no note lines after header fields); pass a score file "
                     "or an ABC tune")


def _from_bytes(data: bytes, label: str, reader: Reader, tune: int | None,
                musescore: MuseScoreRoute) -> tuple[stream.Score, str | None]:
    # the caps a file gets, before any parser sees the bytes
    if not data:
        raise ClampError(f"{label}: the score data is empty; send the whole score")
    check_size(len(data), label, what="score data")
    return reader.read(ReadRequest(data, label, None, tune, musescore))


def _path_reader(path: Path, label: str, fmt: str | None) -> Reader:
    """The reader of a file: ``fmt`` if given, else its extension's (checks the file exists)."""
    if not path.exists():
        raise ClampError(f"{label}: file not found; check the path")
    if path.is_dir():
        raise ClampError(f"{label}: is a folder, not a score file; pass one score file "
                         "(use `clamp index` for a folder)")
    if fmt is not None:
        return reader_for_format(fmt)
    suffix = path.suffix.lower()
    reader = reader_for_extension(suffix)
    if reader is None:
        raise ClampError(f"{label}: unsupported file type {suffix or '(no extension)'!r}; "
                         f"supported: {' '.join(SUPPORTED_EXTENSIONS)}")
    return reader


def _from_path(path: Path, label: str, reader: Reader, tune: int | None,
               musescore: MuseScoreRoute) -> tuple[stream.Score, str | None]:
    if path.stat().st_size == 0:
        raise ClampError(f"{label}: the file is empty; re-export the score")
    check_size(path.stat().st_size, label)  # before reading a byte
    data = path.read_bytes()
    return reader.read(ReadRequest(data, label, path, tune, musescore))


def _from_stream(s: stream.Stream, tune: int | None, label: str) -> stream.Score:
    """Wrap a music21 Stream as a Score without changing the caller's objects."""
    if isinstance(s, stream.Opus):
        scores = list(s.scores)
        if not scores:
            raise ClampError(f"{label}: the Opus holds no scores")
        if tune is None:
            return scores[0]
        for sc in scores:
            if sc.metadata is not None and str(sc.metadata.number) == str(tune):
                return sc
        if 1 <= tune <= len(scores):
            return scores[tune - 1]
        raise ClampError(f"{label}: no score number {tune} in the Opus ({len(scores)} scores)")
    if isinstance(s, stream.Score):
        return s
    sc = stream.Score()
    if isinstance(s, stream.Part) or s.hasPartLikeStreams():
        for p in ([s] if isinstance(s, stream.Part) else list(s.getElementsByClass(stream.Part))):
            sc.insert(0, p)
        return sc
    part = stream.Part()
    for el in s:
        part.insert(s.elementOffset(el), el)
    sc.insert(0, part)
    return sc
