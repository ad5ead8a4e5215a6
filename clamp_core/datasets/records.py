"""Turn a converted work (cached ABC + facts) into a dataset record: clean title and composer,
labels, text candidates, the work group and its split."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

from clamp_core.datasets.labels import (
    ANONYMOUS,
    COMPOSERS,
    FOLK,
    WorkInfo,
    build_labels,
    norm_text,
    trecento_composer,
)
from clamp_core.datasets.sources import WorkItem
from clamp_core.datasets.texts import build_texts
from clamp_core.errors import ClampError

_FILENAME_TITLE = re.compile(r"\.(mxl|xml|musicxml|krn|mid|midi|abc|mscz|mscx)$|^movement\d+$",
                             re.IGNORECASE)
_NUMBERING = re.compile(r"^\s*\d+\s*(\(\d+\))?\s*\.\s*")
QUARTET_COLLECTIONS = ("beethoven", "mozart", "haydn")


def _int(s: object) -> int | None:
    m = re.match(r"\s*(\d{3,4})", str(s or ""))
    return int(m.group(1)) if m else None


def _clean_title(t: str | None) -> str | None:
    if not t:
        return None
    t = " ".join(t.split())
    if _FILENAME_TITLE.search(t):
        return None
    t = _NUMBERING.sub("", t)  # "14 (105). Quanto più caro fay" -> "Quanto più caro fay"
    if t.isupper() and len(t) > 3:  # Essen titles are upper case
        t = t.title()
    return t or None


def _quartet_title(item: WorkItem) -> tuple[str, str]:
    """(title, work) from the corpus path: "opus18no1/movement3" -> "String Quartet Op. 18
    No. 1, movement 3"; the files' own titles are inconsistent or missing."""
    rel = item.extra.get("rel_path", "").split("/", 1)[-1].rsplit(".", 1)[0]
    piece, _, mvt = rel.partition("/")
    m = re.match(r"opus(\d+)(?:no(\d+))?", piece)
    if m:
        work = f"Op. {m.group(1)}" + (f" No. {m.group(2)}" if m.group(2) else "")
    else:
        work = re.sub(r"^k(\d+)", r"K. \1", piece)
    kind = "Piano Sonata" if piece == "k545" else "String Quartet"
    work = f"{kind} {work}"
    mnum = re.search(r"(\d+)$", mvt)
    return (f"{work}, movement {mnum.group(1)}" if mnum else work), work


def make_info(item: WorkItem, result: dict) -> WorkInfo:
    """Collect the cleaned facts of one work from its source and conversion result."""
    meta, facts = result["meta"], result.get("facts", {})
    f = facts.get("abc_fields", {})
    md = facts.get("md", {})
    row = item.extra.get("row", {})
    c = item.collection
    title = _clean_title(row.get("title")) or _clean_title(f.get("T")) or _clean_title(
        meta.get("title"))
    work = None
    if item.extra.get("title_hint"):
        title = _clean_title(item.extra["title_hint"]) or title
    if c == "bach":
        stem = Path(item.path).stem
        bwv = re.sub(r"^bwv", "BWV ", stem)
        title = title or bwv
        if title != bwv:
            work = bwv
    elif c in QUARTET_COLLECTIONS:
        title, work = _quartet_title(item)
    elif c == "palestrina":
        work = md.get("parentTitle")
    elif (row.get("set") or row.get("work")) and not (row.get("set") or "").lower().startswith(
            "other songs"):
        work = row.get("set") or row.get("work")
    elif meta.get("work"):
        work = meta["work"]
    composer = born = died = None
    key = c if c in COMPOSERS else (trecento_composer(md.get("composer")) if c == "trecento"
                                    else None)
    if key:
        composer, born, died, _ = COMPOSERS[key]
    elif c not in FOLK and c != "trecento":  # trecento: anonymous or sigla, no composer
        composer = row.get("composer") or f.get("C") or meta.get("composer")
        born, died = _int(row.get("composer_born")), _int(row.get("composer_died"))
        if composer and ANONYMOUS.match(composer):
            composer = None
    lyric = None
    lyr_path = item.extra.get("lyrics_path")
    if lyr_path:
        text = Path(lyr_path).read_text(encoding="utf-8", errors="replace").strip()
        lyric = next((ln.strip() for ln in text.splitlines() if ln.strip()), None)
    # Monteverdi's lyrics are OCR debris; soft hyphens and elision ties are layout only
    lyric = lyric or f.get("words") or (facts.get("lyric") if c != "monteverdi" else None)
    if lyric:
        lyric = " ".join(lyric.replace("\xad", "").replace("\u203f", " ").split()) or None
    if lyric and sum(len(w) for w in lyric.split()) < 2 * len(lyric.split()):
        lyric = None  # rehearsal letters read as words ("b b b a a"), not a text
    info = WorkInfo(id=item.id, collection=c, title=title, composer=composer, born=born,
                    died=died, work=work, lyric=lyric, region_detail=f.get("O"), abc_fields=f,
                    facts=facts, meta=meta, row=row, abc=result.get("abc", ""))
    if row.get("genre"):
        facts["genre_hint"] = row["genre"].lower()
    info.labels = build_labels(info)
    return info


def group_key(info: WorkInfo) -> str:
    """The unit of splitting: movements of one mass or quartet stay together, and the same
    tune in two collections (same normalised title) lands in one split."""
    c = info.collection
    basis = info.title or ""
    if info.work and (c in ("palestrina", "hauptstimme") or c in QUARTET_COLLECTIONS):
        basis = info.work
    elif c == "polish":  # movements of one source (shelfmark: the file name before "_") together
        return "polish-" + norm_text(Path(info.id).name.split("_", 1)[0])
    elif c == "chopin":  # one edition per work, and titles are generic ("Mazurka")
        return "chopin-" + norm_text(Path(info.id).name.split("-", 1)[0])
    elif "--" in basis:  # Ryan's "7th Regiment -- Reel": the tune, not its type
        basis = basis.split("--", 1)[0]
    basis = re.sub(r"^(the|a|an|der|die|das|le|la|il)\s+", "", basis.strip(),
                   flags=re.IGNORECASE)
    key = norm_text(basis)
    return key or "id-" + norm_text(info.id)


def split_of(group: str, frozen_test: set[str]) -> str:
    """90/5/5 by sha1 of the group key; groups frozen as test stay test."""
    if group in frozen_test:
        return "test"
    bucket = int(hashlib.sha1(group.encode()).hexdigest()[:8], 16) % 100
    return "train" if bucket < 90 else ("val" if bucket < 95 else "test")


def make_record(item: WorkItem, result: dict, frozen_test: set[str]) -> dict:
    info = make_info(item, result)
    group = group_key(info)
    return {"id": item.id, "abc": result["abc"], "texts": build_texts(info),
            "labels": info.labels, "meta": result["meta"], "split": split_of(group, frozen_test),
            "source": item.source, "group": group}


def load_records(path: str | Path, split: str | None = None) -> list[dict]:
    """Records of one split (all when ``split`` is None) from a dataset JSONL file."""
    path = Path(path)
    if not path.is_file():
        raise ClampError(f"{path}: no such dataset file; build one with `clamp dataset build`")
    out = []
    with path.open(encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
            except ValueError as e:
                raise ClampError(f"{path}:{n}: not JSON ({e}); rebuild the dataset") from e
            if (split is None or rec.get("split") == split) and rec.get("abc") and rec.get("texts"):
                out.append(rec)
    return out
