"""Staves read directly from MusicXML -> the model's ABC, through the same voice writer as
music21 streams (``clamp_core.notation.tune``), deciding each step as ``notation.writer`` does."""

from __future__ import annotations

from fractions import Fraction

from clamp_core.musicxml.model import Mark, Sound
from clamp_core.musicxml.notes import Spanners
from clamp_core.musicxml.staves import Staff, StaffBar
from clamp_core.notation.events import Event, build_events, tempo_text
from clamp_core.notation.symbols import DYNAMICS, KeyInfo, MeterInfo, clef_field
from clamp_core.notation.tune import VoiceInput, barline_texts, write_tune


def sound_event(offset: Fraction, obj: Sound | Mark) -> Event | None:
    """The event of a directly read element (events.music21_event's counterpart)."""
    if isinstance(obj, Mark):
        return _mark_event(offset, obj)
    if obj.ql <= 0 and not obj.grace:
        return None
    ev = Event(offset, ql=Fraction(0) if obj.grace else obj.ql, obj=obj, grace=obj.grace)
    ev.slash = obj.grace and obj.slash
    if obj.kind == "rest":
        ev.rest = "x" if obj.hidden else "z"
    else:
        ev.pitches = [(t.spelled, t.tie in ("start", "continue")) for t in obj.tones]
        ev.is_chord = len(ev.pitches) > 1
        ev.decorations = obj.decorations
    if not obj.grace:
        ev.tuplet, ev.tuplet_type, ev.tuplet_total = obj.tuplet, obj.tuplet_type, obj.tuplet_total
    ev.units = ev.ql * Fraction(ev.tuplet[0], ev.tuplet[1]) if ev.tuplet else ev.ql
    ev.beam_flag = None if obj.beam is None else obj.beam in ("continue", "stop")
    return ev


def _mark_event(offset: Fraction, mark: Mark) -> Event | None:
    if mark.kind == "dynamic":
        return Event(offset, text=f"!{mark.text}!", obj=mark) if mark.text in DYNAMICS else None
    if mark.kind == "words":
        content = mark.text.replace('"', "'").replace("\n", " ").strip()
        if not content:
            return None
        place = "_" if mark.placement == "below" else "^"
        return Event(offset, text=f'"{place}{content}"', obj=mark)
    if mark.kind == "tempo":
        field = _tempo(mark)
        return Event(offset, text=f"[Q:{field}]", obj=mark) if field else None
    return None


def _tempo(mark: Mark) -> str | None:
    return tempo_text(mark.number if mark.number is not None else mark.number_sounding,
                      mark.referent)


class _StaffVoices:
    """One staff prepared for writing (writer._Part's counterpart)."""

    def __init__(self, staff: Staff, spanners: Spanners) -> None:
        self.staff = staff
        self.spanners = spanners
        self.bars = staff.bars
        self.transpose = staff.transpose
        self.barlines = _barlines(self.bars)  # the same for every voice of the staff
        self._fills: dict[int, Fraction] = {}
        used: set[int] = set()
        for sb in self.bars:
            for index, items in enumerate(sb.slots):
                if any(isinstance(o, Sound) and o.kind != "rest" for _, o in items):
                    used.add(index)
        self.used_slots = sorted(used)
        self.keys: list[KeyInfo | None] = [_first(sb, "key") for sb in self.bars]
        self.meters: list[MeterInfo | None] = [_first(sb, "time") for sb in self.bars]
        first = self.bars[0]  # a staff always has its part's bars
        self.first_key = self.keys[0]
        self.first_meter = self.meters[0].ratio if self.meters[0] else None
        clef = next((p.obj.clef for p in first.marks if p.obj.kind == "clef"), None)
        self.clef_word, octave = clef_field(clef)
        self.octave_shift = -octave
        # the first bar's tempo mark at its start is the header's Q:
        mark = next((o for off, o in first.slots[0] if _is_tempo(o) and off == 0), None)
        self.header_tempo = _tempo(mark) if mark is not None else None

    def names(self) -> tuple[str | None, str | None]:
        return self.staff.names.name, self.staff.names.abbreviation

    def voice(self, slot: int, first_voice: bool) -> VoiceInput:
        measures = []
        for index, sb in enumerate(self.bars):
            items = sb.slots[slot] if slot < len(sb.slots) else []
            if not first_voice:
                items = [(o, e) for o, e in items if not _is_tempo(e)]
            if index == 0:
                items = [(o, e) for o, e in items if not (_is_tempo(e) and o == 0)]
            measures.append(build_events(items, sound_event))
        slurs = [end for events in measures for ev in events
                 if ev.obj is not None and not ev.text for end in self.spanners.ends(ev.obj)]
        return VoiceInput(
            measures=measures, keys=self.keys, meters=self.meters, fill=self._fill,
            barlines=self.barlines, left_repeat=self.bars[0].bar.left_repeat,
            use_beams=any(isinstance(o, Sound) and o.beam is not None
                          for sb in self.bars if slot < len(sb.slots) for _, o in sb.slots[slot]),
            octave_shift=self.octave_shift, slurs=slurs)

    def _fill(self, index: int) -> Fraction:
        if index in self._fills:  # the same for every voice of the staff
            return self._fills[index]
        longest = Fraction(0)
        for items in self.bars[index].slots:
            for offset, obj in items:
                if isinstance(obj, Sound) and offset + obj.ql > longest:
                    longest = offset + obj.ql
        if longest == 0:
            longest = self._bar_length(index)
        self._fills[index] = longest
        return longest

    def _bar_length(self, index: int) -> Fraction:
        """The bar length of the time signature in force (music21's barDuration)."""
        for sb in reversed(self.bars[:index + 1]):
            for p in reversed(sb.marks):
                if p.obj.kind == "time":
                    return p.obj.bar_ql
        return Fraction(0)


def staves_to_abc(staves: list[Staff], spanners: Spanners) -> str:
    """The tune of these staves (writer.stream_to_abc's counterpart)."""
    return write_tune([_StaffVoices(s, spanners) for s in staves])


def _is_tempo(obj) -> bool:
    return isinstance(obj, Mark) and obj.kind == "tempo"


def _first(sb: StaffBar, kind: str):
    mark = next((p.obj for p in sb.marks if p.obj.kind == kind), None)
    if mark is None:
        return None
    return mark.key if kind == "key" else mark.meter


def _barlines(bars: list[StaffBar]) -> list[str]:
    return barline_texts([sb.bar.right for sb in bars], [sb.bar.left_repeat for sb in bars],
                         {i: sb.bar.volta_start for i, sb in enumerate(bars)
                          if sb.bar.volta_start is not None},
                         {i for i, sb in enumerate(bars) if sb.bar.volta_end})
