"""Transposition of whole ABC tunes (training augmentation), with music21's reading of the
result as the oracle: every note must sound ``semitones`` away, per part, and K: must name the
expected key; texts must name the new key; the batcher must serve the transposed piece."""

import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from music21 import corpus, harmony, key

from clamp_core.datasets.texts import key_words
from clamp_core.notation.convert import score_to_abc
from clamp_core.notation.patches import patchify
from clamp_core.notation.transpose import (
    TRAINING_INTERVALS,
    transpose_abc,
    transpose_abc_steps,
    transpose_key_label,
    transpose_record,
    transpose_text,
    transpose_texts,
)
from clamp_core.notation.writer import stream_to_abc
from clamp_core.scores.load import load_score
from clamp_core.training.contrastive import (
    PairBatcher,
    _patch_table,
    _variant_tables,
    transposed_tables,
)

INTERVALS = (2, -5, 6, 1)
WIKIMT = Path(__file__).parents[1] / "fixtures" / "wikimt" / "wikimt_abc.jsonl"


def _read(abc: str):
    """music21's reading of ABC text through the project's reader."""
    return load_score(abc).stream


def _midis(score) -> list[list[int]]:
    """MIDI numbers of every note per part (chord symbols left out)."""
    parts = list(score.parts) or [score]
    return [[p.midi for n in part.recurse().notes if not isinstance(n, harmony.Harmony)
             for p in n.pitches] for part in parts]


def _shifted(midis: list[list[int]], semitones: int) -> list[list[int]]:
    return [[m + semitones for m in part] for part in midis]


def _key_line(abc: str) -> str:
    return next(line for line in abc.split("\n") if line.startswith("K:"))


def _sharps(score) -> int:
    return score.recurse().getElementsByClass(key.KeySignature).first().sharps


@pytest.fixture(scope="module")
def written() -> dict[str, str]:
    """Real tunes as our writer emits them (the dialect most training pieces are in)."""
    oneills = corpus.getWork("oneills1850/0001-0050.abc")
    essen = corpus.getWork("essenFolksong/altdeu10.abc")
    return {
        "bach": score_to_abc(load_score(str(corpus.getWork("bach/bwv66.6")))),
        "oneills": stream_to_abc(load_score(str(oneills), tune=28).stream),
        "essen": stream_to_abc(load_score(str(essen), tune=1).stream),
    }


# key written by our writer -> {interval: (new K: line, sharps of the new signature)}
EXPECTED_KEYS = {
    "bach": ("K:F#min", {2: ("K:G#min", 5), -5: ("K:C#min", 4), 6: ("K:Cmin", -3),
                         1: ("K:Gmin", -2)}),
    "oneills": ("K:Amin", {2: ("K:Bmin", 2), -5: ("K:Emin", 1), 6: ("K:Ebmin", -6),
                           1: ("K:Bbmin", -5)}),
    "essen": ("K:G", {2: ("K:A", 3), -5: ("K:D", 2), 6: ("K:Db", -5), 1: ("K:Ab", -4)}),
}


@pytest.mark.parametrize("name", sorted(EXPECTED_KEYS))
def test_every_note_of_a_written_tune_moves_by_the_interval(written, name):
    abc = written[name]
    old_key, keys = EXPECTED_KEYS[name]
    assert _key_line(abc) == old_key
    original = _midis(_read(abc))
    assert sum(map(len, original)) > 40
    for semitones in INTERVALS:
        moved = transpose_abc(abc, semitones)
        assert moved != abc
        score = _read(moved)
        assert _midis(score) == _shifted(original, semitones), (name, semitones)
        assert (_key_line(moved), _sharps(score)) == keys[semitones]
        back = transpose_abc(moved, -semitones)
        assert _key_line(back) == old_key
        assert _midis(_read(back)) == original, (name, semitones)
        # only K: and music lines change; durations, ties, decorations and V: lines stay
        assert [line for line in moved.split("\n") if line[:2] in ("V:", "L:", "M:", "Q:")] == [
            line for line in abc.split("\n") if line[:2] in ("V:", "L:", "M:", "Q:")]


def test_raw_abc_tunes_move_as_music21_reads_them():
    """ABC sources stay as written in the dataset (bar-scoped accidentals, `K: G` with a space);
    music21 ignores carried accidentals, and a moved tune keeps each note's reading."""
    essen = corpus.getWork("essenFolksong/altdeu10.abc")
    oneills = corpus.getWork("oneills1850/0001-0050.abc")
    tunes = [load_score(str(essen), tune=1).abc_source, load_score(str(essen), tune=2).abc_source,
             load_score(str(oneills), tune=28).abc_source]
    for abc in tunes:
        original = _midis(_read(abc))
        for semitones in (2, -5):
            moved = transpose_abc(abc, semitones)
            assert moved != abc
            assert _midis(_read(moved)) == _shifted(original, semitones)
            assert transpose_abc(moved, -semitones) == abc


