"""Load a score from any supported source into one shape: a music21 Score plus its facts.

Sources: a file path (MusicXML .xml/.musicxml/.mxl, MIDI, ABC, Humdrum, MuseScore .mscz/.mscx),
ABC text, or a music21 Stream. Every problem a user can cause becomes a one-line ClampError.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from music21 import stream

from clamp_core.errors import ClampError
from clamp_core.scores.formats import (
    decode_abc,
    looks_like_abc,
    parse_abc_tune,
    read_musicxml,
    read_mxl,
    read_with_music21,
    select_abc_tune,
)
from clamp_core.scores.meta import ScoreMeta, extract_meta
from clamp_core.scores.musescore import MuseScoreRoute, find_musescore, load_musescore
from clamp_core.scores.safety import MAX_FILE_BYTES, one_line

__all__ = ["SUPPORTED_EXTENSIONS", "Score", "ScoreMeta", "find_musescore", "load_score"]

SUPPORTED_EXTENSIONS = (".xml", ".musicxml", ".mxl", ".mid", ".midi", ".abc", ".krn",
                        ".mscz", ".mscx")


@dataclass
class Score:
    """A loaded score: the music21 stream, its facts, where it came from and, for ABC input,
    the tune's own ABC text (kept as written: music21's ABC reader loses accidentals that
    carry through a bar, so downstream uses this instead of re-writing the stream)."""

    stream: stream.Score
    meta: ScoreMeta
    source: str
    abc_source: str | None = None


def load_score(source: str | os.PathLike | stream.Stream, *, tune: int | None = None,
               musescore: MuseScoreRoute = "auto") -> Score:
    """Load a score file, ABC text or music21 Stream.

    ``tune`` picks a tune by its X: number in multi-tune ABC (or a score of an Opus);
    ``musescore`` picks the .mscz/.mscx route: "auto" (MuseScore if installed, else the
    built-in reader), "executable" or "reader".
    """
    abc_text: str | None = None
    if isinstance(source, stream.Stream):
        sc, label = _from_stream(source, tune), "<stream>"
    elif isinstance(source, (str, os.PathLike)):
        path, text = _path_or_text(source)
        if path is not None:
            sc, abc_text = _from_path(path, tune, musescore)
            label = str(path)
        else:
            t = select_abc_tune(text, tune, "<abc>")
            sc, abc_text, label = parse_abc_tune(t, "<abc>"), t.text, "<abc>"
    else:
        raise ClampError(f"cannot load a score from a {type(source).__name__}; pass a file path, "
                         "ABC text or a music21 Stream")
    try:
        meta = extract_meta(sc)
    except Exception as exc:  # noqa: BLE001 - a stream music21 built but cannot analyse
        raise ClampError(f"{label}: cannot read the score's contents ({one_line(exc)}); "
                         "re-export it from your notation program") from None
    if meta.n_notes == 0:
        raise ClampError(f"{label}: the score has no notes; pick a file or tune with music in it")
    return Score(stream=sc, meta=meta, source=label, abc_source=abc_text)


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


def _from_path(path: Path, tune: int | None,
               musescore: MuseScoreRoute) -> tuple[stream.Score, str | None]:
    if not path.exists():
        raise ClampError(f"{path}: file not found; check the path")
    if path.is_dir():
        raise ClampError(f"{path}: is a folder, not a score file; pass one score file "
                         "(use `clamp index` for a folder)")
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_EXTENSIONS:
        raise ClampError(f"{path}: unsupported file type {suffix or '(no extension)'!r}; "
                         f"supported: {' '.join(SUPPORTED_EXTENSIONS)}")
    if path.stat().st_size == 0:
        raise ClampError(f"{path}: the file is empty; re-export the score")
    if suffix in (".xml", ".musicxml"):
        return read_musicxml(path), None
    if suffix == ".mxl":
        return read_mxl(path), None
    if suffix in (".mid", ".midi"):
        return read_with_music21(path, "midi", "MIDI"), None
    if suffix == ".krn":
        return read_with_music21(path, "humdrum", "Humdrum **kern"), None
    if suffix in (".mscz", ".mscx"):
        return load_musescore(path, musescore), None
    # .abc
    if path.stat().st_size > MAX_FILE_BYTES:
        raise ClampError(f"{path}: ABC file over {MAX_FILE_BYTES // 2**20} MB; split it")
    text = decode_abc(path.read_bytes())
    if not looks_like_abc(text):
        raise ClampError(f"{path}: no ABC tune found (no K: line, and no header fields followed "
                         "by bars of notes); check that this is an ABC file")
    t = select_abc_tune(text, tune, str(path))
    return parse_abc_tune(t, str(path)), t.text


def _from_stream(s: stream.Stream, tune: int | None) -> stream.Score:
    """Wrap a music21 Stream as a Score without changing the caller's objects."""
    if isinstance(s, stream.Opus):
        scores = list(s.scores)
        if not scores:
            raise ClampError("<stream>: the Opus holds no scores")
        if tune is None:
            return scores[0]
        for sc in scores:
            if sc.metadata is not None and str(sc.metadata.number) == str(tune):
                return sc
        if 1 <= tune <= len(scores):
            return scores[tune - 1]
        raise ClampError(f"<stream>: no score number {tune} in the Opus ({len(scores)} scores)")
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
