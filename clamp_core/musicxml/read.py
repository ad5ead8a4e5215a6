"""MusicXML bytes -> ABC, facts and bar numbers, without building music21's object tree."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from xml.etree import ElementTree

from music21.musicxml.xmlToM21 import PartParser, strippedText

from clamp_core.errors import ClampError
from clamp_core.musicxml.abc import staves_to_abc
from clamp_core.musicxml.facts import Titles, staves_meta
from clamp_core.musicxml.model import Bar, Unsupported
from clamp_core.musicxml.notes import Spanners
from clamp_core.musicxml.parts import Bracket, PartReader, Pedals
from clamp_core.musicxml.staves import PartNames, Staff, staves
from clamp_core.scores.formats import musicxml_text, mxl_score_bytes
from clamp_core.scores.meta import ScoreMeta
from clamp_core.scores.safety import check_size


@dataclass
class DirectRead:
    """What indexing needs of a score: its ABC, its facts and its first part's bar numbers."""

    abc: str
    meta: ScoreMeta
    bar_numbers: list[int]


def read_direct(data: bytes, name: str, fmt: str) -> DirectRead:
    """Read MusicXML ("musicxml") or compressed MusicXML ("mxl") bytes straight to ABC and
    facts. Raises Unsupported for MusicXML this reader does not cover (read it with music21
    then), ClampError for what no reader can read (the same checks and messages as music21's
    route)."""
    if fmt == "mxl":
        data = mxl_score_bytes(data, name)
    text = musicxml_text(data, name)
    try:
        root = ElementTree.fromstring(text)
    except ElementTree.ParseError as exc:
        raise Unsupported(f"XML parse error: {exc}") from None  # music21 gives the message
    if root.tag != "score-partwise":
        raise Unsupported(f"root element <{root.tag}>")
    if _by_finale(root):  # music21 turns <forward> into hidden rests there: not emulated
        raise Unsupported("written by Finale")
    titles = _titles(root)
    score_parts = {sp.get("id"): sp for sp in root.iterfind("part-list/score-part")}
    spanners = Spanners()
    brackets: list[Bracket] = []
    pedals = Pedals()
    all_staves: list[Staff] = []
    part_bars: list[list[Bar]] = []
    for mx_part in root.iterfind("part"):
        score_part = score_parts.get(mx_part.get("id"))
        if score_part is None:
            raise Unsupported("a part missing from the part list")
        names, transposition = _names(score_part)
        reader = PartReader(spanners, brackets, pedals, transposition)
        bars = reader.read(mx_part)
        if not bars:
            raise Unsupported("a part without bars")
        part_bars.append(bars)
        transpose = reader.transposing.semitones()
        if reader.max_staves > 1 and (transposition is not None or transpose):
            raise Unsupported("a transposing instrument on several staves")
        spanners.close_part(copies=2 if reader.max_staves > 1 else 1)
        all_staves += staves(bars, reader.max_staves, names, transpose)
    for bars in part_bars:
        _mark_voltas(bars, brackets)
    if not all_staves:
        raise ClampError(f"{name}: the score has no notes; pick a file or tune with music in it")
    meta = staves_meta(titles, all_staves)
    if meta.n_notes == 0:
        raise ClampError(f"{name}: the score has no notes; pick a file or tune with music in it")
    abc = staves_to_abc(all_staves, spanners)
    return DirectRead(abc, meta, [b.number for b in part_bars[0]])


def _by_finale(root) -> bool:
    """Whether music21 applies its Finale workarounds: the first <software> names Finale."""
    for software in root.iterfind("identification/encoding/software"):
        if text := strippedText(software):
            return "Finale" in text
    return False


def _titles(root) -> Titles:
    def first(path: str) -> str | None:
        el = root.find(path)
        return el.text if el is not None and el.text not in (None, "") else None

    title, movement = first("work/work-title"), first("movement-title")
    if title == movement:
        title = None
    composers = []
    for creator in root.iterfind("identification/creator"):
        if creator.get("type") == "composer":
            if creator.text is None:
                raise Unsupported("a composer without a name")
            composers.append(creator.text.strip())
    return Titles(title, movement, composers)


def _names(score_part) -> tuple[PartNames, object]:
    """The part's names as music21 gives them: its own, else its instrument's (music21 picks
    the instrument from the MIDI program and the instrument name)."""
    pp = PartParser(mxPart=None, mxScorePart=score_part)
    pp.parseXmlScorePart()
    inst, part = pp.activeInstrument, pp.stream
    name = next((n for n in (part._partName, inst.partName, inst.instrumentName)
                 if n is not None), None)
    abbreviation = next((n for n in (part._partAbbreviation, inst.partAbbreviation,
                                     inst.instrumentAbbreviation) if n is not None), None)
    return PartNames(name, abbreviation, (inst.partName, inst.instrumentName)), \
        inst.transposition


def _mark_voltas(bars: list[Bar], brackets: list[Bracket]) -> None:
    """Each bar's volta: the label of a bracket it opens, and whether it closes one."""
    ids = {id(b) for b in bars}
    for bracket in brackets:
        spanned = [b for b in bracket.bars if id(b) in ids]
        if spanned:
            spanned[0].volta_start = bracket.label
            spanned[-1].volta_end = True


_FORMATS = {".xml": "musicxml", ".musicxml": "musicxml", ".mxl": "mxl"}
READER_ENV = "CLAMP_MUSICXML_READER"  # "music21": always read MusicXML with music21


def read_file_direct(path: Path, name: str) -> DirectRead | None:
    """A MusicXML file read directly, or None when music21 should read it: not MusicXML,
    MusicXML this reader does not cover, a file load_score would refuse with its own message
    (missing, empty), or $CLAMP_MUSICXML_READER=music21."""
    fmt = _FORMATS.get(path.suffix.lower())
    if fmt is None or os.environ.get(READER_ENV, "").strip().lower() == "music21":
        return None
    try:
        size = path.stat().st_size
    except OSError:
        return None
    if size == 0:
        return None
    check_size(size, name)  # before reading a byte, as load_score does
    try:
        return read_direct(path.read_bytes(), name, fmt)
    except ClampError:
        raise  # the same refusal music21's route gives (size, entities, limits, no notes)
    except Exception:  # noqa: BLE001 - Unsupported, or MusicXML odd enough to trip us:
        return None  # music21 reads it, or says in its own words why it cannot
