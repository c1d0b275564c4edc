#!/usr/bin/env bash
# Batched decode against one sequence, side by side: `bench perf --batch B` and `--batch 1` alternate
# for ROUNDS rounds at each prompt length, and a Markdown table gives every round's decode tokens/s
# (of all B sequences together) and the medians' ratio. Run on an idle machine.
# usage: scripts/speed/batch_decode.sh [ROUNDS] [BATCH] [PROMPT_LENGTHS...]
#   env: BENCH (default .build/release/bench), MODEL (default: the registry's), THREADS (2), GEN (64)
set -euo pipefail
cd "$(dirname "$0")/../.."
ROUNDS=${1:-3}; BATCH=${2:-16}; shift $(( $# > 2 ? 2 : $# )); LENGTHS=${*:-256 1024}
BENCH=${BENCH:-.build/release/bench}; THREADS=${THREADS:-2}; GEN=${GEN:-64}
MODEL_ARGS=(); [ -n "${MODEL:-}" ] && MODEL_ARGS=(--model "$MODEL")
decode() {  # prompt batch -> decode tokens/s (median of 2 repetitions)
  "$BENCH" perf "${MODEL_ARGS[@]}" --threads "$THREADS" --prompt-tokens "$1" --gen-tokens "$GEN" --repetitions 2 --batch "$2" \
    | python3 -c "import json,sys; print(json.load(sys.stdin)['decode_tokens_per_second_median'])"
}
echo "\`BENCH=$BENCH MODEL=${MODEL:-default} THREADS=$THREADS GEN=$GEN scripts/speed/batch_decode.sh $ROUNDS $BATCH $LENGTHS\` (blas: $("$BENCH" perf "${MODEL_ARGS[@]}" --prompt-tokens 8 --gen-tokens 2 --repetitions 1 | python3 -c "import json,sys; print(json.load(sys.stdin).get('blas_core','?'))"))"
echo
echo "| prompt tokens | batch 1, each round (tok/s) | batch $BATCH, each round (tok/s, all sequences) | median 1 | median $BATCH | ratio |"
echo "|---:|---|---|---:|---:|---:|"
for n in $LENGTHS; do
  ones=(); many=()
  for _ in $(seq "$ROUNDS"); do ones+=("$(decode "$n" 1)"); many+=("$(decode "$n" "$BATCH")"); done
  python3 - "$n" "${ones[*]}" "${many[*]}" <<'PY'
import statistics, sys
n, ones, many = sys.argv[1], [float(x) for x in sys.argv[2].split()], [float(x) for x in sys.argv[3].split()]
a, b = statistics.median(ones), statistics.median(many)
print(f"| {n} | {', '.join(f'{x:.1f}' for x in ones)} | {', '.join(f'{x:.1f}' for x in many)} | {a:.1f} | {b:.1f} | {b / a:.2f}× |")
PY
done
