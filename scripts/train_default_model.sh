#!/usr/bin/env bash
# The exact recipe of the default model shipped in clamp_core/data/default_model.
# Resumable: re-running continues each stage from its last checkpoint.
#   DATA  dataset JSONL from `clamp dataset build` (music21 corpus + OpenScore Lieder)
#   WORK  scratch folder for checkpoints
set -euo pipefail
DATA=${DATA:-.cache/data/corpus.jsonl}
WORK=${WORK:-.cache/default-model}
PRE_EPOCHS=${PRE_EPOCHS:-1}
EPOCHS=${EPOCHS:-6}
SEED=${SEED:-0}
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-2} TOKENIZERS_PARALLELISM=false HF_HUB_OFFLINE=1
CLAMP=".venv/bin/clamp"

# 1. Masked-patch pre-training of a small music encoder (hidden 384, 4 layers).
$CLAMP pretrain-music "$DATA" --out "$WORK/pretrain" --preset small --epochs "$PRE_EPOCHS" \
  --batch-size 32 --lr 3e-4 --warmup-steps 100 --max-patches 96 --save-every-steps 100 --seed "$SEED"
# 2. Contrastive training with CLaMP text dropout; all-MiniLM-L6-v2 locked, text_proj trained.
$CLAMP train "$DATA" --init "$WORK/pretrain" --out "$WORK/contrastive" --epochs "$EPOCHS" \
  --batch-size 64 --lr 2e-4 --warmup-steps 100 --max-patches 96 --save-every-steps 100 --seed "$SEED"
# 3. Evaluation on the frozen test split, then the fp16 package copy with its model card.
$CLAMP evaluate "$WORK/contrastive" --data "$DATA" --out bench/results/quality.json
.venv/bin/python -m clamp_core.model_card "$WORK/contrastive" clamp_core/data/default_model \
  --quality bench/results/quality.json --recipe "scripts/train_default_model.sh (SEED=$SEED PRE_EPOCHS=$PRE_EPOCHS EPOCHS=$EPOCHS)" \
  --data-summary "${DATA%.jsonl}.summary.json"
