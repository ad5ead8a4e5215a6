"""The plain-notes view of an ABC tune, for annotation dropout in training.

Many inputs carry only notes: MuseScore 4's cursor walk sends no tempo text, dynamics, grace
notes or slurs, and MIDI files have none of them. A model trained only on fully annotated ABC
learns to lean on those marks, and then the same song read two ways encodes far apart. Training
sometimes sees each piece in this plain view, so the encoder stays close across both.
"""

from __future__ import annotations

import re

from .patches import _is_header_line

# Order matters: quoted text may hold "!" or "(", so it goes first.
_STRIP = (
    re.compile(r'"[^"\n]*"'),     # annotations ("^Munter") and chord symbols ("Am")
    re.compile(r"![^!\n]*!"),      # decorations: dynamics, fermatas, ornaments
    re.compile(r"\{[^}\n]*\}"),    # grace-note groups
    re.compile(r"\((?!\d)|\)"),    # slurs; the "(3" of a tuplet stays
)


def plain_abc(abc: str) -> str:
    """``abc`` with annotations, chord symbols, decorations, grace notes and slurs removed from
    its music lines; header lines (K:, M:, V: ...) and every note, rest and barline stay."""
    out = []
    for line in abc.split("\n"):
        if not _is_header_line(line):
            for pattern in _STRIP:
                line = pattern.sub("", line)
        out.append(line)
    return "\n".join(out)
