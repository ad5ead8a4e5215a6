"""What the direct reader builds: notes, markings and bars in the shape music21's importer
would give them, holding only what the ABC writer and the score's facts read."""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction

from clamp_core.notation.symbols import ClefInfo, KeyInfo, MeterInfo, Spelled

# music21's class sort order, which orders simultaneous elements of a bar
ORDER_WORDS, ORDER_CLEF, ORDER_TEMPO, ORDER_KEY, ORDER_TIME, ORDER_DYNAMIC, ORDER_NOTE = (
    -30, 0, 1, 2, 4, 10, 20)


class Unsupported(Exception):
    """The file uses MusicXML the direct reader does not cover: read it with music21."""


@dataclass(eq=False, slots=True)
class Tone:
    """One pitched note of a note or chord."""

    spelled: Spelled
    tie: str | None  # "start", "stop", "continue"
    ps: float  # MIDI number with microtones
    name: str  # music21's nameWithOctave, e.g. "B-3"


@dataclass(eq=False, slots=True)
class Sound:
    """A note, chord or rest as music21's importer makes it."""

    kind: str  # "note", "chord" or "rest"
    ql: Fraction  # quarter length (0 for grace notes)
    tuplet: tuple[int, int] | None = None  # the Event's (actual, normal), None: not a tuplet
    tuplet_type: str | None = None
    tuplet_total: Fraction | None = None
    inferred: bool = False  # duration made from its length alone (tuplets follow the length)
    linked: bool = True  # music21 keeps type and length in step (False: they disagree)
    type_name: str | None = None  # notated type ("whole", ...) and dots
    dots: int = 0
    has_tuplets: bool = False
    grace: bool = False
    slash: bool = False
    hidden: bool = False  # print-object="no"
    full_measure: bool = False  # <rest measure="yes"> with a whole, breve or no type
    tones: list[Tone] = field(default_factory=list)
    beam: str | None = None  # type of the first <beam>, None: no beams
    decorations: str = ""
    expressions: list[str] = field(default_factory=list)  # decoration texts, as music21 keeps
    articulations: list[str] = field(default_factory=list)  # them until a chord merges them
    lyric: bool = False


@dataclass(eq=False, slots=True)
class Mark:
    """A zero-length marking: a dynamic, words, a tempo mark, or anything else that only
    occupies its offset."""

    kind: str  # "dynamic", "words", "tempo", "key", "time", "clef", "other"
    text: str = ""  # the dynamic's value, the words
    placement: str | None = None
    number: float | None = None  # tempo: the written number, else the <sound> tempo
    number_sounding: float | None = None
    referent: Fraction = Fraction(1)  # tempo: the beat in quarters
    key: KeyInfo | None = None
    meter: MeterInfo | None = None
    bar_ql: Fraction = Fraction(4)  # time: the bar's length in quarters
    clef: ClefInfo | None = None


@dataclass(eq=False, slots=True)
class Placed:
    """An element at its place in a bar: offset, staff (0: every staff), voice (None: the bar
    itself), sort order and the order it was read in."""

    offset: Fraction
    staff: int
    voice: str | None
    order: int
    seq: int
    obj: Sound | Mark

    def sort_key(self) -> tuple:
        grace = isinstance(self.obj, Sound) and self.obj.grace
        return (self.offset, self.order, not grace, self.seq)


@dataclass(eq=False)
class Bar:
    """One <measure> of a part after reading, before the staves are separated."""

    number: int
    offset: Fraction = Fraction(0)  # in the part
    length: Fraction = Fraction(0)  # how far the next bar starts
    highest: Fraction = Fraction(0)  # music21's highestTime of the bar
    placed: list[Placed] = field(default_factory=list)
    voices: list[str] = field(default_factory=list)  # sorted voice ids when the bar has voices
    meter_ql: Fraction = Fraction(4)  # the bar length of the time signature in force
    left_repeat: bool = False
    right: str = "|"  # `|`, `:|`, `||` or `|]`
    volta_start: str | None = None  # the label of a volta bracket this bar opens
    volta_end: bool = False  # the bar closes a volta bracket
