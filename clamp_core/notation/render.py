"""Render ABC events of one voice into measure strings (notes, accidentals, slurs, barlines)."""

from __future__ import annotations

from collections import Counter
from fractions import Fraction

from clamp_core.notation.events import Event
from clamp_core.notation.symbols import BarAccidentals, duration_text, pitch_text


class VoiceRenderer:
    """Writes the measures of one ABC voice; keeps slur bookkeeping across measures."""

    def __init__(self, unit: int, octave_shift: int, header_alt: dict[str, int],
                 slur_starts: Counter, slur_ends: Counter) -> None:
        self.unit = unit
        self.octave_shift = octave_shift
        self.header_alt = header_alt
        self.slur_starts = slur_starts
        self.slur_ends = slur_ends
        self._durations: dict[tuple[int, int], str] = {}

    def measure(self, events: list[Event], key_alt: dict[str, int], lead: str,
                barline: str) -> str:
        """One measure: inline fields (`lead`), its events, then ` ` + barline."""
        acc = BarAccidentals(key_alt, self.header_alt)
        out = [lead]
        grace_open = False
        for i, ev in enumerate(events):
            if ev.text:
                out.append(ev.text)
                continue
            if ev.grace and not grace_open:
                out.append("{/" if ev.slash else "{")
                grace_open = True
            text = self._note(ev, acc)
            last_grace = ev.grace and not _next_is_grace(events, i)
            if last_grace:
                text += "}"
                grace_open = False
            out.append(text if (ev.beamed or ev.grace) else " " + text)
        if grace_open:
            out.append("}")
        out.append(" " + barline)
        return "".join(out)

    def _duration(self, units: Fraction) -> str:
        """The duration text of a length in quarters (a voice repeats a few lengths)."""
        key = (units.numerator, units.denominator)
        text = self._durations.get(key)
        if text is None:
            text = self._durations[key] = duration_text(units * self.unit / 4)
        return text

    def _note(self, ev: Event, acc: BarAccidentals) -> str:
        ident = id(ev.obj)
        head = ev.prefix + "(" * self.slur_starts.get(ident, 0) + ev.decorations
        dur = "" if ev.grace else self._duration(ev.units)
        if ev.rest:
            body = ev.rest + dur
            tie = ""
        else:
            notes = []
            all_tied = all(t for _, t in ev.pitches)
            for p, tied in ev.pitches:
                txt = pitch_text(p, self.octave_shift, acc.needed(p))
                if ev.is_chord and tied and not all_tied:
                    txt += "-"
                notes.append(txt)
            body = ("[" + "".join(notes) + "]") if ev.is_chord else notes[0]
            body += dur
            tie = "-" if all_tied else ""
        return head + body + tie + ev.broken + ")" * self.slur_ends.get(ident, 0)


def _next_is_grace(events: list[Event], i: int) -> bool:
    for ev in events[i + 1:]:
        if ev.text:
            continue
        return ev.grace
    return False


def wrap_lines(measures: list[str], limit: int = 100) -> list[str]:
    """Greedy xml2abc line filling: add bars while the line stays under `limit` chars."""
    lines: list[str] = []
    i = 0
    while i < len(measures):
        chunk = measures[i]
        i += 1
        while i < len(measures) and len(chunk) + len(measures[i]) < limit:
            chunk += measures[i]
            i += 1
        lines.append(chunk)
    return lines


def unit_lengths(events: list[Event]) -> list[Fraction]:
    """Notated lengths that carry a duration string (for choosing L:)."""
    return [e.units for e in events if not e.text and not e.grace and e.units > 0]