def test_chord_symbols_of_a_lead_sheet_move_with_the_notes():
    row = json.loads(WIKIMT.read_text(encoding="utf-8").split("\n")[0])  # 'Deed I Do, K:F
    abc = row["abc"]
    score = _read(abc)
    notes = _midis(score)
    roots = [h.root().pitchClass for h in score.recurse().getElementsByClass(harmony.ChordSymbol)]
    assert len(roots) > 20
    for semitones in (2, -5):
        moved = transpose_abc(abc, semitones)
        s = _read(moved)
        assert _midis(s) == _shifted(notes, semitones)
        new_roots = [h.root().pitchClass
                     for h in s.recurse().getElementsByClass(harmony.ChordSymbol)]
        assert new_roots == [(r + semitones) % 12 for r in roots]
        assert '"^Fast"' in moved  # annotations stay
    assert transpose_abc('K:D\n"F#m7/C#"A "Bb6/9"B "^Am" "N.C." "Allegro" "(G7)"c "Apower"|\n',
                         -2) == 'K:C\n"Em7/B"G "Ab6/9"A "^Am" "N.C." "Allegro" "(F7)"B "Gpower"|\n'


def test_accidentals_carried_through_a_bar():
    # ABC 2.1: ^F holds for F in its octave until the barline; f (another octave) is natural
    abc = "L:1/4\nM:4/4\nK:C\n^F F f =F | F4 |\n"
    assert transpose_abc(abc, 2) == "L:1/4\nM:4/4\nK:D\n^G G g =G | G4 |\n"
    assert transpose_abc(abc, -1) == "L:1/4\nM:4/4\nK:B\n^E E e =E | E4 |\n"  # F# -> E#
    # our writer's repeated accidentals stay (music21 reads them right)
    assert transpose_abc("K:G\n^c ^c c |\n", 5) == "K:C\n^f ^f f |\n"
    # a voice change ends the bar, as a barline does
    assert transpose_abc("K:C\nV:1\n^F F|\nV:2\nF F|\n", 2) == "K:D\nV:1\n^G G|\nV:2\nG G|\n"


def test_inline_key_changes_and_their_accidentals():
    abc = "L:1/4\nM:4/4\nK:C\nC D E F | [K:G] G ^F =F G | F4 |\n"
    assert transpose_abc(abc, 2) == (
        "L:1/4\nM:4/4\nK:D\nD E F G | [K:A] A ^G =G A | G4 |\n")
    assert transpose_abc(abc, 6) == (
        "L:1/4\nM:4/4\nK:Gb\nG A B c | [K:Db] d =c _c d | c4 |\n")
    # Gb (header) and B (inline) spell a tritone differently: notes music21 reads from the
    # header key get their accidentals written, so music21 still reads every pitch
    writer_style = "L:1/4\nM:4/4\nK:C\nC2 D2 | [K:F] F G A _B | c4 |\n"
    moved = transpose_abc(writer_style, 6)
    assert moved == "L:1/4\nM:4/4\nK:Gb\nG2 A2 | [K:B] =B ^c ^d =e | ^f4 |\n"
    assert _midis(_read(moved)) == _shifted(_midis(_read(writer_style)), 6)


def test_keys_without_a_signature_and_unusual_keys():
    # K:none stays, the notes move and take their simplest names
    assert transpose_abc("K:none\nC ^C D _E F ^F B|\n", 1) == "K:none\n_D =D _E =E _G =G c|\n"
    assert transpose_abc("K:perc\nC D|\n", 2) == "K:perc\nD E|\n"
    assert transpose_abc("K:Edor\nE F G|\n", 6) == "K:Bbdor\nB c d|\n"
    assert transpose_abc("K: A Minor\nA|\n", 2) == "K: B Minor\nB|\n"
    assert transpose_abc("K:Dmix=c\nc ^c|\n", 3) == "K:Fmix_e\ne =e|\n"  # explicit accidentals
    assert transpose_abc("K:C clef=bass\nC,|\n", -5) == "K:G clef=bass\nG,,|\n"
    # German tonics and notes beyond four octave marks: left as they are
    for abc, semitones in (("K: H\nB|\n", 2), ("K:C\nb''''|\n", 6), ("K:C\nC,,,,|\n", -1)):
        assert transpose_abc(abc, semitones) == abc
        assert transpose_abc_steps(abc, semitones) is None
    assert transpose_abc("K:C\nC,,,,|\n", 1) == "K:Db\nD,,,,|\n"


