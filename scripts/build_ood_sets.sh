#!/usr/bin/env bash
# Music of a kind the default model never saw in training, for measuring its novelty flag
# (`clamp calibrate --ood` / `clamp evaluate --ood`): lead sheets (jazz and pop standards with
# chord symbols) from the WikiMT set beside the project (../shared/data/wikimt, MIT, from the
# official CLaMP feature caches in microsoft/muzic); every 10th of the 1,010, as ABC files.
# (POP909 and Hauptstimme served here until the corpus took them in for training.)
# Usage: bash scripts/build_ood_sets.sh [OUT] [WIKIMT_JSONL]
set -euo pipefail
OUT=${1:-.cache/ood}
WIKIMT=${2:-../shared/data/wikimt/wikimt_abc.jsonl}
mkdir -p "$OUT/leadsheets"
python3 - "$WIKIMT" "$OUT/leadsheets" <<'PY'
import json, re, sys
from pathlib import Path
src, out = sys.argv[1], Path(sys.argv[2])
for n, line in enumerate(open(src, encoding="utf-8")):
    if n % 10:
        continue
    rec = json.loads(line)
    abc = rec["abc"] if rec["abc"].lstrip().startswith("X:") else "X:1\n" + rec["abc"]
    if not re.search(r"^T:", abc, re.M):
        abc = abc.replace("X:1\n", f"X:1\nT:{rec['title']}\n", 1)
    (out / f"wikimt_{n:04d}.abc").write_text(abc, encoding="utf-8")
PY
echo "$(ls "$OUT/leadsheets" | wc -l) lead sheets in $OUT/leadsheets"
