"""<note> elements -> Sound, deciding as music21's MusicXML importer does: durations from
<duration> and <type>, tuplets from <time-modification> and <tuplet>, pitches and accidentals,
ties, the first beam, grace notes, decorations, and the slurs they start and stop."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from fractions import Fraction
from functools import lru_cache
from xml.etree.ElementTree import Element

from music21 import duration, pitch
from music21.musicxml import xmlObjects, xmlToM21
from music21.musicxml.xmlToM21 import musicXMLTypeToType, strippedText

from clamp_core.musicxml.model import Sound, Tone, Unsupported
from clamp_core.notation.symbols import Spelled, decoration_text

_STEP_PC = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}
_MODIFIER = {-2: "--", -1: "-", 0: "", 1: "#", 2: "##"}


@lru_cache(maxsize=64)
def _accidental(name: str) -> tuple[int, str]:
    """(alteration, name modifier) music21 gives an <accidental> name."""
    mapped = xmlToM21.MeasureParser.mxAccidentalNameToM21.get(name, name)
    acc = pitch.Accidental()
    try:
        acc.set(mapped, allowNonStandardValue=True)
    except pitch.AccidentalException:
        raise Unsupported(f"accidental {name!r}") from None
    if acc.alter != int(acc.alter):
        raise Unsupported("microtone")
    return int(acc.alter), acc.modifier


_BEAM_TYPES = {"begin": "start", "continue": "continue", "end": "stop",
               "forward hook": "partial", "backward hook": "partial"}


@lru_cache(maxsize=1)
def _decoration_tables() -> tuple[dict[str, str], dict[str, str], dict[str, str]]:
    """Decoration text of each articulation, technical and ornament tag (from music21's own
    tag -> class tables, so the text is what the writer gives the class)."""
    def table(marks: dict) -> dict[str, str]:
        return {tag: decoration_text(cls()) for tag, cls in marks.items()}
    return (table(xmlObjects.ARTICULATION_MARKS), table(xmlObjects.TECHNICAL_MARKS),
            table(xmlObjects.ORNAMENT_MARKS))


@lru_cache(maxsize=256)
def type_length(type_name: str, dots: int) -> Fraction:
    """Quarter length of a notated type with dots (music21's duration tuple)."""
    try:
        return Fraction(duration.durationTupleFromTypeDots(type_name, dots).quarterLength)
    except (KeyError, duration.DurationException):
        raise Unsupported(f"note type {type_name!r}") from None


@lru_cache(maxsize=1024)
def inferred_tuplet(ql: Fraction) -> tuple[tuple[int, int] | None, str | None, Fraction | None]:
    """The tuplet music21 works out from a length alone (events._tuplets reads the same)."""
    t = duration.quarterConversion(ql).tuplet
    if t is None or t.numberNotesActual == t.numberNotesNormal:
        return None, None, None
    total = None
    if t.durationNormal is not None:
        total = Fraction(t.durationNormal.quarterLength) * t.numberNotesNormal
    return (t.numberNotesActual, t.numberNotesNormal), t.type, total


@lru_cache(maxsize=1024)
def inferred_type(ql: Fraction) -> tuple[str, int, bool]:
    """(type, dots, has a tuplet) music21 gives a duration made from a length."""
    qc = duration.quarterConversion(ql)
    first = qc.components[0]
    return first.type, first.dots, qc.tuplet is not None


@dataclass
class Tup:
    """A music21 Tuplet, as far as the writer reads it."""

    actual: int
    normal: int
    normal_type: tuple[str, int] | None  # durationNormal (type, dots)
    actual_type: tuple[str, int] | None
    type: str | None = None

    def same(self, other: Tup) -> bool:  # Tuplet.__eq__
        return (self.actual, self.normal, self.normal_type, self.actual_type) == (
            other.actual, other.normal, other.normal_type, other.actual_type)

    def multiplier(self) -> Fraction:
        return Fraction(self.normal, self.actual)

    def copy(self, kind: str | None) -> Tup:
        return Tup(self.actual, self.normal, self.normal_type, self.actual_type, kind)


@dataclass(eq=False)
class Slur:
    number: str | None
    notes: list = field(default_factory=list)
    complete: bool = False
    # one identity per copy music21 ends up holding: a multi-staff part keeps its slurs and,
    # through its first staff's copy, a second copy on the same notes
    copies: tuple = ()


class Spanners:
    """The slurs of a whole score (music21 keeps one spanner bundle for every part)."""

    def __init__(self) -> None:
        self.slurs: list[Slur] = []
        self.open: dict[str | None, list[Slur]] = {}  # incomplete slurs by number, oldest first
        self.of_note: dict[int, list[Slur]] = {}

    def slur(self, mx: Element, owner) -> None:
        number = mx.get("number")
        open_ = self.open.setdefault(number, [])
        if open_:
            slur = open_[0]
        else:
            slur = Slur(number)
            self.slurs.append(slur)
            open_.append(slur)
        if not any(n is owner for n in slur.notes):
            slur.notes.append(owner)
            self.of_note.setdefault(id(owner), []).append(slur)
        if mx.get("type") == "stop":
            slur.complete = True
            open_.remove(slur)

    def replace(self, old, new) -> None:
        """A chord takes over the slurs of its notes."""
        for slur in self.of_note.pop(id(old), []):
            if any(n is new for n in slur.notes):
                raise Unsupported("one slur on two notes of a chord")
            slur.notes = [new if n is old else n for n in slur.notes]
            self.of_note.setdefault(id(new), []).append(slur)

    def close_part(self, copies: int) -> None:
        """The end of a part: music21 moves the slurs complete by now into the part."""
        for slur in self.slurs:
            if slur.complete and not slur.copies:
                slur.copies = tuple(object() for _ in range(copies))

    def ends(self, obj) -> list[tuple[object, object, object, bool]]:
        """The slurs on `obj` as the shared writer takes them."""
        out = []
        for slur in self.of_note.get(id(obj), []):
            first, last = slur.notes[0], slur.notes[-1]
            for ident in slur.copies or (slur,):
                out.append((ident, first, last, bool(getattr(first, "grace", False))))
        return out


class NoteReader:
    """Builds the Sounds of one part; keeps the part's open tuplets."""

    def __init__(self, spanners: Spanners) -> None:
        self.spanners = spanners
        self.active: list[Tup | None] = [None] * 7
        self.divisions = Fraction(1)
        self.divisions_key = (1, 1)  # hashes faster than the Fraction
        self._durations: dict[tuple, tuple] = {}
        self._tones: dict[tuple, tuple] = {}

    # -- durations ---------------------------------------------------------------------------
    def _duration(self, mx: Element, sound: Sound) -> None:
        el = mx.find("duration")
        type_el = mx.find("type")
        timed = mx.find("time-modification") is not None
        key = (el.text if el is not None else None, self.divisions_key,
               type_el.text if type_el is not None else None, len(mx.findall("dot")))
        if not timed and key in self._durations:  # a score repeats a few lengths many times
            (sound.ql, sound.inferred, sound.linked, sound.type_name, sound.dots,
             sound.tuplet, sound.tuplet_type, sound.tuplet_total) = self._durations[key]
            return
        self._read_duration(mx, sound, el, timed)
        if not timed:
            self._durations[key] = (sound.ql, sound.inferred, sound.linked, sound.type_name,
                                    sound.dots, sound.tuplet, sound.tuplet_type,
                                    sound.tuplet_total)

    def _read_duration(self, mx: Element, sound: Sound, el: Element | None,
                       timed: bool) -> None:
        q_len = Fraction(el.text.strip()) / self.divisions if el is not None else Fraction(0)
        type_name = strippedText(mx.find("type"))
        if not type_name:
            self._raw(sound, q_len)
            return
        type_name = musicXMLTypeToType(type_name)
        dots = len(mx.findall("dot"))
        tuplets = self._tuplets(mx, type_name) if timed else []
        cooked = type_length(type_name, dots)
        if cooked == q_len and not tuplets:
            self._raw(sound, q_len)
            return
        for t in tuplets:
            cooked *= t.multiplier()
        sound.linked = abs(cooked - q_len) <= Fraction(1, 10 ** 7)
        sound.ql = cooked if sound.linked else q_len
        sound.type_name, sound.dots, sound.has_tuplets = type_name, dots, bool(tuplets)
        if tuplets:
            actual = normal = 1
            for t in tuplets:
                actual, normal = actual * t.actual, normal * t.normal
            if actual != normal:
                outer = tuplets[0]
                total = None
                if outer.normal_type is not None and len(tuplets) == 1:
                    total = type_length(*outer.normal_type) * outer.normal
                sound.tuplet, sound.tuplet_type, sound.tuplet_total = (
                    (actual, normal), outer.type, total)

    def _raw(self, sound: Sound, q_len: Fraction) -> None:
        sound.ql, sound.inferred = q_len, True
        if q_len > 0:
            sound.tuplet, sound.tuplet_type, sound.tuplet_total = inferred_tuplet(q_len)

    def _tuplets(self, mx: Element, type_name: str) -> list[Tup]:
        """music21's xmlToTuplets, step by step."""
        tm = mx.find("time-modification")
        actual = int(strippedText(tm.find("actual-notes")) or 3)
        normal = int(strippedText(tm.find("normal-notes")) or 2)
        normal_type = strippedText(tm.find("normal-type"))
        normal_type = musicXMLTypeToType(normal_type) if normal_type else type_name
        kind = (normal_type, len(tm.findall("normal-dot")))
        time_mod = Tup(actual, normal, kind, kind)
        notations = mx.find("notations")
        if notations is None:
            self.active[0] = time_mod
        remaining = time_mod.multiplier()
        found: list[Tup | None] = [None] * 8
        remove: set[int] = set()
        stops: set[int] = set()
        if notations is not None:
            for mt in notations.findall("tuplet"):
                kind_ = mt.get("type")
                number = mt.get("number")
                index = int(number) if number is not None else 1
                if not 0 <= index < len(self.active):
                    raise Unsupported("tuplet number")
                if kind_ == "stop":
                    active = self.active[index]
                    if active is not None:
                        if any(t is not None and t.same(active) for t in found):
                            active.type = "startStop"
                        remove.add(index)
                        stops.add(index)
                    continue
                mta, mtn = mt.find("tuplet-actual"), mt.find("tuplet-normal")
                if mta is None or mtn is None:
                    tup = time_mod.copy(None)
                else:
                    tup = Tup(int(strippedText(mta.find("tuplet-number")) or 3),
                              int(strippedText(mtn.find("tuplet-number")) or 2), None, None)
                    for el, attr in ((mta, "actual_type"), (mtn, "normal_type")):
                        tt = el.find("tuplet-type")
                        if tt is not None and tt.text is not None:
                            setattr(tup, attr, (musicXMLTypeToType(tt.text.strip()),
                                                len(tt.findall("tuplet-dot"))))
                tup.type = kind_
                found[index] = tup
                remaining /= tup.multiplier()
                self.active[index] = tup
        for i in range(1, len(self.active)):
            active = self.active[i]
            if active is None or any(t is active for t in found):
                continue
            copied = active.copy("stop" if i in stops else None)
            remaining /= copied.multiplier()
            found[i] = copied
        if remaining != 1:
            rest = Tup(remaining.denominator, remaining.numerator, time_mod.normal_type,
                       time_mod.actual_type)
            found[-1] = rest
        for i in remove:
            self.active[i] = None
        return [t for t in found if t is not None]

    # -- notes -------------------------------------------------------------------------------
    def sound(self, group: list[Element]) -> Sound:
        """A rest, a note, or the chord of these <note> elements (a <chord/> group)."""
        first = group[0]
        if first.find("rest") is not None:
            if len(group) > 1:
                raise Unsupported("rest in a chord")
            return self._rest(first)
        if any(mx.find("unpitched") is not None for mx in group):
            raise Unsupported("unpitched notes")
        members = [self._note(mx) for mx in group]
        if len(members) == 1:
            return members[0]
        return self._chord(members)

    def _common(self, mx: Element, sound: Sound) -> None:
        self._duration(mx, sound)
        if mx.get("print-object") == "no":
            sound.hidden = True
        grace = mx.find("grace")
        if grace is not None:
            if mx.find("time-modification") is not None:
                self._duration(mx, Sound("note", Fraction(0)))  # music21 reads it twice
            if grace.get("make-time") is not None:
                raise Unsupported("grace make-time")
            sound.grace, sound.ql = True, Fraction(0)
            sound.tuplet = sound.tuplet_type = sound.tuplet_total = None
            sound.slash = grace.get("slash") in ("yes", None)

    def _rest(self, mx: Element) -> Sound:
        sound = Sound("rest", Fraction(0))
        self._common(mx, sound)
        if mx.find("rest").get("measure") == "yes":
            rest_type = strippedText(mx.find("type"))
            if not rest_type or rest_type in ("whole", "breve"):
                sound.full_measure = True
        for notations in mx.findall("notations"):
            for slur in notations.findall("slur"):
                self.spanners.slur(slur, sound)
        return sound

    def _note(self, mx: Element) -> Sound:
        sound = Sound("note", Fraction(0))
        self._common(mx, sound)
        sound.tones.append(self._tone(mx))
        beams = mx.findall("beam")
        if beams:
            text = beams[0].text.strip() if isinstance(beams[0].text, str) else "begin"
            if text not in _BEAM_TYPES:
                raise Unsupported(f"beam type {text!r}")
            sound.beam = _BEAM_TYPES[text]
        exprs: list[str] = []
        arts: list[str] = []
        for notations in mx.iterfind("notations"):
            slurs: list[Element] = []
            note_arts: list[str] = []
            _decorations(notations, exprs, note_arts, slurs)
            arts += note_arts
            for slur in slurs:
                self.spanners.slur(slur, sound)
        sound.expressions, sound.articulations = exprs, arts
        sound.decorations = _joined(exprs + arts)
        sound.lyric = mx.find("lyric") is not None
        return sound

    def _tone(self, mx: Element) -> Tone:
        p = mx.find("pitch")
        acc = mx.find("accidental")
        key = None
        if p is not None:
            parts = [p.find(t) for t in ("step", "alter", "octave")]
            key = tuple(e.text if e is not None else None for e in parts) + (
                acc.text if acc is not None else None,)
            if key in self._tones:
                spelled, ps, name = self._tones[key]
                return Tone(spelled, _tie(mx), ps, name)
        tone = _tone(mx)
        if key is not None:
            self._tones[key] = (tone.spelled, tone.ps, tone.name)
        return tone

    def _chord(self, members: list[Sound]) -> Sound:
        head = members[0]  # music21's chord takes its first note's duration and beams
        chord = dataclasses.replace(head, kind="chord", tones=[m.tones[0] for m in members])
        chord.lyric = any(m.lyric for m in members)
        exprs, arts = [], []
        for m in sorted(members, key=lambda m: m.tones[0].ps):
            self.spanners.replace(m, chord)
            exprs += m.expressions
            arts += m.articulations
        chord.decorations = _joined(exprs + arts)
        return chord


def _tone(mx: Element) -> Tone:
    p = mx.find("pitch")
    if p is None:
        raise Unsupported("note without pitch")
    step = strippedText(p.find("step"))
    octave_text = strippedText(p.find("octave"))
    if step not in _STEP_PC or not octave_text:
        raise Unsupported("pitch step or octave")
    octave = int(octave_text)
    alter_text = strippedText(p.find("alter"))
    alter = float(alter_text) if alter_text else None
    acc = strippedText(mx.find("accidental"))
    shown = False
    if acc:
        acc_alter, modifier = _accidental(acc.lower())
        shown = True
        written = acc_alter if alter is None else alter
    else:
        written = alter if alter is not None else 0.0
        if written != int(written) or abs(written) > 2:
            raise Unsupported("microtone or triple accidental")
        modifier = _MODIFIER[int(written)]
    if written != int(written):
        raise Unsupported("microtone")
    ps = 12 * (octave + 1) + _STEP_PC[step] + written
    return Tone(Spelled(step, octave, float(written), shown), _tie(mx), float(ps),
                f"{step}{modifier}{octave}")


def _tie(mx: Element) -> str | None:
    ties = mx.findall("tie")
    if not ties:
        return None
    kinds = [t.get("type") for t in ties if t.get("type") is not None]
    if len(kinds) == 1:
        return kinds[0]
    if "stop" in kinds and "start" in kinds:
        return "continue"
    raise Unsupported("tie types")


def _decorations(notations: Element, exprs: list[str], arts: list[str],
                 slurs: list[Element]) -> None:
    """Decoration texts of one <notations>, in music21's order: technical, then articulations
    (the note's articulations); fermatas, arpeggios, then ornaments (its expressions); and its
    slurs."""
    articulation, technical, ornament = _decoration_tables()
    tech: list[str] = []
    fermatas: list[str] = []
    arpeggios: list[str] = []
    unbroken: list[str] = []
    ornaments: list[str] = []
    for el in notations:
        tag = el.tag
        if tag == "slur":
            slurs.append(el)
        elif tag == "articulations":
            arts.extend(articulation.get(c.tag, "") for c in el)
        elif tag == "technical":
            tech.extend(technical.get(c.tag, "") for c in el)
        elif tag == "fermata":
            fermatas.append("!fermata!")
        elif tag == "arpeggiate" and el.get("number") is None:
            arpeggios.append("!arpeggio!")
        elif tag == "non-arpeggiate" and el.get("number") is None:
            unbroken.append("!arpeggio!")
        elif tag == "ornaments":
            ornaments.extend(ornament[c.tag] for c in el if c.tag in ornament)
    arts[:0] = tech  # technical marks come first in music21's list
    exprs.extend(fermatas + arpeggios + unbroken + ornaments)


def _joined(texts: list[str]) -> str:
    out: list[str] = []
    for t in texts:
        if t and t not in out:
            out.append(t)
    return "".join(out)
