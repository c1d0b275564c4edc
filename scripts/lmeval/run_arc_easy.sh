#!/usr/bin/env bash
# Scores ARC-Easy with lm-evaluation-harness on CPU (HF transformers loading the same GGUF file),
# for comparison with `bench run --tasks arc_easy`. Needs a venv with:
#   pip install lm-eval transformers gguf torch accelerate sentencepiece
# usage: scripts/lmeval/run_arc_easy.sh VENV_PYTHON LIMIT OUT_DIR
set -euo pipefail
PY=${1:?python of a venv with lm-eval}; LIMIT=${2:-200}; OUT=${3:-/tmp/lmeval-arc-easy}
HERE=$(cd "$(dirname "$0")" && pwd); ROOT=$(cd "$HERE/../.." && pwd)
WORK=$(mktemp -d)
cp "$HERE/arc_easy_local.yaml" "$WORK/"
"$PY" "$HERE/convert_arc.py" "$ROOT/tasks/arc/ARC-Easy-Train.jsonl" "$WORK/ARC-Easy-train.hf.jsonl"
"$PY" "$HERE/convert_arc.py" "$ROOT/tasks/arc/ARC-Easy-Test.jsonl" "$WORK/ARC-Easy-test.hf.jsonl"
cd "$WORK"
HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 "$PY" -m lm_eval --model hf \
  --model_args "pretrained=$ROOT/models,gguf_file=SmolLM2-135M-Instruct.Q4_1.gguf,dtype=float32" \
  --tasks arc_easy_local --include_path "$WORK" --limit "$LIMIT" --batch_size 1 --device cpu \
  --output_path "$OUT" --log_samples
