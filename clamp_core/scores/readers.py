"""The table of formats ``load_score`` reads: each Reader names a format, the file extensions
that mean it and the function that turns the score's bytes into a music21 Score. The table is
the list of supported formats: SUPPORTED_EXTENSIONS and every format message come from it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from music21 import stream

from clamp_core.errors import ClampError
from clamp_core.scores.formats import (
    parse_musicxml_bytes,
    read_abc,
    read_humdrum,
    read_midi,
    read_mxl,
)
from clamp_core.scores.musescore import MuseScoreRoute, load_musescore


@dataclass(frozen=True)
class ReadRequest:
    """One score to read: its bytes (already size-checked) and how to read them."""

    data: bytes
    name: str                   # the score in error messages and Score.source
    path: Path | None           # the file the bytes came from (MuseScore converts it in place)
    tune: int | None            # ABC: the tune's X: number
    musescore: MuseScoreRoute   # .mscz/.mscx: which route


@dataclass(frozen=True)
class Reader:
    format: str                     # the name ``load_score(..., format=)`` takes
    extensions: tuple[str, ...]     # lower case, with the dot; the first is the usual one
    read: Callable[[ReadRequest], tuple[stream.Score, str | None]]  # -> (score, ABC text)


def _musicxml(r: ReadRequest) -> tuple[stream.Score, None]:
    return parse_musicxml_bytes(r.data, r.name), None


def _mxl(r: ReadRequest) -> tuple[stream.Score, None]:
    return read_mxl(r.data, r.name), None


def _midi(r: ReadRequest) -> tuple[stream.Score, None]:
    return read_midi(r.data, r.name), None


def _abc(r: ReadRequest) -> tuple[stream.Score, str]:
    return read_abc(r.data, r.name, r.tune)


def _humdrum(r: ReadRequest) -> tuple[stream.Score, None]:
    return read_humdrum(r.data, r.name), None


def _mscz(r: ReadRequest) -> tuple[stream.Score, None]:
    return load_musescore(r.data, r.name, "mscz", r.musescore, r.path), None


def _mscx(r: ReadRequest) -> tuple[stream.Score, None]:
    return load_musescore(r.data, r.name, "mscx", r.musescore, r.path), None


READERS: tuple[Reader, ...] = (
    Reader("musicxml", (".xml", ".musicxml"), _musicxml),
    Reader("mxl", (".mxl",), _mxl),
    Reader("midi", (".mid", ".midi"), _midi),
    Reader("abc", (".abc",), _abc),
    Reader("humdrum", (".krn",), _humdrum),
    Reader("mscz", (".mscz",), _mscz),
    Reader("mscx", (".mscx",), _mscx),
)
SUPPORTED_EXTENSIONS: tuple[str, ...] = tuple(e for r in READERS for e in r.extensions)
FORMATS: tuple[str, ...] = tuple(r.format for r in READERS)

_BY_EXTENSION = {e: r for r in READERS for e in r.extensions}
_BY_FORMAT = {r.format: r for r in READERS}


def reader_for_extension(suffix: str) -> Reader | None:
    """The reader of a file extension (".mxl", any case), None when unsupported."""
    return _BY_EXTENSION.get(suffix.lower())


def reader_for_format(fmt: object) -> Reader:
    """The reader of a format name ("mxl") or an extension (".mxl", "mxl", "mid", any case)."""
    key = fmt.strip().lower() if isinstance(fmt, str) else ""
    reader = _BY_FORMAT.get(key) or _BY_EXTENSION.get(key if key.startswith(".") else f".{key}")
    if reader is None:
        raise ClampError(f"unknown score format {fmt!r}; use one of {', '.join(FORMATS)} "
                         f"or an extension ({' '.join(SUPPORTED_EXTENSIONS)})")
    return reader
