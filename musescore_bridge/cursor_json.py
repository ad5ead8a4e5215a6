"""The plugin's cursor-walk JSON -> a music21 Score (then our ABC writer, like any other score).

MuseScore 4 cannot export a score from a plugin (``writeScore`` is not implemented), so the
plugin walks the score with ``curScore.newCursor()`` and sends what it saw. Schema, version 1
(every tick is a MuseScore MIDI tick; ``division`` ticks make one quarter note)::

    {
      "format": "clamp-cursor-walk", "version": 1,
      "title": "An eine Blume", "composer": "Corona Schröter",       # optional strings
      "division": 480,                                                 # ticks per quarter
      "tempo_bpm": 110.0,                                              # optional, quarter = bpm
      "measures": [{"tick": 0, "ticks": 1440, "time_signature": [6, 8]}, ...],
      "parts": [{
        "name": "Pianoforte",
        "staves": [{                                                   # one per staff of the part
          "keys": [{"tick": 0, "fifths": -1}],                         # key signature changes
          "chords": [{"tick": 0, "voice": 0, "ticks": 480,             # rests: "notes": []
                      "notes": [{"pitch": 60, "tpc": 14, "tie_back": false}]}, ...]
        }]
      }]
    }

``ticks`` of a chord is its sounding length where MuseScore reports it (``actualDuration``,
3.5+) and its written value otherwise; a chord is cut where the next one of its voice starts,
which makes tuplets right on 3.2. ``tpc`` (tonal pitch class, 14 = C, +1 per fifth) spells the
note; without it the pitch is spelt by music21. ``tie_back`` (MuseScore 3.3+) joins the note
to the previous one. Gaps inside a voice become rests. Grace notes, lyrics and clefs are not
sent: clefs are chosen from the notes' range, and grace notes do not reach the model anyway.
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from fractions import Fraction
from typing import Any

from music21 import bar, clef, key, layout, metadata, meter, note, pitch, stream, tempo, tie
from music21 import chord as m21chord

from clamp_core.errors import ClampError

FORMAT = "clamp-cursor-walk"
VERSION = 1
MAX_PARTS = 64
MAX_STAVES = 128
MAX_MEASURES = 20_000
MAX_CHORDS = 400_000
_LETTERS = "FCGDAEB"  # tpc order: tpc 13 = F, 14 = C, 15 = G ... (tpc + 1) % 7 indexes it


def _bad(what: str) -> ClampError:
    return ClampError(f"cursor-walk JSON: {what}; send the JSON the clamp MuseScore plugin "
                      f"writes (format {FORMAT!r}, version {VERSION})")


def _int(obj: dict, name: str, lo: int, hi: int, default: int | None = None) -> int:
    v = obj.get(name, default)
    if isinstance(v, bool) or not isinstance(v, (int, float)) or v != int(v) or not lo <= v <= hi:
        raise _bad(f"{name!r} must be a whole number in [{lo}, {hi}], got {v!r}")
    return int(v)


def _list(obj: dict, name: str, limit: int, required: bool = True) -> list:
    v = obj.get(name)
    if v is None and not required:
        return []
    if not isinstance(v, list):
        raise _bad(f"{name!r} must be a list")
    if len(v) > limit:
        raise _bad(f"{name!r} has {len(v)} entries, more than {limit}")
    for item in v:
        if not isinstance(item, dict):
            raise _bad(f"every entry of {name!r} must be an object")
    return v


def _text(obj: dict, name: str) -> str | None:
    v = obj.get(name)
    if v is None:
        return None
    if not isinstance(v, str):
        raise _bad(f"{name!r} must be a string")
    v = " ".join(v.split())[:300]
    return v or None


def spell(midi: int, tpc: int | None) -> pitch.Pitch:
    """A music21 Pitch from a MIDI number and MuseScore's tonal pitch class (-1..33)."""
    if tpc is None or not -1 <= tpc <= 33:
        return pitch.Pitch(midi=midi)
    step = _LETTERS[(tpc + 1) % 7]
    alter = (tpc + 1) // 7 - 2
    natural = midi - alter
    p = pitch.Pitch(step)
    p.octave = natural // 12 - 1
    if alter:
        p.accidental = pitch.Accidental(alter)
    if p.midi != midi:  # an inconsistent pair: trust the sounding pitch
        return pitch.Pitch(midi=midi)
    return p


