#!/usr/bin/env bash
# AGIEval (English, lm-eval's agieval_en group: nine multiple-choice subsets and agieval_math) with
# lm-evaluation-harness, for comparison with `bench run --tasks agieval_en`. lm-eval's own
# agieval/<subset>.yaml (v1.0) are used through `include:`, with only the hub datasets
# (hails/agieval-*) swapped for the first LIMIT documents of each subset as `bench prompt --json`
# prints them, in the hub schema: query (the zero-shot prompt AGIEval's convert_zero_shot builds),
# choices, gold (indices), answer (agieval_math). The hub copies are prebuilt the same way from the
# same files (tasks/agieval/PROVENANCE.md), but cannot be fetched here; so this checks lm-eval's
# requests, scoring and metrics on our prompts, not our prompt construction (PromptGoldenTests does).
# Needs a venv with lm-eval; with LMEVAL_BASE_URL set it drives a served model (see common.sh).
# usage: scripts/lmeval/run_agieval.sh VENV_PYTHON LIMIT OUT_DIR [BENCH]
set -euo pipefail
PY=${1:?python of a venv with lm-eval}; LIMIT=${2:-10}; OUT=${3:-/tmp/lmeval-agieval}
HERE=$(cd "$(dirname "$0")" && pwd); ROOT=$(cd "$HERE/../.." && pwd)
BENCH=${4:-$( [ -x "$ROOT/.build/release/bench" ] && echo "$ROOT/.build/release/bench" || echo "$ROOT/.build/debug/bench" )}
. "$HERE/common.sh"
WORK=$(mktemp -d)
SUBSETS="aqua-rat gaokao-english logiqa-en lsat-ar lsat-lr lsat-rc math sat-en-without-passage sat-en sat-math"
TASKS=""
for subset in $SUBSETS; do
  task=agieval_${subset//-/_}
  (cd "$ROOT" && "$BENCH" prompt "$task" --index 0 --count "$LIMIT" --json) > "$WORK/$task.prompts.jsonl"
  TASKS="$TASKS${TASKS:+,}${task}_local"
done
"$PY" - "$WORK" "$SUBSETS" <<'PYEOF'
import json, pathlib, sys, lm_eval
work, subsets = sys.argv[1], sys.argv[2].split()
installed = pathlib.Path(lm_eval.__file__).parent / "tasks" / "agieval"
for subset in subsets:
    task = "agieval_" + subset.replace("-", "_")
    with open(f"{work}/{task}.prompts.jsonl") as f, open(f"{work}/{task}.jsonl", "w") as out:
        for line in f:
            p = json.loads(line)
            if p.get("generation"):               # agieval_math: generate_until on the query
                doc = {"query": p["generation"]["context"], "answer": p["target"]}
            else:                                 # lm-eval joins query and choice with " "
                assert all(c.startswith(" ") for c in p["continuations"]), p["id"]
                doc = {"query": p["context"], "choices": [c[1:] for c in p["continuations"]],
                       "gold": [ord(letter) - ord("A") for letter in p["target"]]}
            out.write(json.dumps(doc, ensure_ascii=False) + "\n")
    (pathlib.Path(work) / f"{task}_local.yaml").write_text(
        f"include: {installed / (subset + '.yaml')}\ntask: {task}_local\ndataset_path: json\ndataset_name: null\n"
        f"dataset_kwargs:\n  data_files:\n    test: {work}/{task}.jsonl\ntest_split: test\n")
PYEOF
run_lm_eval "$PY" "$ROOT" "$WORK" "$TASKS" "$LIMIT" "$OUT"
