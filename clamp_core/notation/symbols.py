"""Small ABC spelling helpers: keys, clefs, pitches, durations, chord symbols, decorations.

Conventions follow xml2abc (the converter behind CLaMP's training data) so that our text looks
like what the model saw: `K:Amin`/`K:Dmix` three-letter modes, `L:` chosen among 1/4, 1/8, 1/16
by shortest total duration text, chord-symbol suffixes from the MusicXML chord kind.
"""

from __future__ import annotations

from collections import Counter
from fractions import Fraction
from functools import lru_cache
from typing import NamedTuple

from music21 import articulations, clef, expressions, harmony, key, pitch

# Circle of fifths; index 8 is C so that `8 + sharps + mode offset` names the tonic.
_CIRCLE = ["Fb", "Cb", "Gb", "Db", "Ab", "Eb", "Bb", "F", "C", "G", "D", "A", "E", "B",
           "F#", "C#", "G#", "D#", "A#", "E#", "B#"]
# Tonic distance (in fifths) from the major tonic with the same signature, and ABC suffix.
_MODES = {
    "major": (0, ""), "ionian": (0, ""), "minor": (3, "min"), "aeolian": (3, "aeo"),
    "mixolydian": (1, "mix"), "dorian": (2, "dor"), "phrygian": (4, "phr"),
    "lydian": (-1, "lyd"), "locrian": (5, "loc"),
}
_STEPS = "CDEFGAB"
_ACCIDENTAL_TEXT = {-2: "__", -1: "_", 0: "=", 1: "^", 2: "^^"}


class KeyInfo(NamedTuple):
    """A key signature as the writer needs it: sharps (negative: flats), mode (None: a plain
    signature) and the alteration of each altered step."""

    sharps: int
    mode: str | None
    alters: tuple[tuple[str, int], ...]


class MeterInfo(NamedTuple):
    """A time signature as the writer needs it: `3/4` and the beat's length in quarters."""

    ratio: str
    beat: Fraction


@lru_cache(maxsize=64)
def signature_alters(sharps: int) -> tuple[tuple[str, int], ...]:
    """Step -> alteration of a traditional key signature (music21's own spelling of it)."""
    return tuple((p.step, round(p.alter)) for p in key.KeySignature(sharps).alteredPitches)


def key_info(ks: key.KeySignature | None) -> KeyInfo | None:
    """The writer's view of a music21 key signature."""
    if ks is None:
        return None
    return KeyInfo(ks.sharps, getattr(ks, "mode", None),
                   tuple((p.step, round(p.alter)) for p in ks.alteredPitches))


def key_field(ks: KeyInfo | None) -> str:
    """ABC key value for a key signature (`none` when there is none)."""
    if ks is None:
        return "none"
    sharps = max(-7, min(7, ks.sharps))
    mode = ks.mode or "major"
    offset, suffix = _MODES.get(mode.lower(), (0, ""))
    index = 8 + sharps + offset
    if not 0 <= index < len(_CIRCLE):
        return _CIRCLE[8 + sharps]
    return _CIRCLE[index] + suffix


def key_alters(ks: KeyInfo | None) -> dict[str, int]:
    """Step letter -> semitone alteration implied by a key signature."""
    return dict(ks.alters) if ks is not None else {}


class ClefInfo(NamedTuple):
    """A clef as the writer needs it: `sign` G/F/C (or `percussion`, `TAB`), line, octave."""

    sign: str
    line: int | None
    octave: int


def clef_info(c: clef.Clef | None) -> ClefInfo | None:
    """The writer's view of a music21 clef."""
    if c is None:
        return None
    if isinstance(c, clef.PercussionClef):
        return ClefInfo("percussion", None, 0)
    if isinstance(c, clef.TabClef):
        return ClefInfo("TAB", None, 0)
    return ClefInfo(c.sign, c.line, c.octaveChange or 0)


