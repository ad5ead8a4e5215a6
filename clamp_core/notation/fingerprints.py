"""Note fingerprints of bars: which bars of two ABC texts hold the same notes.

A bar's fingerprint is a short hash of the notes sounding in it across all voices, each as its
written pitch and its length in whole notes (the ``L:`` unit applied, so ``L:1/8`` ``c2`` and
``L:1/4`` ``c`` agree), in sorted order. What programs write differently about the same notes is
left out: annotations, chord symbols, decorations, grace notes, slurs, ties, beaming spaces,
rests, and the order of voices and of chord notes. Tuplet and broken-rhythm marks stay as
tokens, since they change lengths. A bar without notes has the empty fingerprint "", which
matches nothing.

Passage search uses them to put a passage whose notes match the query bar for bar ahead of one
that only sounds alike (``shared_bars``).
"""

from __future__ import annotations

import hashlib
import re
from fractions import Fraction
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # passages cuts its windows' prints with bar_prints
    from clamp_core.notation.passages import ParsedTune

_DROP = re.compile(r'"[^"\n]*"|![^!\n]*!|\+[^+\n]*\+|\{[^}\n]*\}|\[[A-Za-z]:[^\]\n]*\]|%.*$')
_PITCH = r"[_=^]*[A-Ga-g][,']*"
_LENGTH = r"\d*(?:/+\d*)?"
_TOKEN = re.compile(
    rf"\[((?:\s*{_PITCH}{_LENGTH}-?)+)\s*\]({_LENGTH})"   # chord: notes, then its length
    rf"|({_PITCH})({_LENGTH})"                             # note
    r"|\((\d+(?::\d*)*)"                                   # tuplet mark
    r"|([<>]+)")                                           # broken rhythm
_CHORD_NOTE = re.compile(rf"({_PITCH})({_LENGTH})")


def _length(text: str) -> Fraction:
    """An ABC length multiplier: '' 1, '3' 3, '/' 1/2, '//' 1/4, '3/2' 3/2, '/4' 1/4."""
    if not text:
        return Fraction(1)
    num, slashes, den = re.fullmatch(r"(\d*)(/*)(\d*)", text).groups()
    value = Fraction(int(num) if num else 1)
    if den:
        return value / int(den)
    return value / (2 ** len(slashes))


def _unit(state: dict[str, str]) -> Fraction:
    try:
        return Fraction(state.get("L", "1/8").strip())
    except (ValueError, ZeroDivisionError):
        return Fraction(1, 8)


def bar_tokens(text: str, unit: Fraction = Fraction(1, 8)) -> list[str]:
    """The note tokens of one bar of one voice (see the module docstring)."""
    out: list[str] = []
    for m in _TOKEN.finditer(_DROP.sub(" ", text)):
        chord, chord_len, pitch, note_len, tuplet, broken = m.groups()
        if chord is not None:
            outer = _length(chord_len)
            out += [f"{p}{unit * _length(n) * outer}" for p, n in _CHORD_NOTE.findall(chord)]
        elif pitch is not None:
            out.append(f"{pitch}{unit * _length(note_len)}")
        elif tuplet is not None:
            out.append(f"({tuplet}")
        else:
            out.append(broken)
    return out


def bar_prints(tune: ParsedTune) -> list[str]:
    """One fingerprint per bar position of a parsed tune, all voices together."""
    tokens: list[list[str]] = [[] for _ in range(tune.n_bars)]
    for bars in tune.voices.values():
        for i, bar in enumerate(bars):
            tokens[i] += bar_tokens(bar.text, _unit(bar.state))
    return [_digest(t) for t in tokens]


def _digest(tokens: list[str]) -> str:
    if not any(t[0] not in "(<>" for t in tokens):
        return ""
    return hashlib.blake2b(" ".join(sorted(tokens)).encode(), digest_size=4).hexdigest()


def shared_bars(query: list[str], passage: list[str]) -> float:
    """The share of the query's bars with notes that a passage holds note for note, in order
    (the query laid over the passage at its best offset; 0 when the query has no notes)."""
    counted = sum(1 for q in query if q)
    if not counted or not passage:
        return 0.0
    best = 0
    for shift in range(-len(query) + 1, len(passage)):
        same = sum(1 for i, q in enumerate(query)
                   if q and 0 <= i + shift < len(passage) and passage[i + shift] == q)
        best = max(best, same)
    return best / counted
