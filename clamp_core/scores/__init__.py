"""Reading scores: one ``load_score`` (a file, a score's bytes with ``format=``, ABC text or a
music21 Stream) in front of a table of format readers (``readers.READERS``: MusicXML, MIDI, ABC,
Humdrum, MuseScore), with the safety limits applied before any parser runs.

Public: ``load_score``, ``Score``, ``ScoreMeta``, ``SUPPORTED_EXTENSIONS``, ``find_musescore``.
"""

from __future__ import annotations

from clamp_core.lazy import lazy_exports

__all__ = ["SUPPORTED_EXTENSIONS", "Score", "ScoreMeta", "find_musescore", "load_score"]

__getattr__ = lazy_exports(__name__, {
    "load_score": ".load", "Score": ".load", "SUPPORTED_EXTENSIONS": ".load",
    "ScoreMeta": ".meta", "find_musescore": ".musescore"})
