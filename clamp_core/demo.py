"""`make demo`: index a slice of the music21 corpus with the default model, then search,
classify, caption and find similar scores, readable in a terminal. Cached after the first run."""

from __future__ import annotations

import re
import sys
import textwrap
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / ".cache" / "demo"
QUERIES = ("a lively reel for the fiddle", "a solemn chorale in a minor key",
           "a Chinese folk song", "a slow air in 3/4")


def corpus_slice(dest: Path) -> list[Path]:
    """Copy a mixed slice of the music21 corpus (fiddle tunes, chorales, folk songs, airs) once."""
    import shutil

    from music21 import corpus

    picks = []
    ryans = sorted(corpus.getComposer("ryansMammoth") or [])[:60]  # one tune per file
    picks += [(p, "fiddle") for p in ryans]
    bach = sorted(p for p in corpus.getComposer("bach") if p.suffix == ".mxl")[:40]
    picks += [(p, "bach") for p in bach]
    out = []
    # Chinese and German songs, and Aird's book 5 from tune 41 (slow airs, minuets, marches):
    # (folder, corpus work, first tune, file name); 40 tunes each
    slices = (("essen", "essenFolksong/han1", 0, "han1_first40.abc"),
              ("essen", "essenFolksong/altdeu10", 0, "altdeu10_first40.abc"),
              ("airds", "airdsAirs/book5", 40, "book5_41-80.abc"))
    for group, work, first, name in slices:
        target = dest / group / name
        if not target.exists():
            text = Path(corpus.getWork(f"{work}.abc")).read_text(encoding="utf-8", errors="replace")
            head, *tunes = re.split(r"(?m)^(?=X:)", text)  # file header, then one tune each
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(head + "".join(tunes[first:first + 40]), encoding="utf-8")
        out.append(target)
    for path, group in picks:
        target = dest / group / Path(path).name
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target)
        out.append(target)
    return out


def _model():
    from clamp_core.api import Clamp
    from clamp_core.model.checkpoint import DEFAULT_MODEL_DIR, create_model, save_model
    from clamp_core.model.config import preset

    if (DEFAULT_MODEL_DIR / "config.json").is_file():
        return Clamp.load("default"), "default"
    folder = WORK / "untrained-model"
    if not (folder / "config.json").is_file():
        save_model(create_model(preset("small"), seed=0), folder)
    print("NOTE: no trained default model is installed; using an UNTRAINED music encoder, so the "
          "rankings below are meaningless. Train one with scripts/train_default_model.sh.\n")
    return Clamp.load(str(folder)), str(folder)


def _hits(hits) -> None:
    for h in hits:
        name = h.title or Path(h.path).name
        where = f"{Path(h.path).parent.name}/{Path(h.path).name}" + (f"#{h.tune}" if h.tune else "")
        score = (f"{h.relevance * 100:3.0f}% match" if h.relevance is not None
                 else f"cosine {h.score:.2f}")
        print(f"   {h.rank:2d}. {score}  {name[:40]:40s}  {where}")


def main() -> int:
    from clamp_core.index import build_index, model_fingerprint

    t0 = time.time()
    clamp, name = _model()
    library = WORK / "library"
    files = corpus_slice(library)
    print(f"Model: {name}.  Library: {len(files)} files from the music21 corpus in {library}")
    index = WORK / f"index-{model_fingerprint(clamp)[:12]}"  # a new model gets a new index
    report = build_index(library, index, clamp)
    print(f"Index: {report.to_dict()}\n")
    for q in QUERIES:
        print(f"search {q!r}:")
        hits = clamp.search(q, index, k=3)
        if clamp.no_good_match(hits):
            print("   (nothing in this library matches this well; the nearest:)")
        _hits(hits)
    tune = next(p for p in files if p.parent.name == "fiddle")
    print(f"\nclassify {tune.name} (tune types):")
    for label, p in clamp.classify_set(tune, "tune_types")[:4]:
        print(f"   {label:15s} {p * 100:5.1f}%")
    chorale = next(p for p in files if p.parent.name == "bach")
    print(f"\ncaption {chorale.name}:")
    print(textwrap.indent(textwrap.fill(clamp.caption(chorale).text, 96), "   "))
    print(f"\nsimilar to {tune.name}:")
    _hits(clamp.similar(tune, index, k=3))
    print(f"\n(done in {time.time() - t0:.1f} s; the index is cached in {index})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
