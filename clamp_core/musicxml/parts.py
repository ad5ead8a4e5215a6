"""<part> -> bars, deciding as music21's MusicXML importer does: offsets from <backup> and
<forward>, voices, chords, directions, attributes, barlines and endings, full-bar rests and
where each bar starts."""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass, field
from fractions import Fraction
from functools import lru_cache
from xml.etree.ElementTree import Element

from music21 import common, expressions, key, meter, spanner
from music21.musicxml import xmlToM21
from music21.musicxml.xmlToM21 import musicXMLTypeToType, strippedText

from clamp_core.musicxml.model import (
    ORDER_CLEF,
    ORDER_DYNAMIC,
    ORDER_KEY,
    ORDER_NOTE,
    ORDER_TEMPO,
    ORDER_TIME,
    ORDER_WORDS,
    Bar,
    Mark,
    Placed,
    Sound,
    Unsupported,
)
from clamp_core.musicxml.notes import (
    NoteReader,
    Spanners,
    inferred_tuplet,
    inferred_type,
    type_length,
)
from clamp_core.notation.symbols import ClefInfo, KeyInfo, MeterInfo, signature_alters

_BAR_STYLES = {"regular", "dotted", "dashed", "heavy", "double", "final", "heavy-light",
               "heavy-heavy", "tick", "short", "none", "light-light", "light-heavy"}
_CLEF_LINES = {"G": 2, "F": 4, "C": 3}
_IGNORED_DIRECTIONS = {"wedge", "bracket", "dashes", "octave-shift", "pedal", "other-direction",
                       "image", "accordion-registration", "harp-pedals", "damp", "damp-all",
                       "eyeglasses", "string-mute", "scordatura", "principal-voice",
                       "percussion", "staff-divide"}


@lru_cache(maxsize=64)
def meter_facts(ratio: str) -> tuple[MeterInfo, Fraction]:
    """A time signature's ratio string, beat and bar length, as music21 works them out."""
    try:
        ts = meter.TimeSignature(ratio)
    except Exception as exc:  # noqa: BLE001 - music21 refuses odd meters with assorted errors
        raise Unsupported(f"time signature {ratio}") from exc
    return (MeterInfo(ts.ratioString, Fraction(ts.beatDuration.quarterLength)),
            Fraction(ts.barDuration.quarterLength))


@lru_cache(maxsize=256)
def _is_repeat_words(text: str) -> bool:
    return expressions.TextExpression(text).getRepeatExpression() is not None


def _number(text: str) -> float:
    """music21's numToIntOrFloat of a float."""
    return common.numToIntOrFloat(float(text))


@dataclass
class Bracket:
    """A volta bracket (music21's RepeatBracket): its bars and number."""

    bars: list[Bar] = field(default_factory=list)
    label: str = "1"
    complete: bool = False


