"""Passages of a model-ready ABC text: windows of bars, each a complete ABC text of its own.

A passage keeps the work's header (``L:``, ``M:``, ``K:``, voice declarations) and, for every
voice, the bars of the window, preceded by the key, metre, unit length and tempo in force where
the window starts (a mid-piece ``K:`` line or an inline ``[M:3/4]`` earlier in that voice), so
the model reads the passage as it would read a short piece. Bars are counted per voice the way
the bar patches cut them (``patches.split_bars``); a voice's trailing bar without a barline is
kept. Bar numbers are the score's own when they line up with the first voice's bars (pickup
bars, numbering that restarts), else 1, 2, 3 ...
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from unidecode import unidecode

from clamp_core.errors import ClampError
from clamp_core.notation.fingerprints import bar_prints
from clamp_core.notation.patches import is_header_line, split_bars

# fields whose last value holds for the bars after them (carried into a later window)
_STATE_FIELDS = ("K", "M", "L", "Q")
_INLINE_FIELD = re.compile(r"\[([KMLQ]):([^\]]*)\]")
_INLINE_VOICE = re.compile(r"^\[V:\s*([^\]\s]+)[^\]]*\]\s*")


@dataclass
class Bar:
    text: str               # the bar's music, ending with its barline
    state: dict[str, str]   # field -> value in force where the bar starts (this voice)


@dataclass
class Passage:
    index: int              # 0-based position of the first bar
    first: int              # bar numbers as the score numbers them
    last: int
    abc: str
    length: int             # bars, counted by position whatever the numbering
    prints: list[str] = field(default_factory=list)  # each bar's notes (notation.fingerprints)


@dataclass
class ParsedTune:
    header: list[str]               # the lines before the first music, voice declarations kept
    voices: dict[str, list[Bar]]    # voice id -> its bars, in the order voices appear

    @property
    def n_bars(self) -> int:
        """Bars of the longest voice (voices of one score normally agree)."""
        return max((len(b) for b in self.voices.values()), default=0)


def _voice_id(line: str) -> str:
    rest = line[2:].strip()
    return rest.split()[0] if rest else ""


def parse_tune(abc: str) -> ParsedTune:
    """Split a (header-filtered) ABC tune into its header and the bars of each voice."""
    lines = [ln.rstrip() for ln in unidecode(abc).split("\n")]
    start = next((i for i, ln in enumerate(lines) if ln.strip() and not is_header_line(ln)
                  and not ln.startswith("%")), len(lines))
    header = [ln for ln in lines[:start] if ln.strip()]
    # the V: line right before the music opens the first voice's body, it declares nothing new
    current = ""
    if header and header[-1].startswith("V:"):
        current = _voice_id(header[-1])
        if sum(_voice_id(h) == current for h in header if h.startswith("V:")) > 1:
            header = header[:-1]
    base = {f: v for f, v in ((h[0], h[2:].strip()) for h in header) if f in _STATE_FIELDS}
    state: dict[str, dict[str, str]] = {}
    voices: dict[str, list[Bar]] = {}
    pending: dict[str, list[str]] = {}   # music text of a voice not yet cut into bars

    def flush(voice: str) -> None:
        body = "".join(pending.pop(voice, []))
        if not body.strip():
            return
        bars = split_bars(body)
        tail = body[len("".join(bars)):]
        if tail.strip():
            bars.append(tail.rstrip() + " |")  # a last bar without its barline still counts
        st = state.setdefault(voice, dict(base))
        for bar in bars:
            voices.setdefault(voice, []).append(Bar(bar, dict(st)))
            for name, value in _INLINE_FIELD.findall(bar):
                st[name] = value.strip()

    for ln in lines[start:]:
        if not ln.strip() or ln.startswith("%"):
            continue
        m = _INLINE_VOICE.match(ln)
        if m:
            flush(current)
            current, ln = m.group(1), ln[m.end():]
            if not ln.strip():
                continue
        if is_header_line(ln):  # a field line ends the music before it, as in bar patching
            flush(current)
            if ln[0] == "V":
                current = _voice_id(ln)
            elif ln[0] in _STATE_FIELDS:
                state.setdefault(current, dict(base))[ln[0]] = ln[2:].strip()
            continue  # lyrics (w:), parts (P:) and other fields belong to the whole work

        pending.setdefault(current, []).append(ln)
    for voice in list(pending):
        flush(voice)
    return ParsedTune(header, voices)


def bar_numbers(n_bars: int, score_numbers: list[int] | None) -> list[int]:
    """The score's numbers for the bars when there is one per bar, else 1..n."""
    if score_numbers and len(score_numbers) == n_bars:
        return [int(n) for n in score_numbers]
    return list(range(1, n_bars + 1))


