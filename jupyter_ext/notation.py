"""Scores -> the ABC a widget draws: the first bars (preview) and the whole piece laid out in
systems, every voice of a system holding the same bars (abcjs pairs the n-th line of each voice
into one system, and our writer fills each voice's lines by length, so voices would drift)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

PREVIEW_BARS = 4
BARS_PER_LINE = 4
MAX_BARS = 64  # the expanded view stops here: a widget's state must stay small

_FIELD_LINE = re.compile(r"^([A-Za-z]):(.*)$")
_INLINE_VOICE = re.compile(r"^\s*\[V:\s*([^\]\s]+)[^\]]*\]")
_UNIT = re.compile(r"\[L:[^\]]*\]")
_MUSIC_FIELDS = "KLMQP"  # body fields that change how the following bars read


@dataclass
class Voice:
    name: str
    declaration: str = ""
    bars: list[str] = field(default_factory=list)
    pending: str = ""  # inline fields and text waiting for the next bar


@dataclass
class Notation:
    """What a widget renders: ``preview`` (first bars), ``full`` (up to MAX_BARS) and facts."""

    preview: str
    full: str
    bars: int        # bars of the longest voice
    shown: int       # bars in ``full``
    truncated: bool

    def to_dict(self) -> dict[str, Any]:
        return {"abc_preview": self.preview, "abc": self.full, "bars": self.bars,
                "abc_bars": self.shown, "truncated": self.truncated}


def split_bars(music: str) -> list[str]:
    """Bars of one voice's music text, each ending with its bar line; text after the last bar
    line becomes a last bar of its own. Quoted text, !decorations!, +decorations+, inline
    fields and chords are never split."""
    bars: list[str] = []
    cur: list[str] = []
    i, n = 0, len(music)
    while i < n:
        c = music[i]
        if c in "\"!+":  # annotations and decorations: copy through the closing mark
            j = music.find(c, i + 1)
            j = n - 1 if j < 0 else j
            cur.append(music[i:j + 1])
            i = j + 1
            continue
        if c == "[" and i + 1 < n and music[i + 1] != "|":  # chord, inline field or [1 ending
            j = music.find("]", i + 1)
            if music[i + 1].isdigit() or j < 0:
                cur.append(c)
                i += 1
                continue
            cur.append(music[i:j + 1])
            i = j + 1
            continue
        if (c == "|" or (c == "[" and i + 1 < n)
                or (c == ":" and i + 1 < n and music[i + 1] in "|:")):
            j = i
            while j < n and (music[j] in "|:" or (music[j] == "]" and music[j - 1] == "|")
                             or (music[j] == "[" and j + 1 < n and music[j + 1] == "|")):
                j += 1
            while j < n and (music[j].isdigit() or (music[j] in ",-" and j + 1 < n
                                                    and music[j + 1].isdigit())):
                j += 1  # a repeat ending (|1, :|2) stays with the bar line
            cur.append(music[i:j])
            bar = "".join(cur).strip()
            if _has_music(bar):
                bars.append(bar)
            elif bars:
                bars[-1] += " " + bar  # a lone bar line (e.g. "|:" on its own) joins the last
            else:
                cur = [bar]
                i = j
                continue
            cur = []
            i = j
            continue
        cur.append(c)
        i += 1
    rest = "".join(cur).strip()
    if rest:
        bars.append(rest)
    return bars


def _has_music(bar: str) -> bool:
    body = re.sub(r'"[^"]*"|![^!]*!|\+[^+]*\+|\[[A-Za-z]:[^\]]*\]', "", bar)
    return bool(re.search(r"[A-Ga-gzxZX]", body))


def parse_voices(abc: str) -> tuple[list[str], list[Voice]]:
    """Header lines (through the first K:) and the voices of the body with their bars."""
    lines = abc.replace("\r", "").split("\n")
    head: list[str] = []
    body_start = len(lines)
    for i, line in enumerate(lines):
        head.append(line)
        if line.startswith("K:"):
            body_start = i + 1
            break
    voices: dict[str, Voice] = {}
    order: list[str] = []

    def voice(name: str) -> Voice:
        if name not in voices:
            voices[name] = Voice(name)
            order.append(name)
        return voices[name]

    current: Voice | None = None
    chunks: dict[str, list[str]] = {}
    for line in lines[body_start:]:
        text = line.split("%", 1)[0] if not line.startswith("%%") else ""
        if not text.strip():
            continue
        m = _FIELD_LINE.match(text)
        if m and m.group(1) == "V":
            name = m.group(2).split()[0] if m.group(2).split() else "1"
            current = voice(name)
            if len(m.group(2).split()) > 1 and not current.declaration:
                current.declaration = text.strip()
            continue
        if m:
            if m.group(1) in _MUSIC_FIELDS:
                target = current or voice("1")
                chunks.setdefault(target.name, []).append(f"[{m.group(1)}:{m.group(2).strip()}]")
            continue  # lyrics and other text lines are not drawn in the compact view
        mv = _INLINE_VOICE.match(text)
        if mv:
            current = voice(mv.group(1))
            text = text[mv.end():]
        target = current or voice("1")
        chunks.setdefault(target.name, []).append(text.rstrip().rstrip("\\"))
    for name in order:
        voices[name].bars = split_bars(" ".join(chunks.get(name, [])))
    return head, [voices[n] for n in order if voices[n].bars]


def _systems(head: list[str], voices: list[Voice], bars: int, per_line: int) -> str:
    out = [line for line in head if line.strip()]
    if not any(line.startswith("X:") for line in out):
        out.insert(0, "X:1")
    multi = len(voices) > 1
    if multi:
        out += [v.declaration or f"V:{v.name}" for v in voices]
    for start in range(0, bars, per_line):
        for v in voices:
            chunk = v.bars[start:min(start + per_line, bars)]
            if not chunk:
                continue
            lead = f"[V:{v.name}] {_unit_before(v.bars, start)}" if multi else ""
            out.append(lead + " ".join(chunk))
    return "\n".join(out) + "\n"


def _unit_before(bars: list[str], start: int) -> str:
    """The voice's unit length set in earlier systems, repeated: after a voice switch abcjs
    reads a line with the tune's L: otherwise."""
    for bar in reversed(bars[:start]):
        found = _UNIT.findall(bar)
        if found:
            return found[-1] + " "
    return ""


def notation(abc: str, preview_bars: int = PREVIEW_BARS, max_bars: int = MAX_BARS,
             per_line: int = BARS_PER_LINE) -> Notation:
    """Preview and full ABC of one tune for drawing (see module docstring)."""
    head, voices = parse_voices(abc)
    if not voices:
        text = abc if abc.startswith("X:") else "X:1\n" + abc
        return Notation(text, text, 0, 0, False)
    total = max(len(v.bars) for v in voices)
    shown = min(total, max_bars)
    return Notation(_systems(head, voices, min(preview_bars, total), per_line),
                    _systems(head, voices, shown, per_line), total, shown, shown < total)