class PartReader:
    """Reads the bars of one <part>, like music21's PartParser + MeasureParser."""

    def __init__(self, spanners: Spanners, brackets: list[Bracket], pedals: Pedals,
                 transposition=None) -> None:
        self.notes = NoteReader(spanners)
        self.pedals = pedals
        self.transposing = Transposing(transposition)
        self.brackets = brackets
        self.bars: list[Bar] = []
        self.max_staves = 1
        self.last_meter_ql: Fraction | None = None
        self.last_number = 0
        self.last_suffix: str | None = None
        self.offset = Fraction(0)

    def read(self, mx_part: Element) -> list[Bar]:
        for mx in mx_part.iterfind("measure"):
            self._measure(mx)
        return self.bars

    # -- one <measure> -----------------------------------------------------------------------
    def _measure(self, mx: Element) -> None:
        bar = Bar(self._bar_number(mx))
        state = _MeasureState(bar, self)
        for el in mx.findall("print"):
            state.print_(el)
        voice_ids: set[str] = set()
        for tag in ("note", "forward"):
            for el in mx.findall(tag):
                if v := strippedText(el.find("voice")):
                    voice_ids.add(v)
        if len(voice_ids) > 1:
            bar.voices = sorted(voice_ids)
        children = list(mx)
        for i, el in enumerate(children):
            state.element(el, children[i + 1] if i + 1 < len(children) else None)
        if state.rests == 1 and state.sounds == 0:
            state.full_rest = True
        self.max_staves = max(self.max_staves, state.staves)
        first_meter = min((p for p in bar.placed if isinstance(p.obj, Mark)
                           and p.obj.kind == "time" and p.offset == 0),
                          key=Placed.sort_key, default=None)
        if first_meter is not None:
            self.last_meter_ql = first_meter.obj.bar_ql
        elif self.last_meter_ql is None:
            self.last_meter_ql = Fraction(4)
        bar.meter_ql = self.last_meter_ql
        if state.full_rest:
            self._full_rest(bar)
        self._place(bar)
        self.bars.append(bar)
        self.transposing.first_bar_read = True

    def _bar_number(self, mx: Element) -> int:
        raw = mx.get("number")
        number, suffix = 0, None
        if raw is not None:
            num, suf = common.getNumFromStr(raw)
            if num not in (None, ""):
                number = int(num)
            if suf not in (None, ""):
                suffix = suf
        if suffix == "X" and number != self.last_number + 1:  # Finale's unnumbered bars
            suffix = (self.last_suffix or "") + "X" + str(number)
            number = self.last_number
        if number != self.last_number:
            self.last_number, self.last_suffix = number, suffix
        return number

    def _full_rest(self, bar: Bar) -> None:
        """music21 stretches a whole-bar rest to the time signature in force."""
        # the first rest music21's recurse() meets: voices (at offset 0) before the bar's own
        placed = sorted(bar.placed, key=Placed.sort_key)
        rests = [p for v in [*bar.voices, None] for p in placed
                 if p.voice == v and isinstance(p.obj, Sound) and p.obj.kind == "rest"]
        if not rests:
            raise Unsupported("a whole-bar rest that is not there")
        rest = rests[0].obj
        if rest.inferred:
            type_name, dots, tuplets = inferred_type(rest.ql) if rest.ql > 0 else ("zero", 0,
                                                                                    False)
        else:
            type_name, dots, tuplets = rest.type_name, rest.dots, rest.has_tuplets
        target = bar.meter_ql
        if rest.full_measure or (rest.ql != target and type_name in ("whole", "breve")
                                 and dots == 0 and not tuplets):
            rest.ql = target
            rest.full_measure = True
            if rest.linked:  # music21 works its type and tuplets out again from the length
                rest.tuplet, rest.tuplet_type, rest.tuplet_total = inferred_tuplet(target)

    def _place(self, bar: Bar) -> None:
        """Where the bar sits and where the next one starts (adjustTimeAttributesFromMeasure)."""
        highest = _highest(bar)
        target = bar.meter_ql
        has_sound = any(isinstance(p.obj, Sound) for p in bar.placed)
        if highest == target:
            shift = highest
        elif highest > target:
            diff = highest - target
            shift = highest if (diff > Fraction(1, 2) or (diff * 16).denominator == 1
                                or (diff * 12).denominator == 1) else target
        elif highest == 0 and not has_sound:
            rest = Sound("rest", target, inferred=True)
            rest.tuplet, rest.tuplet_type, rest.tuplet_total = inferred_tuplet(target)
            bar.placed.append(Placed(Fraction(0), 0, None, ORDER_NOTE, 10 ** 6, rest))
            highest = shift = target
        else:  # a short bar (a pickup, or a bar split by a repeat) keeps its length
            shift = highest
        bar.highest = highest
        bar.offset = self.offset
        bar.length = shift
        self.offset += shift