def clef_field(c: ClefInfo | None) -> tuple[str, int]:
    """xml2abc clef word (e.g. `treble`, `bass`, `treble-8`) and the clef's octave change."""
    if c is None:
        return "treble", 0
    if c.sign == "percussion":
        return "perc", 0
    if c.sign == "TAB":
        return "tab", 0
    words = {("G", 2): "treble", ("F", 4): "bass", ("F", 3): "bass3", ("C", 1): "alto1",
             ("C", 2): "alto2", ("C", 3): "alto", ("C", 4): "tenor"}
    word = words.get((c.sign, c.line), "treble")
    word += {-2: "-15", -1: "-8", 1: "+8", 2: "+15"}.get(c.octave, "")
    return word, c.octave


class Spelled(NamedTuple):
    """A written pitch: step letter, octave (None: unknown), alteration in semitones and
    whether the score shows its accidental."""

    step: str
    octave: int | None
    alter: float
    shown: bool


def spelled(p: pitch.Pitch) -> Spelled:
    """The writer's view of a music21 pitch."""
    acc = p.accidental
    shown = acc is not None and acc.displayStatus is True and acc.displayType != "never"
    return Spelled(p.step, p.octave, p.alter, shown)


def pitch_text(p: Spelled, octave_shift: int, accidental: int | None) -> str:
    """ABC note letter with octave marks; `accidental` (semitones) is written when not None."""
    octave = (p.octave if p.octave is not None else 4) + octave_shift
    letter = p.step if octave < 5 else p.step.lower()
    if octave > 5:
        letter += "'" * (octave - 5)
    elif octave < 4:
        letter += "," * (4 - octave)
    if accidental is None:
        return letter
    return _ACCIDENTAL_TEXT.get(max(-2, min(2, accidental)), "") + letter


class BarAccidentals:
    """Decides which notes of one bar need a written accidental.

    An accidental is written when the alteration differs from the current key, from the header
    key (music21's reader ignores inline `[K:]`), after any earlier accidental on the same letter
    in this bar (music21's reader does not carry accidentals through a bar), or when the score
    itself displays one.
    """

    def __init__(self, key_alt: dict[str, int], header_alt: dict[str, int]) -> None:
        self.key_alt = key_alt
        self.header_alt = header_alt
        self.written: set[str] = set()

    def needed(self, p: Spelled) -> int | None:
        """Return the alteration to write for `p`, or None when the plain letter suffices."""
        alter = round(p.alter)
        if (p.shown or p.step in self.written or alter != self.key_alt.get(p.step, 0)
                or alter != self.header_alt.get(p.step, 0)):
            self.written.add(p.step)
            return alter
        return None


def duration_text(units: Fraction) -> str:
    """Duration in units of L, written the xml2abc way (`''`, `/`, `/4`, `3`, `3/2`)."""
    num, den = units.numerator, units.denominator
    if den > 64:  # like xml2abc: round odd values to 1/64 of the unit
        rounded = Fraction(round(units * 64), 64)
        num, den = rounded.numerator, rounded.denominator
    if num == 0:
        return ""
    if num == 1:
        return "" if den == 1 else "/" if den == 2 else f"/{den}"
    return str(num) if den == 1 else f"{num}/{den}"


def choose_unit(quarter_lengths: list[Fraction]) -> int:
    """Pick L:1/4, 1/8 or 1/16 (returned as 4, 8, 16) minimising total duration text."""
    best, best_len = 4, None
    counts = Counter(quarter_lengths)  # a voice repeats a few lengths many times
    for unit in (4, 8, 16):
        total = sum(len(duration_text(q * unit / 4)) * n for q, n in counts.items())
        if best_len is None or total < best_len:
            best, best_len = unit, total
    return best


def fraction_text(q: Fraction) -> str:
    """A whole-note fraction as `n/d` (e.g. 1/4, 3/8)."""
    return f"{q.numerator}/{q.denominator}"


