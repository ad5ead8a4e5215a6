"""From each voice's events to the tune's ABC text: bars, unit lengths, header and voice blocks.

Shared by every way a score reaches the writer (music21 streams in ``writer``, MusicXML read
directly in ``clamp_core.musicxml``): a source builds each bar's events and says what the bar's
key, time signature and barline are; everything after that is decided here, once.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from fractions import Fraction
from typing import Protocol

from unidecode import unidecode

from clamp_core.errors import ClampError
from clamp_core.notation.events import Event, mark_beams, mark_broken, mark_tuplets
from clamp_core.notation.header_filter import filter_abc_header
from clamp_core.notation.render import VoiceRenderer, unit_lengths, wrap_lines
from clamp_core.notation.symbols import KeyInfo, MeterInfo, choose_unit, key_alters, key_field

# What a source says of a slur: (its identity, first note, last note, first note is a grace)
SlurEnds = tuple[object, object, object, bool]


@dataclass
class VoiceInput:
    """One voice as its source built it."""

    measures: list[list[Event]]  # per bar, from build_events (not yet marked)
    keys: list[KeyInfo | None]  # per bar, its first key signature
    meters: list[MeterInfo | None]  # per bar, its first time signature
    fill: Callable[[int], Fraction]  # length of the invisible rest of a bar with no notes
    barlines: list[str]  # per bar, its right barline with what follows merged in
    left_repeat: bool  # the first bar opens a repeat
    use_beams: bool  # the source's beams decide spacing (MusicXML), else the beat does
    octave_shift: int  # octave clefs (`treble-8`) shift the written octave
    slurs: Iterable[SlurEnds]  # the slurs touching this voice's notes


def slur_counts(per_measure: list[list[Event]], slurs: Iterable[SlurEnds],
                ) -> tuple[Counter, Counter]:
    """Slurs whose both ends are non-grace notes of this voice, first before last: how many
    open and close at each note (by the identity of its source object)."""
    order: dict[int, int] = {}
    for events in per_measure:
        for ev in events:
            if ev.obj is not None and not ev.text:
                order[id(ev.obj)] = len(order)
    starts: Counter = Counter()
    ends: Counter = Counter()
    seen: set[int] = set()
    for ident, first, last, first_is_grace in slurs:
        if id(ident) in seen:
            continue
        seen.add(id(ident))
        if first is None or last is None or first_is_grace:
            continue
        a, b = order.get(id(first)), order.get(id(last))
        if a is not None and b is not None and a < b:
            starts[id(first)] += 1
            ends[id(last)] += 1
    return starts, ends


def write_voice(voice: VoiceInput, header_key: KeyInfo | None, meter_text: str,
                header_alt: dict[str, int]) -> tuple[int, list[str]]:
    """Bars of one voice as strings (barline included) plus the voice's unit length."""
    current_key = header_key
    current_meter = meter_text
    beat = Fraction(1)
    eighth_group: Fraction | None = None
    per_measure: list[tuple[list[Event], str, dict[str, int]]] = []
    alters_of: dict[KeyInfo | None, dict[str, int]] = {}
    for index, events in enumerate(voice.measures):
        lead = ""
        ks = voice.keys[index]
        if ks is not None and key_field(ks) != key_field(current_key):
            lead += f"[K:{key_field(ks)}]"
            current_key = ks
        ts = voice.meters[index]
        if ts is not None:
            beat = ts.beat
            eighth_group = Fraction(2) if ts.ratio == "4/4" else None
            if ts.ratio != current_meter:
                lead += f"[M:{ts.ratio}]"
                current_meter = ts.ratio
        if not any(not e.text for e in events):
            length = voice.fill(index)
            if length > 0:
                events.append(Event(Fraction(0), ql=length, units=length, rest="x"))
        mark_tuplets(events)
        mark_beams(events, beat, voice.use_beams, eighth_group)
        if current_key not in alters_of:
            alters_of[current_key] = key_alters(current_key)
        per_measure.append((events, lead, alters_of[current_key]))
    starts, ends = slur_counts([events for events, _, _ in per_measure], voice.slurs)
    for events, _, _ in per_measure:
        mark_broken(events, lambda a, b: bool(ends.get(id(a.obj)) or starts.get(id(b.obj))))
    unit = choose_unit([u for events, _, _ in per_measure for u in unit_lengths(events)])
    renderer = VoiceRenderer(unit, voice.octave_shift, header_alt, starts, ends)
    bars = []
    for index, (events, lead, alters) in enumerate(per_measure):
        if index == 0 and voice.left_repeat:
            lead += "|:"
        bars.append(renderer.measure(events, alters, lead, voice.barlines[index]))
    return unit, bars