class _MeasureState:
    """The reading state of one <measure> (music21's MeasureParser)."""

    def __init__(self, bar: Bar, part: PartReader) -> None:
        self.bar = bar
        self.part = part
        self.notes = part.notes
        self.offset = Fraction(0)
        self.seq = 0
        self.staves = 1
        self.chord: list[Element] = []
        self.last_voice: str | None = None
        self.rests = self.sounds = 0
        self.full_rest = False
        self.layouts: set[tuple[int, Fraction]] = set()

    def put(self, offset: Fraction, staff: int, voice: str | None, order: int, obj) -> None:
        self.seq += 1
        self.bar.placed.append(Placed(offset, staff, voice, order, self.seq, obj))

    def element(self, el: Element, following: Element | None) -> None:
        tag = el.tag
        if tag == "note":
            self.note(el, following)
        elif tag == "backup":
            if d := strippedText(el.find("duration")):
                self.offset = max(self.offset - Fraction(d) / self.notes.divisions, Fraction(0))
        elif tag == "forward":
            if d := strippedText(el.find("duration")):
                self.offset += Fraction(d) / self.notes.divisions
        elif tag == "direction":
            self.direction(el)
        elif tag == "attributes":
            self.attributes(el)
        elif tag == "harmony":
            raise Unsupported("chord symbols")
        elif tag == "sound":
            self.sound_tempo(el, _offset(el, self.notes.divisions) + self.offset, 0, None)
        elif tag == "barline":
            self.barline(el)

    # -- notes -------------------------------------------------------------------------------
    def note(self, el: Element, following: Element | None) -> None:
        next_is_chord = (following is not None and following.tag == "note"
                         and following.find("chord") is not None)
        is_chord = el.find("chord") is not None or next_is_chord
        if next_is_chord and (v := el.find("voice")) is not None and v.text is not None:
            self.last_voice = v.text
        increment = Fraction(0)
        if is_chord:
            self.chord.append(el)
        else:
            if el.find("rest") is not None:
                self.rests += 1
            else:
                self.sounds += 1
            sound = self.notes.sound([el])
            if sound.full_measure:
                self.full_rest = True
            self._insert(el, el, sound)
            increment = sound.ql
        if self.chord and not next_is_chord:
            sound = self.notes.sound(self.chord)
            owner = next((m for m in self.chord if m.find("voice") is not None), el)
            self._insert(self.chord[0], owner, sound)
            increment = sound.ql
            self.chord = []
        self.offset += increment

    def _insert(self, staff_el: Element, voice_el: Element, sound: Sound) -> None:
        voice = None
        if self.bar.voices:
            text = strippedText(voice_el.find("voice"))
            if text:
                self.last_voice = text
            else:
                text = self.last_voice if self.last_voice is not None else "1"
            if text not in self.bar.voices:
                raise Unsupported("a note outside the bar's voices")
            voice = text
        self.put(self.offset, _staff(staff_el), voice, ORDER_NOTE, sound)

    # -- directions --------------------------------------------------------------------------
    def direction(self, el: Element) -> None:
        offset = _offset(el, self.notes.divisions) + self.offset
        staff = _staff(el)
        placement = el.get("placement")
        metronome = False
        for kind in el.findall("direction-type"):
            for d in kind:
                tag = d.tag
                if tag == "dynamics":
                    for dyn in d:
                        # music21 looks for "other-dynamic", so <other-dynamics> keeps its tag
                        value = dyn.tag
                        if value == "other-dynamic" and dyn.text:
                            value = dyn.text.strip()
                        self.put(offset, staff, None, ORDER_DYNAMIC,
                                 Mark("dynamic", value, placement))
                elif tag == "words":
                    text = strippedText(d)
                    if _is_repeat_words(text):
                        self.put(offset, staff, None, ORDER_WORDS, Mark("other"))
                    else:
                        self.put(offset, staff, None, ORDER_WORDS, Mark("words", text, placement))
                elif tag == "metronome":
                    metronome = True
                    self.put(offset, staff, None, ORDER_TEMPO, _metronome(d))
                elif tag in ("coda", "segno", "rehearsal"):
                    self.put(offset, staff, None, ORDER_WORDS, Mark("other"))
                elif tag == "pedal":
                    if self.part.pedals.mark(d, offset):
                        self.put(offset, staff, None, ORDER_WORDS, Mark("other"))
                elif tag not in _IGNORED_DIRECTIONS:
                    raise Unsupported(f"direction <{tag}>")
        if not metronome:
            for sound in el.findall("sound"):
                if "tempo" in sound.attrib:
                    self.sound_tempo(sound, offset, staff, placement)
                    break

    def sound_tempo(self, el: Element, offset: Fraction, staff: int,
                    placement: str | None) -> None:
        if "tempo" not in el.attrib:
            return
        qpm = _number(el.get("tempo", "0"))
        if qpm == 0:
            return
        self.put(offset, staff, None, ORDER_TEMPO,
                 Mark("tempo", placement=placement, number_sounding=qpm))

    # -- attributes --------------------------------------------------------------------------
    def attributes(self, el: Element) -> None:
        for sub in el:
            tag = sub.tag
            if tag == "divisions":
                divisions = Fraction(sub.text.strip())
                if divisions <= 0:
                    raise Unsupported("divisions")
                self.notes.divisions = divisions
                self.notes.divisions_key = (divisions.numerator, divisions.denominator)
            elif tag == "staves":
                self.staves = int(sub.text)
            elif tag == "transpose":
                self.part.transposing.change(sub)
            elif tag == "key":
                self.put(self.offset, _number_attr(sub, 0), None, ORDER_KEY, _key(sub))
            elif tag == "time":
                self.put(self.offset, _number_attr(sub, 0), None, ORDER_TIME, _time(sub))
            elif tag == "clef":
                self.put(self.offset, _number_attr(sub, 1), None, ORDER_CLEF, _clef(sub))
            elif tag == "staff-details":
                staff = _number_attr(sub, 1)
                if (staff, self.offset) not in self.layouts:
                    self.layouts.add((staff, self.offset))
                    self.put(self.offset, staff, None, -10, Mark("other"))

    def print_(self, el: Element) -> None:
        for layout in el.iterfind("staff-layout"):
            if layout.get("number") is not None:
                self.put(Fraction(0), int(layout.get("number")), None, -10, Mark("other"))

    # -- barlines ----------------------------------------------------------------------------
    def barline(self, el: Element) -> None:
        style = strippedText(el.find("bar-style")) or None
        if style is not None and style.lower() not in _BAR_STYLES:
            raise Unsupported(f"bar style {style}")
        style = {"light-light": "double", "light-heavy": "final"}.get(
            style.lower(), style.lower()) if style else None
        location = el.get("location") or "right"
        repeat = el.find("repeat")
        direction = None
        if repeat is not None:
            mx_dir = (repeat.get("direction") or "").lower()
            if mx_dir not in ("forward", "backward"):
                raise Unsupported("repeat direction")
            direction = "start" if mx_dir == "forward" else "end"
            style = style or ("heavy-light" if direction == "start" else "final")
        ending = el.find("ending")
        if ending is not None:
            self.ending(ending)
        if location == "left":
            self.bar.left_repeat = direction == "start"
        elif location == "right":
            if direction is not None:  # music21 turns any right-hand repeat into an end
                self.bar.right = ":|"
            else:
                self.bar.right = {"double": "||", "final": "|]"}.get(style or "regular", "|")

    def ending(self, el: Element) -> None:
        open_ = [b for b in self.part.brackets if not b.complete]
        if not open_:
            bracket = Bracket([self.bar])
            self.part.brackets.append(bracket)
        else:
            bracket = open_[0]
            if not any(b is self.bar for b in bracket.bars):
                bracket.bars.append(self.bar)
        if el.get("type") == "start":
            bracket.label = _volta_label(el.get("number"), el.text)
        if el.get("type") in ("stop", "discontinue"):
            bracket.complete = True


