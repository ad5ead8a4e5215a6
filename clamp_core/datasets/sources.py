"""Enumerate the works a dataset is built from: the music21 corpus, a folder of scores with a
metadata table, or a folder of ABC files. Enumeration is cheap (no score is parsed here)."""

from __future__ import annotations

import csv
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from clamp_core.errors import ClampError
from clamp_core.scores.load import SUPPORTED_EXTENSIONS

# Our collection name -> the music21 corpus folder it lives in.
MUSIC21_COLLECTIONS: dict[str, str] = {
    "essen": "essenFolksong",
    "ryans": "ryansMammoth",
    "oneills": "oneills1850",
    "bach": "bach",
    "palestrina": "palestrina",
    "monteverdi": "monteverdi",
    "trecento": "trecento",
    "beethoven": "beethoven",
    "mozart": "mozart",
    "haydn": "haydn",
    "airds": "airdsAirs",
    "miscfolk": "miscFolk",
    "josquin": "josquin",
}

# Rough parse cost per byte of each file type: a build converts the cheap works first.
_COST = {".abc": 1, ".krn": 3, ".xml": 5, ".musicxml": 5, ".mxl": 5, ".mscz": 5, ".mscx": 5}
_X_LINE = re.compile(r"^X:\s*(\d+)", re.MULTILINE)


@dataclass
class WorkItem:
    """One work to convert: a file (and tune number in multi-tune ABC) plus what we already
    know about it without parsing (metadata-table row, lyrics file, sibling titles)."""

    id: str
    collection: str
    path: str
    tune: int | None = None
    source: str = ""
    extra: dict = field(default_factory=dict)

    @property
    def cost(self) -> int:
        return file_cost(self.path)


def file_cost(path: str) -> int:
    """Rough parse cost of a whole file: its size weighted by its type."""
    try:
        size = os.path.getsize(path)
    except OSError:
        size = 0
    return size * _COST.get(Path(path).suffix.lower(), 5)


def music21_corpus_root() -> Path:
    from music21 import corpus

    return Path(corpus.__file__).parent


def music21_items(collections: list[str], limit: int | None = None) -> list[WorkItem]:
    """Works of the chosen music21 collections, from the shipped metadata bundle (no parsing)."""
    from music21 import corpus

    unknown = [c for c in collections if c not in MUSIC21_COLLECTIONS]
    if unknown:
        raise ClampError(f"unknown music21 collection(s) {', '.join(unknown)}; choose from "
                         f"{', '.join(MUSIC21_COLLECTIONS)}")
    root = music21_corpus_root()
    bundle = corpus.corpora.CoreCorpus().metadataBundle
    wanted = {MUSIC21_COLLECTIONS[c]: c for c in collections}
    by_coll: dict[str, list[WorkItem]] = {c: [] for c in collections}
    seen: set[tuple[str, int | None]] = set()
    rn_titles: dict[str, str] = {}  # Monteverdi: the .rntxt twin carries the clean title
    entries = []
    # bundle[:] in one call: iterating the bundle re-lists every entry per step (quadratic)
    for e in bundle[:]:
        rel = str(e.sourcePath).replace("\\", "/")
        top = rel.split("/", 1)[0]
        if top not in wanted:
            continue
        if rel.endswith(".rntxt"):  # roman-numeral analyses, not scores
            if e.metadata is not None and e.metadata.title:
                rn_titles[rel[: -len(".rntxt")]] = str(e.metadata.title)
            continue
        entries.append((rel, top, e.number))
    stems = {rel.rsplit(".", 1)[0] for rel, _, _ in entries if rel.endswith((".mxl", ".xml"))}
    numbered = {rel for rel, _, n in entries if _int(n) is not None}
    for rel, top, number in sorted(entries, key=lambda t: (t[0], _int(t[2]) or 0)):
        stem, ext = rel.rsplit(".", 1)
        if ext == "krn" and top == "beethoven" and stem in stems:
            continue  # the same movement also ships as MusicXML: keep one copy of each work
        tune = _int(number)
        if tune is None and rel in numbered:
            continue  # a multi-tune file is also listed whole: that entry repeats its first tune
        if (rel, tune) in seen:
            continue  # the bundle lists a few files twice
        seen.add((rel, tune))
        coll = wanted[top]
        wid = f"{coll}/{stem.split('/', 1)[1]}" + (f"#{tune}" if tune is not None else "")
        extra = {"rel_path": rel}
        if stem in rn_titles:
            extra["title_hint"] = rn_titles[stem]
        by_coll[coll].append(WorkItem(wid, coll, str(root / rel), tune, f"music21:{rel}", extra))
    out: list[WorkItem] = []
    for coll in collections:
        out.extend(by_coll[coll][:limit] if limit else by_coll[coll])
    return out


