#!/usr/bin/env bash
# GSM8K (5-shot, generative) with lm-evaluation-harness on CPU (HF transformers loading the same
# GGUF file), for comparison with `bench run --tasks gsm8k --config baseline`. lm-eval's own
# gsm8k.yaml (v3.0) is used with only the hub dataset swapped for the repo's tasks/gsm8k files
# (same schema: question, answer). Needs a venv with:
#   pip install lm-eval transformers gguf torch accelerate sentencepiece
# usage: scripts/lmeval/run_gsm8k.sh VENV_PYTHON LIMIT OUT_DIR
set -euo pipefail
PY=${1:?python of a venv with lm-eval}; LIMIT=${2:-20}; OUT=${3:-/tmp/lmeval-gsm8k}
HERE=$(cd "$(dirname "$0")" && pwd); ROOT=$(cd "$HERE/../.." && pwd)
. "$HERE/common.sh"
WORK=$(mktemp -d)
"$PY" - "$ROOT/tasks/gsm8k" "$WORK/gsm8k_local.yaml" <<'PYEOF'
import sys, yaml, pathlib, lm_eval
src, dst = sys.argv[1:3]
cfg = yaml.safe_load(open(pathlib.Path(lm_eval.__file__).parent / "tasks/gsm8k/gsm8k.yaml"))
cfg.pop("tag", None)
cfg.update(task="gsm8k_local", dataset_path="json", dataset_kwargs={"data_files": {
    "train": f"{src}/train.jsonl", "test": f"{src}/test.jsonl"}})
cfg.pop("dataset_name", None)
yaml.safe_dump(cfg, open(dst, "w"), sort_keys=False, allow_unicode=True)
PYEOF
run_lm_eval "$PY" "$ROOT" "$WORK" gsm8k_local "$LIMIT" "$OUT"
