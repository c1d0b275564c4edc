#!/usr/bin/env bash
# Scores ARC-Easy with lm-evaluation-harness on CPU (HF transformers loading the same GGUF file),
# for comparison with `bench run --tasks arc_easy`. Needs a venv with:
#   pip install lm-eval transformers gguf torch accelerate sentencepiece
# ARC_SUBSET=Challenge runs lm-eval's arc_challenge the same way (task arc_challenge_local).
# usage: scripts/lmeval/run_arc_easy.sh VENV_PYTHON LIMIT OUT_DIR
set -euo pipefail
PY=${1:?python of a venv with lm-eval}; LIMIT=${2:-200}; OUT=${3:-/tmp/lmeval-arc-easy}
HERE=$(cd "$(dirname "$0")" && pwd); ROOT=$(cd "$HERE/../.." && pwd)
. "$HERE/common.sh"
SUBSET=${ARC_SUBSET:-Easy}
case "$SUBSET" in Easy|Challenge) ;; *) echo "ARC_SUBSET must be Easy or Challenge" >&2; exit 2;; esac
TASK=arc_$(echo "$SUBSET" | tr '[:upper:]' '[:lower:]')_local
WORK=$(mktemp -d)
# lm-eval's arc_challenge.yaml is arc_easy.yaml with the dataset name changed.
sed "s/Easy/$SUBSET/g; s/arc_easy_local/$TASK/" "$HERE/arc_easy_local.yaml" > "$WORK/$TASK.yaml"
"$PY" "$HERE/convert_arc.py" "$ROOT/tasks/arc/ARC-$SUBSET-Train.jsonl" "$WORK/ARC-$SUBSET-train.hf.jsonl"
"$PY" "$HERE/convert_arc.py" "$ROOT/tasks/arc/ARC-$SUBSET-Test.jsonl" "$WORK/ARC-$SUBSET-test.hf.jsonl"
run_lm_eval "$PY" "$ROOT" "$WORK" "$TASK" "$LIMIT" "$OUT"
