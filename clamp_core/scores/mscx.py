"""A reader for MuseScore 3/4 ``.mscx`` XML that builds a music21 Score without MuseScore.

Covers what matters for notation retrieval: parts and staves, measures (pickups, repeats),
clefs, key/time signatures, tempo marks, notes spelled from MuseScore's tonal pitch classes,
dots, nested tuplets, chords, rests, several voices, ties, grace notes, lyrics, dynamics,
ottavas and transposing instruments. Layout, articulations, slurs, hairpins and voltas are
skipped.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass, field

from music21 import (
    bar,
    clef,
    duration,
    dynamics,
    expressions,
    instrument,
    interval,
    layout,
    metadata,
    meter,
    note,
    spanner,
    stream,
)

from clamp_core.errors import ClampError
from clamp_core.scores.mscx_elements import (
    GRACE_TAGS,
    Q,
    child_int,
    child_text,
    chordrest_duration,
    ms_clef,
    read_chord,
    read_keysig,
    read_tempo,
    repeat_times,
    rich_text,
    transposition,
    tremolo_marks,
)

_OTTAVA_SHIFT = {"8va": 12, "8vb": -12, "15ma": 24, "15mb": -24, "22ma": 36, "22mb": -36}
_M21_OTTAVA = {"8va": "8va", "8vb": "8vb", "15ma": "15ma", "15mb": "15mb",
               "22ma": "22da", "22mb": "22db"}
_BARLINES = {"double": "double", "end": "final", "final": "final", "dashed": "dashed",
             "dotted": "dotted", "heavy": "heavy", "reverse-end": "heavy-light",
             "double-heavy": "heavy-heavy"}
_TIMESIG_SYMBOL = {"1": "common", "2": "cut"}


@dataclass
class _Staff:
    part_index: int
    part_name: str
    abbreviation: str
    instrument_name: str
    default_clef: str
    transpose: tuple[int, int]  # (diatonic, chromatic) steps written -> sounding


@dataclass
class _MeasureFrame:
    length: Q
    nominal: Q
    number: int
    suffix: str | None
    start_repeat: bool
    end_repeat: int | None


@dataclass
class _VoiceState:
    tuplets: list[tuple[int, int, str]] = field(default_factory=list)
    tremolo: tuple[note.GeneralNote, int] | None = None  # first chord of a two-chord tremolo
    after_graces: list[note.GeneralNote] = field(default_factory=list)


@dataclass
class _StaffState:
    clef_pending: clef.Clef | None = None
    ottavas: list[list] = field(default_factory=list)  # [start, end|None, subtype]
    notes: list[tuple[Q, note.NotRest]] = field(default_factory=list)


def _parts_and_staves(score_el: ET.Element) -> list[_Staff]:
    staves: list[_Staff] = []
    for pi, part in enumerate(score_el.findall("Part")):
        inst = part.find("Instrument")
        track = child_text(part, "trackName") or child_text(inst, "trackName") or f"Part {pi + 1}"
        long_name = rich_text(inst.find("longName")) if inst is not None else ""
        short = rich_text(inst.find("shortName")) if inst is not None else ""
        inst_clefs = {c.get("staff", "1"): (c.text or "").strip()
                      for c in (inst.findall("clef") if inst is not None else [])}
        transpose = (child_int(inst, "transposeDiatonic"), child_int(inst, "transposeChromatic"))
        for si, st in enumerate(part.findall("Staff")):
            default = (child_text(st, "defaultClef") or inst_clefs.get(str(si + 1))
                       or (child_text(inst, "clef") if si == 0 else None) or "G")
            group = (st.find("StaffType").get("group", "") if st.find("StaffType") is not None
                     else "")
            if group == "percussion":
                default = "PERC"
            instrument_name = child_text(inst, "trackName") or track
            staves.append(_Staff(pi, long_name or track, short, instrument_name, default,
                                 transpose))
    return staves


def _measure_frames(staff_el: ET.Element) -> list[_MeasureFrame]:
    """Lengths, numbers and repeats of the measures, read from the first staff."""
    frames: list[_MeasureFrame] = []
    timesig = Q(4)
    counter = 1
    for m in staff_el.findall("Measure"):
        for ts in m.iter("TimeSig"):
            n, d = child_int(ts, "sigN", 4), child_int(ts, "sigD", 4)
            if n > 0 and d > 0:
                timesig = Q(4 * n, d)
            break
        length = Q(m.get("len")) * 4 if m.get("len") else timesig
        irregular = child_text(m, "irregular") == "1"
        end_rep = m.find("endRepeat")
        if irregular:
            number, suffix = (0, None) if not frames else (counter - 1, "X")
        else:
            number, suffix = counter, None
            counter += 1
        counter += child_int(m, "noOffset")
        frames.append(_MeasureFrame(
            length, timesig, number, suffix, m.find("startRepeat") is not None,
            repeat_times(end_rep)))
    return frames


def _fill_voice(v: stream.Voice, length: Q) -> None:
    """Fill gaps in a voice with hidden rests, as music21 does for MusicXML <forward>."""
    cursor = Q(0)
    for el in sorted(v.notesAndRests, key=lambda e: e.offset):
        off = Q(el.offset).limit_denominator(100000)
        if off > cursor:
            r = note.Rest(quarterLength=off - cursor)
            r.style.hideObjectOnPrint = True
            v.insert(cursor, r)
        cursor = max(cursor, off + Q(el.quarterLength).limit_denominator(100000))
    if cursor < length:
        r = note.Rest(quarterLength=length - cursor)
        r.style.hideObjectOnPrint = True
        v.insert(cursor, r)


def _read_measure(m_el: ET.Element, frame: _MeasureFrame, staff: _Staff, st: _StaffState,
                  start: Q, written: interval.Interval | None) -> stream.Measure:
    m = stream.Measure(number=frame.number)
    if frame.suffix:
        m.numberSuffix = frame.suffix
    if st.clef_pending is not None:
        m.insert(0, st.clef_pending)
        st.clef_pending = None
    voices: dict[int, list[tuple[Q, note.GeneralNote]]] = {}
    for vi, v_el in enumerate(m_el.findall("voice")):
        cursor = Q(0)
        vs = _VoiceState()
        tuplets = vs.tuplets
        items = voices.setdefault(vi, [])
        for el in v_el:
            tag = el.tag
            if tag == "location":
                cursor += Q(child_text(el, "fractions") or "0") * 4
            elif tag == "Tuplet":
                tuplets.append((child_int(el, "actualNotes", 3) or 1,
                                child_int(el, "normalNotes", 2) or 1,
                                child_text(el, "baseNote", "eighth") or "eighth"))
            elif tag == "endTuplet":
                if tuplets:
                    tuplets.pop()
            elif tag in ("Chord", "Rest"):
                cursor = _chord_rest(el, vs, items, m, st, start, cursor, frame.length, written)
            elif tag == "Spanner" and el.get("type") == "Ottava":
                if el.find("Ottava") is not None:
                    sub = child_text(el.find("Ottava"), "subtype", "8va") or "8va"
                    st.ottavas.append([start + cursor, None,
                                       sub if sub in _OTTAVA_SHIFT else "8va"])
                elif el.find("prev") is not None:
                    open_ = [o for o in st.ottavas if o[1] is None]
                    if open_:
                        open_[0][1] = start + cursor
            elif tag == "Clef":
                c = ms_clef(child_text(el, "concertClefType") or child_text(el, "subtype"))
                if c is not None:
                    if cursor >= frame.length:  # MuseScore writes a clef change at the end
                        st.clef_pending = c     # of the measure before it takes effect
                    else:
                        m.insert(cursor, c)
            elif tag == "KeySig" and vi == 0:
                m.insert(cursor if cursor < frame.length else 0, read_keysig(el, written))
            elif tag == "TimeSig" and vi == 0:
                ts = meter.TimeSignature(f"{child_int(el, 'sigN', 4)}/{child_int(el, 'sigD', 4)}")
                if child_text(el, "subtype") in _TIMESIG_SYMBOL:
                    ts.symbol = _TIMESIG_SYMBOL[child_text(el, "subtype") or ""]
                m.insert(0, ts)
            elif tag == "Tempo":
                m.insert(min(cursor, frame.length), read_tempo(el))
            elif tag == "Dynamic":
                sub = child_text(el, "subtype")
                if sub and sub != "other-dynamics":
                    m.insert(min(cursor, frame.length), dynamics.Dynamic(sub))
            elif tag == "BarLine":
                style = _BARLINES.get(child_text(el, "subtype") or "")
                if style and cursor >= frame.length:
                    m.rightBarline = bar.Barline(style)
    _place_voices(m, voices, frame.length)
    if frame.start_repeat:
        m.leftBarline = bar.Repeat(direction="start")
    if frame.end_repeat:
        m.rightBarline = bar.Repeat(direction="end", times=frame.end_repeat)
    return m


def _chord_rest(el: ET.Element, vs: _VoiceState, items: list, m: stream.Measure,
                st: _StaffState, start: Q, cursor: Q, measure_len: Q,
                written: interval.Interval | None) -> Q:
    """Read one <Chord>/<Rest> into ``items``; returns the advanced cursor."""
    d, ql = chordrest_duration(el, vs.tuplets, measure_len)
    if el.tag == "Rest":
        obj: note.GeneralNote | None = note.Rest(duration=d)
        if child_text(el, "visible") == "0":
            obj.style.hideObjectOnPrint = True
    else:
        obj = read_chord(el, d, written.reverse() if written is not None else None,
                         _ottava_shift(st, start + cursor))
    if obj is None:
        return cursor + ql
    if obj.duration.isGrace:
        if any(c.tag.endswith("after") for c in el if c.tag in GRACE_TAGS):
            vs.after_graces.append(obj)  # written before its main chord, sounds after it
        else:
            items.append((cursor, obj))
            st.notes.append((start + cursor, obj))
        return cursor
    marks = tremolo_marks(el)
    if marks or vs.tremolo is not None:
        # both chords of a two-chord tremolo are written at the full value of the pair
        ql = ql / 2
        obj.duration = duration.Duration(ql)
        if vs.tremolo is None:
            vs.tremolo = (obj, marks)
        else:
            m.insert(0, expressions.TremoloSpanner([vs.tremolo[0], obj],
                                                   numberOfMarks=vs.tremolo[1]))
            vs.tremolo = None
    items.append((cursor, obj))
    if isinstance(obj, note.NotRest):
        st.notes.append((start + cursor, obj))
    cursor += ql
    for g in vs.after_graces:
        items.append((cursor, g))
        st.notes.append((start + cursor, g))
    vs.after_graces.clear()
    return cursor


def _place_voices(m: stream.Measure, voices: dict[int, list], length: Q) -> None:
    used = [vi for vi, items in voices.items() if items]
    if len(used) <= 1:
        for off, obj in voices.get(used[0], []) if used else []:
            m.insert(off, obj)
        if not used:
            r = note.Rest(quarterLength=length)
            m.insert(0, r)
        return
    for vi in sorted(used):
        v = stream.Voice(id=str(vi + 1))
        for off, obj in voices[vi]:
            v.insert(off, obj)
        _fill_voice(v, length)
        m.insert(0, v)


def _ottava_shift(st: _StaffState, tick: Q) -> int:
    for start, end, sub in st.ottavas:
        if start <= tick and (end is None or tick < end):
            return _OTTAVA_SHIFT[sub]
    return 0


def _apply_ottava_spanners(part: stream.Part, st: _StaffState) -> None:
    for start, end, sub in st.ottavas:
        covered = [n for t, n in st.notes if start <= t and (end is None or t < end)]
        if covered:
            part.insert(0, spanner.Ottava(covered, type=_M21_OTTAVA[sub], transposing=False))


def _metadata(score_el: ET.Element) -> metadata.Metadata:
    tags = {t.get("name", ""): (t.text or "").strip() for t in score_el.findall("metaTag")}
    box = {}  # title-frame texts: the visible title when the metaTags are empty
    for staff_el in score_el.findall("Staff")[:1]:
        for vbox in staff_el.findall("VBox"):
            for t in vbox.findall("Text"):
                style = child_text(t, "style") or ""
                box.setdefault(style.lower(), rich_text(t.find("text")))
    md = metadata.Metadata()
    md.title = tags.get("workTitle") or (None if tags.get("movementTitle") else box.get("title"))
    md.movementName = tags.get("movementTitle") or None
    if tags.get("movementNumber"):
        md.movementNumber = tags["movementNumber"]
    composer = tags.get("composer") or box.get("composer")
    if composer:
        md.composer = composer
    lyricist = tags.get("lyricist") or tags.get("poet") or box.get("poet") or box.get("lyricist")
    if lyricist:
        md.lyricist = lyricist
    return md


def read_mscx(data: bytes, name: str) -> stream.Score:
    """Build a music21 Score from the bytes of a MuseScore 3/4 ``.mscx`` file.

    The caller has already scanned it (``safety.xml_text``: no entities, well-formed).
    """
    try:
        root = ET.fromstring(data)
    except ET.ParseError as exc:
        raise ClampError(f"{name}: the MuseScore XML inside is damaged ({exc}); "
                         "open and re-save it in MuseScore") from None
    if root.tag != "museScore":
        raise ClampError(f"{name}: not a MuseScore score (root element <{root.tag}>)")
    version = root.get("version", "0")
    if not version[:1].isdigit() or int(version.split(".")[0]) < 3:
        raise ClampError(f"{name}: MuseScore {version} format is too old for the built-in reader; "
                         "open and save it in MuseScore 3 or 4, or install MuseScore")
    score_el = root.find("Score")
    if score_el is None:
        raise ClampError(f"{name}: MuseScore file without a <Score> element; "
                         "re-save it in MuseScore")
    staves = _parts_and_staves(score_el)
    staff_els = score_el.findall("Staff")  # direct children only: nested <Score> are excerpts
    if not staves or not staff_els:
        raise ClampError(f"{name}: the MuseScore score has no staves; "
                         "add an instrument and re-save")
    frames = _measure_frames(staff_els[0])
    out = stream.Score()
    out.insert(0, _metadata(score_el))
    groups: dict[int, list[stream.Part]] = {}
    for staff, staff_el in zip(staves, staff_els, strict=False):
        multi = sum(s.part_index == staff.part_index for s in staves) > 1
        part: stream.Part = stream.PartStaff() if multi else stream.Part()
        part.partName = staff.part_name
        if staff.abbreviation:
            part.partAbbreviation = staff.abbreviation
        inst = instrument.Instrument(instrumentName=staff.instrument_name)
        inst.partName = staff.part_name
        written = transposition(*staff.transpose)
        if written is not None:
            inst.transposition = written
        part.insert(0, inst)
        st = _StaffState()
        start = Q(0)
        for i, (m_el, frame) in enumerate(zip(staff_el.findall("Measure"), frames, strict=False)):
            m = _read_measure(m_el, frame, staff, st, start, written)
            if i == 0:
                if not m.getElementsByClass(clef.Clef):
                    c = ms_clef(staff.default_clef) or clef.TrebleClef()
                    m.insert(0, c)
                if frame.length < frame.nominal:
                    m.paddingLeft = float(frame.nominal - frame.length)
            part.insert(start, m)  # the declared length sets the grid, not the content
            start += frame.length
        if written is not None:
            part.atSoundingPitch = False
        _apply_ottava_spanners(part, st)
        out.insert(0, part)
        groups.setdefault(staff.part_index, []).append(part)
    for members in groups.values():
        if len(members) > 1:
            out.insert(0, layout.StaffGroup(members, symbol="brace", barTogether=True))
    return out