def _highest(bar: Bar) -> Fraction:
    """music21's highestTime of a bar: where its last note ends or its last marking sits."""
    highest = Fraction(0)
    for p in bar.placed:
        end = p.offset + p.obj.ql if isinstance(p.obj, Sound) and p.obj.ql else p.offset
        if end > highest:
            highest = end
    return highest


class Transposing:
    """What music21 makes of <transpose> (PartParser.updateTransposition): the transposition
    the writer reads is the part's first instrument's, which is the one <transpose> sets in the
    first bar, else the instrument's own default (a new instrument takes later changes)."""

    def __init__(self, default) -> None:
        self.first = default  # the first instrument's transposition (a music21 Interval)
        self.active_is_first = True
        self.active = default
        self.first_bar_read = False
        self.at_sounding_pitch = True

    def change(self, el: Element) -> None:
        new = xmlToM21.MeasureParser.xmlTransposeToInterval(None, el)
        if self.active_is_first and self.active is None and not self.first_bar_read:
            pass
        elif self.active != new:
            self.active_is_first = False
        self.active = new
        if self.active_is_first:
            self.first = new
        self.at_sounding_pitch = False

    def semitones(self) -> int:
        """The `transpose=` of the part's voices (0: none)."""
        if self.at_sounding_pitch or self.first is None:
            return 0
        return int(self.first.semitones)


@dataclass(eq=False)
class _Pedal:
    number: str | None
    start: Fraction
    symbol: bool
    complete: bool = False


