"""The plain-notes view of an ABC tune, for annotation dropout in training.

Many inputs carry only notes: MuseScore 4's cursor walk sends no tempo text, dynamics, grace
notes or slurs, and MIDI files have none of them. A model trained only on fully annotated ABC
learns to lean on those marks, and then the same song read two ways encodes far apart. Training
sometimes sees each piece in this plain view, so the encoder stays close across both.
"""

from __future__ import annotations

import re

import numpy as np

from clamp_core.notation.patches import is_header_line

# Order matters: quoted text may hold "!" or "(", so it goes first.
_STRIP = (
    re.compile(r'"[^"\n]*"'),     # annotations ("^Munter") and chord symbols ("Am")
    re.compile(r"![^!\n]*!"),      # decorations: dynamics, fermatas, ornaments
    re.compile(r"\{[^}\n]*\}"),    # grace-note groups
    re.compile(r"\((?!\d)|\)"),    # slurs; the "(3" of a tuplet stays
)


def _music_lines(abc: str, edit) -> str:
    return "\n".join(line if is_header_line(line) else edit(line) for line in abc.split("\n"))


_PART_NAMES = re.compile(r' s?nm="[^"]*"')  # V: line part names, which a MIDI file often lacks


def plain_abc(abc: str) -> str:
    """``abc`` with annotations, chord symbols, decorations, grace notes and slurs removed from
    its music lines and part names from its V: lines; every other header line (K:, M:, ...) and
    every note, rest and barline stay."""
    def strip(line: str) -> str:
        for pattern in _STRIP:
            line = pattern.sub("", line)
        return line
    abc = "\n".join(_PART_NAMES.sub("", line) if line.startswith("V:") else line
                     for line in abc.split("\n"))
    return _music_lines(abc, strip)


def rebeam_abc(abc: str, rng: np.random.Generator, drop: float = 0.5) -> str:
    """``abc`` with each space of its music lines dropped with probability ``drop``. In ABC a
    space between notes breaks a beam, and programs beam differently (MusicXML of a song often
    leaves syllabic eighths unbeamed; MuseScore's cursor walk and MIDI get default beaming), so
    training on re-beamed copies keeps the encoder from telling scores apart by beaming."""
    def rebeam(line: str) -> str:
        keep = rng.random(line.count(" ")) >= drop
        parts = line.split(" ")
        return parts[0] + "".join((" " if k else "") + p
                                  for k, p in zip(keep, parts[1:], strict=True))
    return _music_lines(abc, rebeam)