def test_key_names_of_texts_move_to_the_new_tonic():
    assert transpose_text(f"in {key_words('bb major')}, 4/4 time", 2, 1) == "in C major, 4/4 time"
    assert transpose_text("a melody in D major", 1, 1) == "a melody in E-flat major"
    assert transpose_text("key of G minor", -5, -3) == "key of D minor"
    assert transpose_text("a tune in E dorian", 6, 4) == "a tune in B-flat dorian"
    assert transpose_text("Sonata in Bb minor.", 2, 1) == "Sonata in C minor."
    assert transpose_text("Prelude in C, Op. 28", -1, -1) == "Prelude in B, Op. 28"
    assert transpose_text("a moderate range from B3 to D#5", 2, 1) == (
        "a moderate range from C#4 to F5")
    for same in ("in a major key", "minor-key, introspective", "Moll in the Wad", "a solo melody"):
        assert transpose_text(same, 2, 1) == same
    assert transpose_texts(["Sonate in Es-Dur", "in G major"], 2, 1) == ["in A major"]
    assert transpose_key_label("bb major", 2) == "c major"
    assert transpose_key_label("f# minor", 6) == "c minor"
    assert transpose_key_label("d dorian", -5) == "a dorian"


def _records() -> list[dict]:
    """Real ABC sources as the dataset keeps them, with texts phrased as the dataset does."""
    essen = corpus.getWork("essenFolksong/altdeu10.abc")
    out = []
    for tune, label in ((1, "g major"), (2, "e major"), (3, "a major")):
        sc = load_score(str(essen), tune=tune)
        out.append({"id": f"essen/{tune}", "abc": score_to_abc(sc), "split": "train",
                    "labels": {"key": label},
                    "texts": [sc.meta.title, f"a melody in {key_words(label)}",
                              f"a solo melody, with a range from {sc.meta.lowest} to "
                              f"{sc.meta.highest}", "from the Essen Folksong Collection"]})
    return out


class _Model:
    config = SimpleNamespace(max_length=512)

    def tokenize(self, texts: list[str]) -> dict:
        return {"texts": texts}


def test_batcher_serves_transposed_pieces_with_true_texts():
    recs = _records()
    table = transposed_tables(recs, seed=4, variants=False)
    assert table.semitones == transposed_tables(recs, 4, False).semitones  # fixed per seed
    assert all(s in TRAINING_INTERVALS for s in table.semitones)
    for r, patches, texts, s in zip(recs, table.patches, table.texts, table.semitones,
                                    strict=True):
        moved = transpose_record(r, s)
        assert np.array_equal(patches, patchify(moved["abc"], max_length=None))
        assert _midis(_read(moved["abc"])) == _shifted(_midis(_read(r["abc"])), s)
        new_key = key_words(transpose_key_label(r["labels"]["key"], s))
        assert texts[1] == f"a melody in {new_key}" and texts[1] != r["texts"][1]
        assert texts[0] == r["texts"][0] and texts[3] == r["texts"][3]
    written = _patch_table([r["abc"] for r in recs])
    cands = [r["texts"] for r in recs]
    batcher = PairBatcher(_Model(), written, cands, seed=4, keep_prob=1.0, transposed=table,
                          transpose_prob=1.0)
    batch = batcher([0, 1, 2], epoch=0)
    for row, i in enumerate(range(3)):
        n = len(table.patches[i])
        assert np.array_equal(batch["music_ids"][row, :n].numpy(), table.patches[i])
        assert sorted(batch["texts"][row].split(". ")) == sorted(table.texts[i])
    # transpose_prob 0 draws what a run without the option drew
    plain = PairBatcher(_Model(), written, cands, seed=4, keep_prob=0.5)
    off = PairBatcher(_Model(), written, cands, seed=4, keep_prob=0.5, transposed=table)
    a, b = plain([0, 1, 2], 3), off([0, 1, 2], 3)
    assert a["texts"] == b["texts"] and np.array_equal(a["music_ids"], b["music_ids"])
    # with variants and the paired term, both rows of a piece are its transposed writings
    moved = transposed_tables(recs, seed=4, variants=True)
    paired = PairBatcher(_Model(), written, cands, seed=4, keep_prob=1.0,
                         variants=_variant_tables(recs, 4), variant_prob=0.5, paired=True,
                         transposed=moved, transpose_prob=1.0)
    batch = paired([0, 1, 2], epoch=0)
    assert batch["music_ids"].shape[0] == 6
    for i in range(3):
        views = [moved.patches[i], moved.variants[0][i]]
        rows = [batch["music_ids"][r, :len(views[0])].numpy() for r in (i, i + 3)]
        assert any(np.array_equal(rows[0], v) for v in views)
        assert any(np.array_equal(rows[1], v) for v in views)
        assert not np.array_equal(rows[0], rows[1])
        assert sorted(batch["texts"][i].split(". ")) == sorted(moved.texts[i])
