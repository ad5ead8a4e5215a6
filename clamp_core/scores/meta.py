"""Facts read from a music21 score: title, composer, ensemble, key, meter, tempo, length."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from music21 import chord, expressions, harmony, key, meter, note, stream, tempo

DEFAULT_BPM = 120.0

# Krumhansl-Kessler key profiles (C major / C minor), the classic Krumhansl-Schmuckler weights.
_MAJOR = (6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88)
_MINOR = (6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17)


@dataclass
class ScoreMeta:
    """What a score says about itself; ``None`` where the score does not say."""

    title: str | None = None
    composer: str | None = None
    parts: list[str] = field(default_factory=list)
    key: str | None = None            # e.g. "D major": opening key signature, mode by analysis
    meter: str | None = None          # first time signature, e.g. "6/8"
    tempo: float | None = None        # BPM of the first metronome mark, in its own beat unit
    tempo_text: str | None = None     # e.g. "Allegro" or "Munter, doch nicht zu geschwind"
    n_bars: int = 0                   # measures of the longest part
    duration_quarters: float = 0.0
    duration_seconds: float = 0.0     # follows tempo marks; 120 BPM before the first one
    n_notes: int = 0                  # struck notes: tied continuations are not counted
    work: str | None = None           # enclosing work or collection when title is a movement
    lowest: str | None = None         # sounding range, e.g. "D4" .. "B5"
    highest: str | None = None
    has_lyrics: bool = False          # words under notes (a song, a hymn)
    has_chord_symbols: bool = False   # chord symbols above the staff (a lead sheet)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


def clean_text(text: object) -> str | None:
    s = " ".join(str(text).split()) if text is not None else ""
    return s or None


def _titles(score: stream.Score) -> tuple[str | None, str | None]:
    """(title, work): a song in a collection is named by its movement title."""
    md = score.metadata
    if md is None:
        return None, None
    work = clean_text(md.title)
    movement = clean_text(md.movementName)
    if movement and work and movement != work:
        return movement, work
    return movement or work, None


def _part_names(score: stream.Score) -> list[str]:
    staves = []
    for p in score.parts:
        inst = p.getInstrument(returnDefault=False)
        staves.append(((p.partName, inst.partName if inst else None,
                        inst.instrumentName if inst else None),
                       isinstance(p, stream.PartStaff)))
    return part_names(staves)


def part_names(staves: list[tuple[tuple, bool]]) -> list[str]:
    """Part names of a score's parts, each given as (its name candidates in order: the
    part's, its instrument's part name, its instrument's name; whether it is a PartStaff).
    The staves of one piano or organ part (several PartStaffs in a row with one name) count
    once; a part without any name is "Part N"."""
    names: list[str] = []
    prev_staff: str | None = None
    for i, (candidates, is_part_staff) in enumerate(staves):
        name = next((n for n in map(clean_text, candidates) if n), None) or f"Part {i + 1}"
        if is_part_staff and name == prev_staff:
            continue
        prev_staff = name if is_part_staff else None
        names.append(name)
    return names


def _correlation(hist: list[float], profile: tuple[float, ...], tonic: int) -> float:
    rotated = [profile[(i - tonic) % 12] for i in range(12)]
    mh, mp = sum(hist) / 12, sum(rotated) / 12
    num = sum((h - mh) * (r - mp) for h, r in zip(hist, rotated, strict=False))
    den = (sum((h - mh) ** 2 for h in hist) * sum((r - mp) ** 2 for r in rotated)) ** 0.5
    return num / den if den else 0.0


def _key_name(k: key.Key) -> str:
    return f"{k.tonic.name.replace('-', 'b')} {k.mode}"


def choose_key(ks: key.KeySignature | None, hist: list[float],
                final_bass: int | None) -> str | None:
    """The opening key: the signature's own mode when it has one, else major or minor by the
    final bass note (cadences end on the tonic) and then Krumhansl-Schmuckler correlation."""
    if isinstance(ks, key.Key) and ks.mode in ("major", "minor", "dorian", "phrygian", "lydian",
                                               "mixolydian", "locrian", "aeolian", "ionian"):
        return _key_name(ks)
    if ks is not None:
        candidates = [ks.asKey("major"), ks.asKey("minor")]
    elif sum(hist) > 0:
        candidates = [key.KeySignature(s).asKey(m) for s in range(-6, 7)
                      for m in ("major", "minor")]
    else:
        return None
    if ks is not None and final_bass is not None:
        hits = [k for k in candidates if k.tonic.pitchClass == final_bass]
        if len(hits) == 1:
            return _key_name(hits[0])
    if sum(hist) == 0:
        return _key_name(candidates[0])
    best = max(candidates, key=lambda k: _correlation(
        hist, _MAJOR if k.mode == "major" else _MINOR, k.tonic.pitchClass))
    return _key_name(best)


def _tempo(marks: list[tuple[stream.Stream, list[tempo.MetronomeMark]]],
           ) -> tuple[float | None, str | None, list[tuple[float, float]]]:
    """First mark's (BPM, text) and the (offset, quarter BPM) changes for the whole score,
    from each part's metronome marks in score order."""
    changes: dict[float, float] = {}
    first: tempo.MetronomeMark | None = None
    first_part: stream.Stream | None = None
    for p, part_marks in marks:
        for mm in part_marks:
            off = float(mm.getOffsetInHierarchy(p))
            bpm = mm.getQuarterBPM()
            if bpm:
                changes.setdefault(off, float(bpm))
            if first is None or off < float(first.getOffsetInHierarchy(first_part)):
                first, first_part = mm, p
    if first is None:
        return None, None, []
    number = first.number if first.number and not first.numberImplicit else first.numberSounding
    text = clean_text(first.text) if first.text and not first.textImplicit else None
    if text is None and first.activeSite is not None:
        # MusicXML tempo words arrive as a TextExpression beside a playback-only mark
        for te in first.activeSite.getElementsByOffset(first.offset).getElementsByClass(
                expressions.TextExpression):
            text = clean_text(te.content)
            break
    return (round(float(number), 2) if number else None), text, sorted(changes.items())


