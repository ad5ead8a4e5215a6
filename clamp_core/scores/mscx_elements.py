"""Element-level conversions for the .mscx reader: MuseScore XML elements -> music21 objects."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from fractions import Fraction

from music21 import chord, clef, duration, interval, key, note, pitch, tempo, tie

Q = Fraction  # quarter lengths are exact fractions throughout the reader


_TYPE_QL = {
    "long": Q(16), "breve": Q(8), "whole": Q(4), "half": Q(2), "quarter": Q(1),
    "eighth": Q(1, 2), "16th": Q(1, 4), "32nd": Q(1, 8), "64th": Q(1, 16),
    "128th": Q(1, 32), "256th": Q(1, 64), "512th": Q(1, 128), "1024th": Q(1, 256),
}
_M21_TYPE = {"long": "longa"}

GRACE_TAGS = {"acciaccatura", "appoggiatura", "grace4", "grace16", "grace32",
               "grace8after", "grace16after", "grace32after"}

_CLEF_RE = re.compile(r"^(G|F|C)(?:([1-5])(?![\dvm]))?(?:_?(8v[ab]|15m[ab]))?")

_SYM_TEXT = {"metNoteQuarterUp": "quarter", "metNote8thUp": "eighth", "metNoteHalfUp": "half",
             "metNoteWhole": "whole", "metNote16thUp": "16th"}


def child_text(el: ET.Element | None, tag: str, default: str | None = None) -> str | None:
    child = el.find(tag) if el is not None else None
    return child.text.strip() if child is not None and child.text else default


def child_int(el: ET.Element | None, tag: str, default: int = 0) -> int:
    try:
        return int(float(child_text(el, tag) or default))
    except ValueError:
        return default


def rich_text(el: ET.Element | None) -> str:
    """Plain text of a MuseScore rich-text element (``<b>``, ``<font>``, ``<sym>`` inline)."""
    if el is None:
        return ""
    parts: list[str] = []

    def walk(e: ET.Element) -> None:
        if e.tag != "sym" and e.text:
            parts.append(e.text)
        for c in e:
            walk(c)
            if c.tail:
                parts.append(c.tail)

    walk(el)
    return " ".join("".join(parts).split())


def tpc_pitch(midi: int, tpc: int) -> pitch.Pitch:
    """A spelled pitch from a MIDI number and MuseScore's tpc (line of fifths, 14 = C)."""
    step = "FCGDAEB"[(tpc + 1) % 7]
    alter = (tpc + 1) // 7 - 2
    octave = (midi - alter) // 12 - 1
    p = pitch.Pitch(step + {-2: "--", -1: "-", 0: "", 1: "#", 2: "##"}.get(alter, ""))
    p.octave = octave
    if p.midi != midi:  # inconsistent tpc in a hand-edited file: trust the MIDI number
        p = pitch.Pitch(midi=midi)
    return p


def ms_clef(name: str | None) -> clef.Clef | None:
    if not name:
        return None
    if name.startswith("PERC"):
        return clef.PercussionClef()
    if name.startswith("TAB"):
        return clef.TabClef()
    m = _CLEF_RE.match(name)
    if not m:
        return None
    sign, line, octv = m.group(1), m.group(2), m.group(3)
    line = line or {"G": "2", "F": "4", "C": "3"}[sign]
    shift = {"8va": 1, "8vb": -1, "15ma": 2, "15mb": -2}.get(octv or "", 0)
    try:
        return clef.clefFromString(sign + line, octaveShift=shift)
    except clef.ClefException:
        return None


def repeat_times(el: ET.Element | None) -> int | None:
    if el is None:
        return None
    try:
        return max(2, int((el.text or "2").strip()))
    except ValueError:
        return 2


def chordrest_duration(el: ET.Element, tuplets: list[tuple[int, int, str]],
              measure_len: Q) -> tuple[duration.Duration, Q]:
    dtype = child_text(el, "durationType", "quarter") or "quarter"
    if dtype == "measure" or dtype not in _TYPE_QL:
        ql = Q(child_text(el, "duration") or "0") * 4 or measure_len
        return duration.Duration(ql), ql
    dots = child_int(el, "dots")
    ql = _TYPE_QL[dtype] * (2 - Q(1, 2 ** dots))
    d = duration.Duration(type=_M21_TYPE.get(dtype, dtype), dots=dots)
    for actual, normal, base in tuplets:
        ql = ql * normal / actual
        base_type = _M21_TYPE.get(base, base) if base in _TYPE_QL else None
        d.appendTuplet(duration.Tuplet(actual, normal, base_type, base_type))
    return d, ql