# music21 chord kinds -> xml2abc suffixes (derived from its MusicXML kind mapping).
_KIND_SUFFIX = {
    "major": "", "minor": "m", "augmented": "+", "diminished": "dim",
    "dominant-seventh": "7", "major-seventh": "maj7", "minor-seventh": "m7",
    "diminished-seventh": "dim7", "augmented-seventh": "+7", "half-diminished-seventh": "m7b5",
    "minor-major-seventh": "mmaj7", "major-sixth": "6", "minor-sixth": "m6",
    "dominant-ninth": "9", "major-ninth": "maj9", "minor-ninth": "m9",
    "dominant-11th": "11", "major-11th": "maj11", "minor-11th": "m11",
    "dominant-13th": "13", "major-13th": "maj13", "minor-13th": "m13",
    "suspended-second": "sus2", "suspended-fourth": "sus4", "power": "5", "pedal": "pedal",
}


def _note_name(p: pitch.Pitch | None) -> str:
    return "" if p is None else p.name.replace("-", "b")


def chord_symbol_text(h: harmony.Harmony) -> str | None:
    """Chord symbol as ABC text (`Am7`, `Bb/D`, `N.C.`), or None if it cannot be named."""
    if isinstance(h, harmony.NoChord):
        return "N.C."
    try:
        root = h.root()
    except Exception:  # noqa: BLE001 - music21 raises assorted errors on degenerate symbols
        root = None
    if root is None:
        figure = getattr(h, "figure", None)
        return figure.replace("-", "b") if figure else None
    kind = getattr(h, "chordKind", "") or "major"
    suffix = _KIND_SUFFIX.get(kind)
    if suffix is None:
        figure = getattr(h, "figure", "") or ""
        name = root.name
        suffix = figure[len(name):].split("/")[0] if figure.startswith(name) else ""
    for mod in getattr(h, "chordStepModifications", []) or []:
        alter = int(mod.interval.semitones) if mod.interval is not None else 0
        suffix += {-1: "b", 1: "#"}.get(alter, "") + str(mod.degree)
    suffix = suffix.replace("79", "9").replace("713", "13").replace("maj6", "6")
    text = _note_name(root) + suffix
    try:
        bass = h.bass()
    except Exception:  # noqa: BLE001
        bass = None
    if bass is not None and bass.name != root.name:
        text += "/" + _note_name(bass)
    return text.replace('"', "")


# Decorations xml2abc writes, keyed by music21 class.
_DECORATIONS: list[tuple[type, str]] = [
    (articulations.StrongAccent, "!^!"), (articulations.Accent, "!>!"),
    (articulations.Staccatissimo, "!wedge!"), (articulations.Spiccato, "!wedge!"),
    (articulations.Staccato, "."), (articulations.Tenuto, "!tenuto!"),
    (articulations.UpBow, "u"), (articulations.DownBow, "v"),
    (articulations.BreathMark, "!breath!"), (articulations.Harmonic, "!open!"),
    (articulations.OpenString, "!open!"), (articulations.Stopped, "!plus!"),
    (articulations.SnapPizzicato, "!snap!"),
    (expressions.Fermata, "!fermata!"), (expressions.Trill, "T"),
    (expressions.InvertedMordent, "P"), (expressions.Mordent, "M"),
    (expressions.InvertedTurn, "!invertedturn!"), (expressions.Turn, "!turn!"),
    (expressions.ArpeggioMark, "!arpeggio!"),
]


def decoration_text(obj) -> str:
    """The decoration xml2abc writes for one articulation or ornament, '' for none."""
    for cls, text in _DECORATIONS:
        if isinstance(obj, cls):
            return text
    return ""


def decorations(n) -> str:
    """Articulation/ornament decorations of a note or chord, in a stable order."""
    out: list[str] = []
    for obj in list(getattr(n, "expressions", [])) + list(getattr(n, "articulations", [])):
        text = decoration_text(obj)
        if text and text not in out:
            out.append(text)
    return "".join(out)


DYNAMICS = {"p", "pp", "ppp", "pppp", "f", "ff", "fff", "ffff", "mp", "mf", "sfz"}