class Pedals:
    """Open pedal lines of the whole score: music21 marks a pedal change, gap or resumption
    inside an open line with a zero-length element (which can lengthen its bar)."""

    def __init__(self) -> None:
        self.open: list[_Pedal] = []

    def mark(self, el: Element, offset: Fraction) -> bool:
        """Read one <pedal>; True when music21 inserts an element for it."""
        kind, number = el.get("type"), el.get("number")
        if kind in ("start", "sostenuto"):
            symbol = el.get("line") != "yes" and (el.get("line") == "no"
                                                   or el.get("sign") == "yes")
            self.open.append(_Pedal(number, offset, symbol))
            return False
        pedal = next((p for p in self.open if p.number == number and not p.complete), None)
        if pedal is None or kind not in ("continue", "stop", "discontinue", "resume", "change"):
            return False  # music21 warns and skips it
        if kind == "stop":
            pedal.complete = True
            return False
        if kind == "resume" and pedal.symbol and pedal.start == offset:
            return False
        return kind in ("discontinue", "resume", "change")


def _volta_label(number: str | None, text: str | None) -> str:
    """The label the writer takes from music21's RepeatBracket number."""
    rb = spanner.RepeatBracket()
    try:
        rb.number = number
    except spanner.SpannerException:
        rb.number = 1
    if text is not None and (m := re.match(r"^(\d+)\.?$", text)):
        rb.number = int(m.group(1))
    return str(rb.number or "1").replace(".", "").replace(" ", "")


def _offset(el: Element, divisions: Fraction) -> Fraction:
    off = el.find("offset")
    if off is None or off.text is None:
        return Fraction(0)
    try:
        return Fraction(off.text.strip()) / divisions
    except ValueError:
        return Fraction(0)


def _staff(el: Element) -> int:
    text = strippedText(el.find("staff"))
    try:
        return int(text) if text else 0
    except ValueError:
        return 0


def _number_attr(el: Element, default: int) -> int:
    value = el.get("number")
    try:
        return int(value) if value is not None else default
    except ValueError:
        return default


def _key(el: Element) -> Mark:
    fifths = strippedText(el.find("fifths"))
    if not fifths:
        raise Unsupported("non-traditional key signature")
    sharps = int(fifths)
    mode = el.find("mode")
    mode_text = mode.text if mode is not None and mode.text not in (None, "") else None
    if mode_text is not None:  # music21 ignores a mode it does not know
        mode_text = mode_text.lower() if mode_text.lower() in key.modeSharpsAlter else None
    return Mark("key", key=KeyInfo(sharps, mode_text, signature_alters(sharps)))


def _time(el: Element) -> Mark:
    if el.find("senza-misura") is not None:
        raise Unsupported("senza misura")
    beats = [strippedText(b) for b in el.findall("beats")]
    types = [strippedText(b) for b in el.findall("beat-type")]
    if len(beats) != 1 or len(types) != 1 or not beats[0].isdigit() or not types[0].isdigit():
        raise Unsupported("composite time signature")
    info, bar_ql = meter_facts(f"{beats[0]}/{types[0]}")
    return Mark("time", meter=info, bar_ql=bar_ql)


def _clef(el: Element) -> Mark:
    sign = strippedText(el.find("sign"))
    if sign.lower() == "percussion":
        return Mark("clef", clef=ClefInfo("percussion", None, 0))
    if sign.lower() == "tab":
        return Mark("clef", clef=ClefInfo("TAB", None, 0))
    if sign.lower() == "none":
        return Mark("clef", clef=ClefInfo("none", None, 0))
    if sign not in _CLEF_LINES:
        raise Unsupported(f"clef sign {sign!r}")
    line_text = strippedText(el.find("line"))
    line = int(line_text) if line_text else (2 if sign == "G" else 4)
    if not 1 <= line <= 5:
        raise Unsupported("clef line")
    octave_el = el.find("clef-octave-change")
    try:
        octave = int(octave_el.text) if octave_el is not None else 0
    except (TypeError, ValueError):
        octave = 0
    return Mark("clef", clef=ClefInfo(sign, line, octave))


def _metronome(el: Element) -> Mark:
    units: list[list] = []  # [type, dots] of each beat unit
    numbers: list[float] = []
    for sub in el:
        if sub.tag == "beat-unit":
            units.append([musicXMLTypeToType(strippedText(sub)), 0])
        elif sub.tag == "beat-unit-dot":
            if not units:
                raise Unsupported("metronome parts out of order")
            units[-1][1] += 1
        elif sub.tag == "per-minute":
            text = (sub.text or "").strip()
            if text:
                with contextlib.suppress(ValueError):  # a per-minute of words
                    numbers.append(_number(text))
    if len(units) > 1:
        return Mark("other")  # a metric modulation
    return Mark("tempo", number=numbers[0] if numbers else None,
                referent=type_length(*units[0]) if units else Fraction(1))