def cursor_json_to_stream(data: Any) -> stream.Score:
    """Validate the plugin's cursor-walk JSON and build a music21 Score from it."""
    if not isinstance(data, dict):
        raise _bad("the top level must be an object")
    if data.get("format") != FORMAT:
        raise _bad(f"'format' is {data.get('format')!r}, not {FORMAT!r}")
    if _int(data, "version", 1, 10**6) != VERSION:
        raise _bad(f"version {data.get('version')} is not supported (this service reads {VERSION});"
                   " update clamp-notation or the plugin so they match")
    division = _int(data, "division", 1, 100_000, 480)
    measures = _measures(_list(data, "measures", MAX_MEASURES), division)
    parts = _list(data, "parts", MAX_PARTS)
    if not measures or not parts:
        raise _bad("the score has no measures or no parts")
    sc = stream.Score()
    sc.metadata = metadata.Metadata()
    sc.metadata.title = _text(data, "title") or ""
    composer = _text(data, "composer")
    if composer:
        sc.metadata.composer = composer
    bpm = data.get("tempo_bpm")
    if bpm is not None and (isinstance(bpm, bool) or not isinstance(bpm, (int, float))
                            or not 1 <= bpm <= 1000):
        raise _bad(f"'tempo_bpm' must be a number of beats per minute, got {bpm!r}")
    budget = [MAX_CHORDS]
    n_staves = 0
    first = True
    for p_i, part in enumerate(parts):
        name = _text(part, "name") or f"Part {p_i + 1}"
        staves = _list(part, "staves", MAX_STAVES)
        n_staves += len(staves)
        if n_staves > MAX_STAVES:
            raise _bad(f"more than {MAX_STAVES} staves")
        built = []
        for staff in staves:
            s = _staff(staff, measures, division, budget,
                       multi=len(staves) > 1, bpm=bpm if first else None)
            s.partName = name
            s.id = f"P{p_i + 1}-S{len(built) + 1}" if len(staves) > 1 else f"P{p_i + 1}"
            built.append(s)
            first = False
        for s in built:
            sc.insert(0, s)
        if len(built) > 1:
            sc.insert(0, layout.StaffGroup(built, name=name, symbol="brace"))
    return sc


def _measures(raw: list[dict], division: int) -> list[tuple[int, int, tuple[int, int]]]:
    out = []
    for m in raw:
        tick = _int(m, "tick", 0, 2**31)
        ticks = _int(m, "ticks", 1, division * 256)
        ts = m.get("time_signature")
        if (not isinstance(ts, list) or len(ts) != 2 or not all(isinstance(x, int) for x in ts)
                or not 1 <= ts[0] <= 128 or ts[1] not in (1, 2, 4, 8, 16, 32, 64)):
            raise _bad(f"measure at tick {tick}: 'time_signature' must be [beats, 1|2|4|...|64]")
        if out and tick < out[-1][0] + out[-1][1]:
            raise _bad(f"measure at tick {tick} starts before the previous one ends")
        out.append((tick, ticks, (ts[0], ts[1])))
    return out


