"""Shared helpers for ABC round-trip checks (no tests here; used by tests/notation/test_writer.py
and the bench)."""

from __future__ import annotations

import re
from fractions import Fraction
from pathlib import Path

from music21 import clef, converter, corpus, harmony, note, stream

COLLECTIONS = {
    "essen": "essenFolksong/",
    "ryans": "ryansMammoth/",
    "oneills": "oneills1850/",
    "bach": "bach/",
}
_CHORALE = re.compile(r"bach/bwv\d+\.\d+\.")


def _frac(x) -> Fraction:
    return x if isinstance(x, Fraction) else Fraction(x).limit_denominator(1 << 12)


def _tune_numbers(path) -> list[str]:
    text = Path(path).read_text(encoding="latin-1")
    return re.findall(r"^X:\s*(\d+)", text, flags=re.MULTILINE)


def sample_works(collection: str, n: int) -> list[tuple[str, str | None]]:
    """`n` (corpus path, tune number) pairs spread evenly over a collection, deterministic.

    Reads the corpus folder directly: iterating music21's metadata bundle takes about a minute.
    """
    prefix = COLLECTIONS[collection]
    entries: list[tuple[str, str | None]] = []
    for full in sorted(corpus.getCorePaths(), key=str):
        path = Path(full)
        rel = str(path.as_posix()).split("/corpus/", 1)[-1]
        if not rel.startswith(prefix):
            continue
        if collection == "bach":
            if _CHORALE.match(rel):
                entries.append((rel, None))
        elif collection == "ryans":
            entries.append((rel, None))
        else:
            entries.extend((rel, num) for num in _tune_numbers(path))
    if n >= len(entries):
        return entries
    step = len(entries) / n
    return [entries[int(i * step)] for i in range(n)]


def load_work(path: str, number: str | None) -> stream.Stream:
    """Parse one corpus work (one tune of a multi-tune ABC file when `number` is set)."""
    if number is not None:
        return corpus.parse(path, number=int(number))
    return corpus.parse(path)


def _voices(part: stream.Stream) -> dict[int, list]:
    """Notes of a part per voice slot (loose notes and the first Voice share slot 0)."""
    slots: dict[int, list] = {}
    measures = list(part.getElementsByClass(stream.Measure)) or [part]
    for m in measures:
        base = _frac(m.offset) if m is not part else Fraction(0)
        voices = list(m.getElementsByClass(stream.Voice))
        groups = [(Fraction(0), [o for o in m if isinstance(o, note.NotRest)])]
        groups += [(_frac(v.offset), list(v.notes)) for v in voices]
        for index, (voff, items) in enumerate(groups):
            slot = max(0, index - 1) if voices else 0
            for n in items:
                if isinstance(n, harmony.Harmony):
                    continue
                slots.setdefault(slot, []).append((base + voff + _frac(n.offset), n))
    return slots


def _key(offset: Fraction, n, shift: int) -> tuple:
    midis = tuple(sorted(round(p.ps) + shift for p in n.pitches))
    return (offset, _frac(n.duration.quarterLength), midis)


def _merge_ties(items: list[tuple[Fraction, object]], shift: int) -> list[tuple]:
    """Note keys in time order with tied continuations merged into one long note."""
    items = sorted(items, key=lambda x: x[0])
    out: list[list] = []
    open_ties: dict[tuple, int] = {}
    for offset, n in items:
        offset_, ql, midis = _key(offset, n, shift)
        prev = open_ties.pop(midis, None)
        if prev is not None and out[prev][0] + out[prev][1] == offset_:
            out[prev][1] += ql
            index = prev
        else:
            out.append([offset_, ql, midis])
            index = len(out) - 1
        tie = n.tie
        if tie is not None and tie.type in ("start", "continue"):
            open_ties[midis] = index
    return [tuple(x) for x in out]


def original_voices(score: stream.Stream) -> list[list[tuple]]:
    """Per voice (in writing order), the notes as (offset, quarterLength, midi pitches)."""
    parts = list(score.parts) if isinstance(score, stream.Score) else [score]
    result = []
    for part in parts:
        first_clef = next(iter(part.recurse().getElementsByClass(clef.Clef)), None)
        shift = -12 * (first_clef.octaveChange or 0) if first_clef is not None else 0
        for _slot, items in sorted(_voices(part).items()):
            if items:
                result.append(_merge_ties(items, shift))
    return result


def music21_compatible(abc: str) -> str:
    """Move per-voice header `L:` lines into the voice bodies.

    xml2abc (and our writer) put a voice's own unit length after its `V:` declaration in the
    header, which ABC readers apply to that voice; music21 applies it to every voice instead.
    """
    lines = abc.split("\n")
    own_unit: dict[str, str] = {}
    out: list[str] = []
    declared: str | None = None
    default_unit = "L:1/8"
    in_body = False
    for line in lines:
        if line.startswith("V:"):
            name = line[2:].split()[0] if line[2:].split() else ""
            if not in_body and line.strip() != f"V:{name}":
                declared = name
                out.append(line)
                continue
            in_body = True
            out.append(line)
            # music21 also carries a body L: into later voices, so restate it every time.
            out.append(own_unit.get(name, default_unit))
            continue
        if not in_body and line.startswith("L:"):
            if declared is None:
                default_unit = line
            else:
                own_unit[declared] = line
                continue
        out.append(line)
    return "\n".join(out)


def reread_voices(abc: str) -> list[list[tuple]]:
    """music21's reading of our ABC, one entry per non-empty part (= ABC voice)."""
    parsed = converter.parse(music21_compatible(abc), format="abc")
    parts = list(parsed.parts) if isinstance(parsed, stream.Score) else [parsed]
    result = []
    for part in parts:
        items = [(_frac(n.getOffsetInHierarchy(part)), n) for n in part.recurse().notes
                 if not isinstance(n, harmony.Harmony)]
        if items:
            result.append(_merge_ties(items, 0))
    return result


def compare(score: stream.Stream, abc: str) -> str | None:
    """None when music21 reads back the same notes per voice, else a short reason."""
    want, got = original_voices(score), reread_voices(abc)
    if len(want) != len(got):
        return f"voices {len(want)} -> {len(got)}"
    for v, (a, b) in enumerate(zip(want, got, strict=True), start=1):
        if len(a) != len(b):
            return f"voice {v}: {len(a)} notes -> {len(b)}"
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            if x != y:
                return f"voice {v} note {i}: {_fmt(x)} -> {_fmt(y)}"
    return None


def _fmt(k: tuple) -> str:
    return f"@{k[0]} ql={k[1]} midi={list(k[2])}"
