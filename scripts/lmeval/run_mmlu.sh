#!/usr/bin/env bash
# MMLU (0-shot, lm-eval's default `mmlu_<subject>` tasks v1.0) with lm-evaluation-harness on CPU
# (HF transformers loading the same GGUF), for comparison with `bench run --tasks mmlu`. Each
# subject's task is lm-eval's own YAML (template + subject file, read from the installed package)
# with the hub dataset `cais/mmlu` swapped for the repo's tasks/mmlu CSV files, converted to its
# schema (question, subject, choices, answer index). Needs a venv with:
#   pip install lm-eval transformers gguf torch accelerate sentencepiece
# usage: scripts/lmeval/run_mmlu.sh VENV_PYTHON LIMIT_PER_SUBJECT OUT_DIR
set -euo pipefail
PY=${1:?python of a venv with lm-eval}; LIMIT=${2:-10}; OUT=${3:-/tmp/lmeval-mmlu}
HERE=$(cd "$(dirname "$0")" && pwd); ROOT=$(cd "$HERE/../.." && pwd)
. "$HERE/common.sh"
WORK=$(mktemp -d)
TASKS=$("$PY" - "$ROOT/tasks/mmlu" "$WORK" <<'PYEOF'
import csv, glob, json, os, pathlib, sys, yaml, lm_eval
src, work = sys.argv[1:3]
default = pathlib.Path(lm_eval.__file__).parent / "tasks/mmlu/default"
template = yaml.safe_load(open(default / "_default_template_yaml"))
names = []
for path in sorted(glob.glob(f"{src}/test/*_test.csv")):
    subject = os.path.basename(path)[:-len("_test.csv")]
    for split, folder in (("test", "test"), ("dev", "dev")):
        with open(f"{src}/{folder}/{subject}_{split}.csv", newline="", encoding="utf-8") as f, \
             open(f"{work}/{subject}_{split}.jsonl", "w") as out:
            for row in csv.reader(f):
                out.write(json.dumps({"question": row[0], "subject": subject, "choices": row[1:5],
                                      "answer": "ABCD".index(row[5].strip())}) + "\n")
    cfg = dict(template)
    cfg.update({k: v for k, v in yaml.safe_load(open(default / f"mmlu_{subject}.yaml")).items()
                if k not in ("include", "tag", "dataset_name")})
    cfg.update(task=f"mmlu_local_{subject}", dataset_path="json",
               dataset_kwargs={"data_files": {"test": f"{work}/{subject}_test.jsonl", "dev": f"{work}/{subject}_dev.jsonl"}})
    yaml.safe_dump(cfg, open(f"{work}/mmlu_local_{subject}.yaml", "w"), sort_keys=False, allow_unicode=True)
    names.append(cfg["task"])
print(",".join(names))
PYEOF
)
run_lm_eval "$PY" "$ROOT" "$WORK" "$TASKS" "$LIMIT" "$OUT"