def _staff(staff: dict, measures, division: int, budget: list[int], multi: bool,
           bpm: float | None) -> stream.Part:
    keys = sorted((_int(k, "tick", 0, 2**31), _int(k, "fifths", -7, 7))
                  for k in _list(staff, "keys", MAX_MEASURES, required=False))
    chords = _list(staff, "chords", MAX_CHORDS)
    budget[0] -= len(chords)
    if budget[0] < 0:
        raise _bad(f"more than {MAX_CHORDS} chords and rests in all")
    by_measure: dict[int, dict[int, list[dict]]] = defaultdict(lambda: defaultdict(list))
    starts = [m[0] for m in measures]
    for c in chords:
        tick = _int(c, "tick", 0, 2**31)
        i = bisect.bisect_right(starts, tick) - 1
        if i < 0 or tick >= measures[i][0] + measures[i][1]:
            continue  # outside every measure (e.g. a trailing frame): nothing to place
        by_measure[i][_int(c, "voice", 0, 3, 0)].append(c)
    part = stream.PartStaff() if multi else stream.Part()
    prev_ts, key_i, prev_fifths = None, 0, None
    tied: dict[int, note.Note] = {}  # midi -> the last note that may continue into a tie
    for i, (m_tick, m_ticks, ts) in enumerate(measures):
        meas = stream.Measure(number=i + 1)
        if ts != prev_ts:
            meas.insert(0, meter.TimeSignature(f"{ts[0]}/{ts[1]}"))
            prev_ts = ts
        fifths = prev_fifths
        while key_i < len(keys) and keys[key_i][0] < m_tick + m_ticks:
            fifths = keys[key_i][1]
            key_i += 1
        if fifths is None and i == 0:
            fifths = 0
        if fifths != prev_fifths:
            meas.insert(0, key.KeySignature(fifths))
            prev_fifths = fifths
        if i == 0 and bpm is not None:
            meas.insert(0, tempo.MetronomeMark(number=round(float(bpm), 2)))
        voices = by_measure.get(i, {})
        if len(voices) > 1:
            for v_num in sorted(voices):
                v = stream.Voice(id=str(v_num + 1))
                _fill(v, voices[v_num], m_tick, m_ticks, division, tied)
                meas.insert(0, v)
        else:
            _fill(meas, next(iter(voices.values()), []), m_tick, m_ticks, division, tied)
        part.append(meas)
    if measures:
        part.getElementsByClass(stream.Measure).last().rightBarline = bar.Barline("final")
    part.getElementsByClass(stream.Measure).first().insert(0, _clef_for(part))
    return part


def _clef_for(part: stream.Part) -> clef.Clef:
    """Treble or bass by the staff's mean pitch (the cursor walk sends no clefs)."""
    midis = [p.midi for n in part.recurse().notes for p in n.pitches]
    return clef.BassClef() if midis and sum(midis) / len(midis) < 57 else clef.TrebleClef()


def _fill(container: stream.Stream, chords: list[dict], m_tick: int, m_ticks: int,
          division: int, tied: dict[int, note.Note]) -> None:
    """Place one voice's chords in a measure: cut overlaps, fill gaps with rests."""
    chords = sorted(chords, key=lambda c: c["tick"])
    pos = 0
    end = m_ticks
    for j, c in enumerate(chords):
        start = c["tick"] - m_tick
        if start < pos:
            continue  # a second chord at the same place of one voice: keep the first
        if start > pos:
            _rest(container, pos, start, division)
        nxt = chords[j + 1]["tick"] - m_tick if j + 1 < len(chords) else end
        length = min(_int(c, "ticks", 1, division * 256), max(nxt, start + 1) - start, end - start)
        if length <= 0:
            continue
        ql = Fraction(length, division)
        notes = _list(c, "notes", 64, required=False)
        if not notes:
            el: note.GeneralNote = note.Rest(quarterLength=ql)
        else:
            made = []
            for n in notes:
                midi = _int(n, "pitch", 0, 127)
                tpc = n.get("tpc")
                ok_tpc = isinstance(tpc, int) and not isinstance(tpc, bool)
                nn = note.Note(spell(midi, tpc if ok_tpc else None))
                if n.get("tie_back") is True and midi in tied:
                    prev = tied[midi]
                    joined = prev.tie is not None and prev.tie.type == "stop"
                    prev.tie = tie.Tie("continue" if joined else "start")
                    nn.tie = tie.Tie("stop")
                made.append(nn)
            el = made[0] if len(made) == 1 else m21chord.Chord(made)
            el.quarterLength = ql
            for nn in made:
                tied[nn.pitch.midi] = nn
        container.insert(Fraction(start, division), el)
        pos = start + length
    if 0 < pos < end:
        _rest(container, pos, end, division)
    elif pos == 0 and not chords:
        container.insert(0, note.Rest(quarterLength=Fraction(end, division)))


def _rest(container: stream.Stream, start: int, end: int, division: int) -> None:
    container.insert(Fraction(start, division),
                     note.Rest(quarterLength=Fraction(end - start, division)))
