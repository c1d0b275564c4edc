#!/usr/bin/env bash
# The oracle and the static control beside the routers, for one model, end to end (issue 15):
#   1. routers trained on the model's MCTS records, with the training report
#      (reports/<model>/router-training.*: held-out scores beside always "execute", the curve),
#   2. the static control path chosen on the same records (reports/<model>/static-path.*),
#   3. the oracle: MCTS on the first N test documents of each task (results/<model>/oracle-mcts.jsonl),
#   4. `bench run` of the static path and of the routers on the same documents,
#   5. the table baseline / static / routers / oracle (reports/<model>/control.{md,csv,svg}).
# Every step resumes where it stopped (records are appended per document; training and the static
# path are recomputed, deterministically). The baseline run must already cover the documents
# (`bench run --config baseline --tasks TASKS --limit N`).
#
#   scripts/control/run_control.sh MODEL RECORDS ROUTERS ROUTED_RUN [N] [TASKS]
#
#   MODEL       registry name, e.g. qwen2.5-coder-0.5b-instruct
#   RECORDS     MCTS supervision file (bench mcts output)
#   ROUTERS     router file to write and run
#   ROUTED_RUN  run name of the routed run (e.g. routed, or routed-arc1000 beside older routers)
#   N           test documents per task (default 100)
#   TASKS       comma-separated tasks (default arc_easy,arc_challenge)
#
# Environment: BENCH (default .build/release/bench), THREADS (default 2), PER_TASK (training
# examples per task judged for the static path, default 100), SKIP_TRAINING=1 to keep ROUTERS.
set -euo pipefail
[ $# -ge 4 ] || { sed -n 2,27p "$0" >&2; exit 2; }
model=$1 records=$2 routers=$3 routed=$4 n=${5:-100} tasks=${6:-arc_easy,arc_challenge}
bench=${BENCH:-.build/release/bench} threads=${THREADS:-2} per_task=${PER_TASK:-100}
cd "$(dirname "$0")/../.."
say() { printf '[control] %s %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

if [ "${SKIP_TRAINING:-0}" != 1 ]; then
  say "training routers on $records -> $routers"
  "$bench" train-router --model "$model" --threads "$threads" --records "$records" --output "$routers" > /dev/null
fi
say "choosing the static path from $records"
path=$("$bench" static-path --model "$model" --threads "$threads" --records "$records" --per-task "$per_task" \
  | python3 -c 'import json, sys; d = json.load(sys.stdin); print(",".join(map(str, d["candidates"][d["chosen"]]["path"])))')
say "static path: $path"
mix=$(printf '%s' "$tasks" | tr ',' '\n' | sed "s/\$/:$n/" | paste -sd, -)
say "oracle on $mix"
"$bench" oracle --model "$model" --threads "$threads" --tasks "$mix" > /dev/null
say "static run"
"$bench" run --model "$model" --threads "$threads" --tasks "$tasks" --limit "$n" --path "$path" --name static > /dev/null
say "routed run ($routed)"
"$bench" run --model "$model" --threads "$threads" --tasks "$tasks" --limit "$n" --config routed --router "$routers" \
  --name "$routed" > /dev/null
say "control report"
"$bench" control-report --model "$model" --runs "baseline,static,$routed" \
  --command "scripts/control/run_control.sh $*" > /dev/null
say "wrote reports/$model/control.md"
