#!/usr/bin/env bash
# GPQA Diamond zero-shot (lm-eval's gpqa_diamond_zeroshot v2.2) with lm-evaluation-harness on CPU
# (HF transformers loading the same GGUF), for comparison with `bench run --tasks gpqa_diamond`.
# The task is lm-eval's own YAML and process_docs (answers shuffled with Python's global random,
# which lm-eval seeds with 0), copied at run time from the installed package; only the gated hub
# dataset is swapped for the CSV that scripts/setup.sh decrypts into tasks/gpqa/decrypted/.
# Prints nothing of the questions. Needs a venv with:
#   pip install lm-eval transformers gguf torch accelerate sentencepiece
# usage: scripts/lmeval/run_gpqa.sh VENV_PYTHON LIMIT OUT_DIR
set -euo pipefail
PY=${1:?python of a venv with lm-eval}; LIMIT=${2:-20}; OUT=${3:-/tmp/lmeval-gpqa}
HERE=$(cd "$(dirname "$0")" && pwd); ROOT=$(cd "$HERE/../.." && pwd)
. "$HERE/common.sh"
CSV="$ROOT/tasks/gpqa/decrypted/dataset/gpqa_diamond.csv"
[ -f "$CSV" ] || { echo "missing $CSV: run scripts/setup.sh" >&2; exit 1; }
WORK=$(mktemp -d)
"$PY" - "$CSV" "$WORK" <<'PYEOF'
import pathlib, shutil, sys, yaml, lm_eval
csv, work = sys.argv[1:3]
zeroshot = pathlib.Path(lm_eval.__file__).parent / "tasks/gpqa/zeroshot"
shutil.copy(zeroshot / "utils.py", f"{work}/utils.py")
text = open(zeroshot / "_gpqa_zeroshot_yaml").read().replace("!function utils.process_docs", "FUNCTION_PLACEHOLDER")
cfg = yaml.safe_load(text)
cfg.pop("tag", None)
cfg.update(task="gpqa_diamond_local", dataset_path="csv", dataset_kwargs={"data_files": {"train": csv}})
out = yaml.safe_dump(cfg, sort_keys=False, allow_unicode=True).replace("FUNCTION_PLACEHOLDER", "!function utils.process_docs")
open(f"{work}/gpqa_diamond_local.yaml", "w").write(out)
PYEOF
run_lm_eval "$PY" "$ROOT" "$WORK" gpqa_diamond_local "$LIMIT" "$OUT"