def note_tie(n_el: ET.Element) -> str | None:
    has_next = has_prev = False
    for sp in n_el.findall("Spanner"):
        if sp.get("type") == "Tie":
            has_next |= sp.find("next") is not None
            has_prev |= sp.find("prev") is not None
    has_next |= n_el.find("Tie") is not None  # MuseScore 3.0 style tie start
    has_prev |= n_el.find("endSpanner") is not None
    if has_next and has_prev:
        return "continue"
    return "start" if has_next else "stop" if has_prev else None


def read_chord(el: ET.Element, d: duration.Duration, to_written: interval.Interval | None,
               shift: int) -> note.NotRest | None:
    """A Note or Chord; ``to_written`` converts concert pitch for a transposing instrument and
    ``shift`` is the ottava in force (semitones)."""
    notes = []
    for n_el in el.findall("Note"):
        # MuseScore stores the pitch as displayed under an ottava line; music21's MusicXML
        # reader keeps sounding pitches with a non-transposing Ottava, so we do the same.
        p = tpc_pitch(child_int(n_el, "pitch", 60) + shift, child_int(n_el, "tpc", 14))
        if to_written is not None:  # .mscx pitches are concert; MusicXML parts are written
            p = p.transpose(to_written)
            if n_el.find("tpc2") is not None:
                spelled = tpc_pitch(p.midi, child_int(n_el, "tpc2", 14))
                p = spelled if spelled.midi == p.midi else p
        n = note.Note(p, duration=duration.Duration(d.quarterLength))
        t = note_tie(n_el)
        if t:
            n.tie = tie.Tie(t)
        if child_text(n_el, "visible") == "0":
            n.style.hideObjectOnPrint = True
        notes.append(n)
    if not notes:
        return None
    obj: note.NotRest = notes[0] if len(notes) == 1 else chord.Chord(notes)
    obj.duration = d
    grace = next((c.tag for c in el if c.tag in GRACE_TAGS), None)
    if grace:
        obj = obj.getGrace(appoggiatura=grace != "acciaccatura")
        obj.duration.slash = grace == "acciaccatura"
    for ly in el.findall("Lyrics"):
        txt = rich_text(ly.find("text"))
        if txt:
            obj.addLyric(txt, lyricNumber=child_int(ly, "no") + 1, applyRaw=True)
            syl = child_text(ly, "syllabic")
            if syl in ("begin", "middle", "end", "single"):
                obj.lyrics[-1].syllabic = syl
    return obj


def read_tempo(el: ET.Element) -> tempo.MetronomeMark:
    """A metronome mark; MuseScore stores tempo as quarter notes per second."""
    qps = float(child_text(el, "tempo") or 2.0)
    text_el = el.find("text")
    words = rich_text(text_el)
    syms = [s.text for s in (text_el.iter("sym") if text_el is not None else []) if s.text]
    m = re.search(r"=\s*(\d+(?:[.,]\d+)?)", words)
    referent = next((_SYM_TEXT[s] for s in syms if s in _SYM_TEXT), None)
    if referent and m:
        ref = duration.Duration(referent, dots=1 if "metAugmentationDot" in syms else 0)
        label = re.sub(r"\(?\s*=\s*\d+(?:[.,]\d+)?\s*\)?", "", words).strip() or None
        mm = tempo.MetronomeMark(text=label, number=float(m.group(1).replace(",", ".")),
                                 referent=ref)
    else:
        mm = tempo.MetronomeMark(text=words or None)
        mm.numberSounding = round(qps * 60, 2)
    return mm


def transposition(diatonic: int, chromatic: int) -> interval.Interval | None:
    if not diatonic and not chromatic:
        return None
    generic = diatonic + 1 if diatonic >= 0 else diatonic - 1
    return interval.intervalFromGenericAndChromatic(generic, chromatic)


def read_keysig(el: ET.Element, written: interval.Interval | None) -> key.KeySignature:
    if el.find("actualKey") is not None and written is not None:
        ks = key.KeySignature(child_int(el, "actualKey"))
    elif el.find("accidental") is not None:
        ks = key.KeySignature(child_int(el, "accidental"))
    else:
        ks = key.KeySignature(child_int(el, "concertKey"))
        if written is not None:
            ks = ks.transpose(written.reverse())
    mode = child_text(el, "mode")
    return ks.asKey(mode) if mode in ("major", "minor") else ks


def tremolo_marks(el: ET.Element) -> int:
    """Number of beams of a two-chord tremolo starting at this chord (0 if none)."""
    trem = el.find("TremoloTwoChord")
    if trem is None:
        trem = el.find("Tremolo")  # MuseScore 3: subtypes c8..c64 are two-chord tremolos
        if trem is None or not (child_text(trem, "subtype") or "").startswith("c"):
            return 0
    sub = child_text(trem, "subtype") or "c8"
    return {"c8": 1, "c16": 2, "c32": 3, "c64": 4}.get(sub, 1)