def seconds_at_tempo(total_ql: float, changes: list[tuple[float, float]]) -> float:
    bounds = [(0.0, DEFAULT_BPM)] + [c for c in changes if c[0] >= 0]
    secs = 0.0
    for i, (start, bpm) in enumerate(bounds):
        end = bounds[i + 1][0] if i + 1 < len(bounds) else total_ql
        if end > start:
            secs += (min(end, total_ql) - start) * 60.0 / bpm
    return round(secs, 2)


def extract_meta(score: stream.Score) -> ScoreMeta:
    """Read a ScoreMeta from a music21 Score in one pass over its notes."""
    title, work = _titles(score)
    md = score.metadata
    composer = clean_text(", ".join(md.composers)) if md is not None and md.composers else None
    hist = [0.0] * 12
    n_notes = 0
    final: tuple[float, int] | None = None  # (onset, lowest pitch) of the last onset
    n_bars = 0
    low_p = high_p = None
    lyrics = chord_symbols = False
    marks: list[tuple[stream.Stream, list[tempo.MetronomeMark]]] = []
    for p in score.parts or [score]:
        measures = p.getElementsByClass(stream.Measure)
        n_bars = max(n_bars, len(measures))
        part_marks: list[tempo.MetronomeMark] = []
        marks.append((p, part_marks))
        last = None
        for el in p.recurse():  # one walk for the notes and the tempo marks
            if isinstance(el, tempo.MetronomeMark):
                part_marks.append(el)
                continue
            if not isinstance(el, note.NotRest):
                continue
            last = el
            lyrics = lyrics or bool(el.lyrics)
            chord_symbols = chord_symbols or isinstance(el, harmony.ChordSymbol)
            members = el.notes if isinstance(el, chord.Chord) else [el]
            for n in members:
                if n.tie is None or n.tie.type == "start":
                    n_notes += 1
                if isinstance(n, note.Note):
                    hist[n.pitch.pitchClass] += float(el.quarterLength)
                    if low_p is None or n.pitch.ps < low_p.ps:
                        low_p = n.pitch
                    if high_p is None or n.pitch.ps > high_p.ps:
                        high_p = n.pitch
        if isinstance(last, (note.Note, chord.Chord)):
            onset = float(last.getOffsetInHierarchy(p))
            low = min(pp.midi for pp in last.pitches)
            if final is None or onset > final[0] or (onset == final[0] and low < final[1]):
                final = (onset, low)
    ks = score.recurse().getElementsByClass(key.KeySignature).first()
    ts = score.recurse().getElementsByClass(meter.TimeSignature).first()
    bpm, tempo_text, changes = _tempo(marks)
    total = float(score.highestTime)
    return ScoreMeta(
        title=title, composer=composer, parts=_part_names(score),
        key=choose_key(ks, hist, final[1] % 12 if final else None),
        meter=ts.ratioString if ts is not None else None,
        tempo=bpm, tempo_text=tempo_text, n_bars=n_bars,
        duration_quarters=round(total, 4), duration_seconds=seconds_at_tempo(total, changes),
        n_notes=n_notes, work=work,
        lowest=low_p.nameWithOctave if low_p is not None else None,
        highest=high_p.nameWithOctave if high_p is not None else None,
        has_lyrics=lyrics, has_chord_symbols=chord_symbols,
    )
