#!/usr/bin/env bash
# Share of prompt tokens the prefix cache serves, per task of the OOD suite, on the first
# documents of each task, into a scratch results folder. Prints one Markdown row per task from the
# line `bench run` writes after each task ("prefix cache: R of P prompt tokens ...").
#
#   scripts/speed/prefix_share.sh [BENCH]     (default .build/release/bench)
#   CONFIG=routed scripts/speed/prefix_share.sh   (the routed configuration, default routers;
#                                                  default CONFIG=baseline)
#
# Limits (per subtask for the groups, as --limit means): a few minutes in all on 2 cores. AIME24
# runs with --max-gen-tokens 1: its prompts are what is measured, and its answers take ~55 s each.
set -euo pipefail
bench=${1:-.build/release/bench}
config=${CONFIG:-baseline}
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
echo "| task | documents | prompt tokens | served from the cache | share | prompts reusing a prefix |"
echo "|---|---:|---:|---:|---:|---:|"
for spec in squadv2:100 truthfulqa_mc1:100 piqa:100 mmlu:3 agieval_en:10 gsm8k:40 gpqa_diamond:20 aime24:5; do
  task=${spec%%:*} limit=${spec##*:}
  extra=(); [ "$task" = aime24 ] && extra=(--max-gen-tokens 1)
  "$bench" run --tasks "$task" --limit "$limit" --config "$config" --results "$scratch" "${extra[@]}" > "$scratch/$task.log" 2>&1 \
    || { echo "$0: $task failed:" >&2; tail -5 "$scratch/$task.log" >&2; exit 1; }
  line=$(grep -o 'prefix cache: .*' "$scratch/$task.log" | tail -1)
  docs=$(wc -l < "$scratch/smollm2-135m-instruct/$config/$task.jsonl")
  python3 - "$task" "$docs" "$line" <<'PY'
import re, sys
task, docs, line = sys.argv[1:4]
m = re.match(r"prefix cache: (\d+) of (\d+) prompt tokens \(([\d.]+)%\) reused by (\d+) of (\d+) prompts", line)
r, p, share, hits, prompts = m.groups()
print(f"| {task} | {docs} | {int(p):,} | {int(r):,} | {share}% | {hits} of {prompts} |")
PY
done
