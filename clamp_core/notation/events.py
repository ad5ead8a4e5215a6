"""Turn the music21 objects of one voice in one measure into a flat list of ABC events.

This is where timing is normalised: gaps become invisible rests (`x`), simultaneous notes of
equal length in one voice merge into a chord, other overlaps are dropped, and tuplets, beams
(which decide spacing, as in xml2abc) and broken rhythms (`>`/`<`) are worked out.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from fractions import Fraction
from functools import lru_cache

from music21 import chord, duration, dynamics, expressions, harmony, note, tempo

from clamp_core.notation.symbols import (
    DYNAMICS,
    chord_symbol_text,
    decorations,
    fraction_text,
    spelled,
)


def frac(x) -> Fraction:
    """Exact Fraction for a music21 offset or quarterLength (float or Fraction)."""
    if isinstance(x, Fraction):
        return x
    return _float_frac(x)


# a score repeats few distinct lengths and offsets, and limit_denominator is slow; bounded for
# long-lived processes (the service)
@lru_cache(maxsize=1 << 16)
def _float_frac(x) -> Fraction:
    return Fraction(x).limit_denominator(1 << 12)


@dataclass(slots=True)
class Event:
    """One ABC item: a note/chord/rest (`obj` set) or a zero-length text item."""

    offset: Fraction
    ql: Fraction = Fraction(0)  # sounding length
    units: Fraction = Fraction(0)  # notated length in quarters (tuplets undone, broken applied)
    text: str = ""  # for annotations, chord symbols, dynamics, inline fields
    obj: object = None  # the source note (its identity ties slurs to events)
    pitches: list = field(default_factory=list)  # [(Spelled, tied)] for notes and chords
    is_chord: bool = False
    rest: str = ""  # "z" or "x" for rests
    grace: bool = False
    slash: bool = False
    tuplet: tuple[int, int] | None = None
    tuplet_type: str | None = None
    tuplet_total: Fraction | None = None
    beam_flag: bool | None = None  # from music21 beams (None: no beam data)
    beamed: bool = False
    prefix: str = ""
    broken: str = ""
    decorations: str = ""  # `!fermata!`, `.` ... of a note or chord

    @property
    def sounding(self) -> bool:
        """True for notes, chords and rests (not text items, not grace notes)."""
        return not self.text and not self.grace


def _tuplets(d: duration.Duration) -> tuple:
    """``d.tuplets`` without its side effect. A Duration made from a quarterLength (most notes
    music21's MusicXML reader makes) works out its type and tuplets on first use, and storing
    them tells every stream holding the note that it changed, which throws away their sort
    caches: a third of writing a score went there. Until then its tuplets are those of
    music21's own conversion of the quarterLength, read here without storing them."""
    pending = getattr(d, "_componentsNeedUpdating", False)
    if pending and d.linked and d.expressionIsInferred and hasattr(d, "_qtrLength"):
        inferred = duration.quarterConversion(d._qtrLength).tuplet
        return (inferred,) if inferred is not None else d._tuplets
    return d.tuplets


def _tuplet_info(obj) -> tuple[tuple[int, int] | None, str | None, Fraction | None]:
    tuplets = _tuplets(obj.duration)
    if not tuplets:
        return None, None, None
    actual, normal = 1, 1
    for t in tuplets:
        actual *= t.numberNotesActual
        normal *= t.numberNotesNormal
    if actual == normal:
        return None, None, None
    outer = tuplets[0]
    total = None
    if outer.durationNormal is not None and len(tuplets) == 1:
        total = frac(outer.durationNormal.quarterLength) * outer.numberNotesNormal
    return (actual, normal), outer.type, total


def _beam_flag(obj) -> bool | None:
    beams = getattr(obj, "beams", None)
    if beams is None or not beams.beamsList:
        return None
    return beams.beamsList[0].type in ("continue", "stop")


def _text_event(offset: Fraction, obj) -> Event | None:
    if isinstance(obj, harmony.Harmony):
        text = chord_symbol_text(obj)
        return Event(offset, text=f'"{text}"', obj=obj) if text else None
    if isinstance(obj, dynamics.Dynamic):
        value = obj.value if isinstance(obj.value, str) else ""
        return Event(offset, text=f"!{value}!", obj=obj) if value in DYNAMICS else None
    if isinstance(obj, expressions.TextExpression):
        content = (obj.content or "").replace('"', "'").replace("\n", " ").strip()
        if not content:
            return None
        place = "_" if getattr(obj, "placement", None) == "below" else "^"
        return Event(offset, text=f'"{place}{content}"', obj=obj)
    if isinstance(obj, tempo.MetronomeMark):
        field_text = tempo_field(obj)
        return Event(offset, text=f"[Q:{field_text}]", obj=obj) if field_text else None
    return None


def tempo_field(mm: tempo.MetronomeMark) -> str | None:
    """`1/4=120` for a metronome mark with a number, else None."""
    number = mm.number if mm.number is not None else getattr(mm, "numberSounding", None)
    if mm.referent is None:
        return None
    return tempo_text(number, frac(mm.referent.quarterLength))


def tempo_text(number: float | None, referent: Fraction) -> str | None:
    """`1/4=120` for a beat of ``referent`` quarters at ``number`` a minute (None: no number)."""
    if number is None:
        return None
    return f"{fraction_text(referent / 4)}={float(number):.0f}"


def _note_event(offset: Fraction, obj) -> Event | None:
    ql = frac(obj.duration.quarterLength)
    grace = obj.duration.isGrace
    if ql <= 0 and not grace:
        return None
    ev = Event(offset, ql=Fraction(0) if grace else ql, obj=obj, grace=grace)
    ev.slash = grace and bool(getattr(obj.duration, "slash", False))
    if isinstance(obj, note.Rest):
        ev.rest = "x" if obj.style.hideObjectOnPrint else "z"
    elif isinstance(obj, chord.Chord):
        for n in obj.notes:  # Chord.tie mirrors its first note, so read every note
            tied = n.tie is not None and n.tie.type in ("start", "continue")
            ev.pitches.append((spelled(n.pitch), tied))
        if not ev.pitches:
            return None
        ev.is_chord = len(ev.pitches) > 1
    elif isinstance(obj, note.Unpitched):
        ev.pitches.append((spelled(obj.displayPitch()), obj.tie is not None
                           and obj.tie.type in ("start", "continue")))
    elif isinstance(obj, note.Note):
        ev.pitches.append((spelled(obj.pitch), obj.tie is not None
                           and obj.tie.type in ("start", "continue")))
    else:
        return None
    if not ev.rest:
        ev.decorations = decorations(obj)
    ev.tuplet, ev.tuplet_type, ev.tuplet_total = (None, None, None) if grace else _tuplet_info(obj)
    ev.units = ev.ql * Fraction(ev.tuplet[0], ev.tuplet[1]) if ev.tuplet else ev.ql
    ev.beam_flag = _beam_flag(obj)
    return ev


def music21_event(offset: Fraction, obj) -> Event | None:
    """The event of a music21 element in a voice (None: nothing to write)."""
    if isinstance(obj, (harmony.Harmony, dynamics.Dynamic, expressions.TextExpression,
                        tempo.MetronomeMark)):
        return _text_event(offset, obj)
    if isinstance(obj, note.GeneralNote):
        return _note_event(offset, obj)
    return None


def build_events(items: list[tuple[Fraction, object]],
                 to_event: Callable[[Fraction, object], Event | None] = music21_event,
                 ) -> list[Event]:
    """Events of one voice in one measure, in time order, with gaps filled by `x` rests.
    ``to_event`` makes an element's event (music21 elements by default)."""
    raw: list[tuple[Fraction, int, int, Event]] = []
    for index, (offset, obj) in enumerate(items):
        ev = to_event(offset, obj)
        if ev is not None:
            rank = 0 if ev.text else 1 if ev.grace else 2
            raw.append((offset, rank, index, ev))
    raw.sort(key=lambda r: (r[0], r[1], r[2]))
    events: list[Event] = []
    cursor = Fraction(0)
    last_sound: Event | None = None
    for offset, _, _, ev in raw:
        if ev.text or ev.grace:
            if offset > cursor:
                events.append(_filler(cursor, offset - cursor))
                cursor = offset
            events.append(ev)
            continue
        if offset < cursor:
            # Overlap inside one voice: merge equal chords, drop the rest (as xml2abc does).
            if (last_sound is not None and not last_sound.rest and not ev.rest
                    and last_sound.offset == offset and last_sound.ql == ev.ql):
                last_sound.pitches.extend(ev.pitches)
                last_sound.is_chord = True
            continue
        if offset > cursor:
            events.append(_filler(cursor, offset - cursor))
        events.append(ev)
        last_sound = ev
        cursor = offset + ev.ql
    return events


def _filler(offset: Fraction, length: Fraction) -> Event:
    return Event(offset, ql=length, units=length, rest="x")


def mark_tuplets(events: list[Event]) -> None:
    """Group tuplet notes and put `(3` / `(p:q:r` on the first note of each group."""
    i = 0
    while i < len(events):
        ev = events[i]
        if not ev.sounding or ev.tuplet is None:
            i += 1
            continue
        group = [ev]
        total = ev.ql
        j = i + 1
        closed = ev.tuplet_type == "stop" or (ev.tuplet_total is not None
                                               and total >= ev.tuplet_total)
        while j < len(events) and not closed:
            nxt = events[j]
            if not nxt.sounding:
                j += 1
                continue
            if nxt.tuplet != ev.tuplet or nxt.tuplet_type == "start":
                break
            group.append(nxt)
            total += nxt.ql
            j += 1
            closed = nxt.tuplet_type == "stop" or (ev.tuplet_total is not None
                                                    and total >= ev.tuplet_total)
        p, q = ev.tuplet
        r = len(group)
        ev.prefix = "(3" if (p, q, r) == (3, 2, 3) else f"({p}:{q}:{r}"
        i = j


def mark_beams(events: list[Event], beat: Fraction, use_music21_beams: bool,
               eighth_group: Fraction | None = None) -> None:
    """Decide which notes join the previous one without a space (xml2abc's beam rule).

    Without music21 beams (ABC imports) notes shorter than a quarter are beamed per beat;
    eighths may use a wider `eighth_group` (half a 4/4 bar, as engravers do).
    """
    prev: Event | None = None
    for ev in events:
        if ev.text:
            continue
        if ev.grace:
            ev.beamed = True  # xml2abc counts grace notes as beamed
            continue
        if ev.rest:
            prev = None
            continue
        if use_music21_beams:
            ev.beamed = bool(ev.beam_flag) and prev is not None
        else:
            group = beat
            if eighth_group and prev is not None and min(ev.units, prev.units) >= Fraction(1, 2):
                group = eighth_group
            short = Fraction(0) < ev.units < 1
            ev.beamed = (short and prev is not None and Fraction(0) < prev.units < 1
                         and group > 0 and ev.offset // group == prev.offset // group)
        prev = ev


def _plain_pair(a: Event, b: Event) -> bool:
    """Whether `a>b` is safe: music21's reader loses the rhythm around ties, slurs, `.`/u/v."""
    if a.tuplet is not None or b.tuplet is not None or a.grace or b.grace:
        return False
    if a.rest or b.rest or a.units <= 0 or not b.beamed or b.prefix:
        return False
    if any(tied for _, tied in a.pitches):
        return False
    return not any(d in b.decorations for d in (".", "u", "v", "M", "P"))


def mark_broken(events: list[Event], blocked: Callable[[Event, Event], bool]) -> None:
    """Rewrite dotted pairs in one beam as broken rhythm (`A>B`, `A<B`) like xml2abc.

    `blocked(a, b)` vetoes pairs with a slur boundary between them.
    """
    sound = [e for e in events if not e.text]
    i = 0
    while i < len(sound) - 1:
        a, b = sound[i], sound[i + 1]
        if _plain_pair(a, b) and not blocked(a, b):
            if a.units * 3 == b.units:
                a.units, b.units, a.broken = a.units * 2, b.units * 2 / 3, "<"
                i += 2
                continue
            if b.units * 3 == a.units:
                a.units, b.units, a.broken = a.units * 2 / 3, b.units * 2, ">"
                i += 2
                continue
        i += 1
