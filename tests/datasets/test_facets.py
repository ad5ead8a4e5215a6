"""Facets read from part names, time signatures, titles and the ABC text."""

from pathlib import Path

import pytest

from clamp_core.datasets.facets import era_from_year, form_from_text, texture
from clamp_core.fact_classes import (
    ensemble_class,
    instrument_family,
    instrumentation_families,
    metre_family,
)

FIX = Path(__file__).parent.parent / "fixtures"


def _ens(*names: str) -> str | None:
    return ensemble_class([instrument_family(n) for n in names], len(names))


@pytest.mark.parametrize("names, expected", [
    (("Violin I", "Violin II", "Viola", "Violoncello"), "string quartet"),
    (("Soprano", "Alto", "Tenor", "Bass"), "choir"),
    (("Canto", "Quinto", "Alto", "Tenore", "Basso"), "choir"),
    (("Singstimme", "Klavier"), "voice and piano"),
    (("Piano", "Piano"), "solo piano"),  # two staves read as two parts
    (("Organo",), "keyboard"),
    (("Flute",), "solo melody"),
    (("Soprano", "Alto", "Violin", "Basso continuo"), "voices and instruments"),
    (("Flute", "Oboe", "Clarinet", "Bassoon", "Horn", "Trumpet", "Timpani", "Violin I",
      "Violin II", "Viola", "Violoncello", "Contrabass"), "orchestra"),
    (("Violin", "Piano"), "chamber ensemble"),
    (("Part 1", "Part 2", "Part 3"), None),  # nothing named: unknown, not a guess
])
def test_ensemble_from_part_names(names, expected):
    assert _ens(*names) == expected


def test_ensemble_from_a_humdrum_instrumentation_record():
    fams = instrumentation_families("1 cbass 1 cello 2 clars 4 cor 2 fagot 2 flt 2 oboe "
                                    "1 timpa 2 tromp 1 viola 2 violn")
    assert ensemble_class(fams, len(fams)) == "orchestra"
    fams = instrumentation_families("1 alto 1 bass 1 soprn 1 tenor")
    assert ensemble_class(fams, len(fams)) == "choir"
    assert instrumentation_families("2 empty") == []
    assert instrument_family("bass drum") == "percussion"


@pytest.mark.parametrize("meter, family", [("6/8", "compound"), ("12/8", "compound"),
                                           ("3/4", "triple"), ("3/8", "triple"),
                                           ("2/4", "duple"), ("4/4", "duple"), ("C", "duple"),
                                           ("2/2", "duple"), ("5/4", None), (None, None)])
def test_metre_family(meter, family):
    assert metre_family(meter) == family


@pytest.mark.parametrize("text, form", [
    ("Mazur „Tego mi graj”", "mazurka"), ("Polonez B-dur", "polonaise"),
    ("Valse brillante", "waltz"), ("Msza 3cia", "mass"), ("Agnus Dei", "mass"),
    ("Nieszpory", "vespers"), ("Étude in C", "etude"), ("Requiem aeternam", "requiem"),
    ("Marsz żałobny", "march"), ("Pieśń o Bożym Narodzeniu", "song"),
    ("Symfonia D-dur", "symphony"), ("Allegro de concert", None),
])
def test_form_words_in_several_languages(text, form):
    assert form_from_text(text) == form


def test_era_from_year():
    assert [era_from_year(y) for y in (1380, 1550, 1700, 1790, 1850, 1950, None)] == [
        "medieval", "renaissance", "baroque", "classical", "romantic", "modern", None]


def test_texture_from_abc():
    melody = "X:1\nM:6/8\nL:1/8\nK:G\nGAB cBA|G3 G3:|\n"
    chords = "X:1\nM:4/4\nL:1/4\nK:C\n[CEG] [DFA] [EGc] [CEG]|[CEG]4|]\n"
    four = ("X:1\nL:1/4\nK:C\nV:1\nV:2\nV:3\nV:4\nV:1\n c d e f|\nV:2\n G A B c|\n"
            "V:3\n E F G A|\nV:4\n C D E F|\n")
    assert texture(melody) == "single line"
    assert texture(chords) == "chordal"
    assert texture(four) == "polyphonic"


def test_polonaise_spellings():
    assert {form_from_text(t) for t in ("Polonaise op. 28", "Polonez", "Polacca",
                                        "Polonoise")} == {"polonaise"}
