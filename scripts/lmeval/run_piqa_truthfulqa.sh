#!/usr/bin/env bash
# PIQA and TruthfulQA-MC1 with lm-evaluation-harness on CPU (HF transformers loading the same GGUF),
# for comparison with `bench run --tasks piqa,truthfulqa_mc1`. lm-eval's own piqa.yaml (v1.0) and
# truthfulqa_mc1.yaml (v2.0) are used with only the hub datasets swapped for the repo's
# tasks/piqa and tasks/truthfulqa files, converted to the hub schemas (goal/sol1/sol2/label;
# question/mc1_targets{choices,labels}), in the repo's document order. Needs a venv with:
#   pip install lm-eval transformers gguf torch accelerate sentencepiece
# usage: scripts/lmeval/run_piqa_truthfulqa.sh VENV_PYTHON LIMIT OUT_DIR
set -euo pipefail
PY=${1:?python of a venv with lm-eval}; LIMIT=${2:-20}; OUT=${3:-/tmp/lmeval-piqa-tqa}
HERE=$(cd "$(dirname "$0")" && pwd); ROOT=$(cd "$HERE/../.." && pwd)
. "$HERE/common.sh"
WORK=$(mktemp -d)
"$PY" - "$ROOT/tasks" "$WORK" <<'PYEOF'
import json, pathlib, sys, yaml, lm_eval
tasks, work = sys.argv[1:3]
installed = pathlib.Path(lm_eval.__file__).parent / "tasks"
labels = open(f"{tasks}/piqa/valid-labels.lst").read().split()
with open(f"{tasks}/piqa/valid.jsonl") as f, open(f"{work}/piqa.jsonl", "w") as out:
    for line, label in zip(f, labels):
        d = json.loads(line)
        out.write(json.dumps({"goal": d["goal"], "sol1": d["sol1"], "sol2": d["sol2"], "label": int(label)}) + "\n")
with open(f"{work}/truthfulqa.jsonl", "w") as out:
    for d in json.load(open(f"{tasks}/truthfulqa/mc_task.json")):
        out.write(json.dumps({"question": d["question"],
                              "mc1_targets": {"choices": list(d["mc1_targets"]), "labels": list(d["mc1_targets"].values())}}) + "\n")
for name, source, data in (("piqa", "piqa/piqa.yaml", "piqa.jsonl"), ("truthfulqa_mc1", "truthfulqa/truthfulqa_mc1.yaml", "truthfulqa.jsonl")):
    cfg = yaml.safe_load(open(installed / source))
    for key in ("tag", "dataset_name", "training_split", "test_split"):
        cfg.pop(key, None)
    cfg.update(task=f"{name}_local", dataset_path="json", validation_split="validation",
               dataset_kwargs={"data_files": {"validation": f"{work}/{data}"}})
    yaml.safe_dump(cfg, open(f"{work}/{name}_local.yaml", "w"), sort_keys=False, allow_unicode=True)
PYEOF
run_lm_eval "$PY" "$ROOT" "$WORK" piqa_local,truthfulqa_mc1_local "$LIMIT" "$OUT"
