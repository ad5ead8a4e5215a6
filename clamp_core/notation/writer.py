"""music21 stream -> ABC text in the official CLaMP dialect (xml2abc output after the filter).

Layout mirrors xml2abc 143 with `-m 2 -c 6 -x`: header `L:` `Q:` `M:` `K:`, one `V:n` declaration
per voice (clef word, `transpose=`, `nm=`/`snm=` on a part's first voice), then each voice's
bars in one block, lines filled up to 100 characters. Pitches are written as stored in the
stream: for music21's usual written-pitch parts a transposing instrument adds `transpose=<st>`
to its `V:` line (as xml2abc does), and octave clefs (`treble-8`) shift the written octave.

Deliberate deviations, for readers that lack parts of ABC 2.1 (music21 among them): accidentals
are repeated on every altered note of a bar and spelled out after inline `[K:]` changes, and
broken rhythm (`A>B`) is only used where no tie, slur edge or `.`/`u`/`v` touches the pair.
Not written: lyrics, clef changes after the first bar, spanner decorations (hairpins, ottava,
trill lines), dynamics other than p..fff/mp/mf/sfz, microtones (rounded to semitones).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction

from music21 import (
    bar,
    clef,
    dynamics,
    expressions,
    harmony,
    instrument,
    key,
    meter,
    note,
    spanner,
    stream,
    tempo,
)

from clamp_core.errors import ClampError
from clamp_core.notation.events import build_events, frac, tempo_field
from clamp_core.notation.header_filter import filter_abc_header
from clamp_core.notation.symbols import (
    KeyInfo,
    MeterInfo,
    clef_field,
    clef_info,
    key_info,
)
from clamp_core.notation.tune import VoiceInput, barline_texts, write_tune

__all__ = ["filter_abc_header", "stream_to_abc"]

# What a voice slot collects: notes, rests, chord symbols and a few zero-length markings.
_CONTENT = (note.GeneralNote, dynamics.Dynamic, expressions.TextExpression, tempo.MetronomeMark)


@dataclass
class _Part:
    """One music21 part prepared for writing: measures, voice slots and header facts."""

    source: stream.Stream
    measures: list[stream.Measure]
    slots: list[list[list[tuple[Fraction, object]]]]  # [measure][slot] -> [(offset, obj)]
    used_slots: list[int] = field(default_factory=list)
    clef_word: str = "treble"
    octave_shift: int = 0
    transpose: int = 0
    first_key: KeyInfo | None = None
    first_meter: str | None = None
    header_tempo: str | None = None
    # per measure, found once for all of the part's voices
    keys: list[KeyInfo | None] = field(default_factory=list)
    meters: list[MeterInfo | None] = field(default_factory=list)
    barlines: list[str] = field(default_factory=list)

    def names(self) -> tuple[str | None, str | None]:
        return (getattr(self.source, "partName", None),
                getattr(self.source, "partAbbreviation", None))

    def voice(self, slot: int, first_voice: bool) -> VoiceInput:
        return _voice_input(self, slot, first_voice)


def stream_to_abc(s: stream.Stream) -> str:
    """Write a music21 Score/Part/Stream as CLaMP-dialect ABC (filtered xml2abc style).

    Raises ClampError when the stream holds no notes.
    """
    return write_tune([_prepare(p) for p in _source_parts(s)])


def _source_parts(s: stream.Stream) -> list[stream.Stream]:
    if isinstance(s, stream.Score) or s.hasPartLikeStreams():
        parts = list(s.parts)
        if parts:
            return parts
    if not s.recurse().notes:
        raise ClampError("The score has no parts or notes to write as ABC.")
    return [s]


def _prepare(part: stream.Stream) -> _Part:
    measures = list(part.getElementsByClass(stream.Measure))
    if not measures:
        if not part.recurse().notesAndRests:
            return _Part(part, [], [])
        try:
            made = part.makeMeasures()
            made.makeTies(inPlace=True)
        except Exception as exc:  # music21 raises many types on malformed streams
            raise ClampError(f"Cannot divide the stream into bars for ABC: {exc}") from exc
        measures = list(made.getElementsByClass(stream.Measure))
    info = _Part(part, measures, [_measure_slots(m) for m in measures])
    has_notes: set[int] = set()
    for slots in info.slots:
        for index, items in enumerate(slots):
            if any(isinstance(o, note.NotRest) and not isinstance(o, harmony.Harmony)
                   for _, o in items):
                has_notes.add(index)
    info.used_slots = sorted(has_notes)
    if not has_notes:
        return info
    for m in measures:
        ks, ts = _first_key_and_meter(m)
        info.keys.append(key_info(ks))
        info.meters.append(None if ts is None else MeterInfo(
            ts.ratioString, frac(ts.beatDuration.quarterLength)))
    info.barlines = _barlines(measures)
    first = measures[0] if measures else None
    if first is not None:
        found_clef = next(iter(first.recurse().getElementsByClass(clef.Clef)), None)
        info.clef_word, octave = clef_field(clef_info(found_clef))
        info.octave_shift = -octave
        info.first_key = info.keys[0]
        ts = info.meters[0]
        info.first_meter = ts.ratio if ts is not None else None
        mm = next((m for m in first.recurse().getElementsByClass(tempo.MetronomeMark)
                   if m.offset == 0), None)
        info.header_tempo = tempo_field(mm) if mm is not None else None
    inst = part.getInstrument(returnDefault=False) if hasattr(part, "getInstrument") else None
    if (isinstance(inst, instrument.Instrument) and inst.transposition is not None
            and getattr(part, "atSoundingPitch", "unknown") is not True):
        info.transpose = int(inst.transposition.semitones)
    return info


def _first_key_and_meter(m: stream.Measure,
                         ) -> tuple[key.KeySignature | None, meter.TimeSignature | None]:
    """The measure's first key and time signatures, voices included, in one walk."""
    ks = ts = None
    for el in m.recurse():
        if ks is None and isinstance(el, key.KeySignature):
            ks = el
        elif ts is None and isinstance(el, meter.TimeSignature):
            ts = el
        if ks is not None and ts is not None:
            break
    return ks, ts


