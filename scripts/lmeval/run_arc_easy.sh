#!/usr/bin/env bash
# Scores ARC-Easy with lm-evaluation-harness on CPU (HF transformers loading the same GGUF file),
# for comparison with `bench run --tasks arc_easy`. Needs a venv with:
#   pip install lm-eval transformers gguf torch accelerate sentencepiece
# usage: scripts/lmeval/run_arc_easy.sh VENV_PYTHON LIMIT OUT_DIR
set -euo pipefail
PY=${1:?python of a venv with lm-eval}; LIMIT=${2:-200}; OUT=${3:-/tmp/lmeval-arc-easy}
HERE=$(cd "$(dirname "$0")" && pwd); ROOT=$(cd "$HERE/../.." && pwd)
. "$HERE/common.sh"
WORK=$(mktemp -d)
cp "$HERE/arc_easy_local.yaml" "$WORK/"
"$PY" "$HERE/convert_arc.py" "$ROOT/tasks/arc/ARC-Easy-Train.jsonl" "$WORK/ARC-Easy-train.hf.jsonl"
"$PY" "$HERE/convert_arc.py" "$ROOT/tasks/arc/ARC-Easy-Test.jsonl" "$WORK/ARC-Easy-test.hf.jsonl"
run_lm_eval "$PY" "$ROOT" "$WORK" arc_easy_local "$LIMIT" "$OUT"