class TunePart(Protocol):
    """A part (or a staff of one) as a source prepared it for writing."""

    used_slots: list[int]  # the voice slots that hold notes
    first_key: KeyInfo | None
    first_meter: str | None
    transpose: int  # `transpose=` semitones (0: none)
    clef_word: str
    header_tempo: str | None  # the first bar's tempo mark at its start (`Q:`)

    def names(self) -> tuple[str | None, str | None]:
        """The part's name and abbreviation (`nm=`, `snm=`)."""

    def voice(self, slot: int, first_voice: bool) -> VoiceInput:
        """One voice slot, built (tempo marks only in the part's first voice)."""


def write_tune(parts: list[TunePart]) -> str:
    """The tune of these parts: one block per used voice slot, `%%score` groups per part.

    Raises ClampError when no part holds notes.
    """
    parts = [p for p in parts if p.used_slots]
    if not parts:
        raise ClampError("The score has no notes to write as ABC.")
    header_key = next((p.first_key for p in parts if not p.transpose and p.first_key), None)
    meter_text = parts[0].first_meter or "none"
    header_alt = key_alters(header_key)
    blocks: list[VoiceBlock] = []
    score_tokens: list[str] = []
    for part in parts:
        numbers = []
        for position, slot in enumerate(part.used_slots):
            numbers.append(str(len(blocks) + 1))
            unit, bars = write_voice(part.voice(slot, position == 0), header_key, meter_text,
                                     header_alt)
            names = part.names() if position == 0 else (None, None)
            blocks.append(VoiceBlock(unit, bars, declaration(
                len(blocks) + 1, part.clef_word, part.transpose, *names)))
        score_tokens.extend(["("] + numbers + [")"] if len(numbers) > 1 else numbers)
    return tune_text(blocks, score_tokens, parts[0].header_tempo, meter_text, header_key)


@dataclass
class VoiceBlock:
    """A written voice: its unit length, bars and `V:` declaration."""

    unit: int
    bars: list[str]
    declaration: str


def tune_text(blocks: list[VoiceBlock], score_tokens: list[str], header_tempo: str | None,
              meter_text: str, header_key: KeyInfo | None) -> str:
    """The whole tune: `%%score`, `L:` `Q:` `M:` `K:`, voice declarations, voice blocks, as
    xml2abc prints it, then the official header filter."""
    units = [b.unit for b in blocks]
    counts = Counter(units)
    default_unit = max(counts, key=lambda u: (counts[u], -units.index(u)))
    lines = []
    if len(score_tokens) > 1:
        lines.append("%%score " + " ".join(score_tokens))
    lines.append(f"L:1/{default_unit}")
    if header_tempo:
        lines.append(f"Q:{header_tempo}")
    lines += [f"M:{meter_text}", f"K:{key_field(header_key)}"]
    for block in blocks:
        lines.append(block.declaration)
        if block.unit != default_unit:
            lines.append(f"L:1/{block.unit}")
    for index, block in enumerate(blocks, start=1):
        lines.append(f"V:{index}")
        for count, line in enumerate(wrap_lines(block.bars), start=1):
            lines.append(f"{line} %{count}")  # xml2abc's line tag; the filter strips it
    # Mirror xml2abc on stdout (trailing blank line), then apply the official filter.
    raw = unidecode("\n".join(lines) + "\n\n")
    return filter_abc_header(raw)


def barline_texts(rights: list[str], left_repeats: list[bool], volta_start: dict[int, str],
                  volta_end: set[int]) -> list[str]:
    """Right barline text per bar (`|`, `||`, `|]`, `:|`) with the next bar's repeat start and
    volta number merged in, as xml2abc writes them."""
    rights = list(rights)
    for i in volta_end:
        if rights[i] == "|":
            rights[i] = "||"
    for i in range(1, len(rights)):
        text = rights[i - 1]
        if left_repeats[i]:
            text = (text + ":").replace(":|:", "::").replace("||", "|")
        text += volta_start.get(i, "")
        rights[i - 1] = text
    return rights


def declaration(number: int, clef_word: str, transpose: int, name: str | None,
                abbreviation: str | None) -> str:
    """`V:n clef [transpose=..] [nm=".." snm=".."]` header line, formatted like xml2abc."""
    clef_text = clef_word + (f" transpose={transpose}" if transpose else "")
    names = ""
    if name is not None or abbreviation is not None:
        name, abbr = _clean_name(name), _clean_name(abbreviation)
        names = (f'nm="{name}"' if name else "") + (f' snm="{abbr}"' if abbr else "")
    return f"V:{number} {clef_text} {names}"


def _clean_name(text) -> str:
    if not isinstance(text, str):
        return ""
    return text.replace("\n", "\\n").replace(".:", ".").strip(":")