def _int(x: object) -> int | None:
    try:
        return int(str(x)) if x not in (None, "") else None
    except ValueError:
        return None


def read_metadata_table(path: Path) -> list[dict[str, str]]:
    """Rows of a TSV/CSV table (delimiter sniffed from the header), keys lower-cased."""
    if not path.is_file():
        raise ClampError(f"{path}: metadata table not found; pass a TSV or CSV file with --meta")
    text = path.read_text(encoding="utf-8-sig")
    first = text.split("\n", 1)[0]
    delim = "\t" if first.count("\t") >= first.count(",") else ","
    reader = csv.DictReader(text.splitlines(), delimiter=delim)
    rows = [{(k or "").strip().lower(): (v or "").strip() for k, v in r.items()} for r in reader]
    if rows and "id" not in rows[0]:
        raise ClampError(f"{path}: the metadata table needs an 'id' column (the score file name "
                         "without extension); found " + ", ".join(rows[0]))
    return rows


def _find_lyrics_dir(folder: Path, meta: Path | None, lyrics: Path | None) -> Path | None:
    if lyrics is not None:
        return lyrics
    for cand in (folder / "lyrics", folder.parent / "lyrics",
                 *((meta.parent / "lyrics",) if meta else ())):
        if cand.is_dir():
            return cand
    return None


def folder_items(folder: str | Path, meta: str | Path | None = None, *,
                 collection: str = "folder", lyrics: str | Path | None = None,
                 limit: int | None = None) -> list[WorkItem]:
    """Score files in a folder (recursively); a metadata table's row joins a file by id = stem."""
    folder = Path(folder).expanduser()
    if not folder.is_dir():
        raise ClampError(f"{folder}: not a folder; pass a folder of score files with --folder")
    meta_path = Path(meta).expanduser() if meta else None
    rows = {r["id"]: r for r in read_metadata_table(meta_path)} if meta_path else {}
    lyr_dir = _find_lyrics_dir(folder, meta_path, Path(lyrics) if lyrics else None)
    files = sorted(p for p in folder.rglob("*") if p.is_file()
                   and p.suffix.lower() in SUPPORTED_EXTENSIONS)
    items = []
    for p in files:
        stem = p.stem
        extra: dict = {"row": rows.get(stem, {})}
        if lyr_dir is not None and (lyr_dir / f"{stem}.txt").is_file():
            extra["lyrics_path"] = str(lyr_dir / f"{stem}.txt")
        rel = p.relative_to(folder).as_posix()
        base = f"{collection}/{rel.rsplit('.', 1)[0]}"
        for n in (abc_numbers(p) if p.suffix.lower() == ".abc" else [None]):
            items.append(WorkItem(base + (f"#{n}" if n is not None else ""), collection, str(p),
                                  n, f"{collection}:{rel}", extra))
    return items[:limit] if limit else items


def abc_items(folder: str | Path, *, limit: int | None = None) -> list[WorkItem]:
    """Every tune (X: number) of every .abc file in a folder, each tune one work."""
    folder = Path(folder).expanduser()
    if not folder.is_dir():
        raise ClampError(f"{folder}: not a folder; pass a folder of .abc files with --abc")
    items = []
    for p in sorted(folder.rglob("*.abc")):
        rel = p.relative_to(folder).as_posix()
        for n in abc_numbers(p):
            wid = f"abc/{rel.rsplit('.', 1)[0]}" + (f"#{n}" if n is not None else "")
            items.append(WorkItem(wid, "abc", str(p), n, f"abc:{rel}", {}))
    return items[:limit] if limit else items


def abc_numbers(path: Path) -> list[int | None]:
    """The X: numbers of an ABC file in order ([None] for a file without X: lines)."""
    text = path.read_bytes().decode("utf-8", errors="replace")
    return list(dict.fromkeys(int(n) for n in _X_LINE.findall(text))) or [None]
