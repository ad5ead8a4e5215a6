#!/usr/bin/env bash
# Music of kinds the default model never saw in training, for measuring its novelty flag
# (`clamp calibrate --ood` / `clamp evaluate --ood`). Both sources are public GitHub repositories;
# clone them yourself (nothing here downloads) and pass the clones:
#   POP909   music-x-lab/POP909-Dataset, MIT, commit d83e6edba6872a704f5d3b8b32f5cb540088dae6:
#            pop songs as piano-arrangement MIDI; every 15th song's main file (61 songs)
#   HAUPT    MarkGotham/Hauptstimme, scores CC0, commit 8f677853c45b74ca0afcd79677e5379c06c82354:
#            orchestral full scores (Bach's B minor Mass, Beethoven, Brahms, Bruckner, ...);
#            every other movement (48)
# Usage: POP909=path/to/POP909-Dataset HAUPT=path/to/Hauptstimme bash scripts/build_ood_sets.sh [OUT]
set -euo pipefail
OUT=${1:-.cache/ood}
mkdir -p "$OUT/pop909" "$OUT/orchestral"
for i in $(seq -w 1 909 | awk 'NR%15==1'); do
  cp "$POP909/POP909/$i/$i.mid" "$OUT/pop909/pop909_$i.mid"
done
find "$HAUPT/data" -name '*.mxl' ! -name '*_melody.mxl' | LC_ALL=C sort | awk 'NR%2==1' |
  while read -r f; do cp "$f" "$OUT/orchestral/"; done
echo "$(ls "$OUT/pop909" | wc -l) pop songs, $(ls "$OUT/orchestral" | wc -l) orchestral movements in $OUT"
