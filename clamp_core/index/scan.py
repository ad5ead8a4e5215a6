"""Finding, hashing and reading the score files of a library folder (parsing runs in workers)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from clamp_core.errors import ClampError, one_line


@dataclass
class FoundFile:
    rel: str         # path relative to the root, '/'-separated (the id stored in the index)
    path: str        # absolute path to read
    size: int
    mtime_ns: int


def walk_scores(root: Path, skip: Path | None = None) -> Iterator[FoundFile]:
    """Score files under ``root`` in sorted order; hidden entries are skipped and symlinks are
    followed, but each real folder and file is visited once, so symlink loops end."""
    from clamp_core.scores.load import SUPPORTED_EXTENSIONS

    skip_real = os.path.realpath(skip) if skip else None
    seen: set[str] = set()
    stack = [(str(root), "")]
    while stack:
        folder, rel = stack.pop()
        real = os.path.realpath(folder)
        if real in seen or real == skip_real:
            continue
        seen.add(real)
        try:
            with os.scandir(folder) as it:
                entries = sorted(it, key=lambda e: e.name)
        except OSError:
            continue  # unreadable folder: nothing we can index there
        subdirs = []
        for e in entries:
            if e.name.startswith("."):
                continue
            child_rel = f"{rel}/{e.name}" if rel else e.name
            try:
                if e.is_dir():  # follows symlinks
                    subdirs.append((e.path, child_rel))
                elif e.is_file() and os.path.splitext(e.name)[1].lower() in SUPPORTED_EXTENSIONS:
                    real_file = os.path.realpath(e.path)
                    if real_file in seen:
                        continue
                    seen.add(real_file)
                    st = e.stat()
                    yield FoundFile(child_rel, os.path.abspath(e.path), st.st_size, st.st_mtime_ns)
            except OSError:
                continue  # a dangling symlink or a file that vanished while we looked
        stack.extend(reversed(subdirs))  # depth first, in name order


def file_state(ff: FoundFile, old: tuple[str, int, int] | None) -> tuple[str, str | None]:
    """How a found file stands against its record (sha256, size, mtime_ns), or None: ("same",
    recorded hash) when size and mtime match (the record is trusted, as git does), ("touched",
    hash) when only they changed, ("changed", hash) when new or its contents changed,
    ("unreadable", None) when it vanished or cannot be read (look again next run)."""
    from clamp_core.files import file_sha256

    if old and old[1:] == (ff.size, ff.mtime_ns):
        return "same", old[0]
    try:
        sha = file_sha256(ff.path)
    except OSError:
        return "unreadable", None
    return ("touched" if old and old[0] == sha else "changed"), sha


def _read(source, label: str) -> dict:
    from clamp_core.musicxml import read_file_direct
    from clamp_core.notation.convert import score_to_abc
    from clamp_core.notation.passages import score_bar_numbers
    from clamp_core.scores.load import load_score

    # MusicXML the direct reader covers: the same ABC and facts, without music21's objects
    direct = read_file_direct(source, str(source)) if isinstance(source, Path) else None
    if direct is not None:
        meta = direct.meta.to_dict()
        return {"abc": direct.abc, "meta": meta, "title": meta.get("title"),
                "composer": meta.get("composer"), "bar_numbers": direct.bar_numbers}
    score = load_score(source)
    meta = score.meta.to_dict()
    return {"abc": score_to_abc(score), "meta": meta, "title": meta.get("title"),
            "composer": meta.get("composer"), "bar_numbers": score_bar_numbers(score.stream)}


def parse_file(path: str, rel: str) -> list[dict]:
    """Read one file into items {id, tune, status, error, abc, meta, title, composer}: one per
    tune of a multi-tune ABC file, else one. Runs in a worker: never raises."""
    try:
        if path.lower().endswith(".abc"):
            from clamp_core.scores.formats import decode_abc, split_abc
            from clamp_core.scores.safety import read_file

            tunes = split_abc(decode_abc(read_file(Path(path))))  # size-capped read
            if len(tunes) > 1:
                return _parse_tunes(tunes, rel)
        return [{"id": rel, "tune": None, "status": "ok", **_read(Path(path), rel)}]
    except ClampError as e:
        return [{"id": rel, "tune": None, "status": "failed", "error": one_line(e)}]
    except Exception as e:  # noqa: BLE001 - a converter bug must not stop a library build
        why = f"{type(e).__name__}: {one_line(e)}"
        return [{"id": rel, "tune": None, "status": "failed",
                 "error": f"{rel}: internal error while reading ({why})"}]


def _parse_tunes(tunes, rel: str) -> list[dict]:
    items, used = [], set()
    for t in tunes:
        tid = f"{rel}#{t.number}"
        n = 2
        while tid in used:  # repeated X: numbers still get distinct ids
            tid, n = f"{rel}#{t.number}.{n}", n + 1
        used.add(tid)
        try:
            items.append({"id": tid, "tune": t.number, "status": "ok", **_read(t.text, tid)})
        except Exception as e:  # noqa: BLE001 - record this tune and go on with the others
            msg = one_line(e).replace("<abc>", tid, 1)
            if not isinstance(e, ClampError):
                msg = f"{tid}: internal error while reading ({type(e).__name__}: {msg})"
            items.append({"id": tid, "tune": t.number, "status": "failed", "error": msg})
    return items
