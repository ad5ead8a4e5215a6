"""Scores -> the ABC a widget draws: the first bars (preview) and the whole piece laid out in
systems, every voice of a system holding the same bars (abcjs pairs the n-th line of each voice
into one system, and our writer fills each voice's lines by length, so voices would drift).

This ABC is for abcjs only; the model reads the official dialect unchanged. Besides the layout
it works around what abcjs reads differently from the ABC standard: every voice line states its
own unit length, key changes that open a line become field lines, inline fields come before
the annotations in front of them, rests of lengths abcjs cannot draw are split, the staves of
one instrument (a piano's two staves, named alike) are braced under one name, and texts the
writer spelt in ASCII get their accents back (``texts``)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from fractions import Fraction
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
        out, declarations = _braced(out, voices)
        out += declarations
    tune_unit = _tune_unit(head)
    units = {v.name: _units_before(v.bars, tune_unit) for v in voices}
    # abcjs sets a rest that opens the tune against the time signature: a spacer of no
    # length in every voice (so they stay aligned) moves it clear
    space = "y0 " if any(_opens_with_rest(v.bars[0]) for v in voices) else ""
    for start in range(0, bars, per_line):
        for v in voices:
            chunk = v.bars[start:min(start + per_line, bars)]
            if not chunk:
                continue
            lead = space if start == 0 else ""
            if not multi:
                out.append(lead + _readable(" ".join(chunk)))
                continue
            keys, unit, music = _leading_fields(_readable(" ".join(chunk)))
            music = lead + music
            unit = unit or units[v.name][start]
            if keys:
                # abcjs fails on an inline [K:] that opens the line of a staff's second voice
                # ("Cannot read properties of undefined (reading 'length')"); as field lines
                # under a V: line the same change reads fine for every voice
                out += [f"V:{v.name}", f"L:{unit}"] + [f"K:{k}" for k in keys] + [music]
            else:
                out.append(f"[V:{v.name}] [L:{unit}] {music}")
    return "\n".join(out) + "\n"


def _opens_with_rest(bar: str) -> bool:
    body = _LEAD.sub("", bar).lstrip("|:[]0123456789 ")
    return body[:1] in ("z", "Z")


def _tune_unit(head: list[str]) -> str:
    """The tune's unit note length: its L: field, else the ABC 2.1 default from M: (1/16 for a
    metre below 3/4, else 1/8)."""
    meter = ""
    for line in head:
        m = _FIELD_LINE.match(line)
        if m and m.group(1) == "L" and m.group(2).strip():
            return m.group(2).strip()
        if m and m.group(1) == "M":
            meter = m.group(2).strip()
    meter = {"C": "4/4", "C|": "2/2"}.get(meter, meter)
    frac = re.fullmatch(r"(\d+)\s*/\s*(\d+)", meter)
    if frac and int(frac.group(2)) and int(frac.group(1)) / int(frac.group(2)) < 0.75:
        return "1/16"
    return "1/8"


def _units_before(bars: list[str], unit: str) -> list[str]:
    """The voice's unit length in force at the start of each bar (and after the last one).
    Every line states it: abcjs carries a unit set in one voice over to the voices after it,
    which then read at half or double length."""
    out = [unit]
    for bar in bars:
        found = _UNIT.findall(bar)
        if found:
            unit = found[-1][3:-1].strip()
        out.append(unit)
    return out


_TOKEN = re.compile(r'"[^"]*"|![^!]*!|\+[^+]*\+|\[[A-Za-z]:[^\]]*\]|\s+|[^"!+\[\s]+|.')
_REST = re.compile(r"([xz])(\d+)(?:/(\d+))?(?![\d/])")


def _readable(music: str) -> str:
    """Music text as abcjs reads it: an inline field moved before the annotations and
    decorations in front of it (abcjs takes ``"text"[Q:...]`` for a chord and drops the rest
    of the line), and a rest of a length abcjs cannot draw (x5) split in drawable rests."""
    out: list[str] = []
    run: list[str] = []  # annotations, decorations and spaces waiting for their note
    for token in _TOKEN.findall(music):
        if token[0] in '"!+' or token.isspace():
            run.append(token)
        elif token.startswith("[") and len(token) > 3 and token[2] == ":":
            out.append(token)  # the field goes first; the run stays with the next note
        else:
            out += run
            run = []
            out.append(_REST.sub(_split_rest, token) if token[0] in "xz" else token)
    return "".join(out + run)


def _split_rest(m: re.Match) -> str:
    n, per = int(m.group(2)), int(m.group(3) or 1)
    parts: list[str] = []
    while n > 0:
        part = Fraction(_drawable_floor(n), per)
        text = "" if part == 1 else str(part)
        parts.append(m.group(1) + (text[1:] if text.startswith("1/") else text))
        n -= _drawable_floor(n)
    return " ".join(parts)


def _drawable_floor(n: int) -> int:
    """The largest length <= n (in units) that abcjs draws as one rest: a power of two,
    dotted or double dotted."""
    best = 1
    power = 1
    while power <= n:
        for length in (power, power * 3 // 2, power * 7 // 4):
            if length <= n and (length == power or power >= 2 and length * 4 % power == 0):
                best = max(best, length)
        power *= 2
    return best


_LEAD = re.compile(r'\s+|"[^"]*"|![^!]*!|\+[^+]*\+|\[[A-Za-z]:[^\]]*\]')


def _leading_fields(music: str) -> tuple[list[str], str | None, str]:
    """The [K:...] fields and the last [L:...] before the first note of a line (among
    annotations, decorations and other inline fields), and the line without them."""
    keys: list[str] = []
    unit = None
    kept: list[str] = []
    i = 0
    while True:
        m = _LEAD.match(music, i)
        if not m or m.end() == i:
            break
        token = m.group(0)
        if token.startswith("[K:"):
            keys.append(token[3:-1].strip())
        elif token.startswith("[L:"):
            unit = token[3:-1].strip()
        else:
            kept.append(token)
        i = m.end()
    if not keys and unit is None:
        return [], None, music
    return keys, unit, ("".join(kept) + music[i:]).strip()


_QUOTED = re.compile(r'"([^"]*)"')


def restore_texts(abc: str, texts: dict[str, str] | None) -> str:
    """``abc`` with every quoted text (annotations, names) found in ``texts`` (ASCII spelling ->
    original, see ``score_texts``) spelt as the score spells it."""
    if not texts:
        return abc

    def fix(m: re.Match) -> str:
        text = m.group(1)
        place = text[0] if text[:1] in "^_<>@" else ""
        body = text[len(place):]
        original = texts.get(body) or texts.get(body.strip())
        return f'"{place}{original}"' if original and '"' not in original else m.group(0)

    return _QUOTED.sub(fix, abc)


def _braced(head: list[str], voices: list[Voice]) -> tuple[list[str], list[str]]:
    """The header's %%score and the voices' declarations with the neighbouring staves of one
    instrument (same name, e.g. a piano's two staves, both "Pianoforte") braced as one
    instrument named once."""
    decls = [v.declaration or f"V:{v.name}" for v in voices]
    i = next((i for i, line in enumerate(head) if line.startswith("%%score")), None)
    if i is None or "{" in head[i]:
        return head, decls
    groups = re.findall(r"\([^)]*\)|[^\s()]+", head[i][len("%%score"):])
    name_of = {v.name: re.search(r'\bnm="([^"]*)"', d) for v, d in zip(voices, decls, strict=True)}
    out: list[str] = []
    run: list[str] = []
    run_name = None

    def close() -> None:
        out.append("{ " + " ".join(run) + " }" if len(run) > 1 else " ".join(run))

    for group in groups:
        first = group.strip("()").split()[0] if group.strip("()").split() else ""
        m = name_of.get(first)
        name = m.group(1) if m else None
        if run and name and name == run_name:
            run.append(group)
            decls = [re.sub(r'\s*\b(nm|snm)="[^"]*"', "", d) if d.split()[0] == f"V:{first}"
                     else d for d in decls]
            continue
        if run:
            close()
        run, run_name = [group], name
    if run:
        close()
    return head[:i] + ["%%score " + " ".join(out)] + head[i + 1:], decls


def notation(abc: str, preview_bars: int = PREVIEW_BARS, max_bars: int = MAX_BARS,
             per_line: int = BARS_PER_LINE, texts: dict[str, str] | None = None) -> Notation:
    """Preview and full ABC of one tune for drawing (see module docstring). ``texts`` maps the
    ASCII spelling of the score's texts to the original (``score_texts``)."""
    head, voices = parse_voices(restore_texts(abc, texts))
    if not voices:
        text = abc if abc.startswith("X:") else "X:1\n" + abc
        return Notation(text, text, 0, 0, False)
    total = max(len(v.bars) for v in voices)
    shown = min(total, max_bars)
    return Notation(_systems(head, voices, min(preview_bars, total), per_line),
                    _systems(head, voices, shown, per_line), total, shown, shown < total)


def score_texts(stream: Any) -> dict[str, str]:
    """The texts of a music21 score that the ABC writer spells in ASCII (directions, tempo
    words, rehearsal marks, part names), keyed by that spelling: ``{"Massig": "Mässig"}``."""
    from music21 import expressions, tempo
    from unidecode import unidecode

    found: list[str] = []
    for el in stream.recurse().getElementsByClass(
            (expressions.TextExpression, expressions.RehearsalMark, tempo.TempoIndication)):
        text = getattr(el, "content", None) or getattr(el, "text", None)
        if isinstance(text, str):
            found.append(text)
    for part in getattr(stream, "parts", []):
        found += [x for x in (part.partName, part.partAbbreviation) if isinstance(x, str)]
    out: dict[str, str] = {}
    for text in found:
        for variant in (text, " ".join(text.split())):
            ascii_text = unidecode(variant)
            if ascii_text != variant:
                out.setdefault(ascii_text, variant)
                out.setdefault(ascii_text.strip(), variant.strip())
    return out


CONTEXT_BARS = 4  # bars drawn before and after a passage when it is shown in context


def passage_notation(abc: str, first: int, last: int, context: int = CONTEXT_BARS,
                     per_line: int = BARS_PER_LINE) -> dict[str, Any]:
    """What a widget renders of a passage (bars at 0-based positions ``first``..``last`` of
    the model ABC ``abc``): ``abc_preview`` the passage alone (what the model matched, played
    from its first bar), ``abc`` the passage with ``context`` bars either side, and
    ``highlight`` [from, to): the passage's bar positions within that drawing."""
    from clamp_core.notation import parse_tune, window_abc

    tune = parse_tune(abc)  # once, for the passage and its context
    total = tune.n_bars
    start = max(0, first - context)
    view = window_abc(tune, start, min(total, last + 1 + context))
    only = window_abc(tune, first, min(total, last + 1))
    full = notation(view, preview_bars=MAX_BARS, per_line=per_line)
    return {"abc_preview": notation(only, preview_bars=MAX_BARS, per_line=per_line).full,
            "abc": full.full, "bars": full.bars, "abc_bars": full.shown, "truncated": False,
            "highlight": [first - start, last + 1 - start], "work_bars": total}
