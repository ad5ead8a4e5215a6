"""A part's bars -> the staves music21 makes of it (separateOutPartStaves): a piano part
becomes one PartStaff per staff, each bar keeping its own staff's notes and markings plus those
that name no staff, and a staff's bar whose notes sit in a single voice loses its voices."""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction

from clamp_core.musicxml.model import Bar, Mark, Placed, Sound, Unsupported

_CONTENT_MARKS = ("dynamic", "words", "tempo")


@dataclass(eq=False)
class StaffBar:
    """One bar of one staff, as the writer reads a music21 Measure."""

    bar: Bar
    slots: list[list[tuple[Fraction, Sound | Mark]]]  # voice slots, as writer._measure_slots
    marks: list[Placed]  # keys, time signatures, clefs and other markings, in order
    sounds: list[tuple[Fraction, Sound]] = field(default_factory=list)  # every voice, in order


@dataclass(frozen=True)
class PartNames:
    """A part's name and abbreviation as music21's Part answers them (its instrument's when
    it has none) and the instrument's own names."""

    name: str | None
    abbreviation: str | None
    instrument: tuple[str | None, str | None]  # the instrument's partName, instrumentName


@dataclass(eq=False)
class Staff:
    """One staff (a part, or one PartStaff of a multi-staff part)."""

    names: PartNames
    is_part_staff: bool
    bars: list[StaffBar]
    transpose: int = 0  # semitones from written to sounding pitch (`transpose=` in ABC)


def staves(bars: list[Bar], max_staves: int, names: PartNames, transpose: int = 0,
           ) -> list[Staff]:
    """The part as one staff, or as one staff per staff number when it has several."""
    if max_staves <= 1:
        return [Staff(names, False, [_staff_bar(b, None) for b in bars], transpose)]
    numbers = sorted({p.staff for b in bars for p in b.placed if p.staff != 0})
    for b in bars:
        if any(p.staff == 0 and isinstance(p.obj, Sound) and p.seq < 10 ** 6 for p in b.placed):
            raise Unsupported("a note without a staff in a multi-staff part")
    return [Staff(names, True, [_staff_bar(b, n) for b in bars]) for n in numbers]


def _staff_bar(bar: Bar, staff: int | None) -> StaffBar:
    placed = [p for p in bar.placed if staff is None or p.staff in (0, staff)]
    placed.sort(key=Placed.sort_key)
    voices = list(bar.voices)
    if staff is not None and voices:
        voices = [v for v in voices if any(p.voice == v for p in placed)]
        if len(voices) == 1:  # flattenUnnecessaryVoices: the voice's notes join the bar,
            # inserted after the bar's own elements
            placed = [Placed(p.offset, p.staff, None, p.order, p.seq + 10 ** 7, p.obj)
                      if p.voice else p for p in placed]
            placed.sort(key=Placed.sort_key)
            voices = []
    loose = [(p.offset, p.obj) for p in placed if p.voice is None and _content(p.obj)]
    slots = [[(p.offset, p.obj) for p in placed if p.voice == v and _content(p.obj)]
             for v in voices]
    if slots:
        slots[0] = loose + slots[0]
    else:
        slots = [loose]
    marks = [p for p in placed if isinstance(p.obj, Mark) and not _content(p.obj)]
    # the order music21's recurse() meets them: voices sit at offset 0 before the bar's notes
    sounds = [(p.offset, p.obj) for v in [*voices, None] for p in placed
              if p.voice == v and isinstance(p.obj, Sound)]
    return StaffBar(bar, slots, marks, sounds)


def _content(obj) -> bool:
    return isinstance(obj, Sound) or obj.kind in _CONTENT_MARKS
