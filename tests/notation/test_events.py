"""The ABC writer reads a note's tuplets without changing the note (clamp_core.notation.events).

music21 works out a Duration's type and tuplets from its quarterLength on first use and tells
every stream holding the note, which drops their caches; the writer reads the same tuplets
without that side effect, so these tests pin both halves: same answer, nothing changed.
"""

from __future__ import annotations

import copy
from fractions import Fraction

import pytest

music21 = pytest.importorskip("music21")
from music21 import duration, note, stream  # noqa: E402  (after the importorskip)

from clamp_core.notation.events import _tuplets, frac  # noqa: E402  (after the importorskip)

LENGTHS = [1.0, 0.5, 1.5, 0.75, Fraction(1, 3), Fraction(2, 3), Fraction(1, 5), Fraction(1, 6),
           Fraction(4, 7), 0.1, 2.5, 4.0, Fraction(5, 12), 0.0]


def _described(tuplets) -> list[tuple]:
    return [(t.numberNotesActual, t.numberNotesNormal, t.type,
             None if t.durationNormal is None else t.durationNormal.quarterLength)
            for t in tuplets]


@pytest.mark.parametrize("ql", LENGTHS)
def test_tuplets_equal_music21s_own(ql):
    d = duration.Duration(quarterLength=ql)
    want = copy.deepcopy(d).tuplets  # music21 works them out on the copy
    assert _described(_tuplets(d)) == _described(want)


def test_tuplets_leave_the_note_and_its_measure_alone():
    m = stream.Measure()
    n = note.Note("C4", quarterLength=Fraction(1, 3))
    m.insert(0, n)
    m.sort()
    assert m.isSorted
    assert _tuplets(n.duration)[0].numberNotesActual == 3
    assert m.isSorted  # music21's own .tuplets would have told m its note changed
    assert n.duration.quarterLength == Fraction(1, 3)


def test_explicit_tuplets_are_read_as_set():
    d = duration.Duration("eighth")
    d.appendTuplet(duration.Tuplet(5, 4))
    assert _described(_tuplets(d)) == _described(d.tuplets)


def test_frac_is_exact_and_remembers():
    assert frac(0.5) == Fraction(1, 2)
    assert frac(1 / 3) == Fraction(1, 3)
    assert frac(Fraction(2, 7)) == Fraction(2, 7)
    assert frac(1 / 3) is frac(1 / 3)