def window_abc(tune: ParsedTune, lo: int, hi: int) -> str:
    """Bars [lo, hi) (0-based positions) of every voice of a parsed tune as an ABC text."""
    base = {h[0]: h[2:].strip() for h in tune.header if h[0] in _STATE_FIELDS and h[1] == ":"}
    out = list(tune.header)
    declared = {_voice_id(h) for h in tune.header if h.startswith("V:")}
    for voice, bars in tune.voices.items():
        window = bars[lo:hi]
        if not window:
            continue
        if voice or declared:
            out.append(f"V:{voice}" if voice else "V:1")
        changed = [f"{f}:{v}" for f, v in window[0].state.items() if base.get(f) != v]
        out.extend(changed)
        out.append(" ".join(b.text.strip() for b in window))
    return "\n".join(out) + "\n"


def windows(n_bars: int, width: int, hop: int) -> list[tuple[int, int]]:
    """[lo, hi) bar ranges of ``width`` bars every ``hop`` bars; the last one is moved back to
    end at the last bar, so every bar is covered and no window is short (unless the piece is)."""
    if width < 1 or hop < 1:
        raise ClampError("passage width and hop must be at least 1 bar")
    if n_bars <= width:
        return [(0, n_bars)] if n_bars else []
    out = [(lo, lo + width) for lo in range(0, n_bars - width + 1, hop)]
    if out[-1][1] < n_bars:
        out.append((n_bars - width, n_bars))
    return out


def cut_passages(abc: str, width: int, hop: int,
                 score_numbers: list[int] | None = None) -> list[Passage]:
    """Every window of ``width`` bars, ``hop`` apart, as an ABC text of its own."""
    tune = parse_tune(abc)
    numbers = bar_numbers(tune.n_bars, score_numbers)
    prints = bar_prints(tune)
    return [_at(tune, numbers, lo, hi, prints) for lo, hi in windows(tune.n_bars, width, hop)]


def excerpt(abc: str, first: int, last: int,
            score_numbers: list[int] | None = None) -> Passage:
    """Bars ``first``..``last`` (as the score numbers them) of a tune as an ABC text."""
    tune = parse_tune(abc)
    numbers = bar_numbers(tune.n_bars, score_numbers)
    if not numbers:
        raise ClampError("this score has no bars to cut a passage from")
    if first > last:
        raise ClampError(f"bars {first}-{last}: the first bar comes after the last; "
                         "give them as FIRST-LAST, e.g. 9-16")
    picked = [i for i, n in enumerate(numbers) if first <= n <= last]
    if not picked:
        raise ClampError(f"bars {first}-{last} are not in this score (its bars are numbered "
                         f"{numbers[0]}-{numbers[-1]}); pick bars inside that range")
    return _at(tune, numbers, picked[0], picked[-1] + 1)


def passage_window(abc: str, lo: int, hi: int) -> tuple[str, int]:
    """Bars [lo, hi) (0-based positions, clipped to the tune) as an ABC text, and the tune's
    number of bars."""
    tune = parse_tune(abc)
    lo, hi = max(0, lo), min(tune.n_bars, hi)
    return window_abc(tune, lo, max(lo, hi)), tune.n_bars


def excerpt_at(abc: str, first: int, last: int,
               score_numbers: list[int] | None = None) -> Passage:
    """Bars at 0-based positions ``first``..``last`` of a tune (as a front end that counts
    measures, not numbers, selects them), numbered as the score numbers them."""
    tune = parse_tune(abc)
    numbers = bar_numbers(tune.n_bars, score_numbers)
    if not 0 <= first <= last < len(numbers):
        raise ClampError(f"measures {first + 1}-{last + 1} (counted from the start) are not in "
                         f"this score of {len(numbers)} bars; select bars inside it")
    return _at(tune, numbers, first, last + 1)


def _at(tune: ParsedTune, numbers: list[int], lo: int, hi: int,
        prints: list[str] | None = None) -> Passage:
    prints = bar_prints(tune) if prints is None else prints
    return Passage(lo, numbers[lo], numbers[hi - 1], window_abc(tune, lo, hi), hi - lo,
                   prints[lo:hi])


def parse_bar_range(text: str) -> tuple[int, int]:
    """'9-16' (or '9') -> (9, 16)."""
    m = re.fullmatch(r"\s*(-?\d+)\s*(?:[-\u2013:]\s*(-?\d+))?\s*", text or "")
    if not m:
        raise ClampError(f"bars {text!r}: give a bar range as FIRST-LAST, e.g. 9-16")
    first = int(m.group(1))
    last = int(m.group(2)) if m.group(2) is not None else first
    if first > last:
        raise ClampError(f"bars {text!r}: the first bar comes after the last; e.g. 9-16")
    return first, last


def score_bar_numbers(score) -> list[int]:
    """The bar numbers of a music21 score's first part, as the score numbers them."""
    parts = getattr(score, "parts", None)
    first = parts[0] if parts is not None and len(parts) else score
    return [int(m.number) for m in first.recurse().getElementsByClass("Measure")]
