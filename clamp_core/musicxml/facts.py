"""The facts of a directly read score (ScoreMeta), worked out as ``scores.meta.extract_meta``
works them out from music21's objects: same walks, same order, same choices."""

from __future__ import annotations

from dataclasses import dataclass

from music21 import key

from clamp_core.musicxml.model import Mark, Sound
from clamp_core.musicxml.staves import Staff
from clamp_core.notation.symbols import KeyInfo
from clamp_core.scores.meta import (
    ScoreMeta,
    choose_key,
    clean_text,
    part_names,
    seconds_at_tempo,
)


@dataclass
class Titles:
    """What <work-title>, <movement-title> and <creator type="composer"> say."""

    title: str | None
    movement: str | None
    composers: list[str]


def staves_meta(titles: Titles, staves: list[Staff]) -> ScoreMeta:
    work, movement = clean_text(titles.title), clean_text(titles.movement)
    if movement and work and movement != work:
        title, work = movement, work
    else:
        title, work = movement or work, None
    composer = clean_text(", ".join(titles.composers)) if titles.composers else None
    hist = [0.0] * 12
    n_notes = 0
    final: tuple[float, int] | None = None
    low = high = None  # Tone
    lyrics = False
    marks: list[tuple[float, Mark, list]] = []  # (offset in the score, mark, its bar's marks)
    first_key: KeyInfo | None = None
    first_meter = None
    total = 0.0
    for staff in staves:
        last = None
        last_onset = 0.0
        for sb in staff.bars:
            total = max(total, float(sb.bar.offset + sb.bar.highest))
            for p in sb.marks:
                if p.obj.kind == "key" and first_key is None:
                    first_key = p.obj.key
                elif p.obj.kind == "time" and first_meter is None:
                    first_meter = p.obj.meter
            words = [(o, m) for o, m in sb.slots[0] if isinstance(m, Mark)
                     and m.kind == "words"] if sb.slots else []
            for offset, obj in (sb.slots[0] if sb.slots else []):
                if isinstance(obj, Mark) and obj.kind == "tempo":
                    marks.append((float(sb.bar.offset + offset), obj,
                                  [m for o, m in words if o == offset]))
            for offset, sound in sb.sounds:
                if sound.kind == "rest":
                    continue
                last, last_onset = sound, float(sb.bar.offset + offset)
                lyrics = lyrics or sound.lyric
                for tone in sound.tones:
                    if tone.tie is None or tone.tie == "start":
                        n_notes += 1
                    hist[round(tone.ps) % 12] += float(sound.ql)
                    if low is None or tone.ps < low.ps:
                        low = tone
                    if high is None or tone.ps > high.ps:
                        high = tone
        if isinstance(last, Sound):
            bass = min(round(t.ps) for t in last.tones)
            if (final is None or last_onset > final[0]
                    or (last_onset == final[0] and bass < final[1])):
                final = (last_onset, bass)
    bpm, tempo_text, changes = _tempo(marks)
    return ScoreMeta(
        title=title, composer=composer, parts=_part_names(staves),
        key=choose_key(_music21_key(first_key), hist, final[1] % 12 if final else None),
        meter=first_meter.ratio if first_meter is not None else None,
        tempo=bpm, tempo_text=tempo_text, n_bars=max((len(s.bars) for s in staves), default=0),
        duration_quarters=round(total, 4), duration_seconds=seconds_at_tempo(total, changes),
        n_notes=n_notes, work=work,
        lowest=low.name if low is not None else None,
        highest=high.name if high is not None else None,
        has_lyrics=lyrics, has_chord_symbols=False,
    )


def _music21_key(info: KeyInfo | None) -> key.KeySignature | None:
    if info is None:
        return None
    ks = key.KeySignature(info.sharps)
    return ks.asKey(info.mode) if info.mode else ks


def _tempo(marks: list[tuple[float, Mark, list]]):
    """meta._tempo over directly read tempo marks."""
    changes: dict[float, float] = {}
    first = None
    for off, mm, words in marks:
        number = mm.number_sounding if mm.number_sounding is not None else mm.number
        if number is not None:
            bpm = float(number * mm.referent)
            if bpm:
                changes.setdefault(off, bpm)
        if first is None or off < first[0]:
            first = (off, mm, words)
    if first is None:
        return None, None, []
    _, mm, words = first
    number = mm.number if mm.number else mm.number_sounding
    text = clean_text(words[0].text) if words else None
    return (round(float(number), 2) if number else None), text, sorted(changes.items())


def _part_names(staves: list[Staff]) -> list[str]:
    return part_names([((s.names.name, *s.names.instrument), s.is_part_staff) for s in staves])
