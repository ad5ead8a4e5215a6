"""The data card of a dataset build: every source with its licence, what texts it gives, the
commit it was read at and how many works of each split it gave.

    python -m clamp_core.datasets.data_card DATA.summary.json [--lock scripts/corpora.lock]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from clamp_core.datasets.corpora import CORPORA

# the sources that are not public corpora read from a clone
_MUSIC21 = ("music21 corpus (ships with the music21 package)",
            "music21 is BSD; the corpus encodings are distributed with the encoders' permission, "
            "some with restrictions: music21/corpus/license.txt")
OTHER_SOURCES: dict[str, tuple[str, str, str]] = {  # collection -> (source, licence, texts)
    "essen": ("Essen Folksong Collection, " + _MUSIC21[0],
              "UNCLEAR: music21's note says the legal status of the Essen database is unclear, "
              "as many people encoded it; Ewa Dahlig-Turek permitted non-commercial "
              "distribution and use in music21 (music21/corpus/essenFolksong/license.txt)",
              "title, region (O:), song genre (R:), lyrics; folk song"),
    "ryans": ("Ryan's Mammoth Collection (1883), " + _MUSIC21[0], _MUSIC21[1],
              "title, tune type (R:); American fiddle tune"),
    "oneills": ("O'Neill's Music of Ireland (1850), " + _MUSIC21[0], _MUSIC21[1],
                "title, tune type (R:); Irish fiddle tune"),
    "airds": ("Aird's Airs, " + _MUSIC21[0], _MUSIC21[1], "title; traditional air"),
    "miscfolk": ("miscellaneous folk tunes, " + _MUSIC21[0], _MUSIC21[1], "title; folk tune"),
    "bach": ("Bach chorales, " + _MUSIC21[0], _MUSIC21[1], "BWV, title, lyrics"),
    "palestrina": ("Palestrina masses, " + _MUSIC21[0], _MUSIC21[1], "mass and movement"),
    "monteverdi": ("Monteverdi madrigals, " + _MUSIC21[0], _MUSIC21[1], "title"),
    "trecento": ("Italian Trecento, " + _MUSIC21[0], _MUSIC21[1], "title, composer"),
    "josquin": ("Josquin des Prez, " + _MUSIC21[0], _MUSIC21[1], "title"),
    "beethoven": ("Beethoven string quartets, " + _MUSIC21[0], _MUSIC21[1], "work, movement"),
    "mozart": ("Mozart, " + _MUSIC21[0], _MUSIC21[1], "work, movement"),
    "haydn": ("Haydn string quartets, " + _MUSIC21[0], _MUSIC21[1], "work, movement"),
    "lieder": ("OpenScore Lieder Corpus (github.com/OpenScore/Lieder)", "CC0",
               "title, composer and dates, song set, lyrics"),
}
GROUNDED = ("Every work also gets texts written from its own score: ensemble (from part names or "
            "an instrumentation record), major / minor / modal, duple / triple / compound metre, "
            "tempo character (from the marking or tune type), texture, length and range, form "
            "and dance words from titles and genre records, era from the composer's dates or the "
            "source's year. Training mixes them by text dropout.")


def read_lock(path: Path) -> dict[str, tuple[str, str]]:
    """name -> (repository, commit) from scripts/corpora.lock."""
    out = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            name, repo, commit, *_ = line.split("\t")
            out[name] = (repo, commit)
    return out


PENDING = "not converted yet"  # the error of a work a --cached-only cut left out


def pending_counts(failures_file: str | Path | None) -> dict[str, int]:
    """Works per collection that a --cached-only cut left out (not failed: not reached)."""
    out: dict[str, int] = {}
    if failures_file and Path(failures_file).is_file():
        for line in Path(failures_file).read_text(encoding="utf-8").splitlines():
            f = json.loads(line)
            if f.get("error", "").startswith(PENDING):
                coll = f["id"].split("/", 1)[0]
                out[coll] = out.get(coll, 0) + 1
    return out


def data_card(summary: dict, lock: dict[str, tuple[str, str]] | None = None,
              pending: dict[str, int] | None = None, note: str = "") -> str:
    """The card of a build (its summary JSON); ``note`` says which cut of it each stage of
    the shipped model read, where that is not the whole build."""
    lock, pending = lock or {}, pending or {}
    rows = ["| collection | source | licence | texts it gives | commit | train | val | test "
            "| failed | not converted yet |", "|---|---|---|---|---|---|---|---|---|---|"]
    for name, counts in sorted(summary.get("collections", {}).items()):
        if name in CORPORA:
            c = CORPORA[name]
            source, licence, gives = f"{c.title} ({c.repository})", c.licence, c.gives
        else:
            source, licence, gives = OTHER_SOURCES.get(name, (name, "?", "?"))
        commit = lock.get(name, ("", ""))[1][:12]
        rows.append(f"| {name} | {source} | {licence} | {gives} | {commit} | "
                    f"{counts.get('train', 0)} | {counts.get('val', 0)} | "
                    f"{counts.get('test', 0)} | {counts.get('failures', 0) - pending.get(name, 0)}"
                    f" | {pending.get(name, 0)} |")
    splits = ", ".join(f"{k} {v}" for k, v in sorted(summary.get("splits", {}).items()))
    return "\n".join([
        "# Data card: the default model's training corpus", "",
        f"{summary.get('works', 0)} works ({splits}), "
        f"{summary.get('failures', 0) - sum(pending.values())} recorded failures"
        + (f", {sum(pending.values())} works not converted yet (the build was cut with "
           "--cached-only; a rerun converts them, the cache keeps what is done)"
           if pending else "") + ". Built with:", "",
        f"    {summary.get('command') or 'clamp dataset build ...'}", "",
        *([note, ""] if note else []),
        "Splits are 90/5/5 by a hash of each work's group (a normalised title, a mass or "
        "quartet, a Polish source's shelfmark, a Chopin work), so movements of one work and "
        "one tune in two collections never straddle splits; groups listed in "
        "clamp_core/resources/splits stay in test.", "",
        *rows, "",
        GROUNDED, "",
        "## Licences", "",
        "- The Essen Folksong Collection's legal status is unclear (see its row): it is kept "
        "for continuity with CLaMP's own training data; a build without `--collections essen` "
        "makes a model free of it.",
        "- Nottingham is GPL-3.0: the model is trained on it, the tunes are not redistributed.",
        "- Corpora under non-commercial licences (DCML, ASAP, 1520s, JRP, craigsapp's kern "
        "collections) are not used.",
        "- Reserved for independent evaluation and never fetched, trained, tuned or tested on: "
        "OpenEWLD and anything from Wikifonia, OpenScore String Quartets.", ""])


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("summary")
    ap.add_argument("--lock", default=None)
    ap.add_argument("--out", default=None)
    ap.add_argument("--note", default="", help="which cut of this build each model stage read")
    a = ap.parse_args(argv)
    summary = json.loads(Path(a.summary).read_text(encoding="utf-8"))
    text = data_card(summary, read_lock(Path(a.lock)) if a.lock else None,
                     pending_counts(summary.get("failures_file")), a.note)
    if a.out:
        Path(a.out).write_text(text, encoding="utf-8")
    else:
        print(text)


if __name__ == "__main__":
    main()
