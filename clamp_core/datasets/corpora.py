"""Public corpora `clamp dataset build --corpus NAME=PATH` reads from a local clone: how to
enumerate each one's works and what each file already says about itself (Humdrum reference
records, file and folder names) without parsing any music. Each entry carries its licence and
what texts it gives: the data card (docs/data_card.md) is written from this table."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from clamp_core.datasets.sources import WorkItem, abc_numbers
from clamp_core.errors import ClampError
from clamp_core.scores.formats import decode_abc


@dataclass(frozen=True)
class Corpus:
    name: str          # the collection label of its works
    title: str
    repository: str    # where a clone comes from
    licence: str
    gives: str         # what texts and labels it gives
    items: Callable[[Path], list[WorkItem]]


# ---------------------------------------------------------------- Humdrum reference records
_REF = re.compile(r"^!!!([A-Za-z0-9@-]+):\s*(.*?)\s*$")
_INSTRUMENT_PARTS = re.compile(r"-(piano|violin|violino|viola|violoncello|cello|flauto|flute|"
                               r"orchestra|orch|basso|contrabasso|quartet|voice)\b.*$", re.I)


def humdrum_references(path: Path) -> dict[str, str]:
    """The first value of each ``!!!KEY: value`` record (read as text, no parsing)."""
    refs: dict[str, str] = {}
    with open(path, encoding="utf-8", errors="replace") as fh:
        for line in fh:
            m = _REF.match(line) if line.startswith("!!!") else None
            if m and m.group(2) and m.group(1) not in refs:
                refs[m.group(1)] = m.group(2)
    return refs


def composer_name(raw: str) -> str:
    """"Chopin, Fryderyk" -> "Fryderyk Chopin"; other forms are kept."""
    raw = " ".join(raw.split())
    if raw.count(",") == 1:
        last, first = (s.strip() for s in raw.split(","))
        if first and last:
            return f"{first} {last}"
    return raw


def composer_dates(cdt: str | None) -> tuple[int | None, int | None]:
    """Years from a Humdrum CDT value ("~1520-~1560", "1810/03/01/-1849/10/17/")."""
    if not cdt:
        return None, None
    years = [int(y) for y in re.findall(r"(?<!\d)(1\d{3}|20\d{2})(?!\d)", cdt)]
    if not years:
        return None, None
    if "-" not in cdt and len(years) == 1:
        return None, years[0] if cdt.strip().startswith(("-", "~-")) else None
    return years[0], (years[1] if len(years) > 1 else None)


def humdrum_row(refs: dict[str, str]) -> dict[str, str]:
    """A metadata row (the keys folder tables use) from Humdrum reference records."""
    row: dict[str, str] = {}
    title = refs.get("OTL@EN") or refs.get("OTL") or refs.get("OTP")
    if title:
        row["title"] = title
    if refs.get("COM"):
        row["composer"] = composer_name(refs["COM"])
        born, died = composer_dates(refs.get("CDT"))
        if born:
            row["composer_born"] = str(born)
        if died:
            row["composer_died"] = str(died)
    genres = [g.strip().lower() for g in re.split(r"[;,]", refs.get("AGN", "")) if g.strip()]
    specific = [g for g in genres if g not in ("sacred", "secular")]
    if specific:
        row["genre"] = specific[0]
    if "sacred" in genres:
        row["sacred"] = "yes"
    elif "secular" in genres:
        row["sacred"] = "no"
    for src, dst in (("AIN", "instruments"), ("OPR", "work"), ("PDT", "year"),
                     ("RRD", "year"), ("LAR", "artist"), ("OPS", "opus")):
        if refs.get(src) and dst not in row:
            row[dst] = refs[src]
    return row


def _folder(root: Path, sub: str, repository: str) -> Path:
    """A folder of a corpus clone, or a one-line error naming the clone expected."""
    folder = root / sub if sub else root
    if not folder.is_dir():
        raise ClampError(f"{folder}: not found; pass the root of a {repository} clone")
    return folder


def _krn_files(root: Path, under: str = "") -> list[Path]:
    return sorted(_folder(root, under, "Humdrum corpus").rglob("*.krn"))


def _item(collection: str, root: Path, path: Path, row: dict, tune: int | None = None,
          **extra) -> WorkItem:
    rel = path.relative_to(root).as_posix()
    wid = f"{collection}/{rel.rsplit('.', 1)[0]}" + (f"#{tune}" if tune is not None else "")
    return WorkItem(wid, collection, str(path), tune, f"{collection}:{rel}",
                    {"row": row, **extra})


def polish_items(root: Path) -> list[WorkItem]:
    return [_item("polish", root, p, humdrum_row(humdrum_references(p)))
            for p in _krn_files(root)]


def chopin_items(root: Path) -> list[WorkItem]:
    """One edition per work: files are named <work>-<edition>[-<part>].krn; single-instrument
    part files of chamber works are left out (the full edition stays)."""
    by_work: dict[str, Path] = {}
    for p in _krn_files(root, "kern"):
        if _INSTRUMENT_PARTS.search(p.stem):
            continue
        by_work.setdefault(p.stem.split("-", 1)[0], p)
    out = []
    for p in by_work.values():
        row = humdrum_row(humdrum_references(p))
        row.setdefault("composer", "Fryderyk Chopin")
        row.setdefault("composer_born", "1810")
        row.setdefault("composer_died", "1849")
        out.append(_item("chopin", root, p, row))
    return out


def cantopop_items(root: Path) -> list[WorkItem]:
    out = []
    for p in _krn_files(root):
        row = humdrum_row(humdrum_references(p))
        row["genre"] = "cantopop"
        out.append(_item("cantopop", root, p, row))
    return out


# ---------------------------------------------------------------- folk tunes
NOTTINGHAM_BOOKS = {  # file stem -> tune type (None: a mixed book)
    "jigs": "jig", "hpps": "hornpipe", "slip": "slip jig", "waltzes": "waltz",
    "morris": "morris dance", "playford": "country dance", "xmas": "christmas carol",
    "ashover": None, "reelsa-c": "reel", "reelsd-g": "reel", "reelsh-l": "reel",
    "reelsm-q": "reel", "reelsr-t": "reel", "reelsu-z": "reel",
}


def nottingham_items(root: Path) -> list[WorkItem]:
    folder = _folder(root, "ABC_cleaned", "nottingham-dataset")
    out = []
    for p in sorted(folder.glob("*.abc")):
        tt = NOTTINGHAM_BOOKS.get(p.stem)
        row = {"tune_type": tt} if tt else {}
        row["book"] = p.stem
        out.extend(_item("nottingham", root, p, dict(row), n) for n in abc_numbers(p))
    return out


_CRE_TYPES = (("slipjig", "slip jig"), ("setdance", "set dance"), ("barndance", "barn dance"),
              ("hornpipe", "hornpipe"), ("reel", "reel"), ("jig", "jig"), ("polka", "polka"),
              ("slide", "slide"), ("march", "march"), ("mazurka", "mazurka"),
              ("waltz", "waltz"), ("air", "air"))


def cre_title(stem: str) -> tuple[str, str | None]:
    """"AchonryLassesreelThe" -> ("The Achonry Lasses", "reel")."""
    s, tt = stem, None
    the = s.endswith("The")
    if the:
        s = s[:-3]
    low = s.lower()
    for key, name in _CRE_TYPES:
        i = low.rfind(key)
        if i > 0 and i + len(key) >= len(low) - 1:  # the type word closes the name (maybe + 1..9)
            tt, s = name, s[:i]
            break
    words = re.sub(r"(?<=[a-z])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])|(?<=[A-Za-z])(?=\d)", " ",
                   s).strip()
    title = ("The " if the else "") + words
    return title, tt


def cre_items(root: Path) -> list[WorkItem]:
    folder = _folder(root, "cre_corpus/MIDI", "folk_ngram_analysis")
    out = []
    for p in sorted(folder.glob("*.mid")):
        title, tt = cre_title(p.stem)
        row = {"title": title}
        if tt:
            row["tune_type"] = tt
        out.append(_item("cre", root, p, row))
    return out


# ---------------------------------------------------------------- hymns
_OH_FIELD = re.compile(r"^%OH([A-Z]+)\s+(.*?)\s*$")
_CLAIM = re.compile(r"copyright\s*(?:\(c\)|©)?\s*\d{4}", re.I)
_NOT_A_COMPOSER = re.compile(r"(none|traditional|from)\b", re.I)  # "from <a hymnal>, 1599"


def open_hymnal_row(text: str) -> dict[str, str] | None:
    """A metadata row from an Open Hymnal ABC file (its %OH records, T: and C: lines), or None
    when the file does not state that its music is in the public domain (a few carry a
    copyright on their words or setting: those stay out)."""
    lines = text.splitlines()
    rights = " ".join(ln for ln in lines if ln.startswith("C:")).lower()
    if "public domain" not in rights or _CLAIM.search(rights):
        return None
    oh: dict[str, str] = {}
    title = None
    for line in lines:
        m = _OH_FIELD.match(line)
        if m and m.group(2) and m.group(1) not in oh:
            oh[m.group(1)] = m.group(2)
        elif title is None and line.startswith("T:"):
            title = line[2:].strip()
    row = {"genre": "hymn", "sacred": "yes"}
    if title:
        row["title"] = title
    composer = oh.get("COMPOSER", "")  # "Sumner, John Bunnell (1838-1918)"
    name = re.sub(r"\(.*?\)", "", composer).strip(" ,")
    life = composer.partition("(")[2]  # the first parenthesis holds the composer's years
    if name and not _NOT_A_COMPOSER.match(name):  # "Anonymous" is dropped by the record builder
        row["composer"] = composer_name(name)
        born, died = composer_dates(life)
        if born:
            row["composer_born"] = str(born)
        if died:
            row["composer_died"] = str(died)
    if oh.get("CATEGORY"):
        row["category"] = oh["CATEGORY"].lower()
    return row


def hymns_items(root: Path) -> list[WorkItem]:
    """Open Hymnal ABC files (Complete/ and Choir/), public-domain ones only."""
    folders = [root / sub for sub in ("Complete", "Choir") if (root / sub).is_dir()]
    folders = folders or [_folder(root, "Complete", "openhymnal")]  # neither: one-line error
    out = []
    for folder in folders:
        for p in sorted(folder.rglob("*.abc")):
            row = open_hymnal_row(decode_abc(p.read_bytes()))  # the older files are Latin-1
            if row is not None:
                out.extend(_item("hymns", root, p, dict(row), n) for n in abc_numbers(p))
    return out


# ---------------------------------------------------------------- orchestral and pop
def hauptstimme_items(root: Path) -> list[WorkItem]:
    """Full scores (.mxl, not the *_melody extracts): data/<Surname,_First>/<Work>/<NN>/."""
    data = _folder(root, "data", "Hauptstimme")
    out = []
    for p in sorted(data.glob("*/*/*/*.mxl")):
        if p.stem.endswith("_melody"):
            continue
        composer_dir, work_dir, mvt = p.parts[-4], p.parts[-3], p.parts[-2]
        work = work_dir.replace("_", " ")
        row = {"composer": composer_name(composer_dir.replace("_", " ")), "set": work,
               "title": f"{work}, movement {int(mvt) if mvt.isdigit() else mvt}",
               "ensemble": "orchestra"}
        out.append(_item("hauptstimme", root, p, row))
    return out


def pop909_items(root: Path) -> list[WorkItem]:
    """POP909/<nnn>/<nnn>.mid (melody, bridge and piano tracks); names from index.xlsx when
    openpyxl can read it."""
    folder = _folder(root, "POP909", "POP909-Dataset")
    names = _pop909_index(folder / "index.xlsx")
    out = []
    for p in sorted(folder.glob("[0-9]*/[0-9]*.mid")):
        row = {"genre": "pop song", **names.get(p.stem.lstrip("0"), {})}
        out.append(_item("pop909", root, p, row))
    return out


def _pop909_index(path: Path) -> dict[str, dict[str, str]]:
    try:
        import openpyxl
    except ImportError:
        return {}
    if not path.is_file():
        return {}
    sheet = openpyxl.load_workbook(path, read_only=True).active
    rows = list(sheet.iter_rows(values_only=True))
    if not rows:
        return {}
    head = [str(h or "").strip().lower() for h in rows[0]]
    out = {}
    for r in rows[1:]:
        d = {h: str(v).strip() for h, v in zip(head, r, strict=False) if v is not None}
        num = d.get("song_id") or d.get("id") or d.get("index")
        if num:
            out[num.split(".")[0].lstrip("0")] = {k2: d[k1] for k1, k2 in
                                                  (("name", "title"), ("artist", "artist"))
                                                  if d.get(k1)}
    return out


CORPORA: dict[str, Corpus] = {c.name: c for c in (
    Corpus("polish", "Heritage of Polish Music in Open Access (Humdrum)",
           "github.com/pl-wnifc/humdrum-polish-scores", "CC BY 4.0",
           "title, composer and dates (era), genre (mass, vespers, polonaise, mazurka ...), "
           "sacred/secular, instrumentation", polish_items),
    Corpus("chopin", "Chopin first editions (Humdrum)",
           "github.com/pl-wnifc/humdrum-chopin-first-editions", "CC BY 4.0",
           "title, genre (waltz, mazurka, nocturne ...), composer; one edition per work",
           chopin_items),
    Corpus("cantopop", "A Corpus of Cantonese Popular Music 2000-2020",
           "github.com/jasonleeubc/Cantopop-corpus", "CC BY 4.0",
           "title, composer, artist, year; genre cantopop", cantopop_items),
    Corpus("nottingham", "Nottingham Music Database (cleaned ABC)",
           "github.com/jukedeck/nottingham-dataset", "GPL-3.0",
           "title, tune type from the book (jig, reel, hornpipe, waltz, slip jig, morris, "
           "country dance, carol); folk dance tune", nottingham_items),
    Corpus("cre", "Ceol Rince na hEireann (MIDI, cre_corpus)",
           "github.com/polifonia-project/folk_ngram_analysis", "Unlicense",
           "title and tune type from the file name (reel, jig, hornpipe, polka, slide ...); "
           "Irish dance tune",
           cre_items),
    Corpus("hymns", "The Open Hymnal Project (ABC, four-part hymns with words)",
           "github.com/mzealey/openhymnal", "public domain (each file's C: line; files "
           "claiming a copyright are left out)",
           "title, composer and dates (era); hymn, sacred; choir", hymns_items),
    Corpus("hauptstimme", "Hauptstimme orchestral scores",
           "github.com/MarkGotham/Hauptstimme", "CC0 (scores)",
           "composer, work and movement; orchestra", hauptstimme_items),
    Corpus("pop909", "POP909 (MIDI)", "github.com/music-x-lab/POP909-Dataset", "MIT",
           "pop song (title and artist when index.xlsx is readable)", pop909_items),
)}


def corpus_items(spec: str) -> list[WorkItem]:
    """Works of a ``NAME=PATH`` corpus spec."""
    name, sep, path = spec.partition("=")
    if not sep or name not in CORPORA:
        raise ClampError(f"--corpus {spec!r}: expected NAME=PATH with NAME one of "
                         f"{', '.join(CORPORA)}")
    return CORPORA[name].items(Path(path).expanduser())
