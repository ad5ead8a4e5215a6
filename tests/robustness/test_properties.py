"""Property-based tests (hypothesis) of the ABC writer and the patcher on generated music21
streams: what music21 reads back from our ABC has the same notes, and patches always lie within
the vocabulary and shapes (issue 8, part 2)."""

from __future__ import annotations

from fractions import Fraction
from itertools import pairwise

import numpy as np
import pytest
from abc_roundtrip_util import compare
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from music21 import chord, key, meter, note, stream, tie

from clamp_core import ClampError
from clamp_core.notation.patches import (
    EOS_ID,
    PATCH_LENGTH,
    abc_to_patch_strings,
    decode_patches,
    pad_batch,
    patchify,
    segment_windows,
)
from clamp_core.notation.writer import stream_to_abc

METERS = {"2/4": Fraction(2), "3/4": Fraction(3), "4/4": Fraction(4), "6/8": Fraction(3)}
LENGTHS = [Fraction(1, 4), Fraction(1, 2), Fraction(3, 4), Fraction(1), Fraction(3, 2),
           Fraction(2), Fraction(3), Fraction(4)]


@st.composite
def event(draw, room: Fraction):
    """A note, rest or chord that fits in ``room`` quarter notes."""
    ql = draw(st.sampled_from([x for x in LENGTHS if x <= room]))
    kind = draw(st.sampled_from(["note", "note", "note", "rest", "chord"]))
    if kind == "rest":
        return note.Rest(quarterLength=ql)
    midis = draw(st.lists(st.integers(48, 84), min_size=1 if kind == "note" else 2,
                          max_size=1 if kind == "note" else 3, unique=True))
    obj = note.Note(midis[0]) if kind == "note" else chord.Chord(sorted(midis))
    obj.quarterLength = ql
    return obj


@st.composite
def scores(draw) -> stream.Score:
    """One part of 1-6 full bars in a random meter and key; some notes tied over to the next
    note of the same pitch."""
    ts = draw(st.sampled_from(sorted(METERS)))
    fifths = draw(st.integers(-5, 5))
    part = stream.Part()
    prev = None
    for number in range(1, draw(st.integers(1, 6)) + 1):
        m = stream.Measure(number=number)
        if number == 1:
            m.append([meter.TimeSignature(ts), key.KeySignature(fifths)])
        room = METERS[ts]
        while room > 0:
            ev = draw(event(room))
            if (isinstance(prev, note.Note) and isinstance(ev, note.Note)
                    and draw(st.booleans()) and draw(st.booleans())):
                ev.pitch = prev.pitch  # a tie joins two notes of the same pitch
                prev.tie = tie.Tie("start")
            m.append(ev)
            prev = ev
            room -= Fraction(ev.quarterLength)
        part.append(m)
    sc = stream.Score()
    sc.insert(0, part)
    return sc


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scores())
def test_generated_streams_round_trip_through_abc(sc):
    if not sc.recurse().notes:  # only rests: the writer refuses it, by design, with a clear error
        with pytest.raises(ClampError, match="no notes"):
            stream_to_abc(sc)
        return
    abc = stream_to_abc(sc)
    assert compare(sc, abc) is None, abc


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scores(), st.integers(1, 40))
def test_patches_of_generated_scores_lie_within_vocabulary_and_shapes(sc, max_length):
    assume(sc.recurse().notes)  # rests only: refused by the writer (the round-trip test checks it)
    abc = stream_to_abc(sc)
    full = patchify(abc, max_length=None)
    assert full.ndim == 2 and full.shape[1] == PATCH_LENGTH and full.dtype.kind == "i"
    assert full.min() >= 0 and full.max() <= EOS_ID
    strings = abc_to_patch_strings(abc)
    assert len(full) == len(strings) + 1 and (full[-1] == EOS_ID).all()  # + the EOS patch
    # patches that fit spell their text back exactly
    for text, back in zip(strings, decode_patches(full[:-1]), strict=False):
        if len(text) < PATCH_LENGTH:
            assert back == text
    head = patchify(abc, max_length=max_length)
    assert 1 <= len(head) <= max_length and (head == full[:len(head)]).all()
    windows = segment_windows(len(full), max_length)
    assert windows[0][0] == 0 and windows[-1][1] == len(full)
    assert all(b - a <= max_length and a < b for a, b in windows)
    assert all(w[1] == nxt[0] for w, nxt in pairwise(windows))
    ids, mask = pad_batch([full[a:b] for a, b in windows])
    assert ids.shape == (len(windows), max(b - a for a, b in windows), PATCH_LENGTH)
    assert mask.sum() == len(full) and ids.max() <= EOS_ID
    assert np.array_equal(ids[mask == 0], np.zeros_like(ids[mask == 0]))