def _measure_slots(m: stream.Measure) -> list[list[tuple[Fraction, object]]]:
    """Split a measure into voice slots: loose content joins slot 0, Voices follow in order."""
    # .elements and elementOffset: the same elements and offsets as iterating the streams,
    # without building a music21 iterator per measure and voice
    elements = m.elements
    voices = [v for v in elements if isinstance(v, stream.Voice)]
    loose = [(frac(m.elementOffset(o)), o) for o in elements if isinstance(o, _CONTENT)]
    slots = [[(frac(m.elementOffset(v)) + frac(v.elementOffset(o)), o) for o in v.elements
              if isinstance(o, _CONTENT)] for v in voices]
    if not slots:
        return [loose]
    slots[0] = loose + slots[0]
    return slots


def _voice_input(part: _Part, slot: int, first_voice: bool) -> VoiceInput:
    """One voice slot of a part as the shared voice writer takes it."""
    measures = []
    for index in range(len(part.measures)):
        items = part.slots[index][slot] if slot < len(part.slots[index]) else []
        if not first_voice:
            items = [(o, e) for o, e in items if not isinstance(e, tempo.MetronomeMark)]
        if index == 0:  # the header's Q: field says it
            items = [(o, e) for o, e in items
                     if not (isinstance(e, tempo.MetronomeMark) and o == 0)]
        measures.append(build_events(items))
    return VoiceInput(
        measures=measures, keys=part.keys, meters=part.meters,
        fill=lambda index: _measure_length(part, index, part.measures[index]),
        barlines=part.barlines, left_repeat=_left_repeat(part.measures[0]),
        use_beams=_has_beams(part, slot), octave_shift=part.octave_shift,
        slurs=_slurs(measures))


def _has_beams(part: _Part, slot: int) -> bool:
    """True when the voice carries music21 beams (MusicXML); ABC imports have none."""
    for slots in part.slots:
        for _, obj in slots[slot] if slot < len(slots) else []:
            beams = getattr(obj, "beams", None)
            if beams is not None and beams.beamsList:
                return True
    return False


def _measure_length(part: _Part, index: int, m: stream.Measure) -> Fraction:
    """Length of a measure for filler rests: longest voice content, else the bar duration."""
    longest = Fraction(0)
    for items in part.slots[index]:
        for offset, obj in items:
            if isinstance(obj, note.GeneralNote) and not isinstance(obj, harmony.Harmony):
                longest = max(longest, offset + frac(obj.duration.quarterLength))
    if longest == 0:
        try:
            longest = frac(m.barDuration.quarterLength)
        except Exception:  # noqa: BLE001 - a measure without any time signature context
            longest = Fraction(0)
    return longest


def _slurs(measures: list[list]):
    """The slurs on this voice's notes, as (slur, first note, last note, first is a grace)."""
    for events in measures:
        for ev in events:
            if ev.obj is None or ev.text:
                continue
            for sp in ev.obj.getSpannerSites():
                if isinstance(sp, spanner.Slur):
                    first, last = sp.getFirst(), sp.getLast()
                    yield sp, first, last, first is not None and first.duration.isGrace


def _left_repeat(m: stream.Measure) -> bool:
    lb = m.leftBarline
    return isinstance(lb, bar.Repeat) and lb.direction == "start"


def _barlines(measures: list[stream.Measure]) -> list[str]:
    """Right barline text per measure, with following repeat starts and volta numbers merged."""
    rights = []
    volta_start: dict[int, str] = {}
    volta_end: set[int] = set()
    index_of = {id(m): i for i, m in enumerate(measures)}
    for i, m in enumerate(measures):
        rb = m.rightBarline
        if isinstance(rb, bar.Repeat) and rb.direction == "end":
            text = ":|"
        elif rb is not None and rb.type == "double":
            text = "||"
        elif rb is not None and rb.type == "final":
            text = "|]"
        else:
            text = "|"
        rights.append(text)
        for sp in m.getSpannerSites():
            if isinstance(sp, spanner.RepeatBracket):
                spanned = [index_of.get(id(x)) for x in sp.getSpannedElements()]
                spanned = [x for x in spanned if x is not None]
                if spanned and spanned[0] == i:
                    label = str(sp.number or "1").replace(".", "").replace(" ", "")
                    volta_start[i] = label
                if spanned and spanned[-1] == i:
                    volta_end.add(i)
    left_repeats = [_left_repeat(m) for m in measures]
    return barline_texts(rights, left_repeats, volta_start, volta_end)
