#!/usr/bin/env bash
# Music the default model never trained on, for measuring its novelty flag (`clamp calibrate
# --ood` / `clamp evaluate --ood`): the works music21 ships outside the collections the corpus
# takes (clamp_core/datasets/sources.py MUSIC21_COLLECTIONS): atonal Schoenberg and Webern,
# ragtime, a Hawaiian song, an American hymn and parlour songs, a Handel aria, Corelli, C.P.E.
# Bach, Verdi, Weber, Clara Schumann, a Renaissance madrigal and a Gloria (not Robert
# Schumann's: his quartet is a kind reserved for independent evaluation, his Dichterliebe is
# among the Lieder trained on).
# Lead sheets from WikiMT served here before: WikiMT comes from Wikifonia, which is reserved for
# independent evaluation, so nothing of it is measured on any more.
# Usage: bash scripts/build_ood_sets.sh [OUT] [PYTHON]
set -euo pipefail
OUT=${1:-.cache/ood}
PY=${2:-.venv/bin/python}
mkdir -p "$OUT/unseen"
"$PY" - "$OUT/unseen" <<'PY'
import shutil, sys
from pathlib import Path
from clamp_core.datasets.sources import music21_corpus_root

out = Path(sys.argv[1])
root = music21_corpus_root()
picked = ["schoenberg/opus19", "webern", "joplin", "johnson_j_r", "liliuokalani", "beach",
          "leadSheet", "handel/rinaldo", "corelli/opus3no1", "cpebach", "verdi", "weber",
          "schumann_clara", "lusitano", "luca"]
n = 0
for rel in picked:
    for p in sorted((root / rel).rglob("*")):
        if p.suffix.lower() in (".mxl", ".xml", ".musicxml"):
            name = p.relative_to(root).as_posix().replace("/", "__")
            shutil.copyfile(p, out / name)
            n += 1
print(f"{n} scores in {out}")
PY
