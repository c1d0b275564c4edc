#!/usr/bin/env bash
# Loopback test of `bench run --backend openai` against llama.cpp's server (llama-cpp-python,
# installed into a venv by setup_llama_cpp_server.sh) serving the default GGUF:
#   1. the unpatched server, whose echoed prompt log-probabilities are shifted by one, is refused
#      with a message naming the fix;
#   2. through the patched server (llama_cpp_server.py --fix-echo-logprobs), ARC-Easy (first
#      $ARC_LIMIT) with the server killed mid-run: the run stops with a clear message, keeps its
#      records, and once the server is back the same command resumes to the records of an
#      uninterrupted run (first $REFERENCE_LIMIT compared, `seconds` aside);
#   3. GSM8K (first $GSM8K_LIMIT, generation) through it;
#   4. per-document agreement with the native engine on the same documents, written to $REPORT.
# Not part of `swift test`; `.ci/run` runs it after the Slurm test. Compiling llama-cpp-python takes
# about 3-4 minutes on 2 idle cores (once); the test itself about 13 minutes.
# usage: scripts/openai/test_llama_cpp_server.sh
# env:   BENCH (default .build/release/bench, else .build/debug/bench), VENV, ARC_LIMIT (100),
#        GSM8K_LIMIT (10), REFERENCE_LIMIT (24), THREADS (server and native threads, 1), REPORT
#        (default reports/openai-backend/llama-cpp-server.md; empty: no report)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
BENCH=${BENCH:-$( [ -x .build/release/bench ] && echo .build/release/bench || echo .build/debug/bench )}
VENV=${VENV:-$ROOT/.venv/llama-cpp-server}
ARC_LIMIT=${ARC_LIMIT:-100}; GSM8K_LIMIT=${GSM8K_LIMIT:-10}; REFERENCE_LIMIT=${REFERENCE_LIMIT:-24}
THREADS=${THREADS:-1}
REPORT=${REPORT-$ROOT/reports/openai-backend/llama-cpp-server.md}
MODEL_NAME=smollm2-135m-instruct
MODEL_FILE=$ROOT/models/SmolLM2-135M-Instruct.Q4_1.gguf
[ -x "$BENCH" ] || { echo "[openai-test] no bench binary at $BENCH (swift build -c release --product bench)" >&2; exit 2; }
[ -f "$MODEL_FILE" ] || bash scripts/setup.sh
bash scripts/openai/setup_llama_cpp_server.sh "$VENV"

WORK=$(mktemp -d)
SERVER_PID=
stop_server() { if [ -n "$SERVER_PID" ]; then kill -9 "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; SERVER_PID=; fi; }
trap 'stop_server; rm -rf "$WORK"' EXIT
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
URL=http://127.0.0.1:$PORT/v1
passed=0; failed=0
check() { if eval "$2"; then echo "[openai-test] ok: $1"; passed=$((passed + 1)); else echo "[openai-test] FAILED: $1" >&2; failed=$((failed + 1)); fi; }

start_server() {  # $1: --fix-echo-logprobs or nothing
  "$VENV/bin/python" scripts/openai/llama_cpp_server.py ${1:-} --model "$MODEL_FILE" --model_alias smollm2 \
    --n_threads "$THREADS" --n_ctx 2048 --host 127.0.0.1 --port "$PORT" >>"$WORK/server.log" 2>&1 &
  SERVER_PID=$!
  for _ in $(seq 120); do
    curl -sf "$URL/models" >/dev/null 2>&1 && return 0
    kill -0 "$SERVER_PID" 2>/dev/null || { cat "$WORK/server.log" >&2; return 1; }
    sleep 1
  done
  echo "[openai-test] the server did not answer within 120 s" >&2; return 1
}
served() {  # bench run through the server; extra arguments follow
  "$BENCH" run --backend openai --prompt-encoding text --base-url "$URL" --model "$MODEL_NAME" --served-model smollm2 \
    --name llamacpp "$@"
}
without_seconds() { python3 -c 'import json,sys
for line in open(sys.argv[1]):
    r = json.loads(line); r.pop("seconds", None); print(json.dumps(r, sort_keys=True))' "$1" | head -n "${2:-1000000}"; }

echo "[openai-test] 1. the unpatched server is refused"
start_server
set +e; served --tasks arc_easy --limit 2 --results "$WORK/unpatched" >"$WORK/unpatched.out" 2>&1; status=$?; set -e
check "unpatched server refused (exit $status)" '[ $status -ne 0 ] && grep -q "fix-echo-logprobs" "$WORK/unpatched.out"'
grep "^Error" "$WORK/unpatched.out" | head -c 600 | tee "$WORK/unpatched.error"; echo
stop_server

echo "[openai-test] 2. ARC-Easy through the patched server, killed mid-run and resumed"
start_server --fix-echo-logprobs
start=$(date +%s)
served --tasks arc_easy --limit "$REFERENCE_LIMIT" --results "$WORK/reference" >"$WORK/reference.out" 2>&1
reference_seconds=$(( $(date +%s) - start ))
records=$WORK/results/$MODEL_NAME/llamacpp/arc_easy.jsonl
served --tasks arc_easy --limit "$ARC_LIMIT" --results "$WORK/results" >"$WORK/killed.out" 2>&1 &
bench_pid=$!
for _ in $(seq 600); do
  [ -f "$records" ] && [ "$(wc -l <"$records")" -ge 16 ] && break
  sleep 1
done
stop_server
set +e; wait "$bench_pid"; status=$?; set -e
kept=$(wc -l <"$records")
cp "$records" "$WORK/kept.jsonl"
check "server killed: run stopped (exit $status) with a clear message, $kept records kept" \
  '[ $status -ne 0 ] && grep -q "rerun the same command to resume" "$WORK/killed.out" && [ "$kept" -ge 16 ] && [ "$kept" -lt "$ARC_LIMIT" ]'
grep "^Error" "$WORK/killed.out" | head -c 400 | tee "$WORK/killed.error"; echo
start_server --fix-echo-logprobs
start=$(date +%s)
served --tasks arc_easy --limit "$ARC_LIMIT" --results "$WORK/results" >"$WORK/resumed.out" 2>&1
arc_seconds=$(( $(date +%s) - start ))
check "resumed to $ARC_LIMIT records" '[ "$(wc -l <"$records")" -eq "$ARC_LIMIT" ]'
check "records written before the kill unchanged" 'cmp -s "$WORK/kept.jsonl" <(head -n "$kept" "$records")'
check "first $REFERENCE_LIMIT records equal an uninterrupted run's" \
  'diff <(without_seconds "$records" "$REFERENCE_LIMIT") <(without_seconds "$WORK/reference/$MODEL_NAME/llamacpp/arc_easy.jsonl") >/dev/null'

echo "[openai-test] 3. GSM8K (generation) through the patched server"
start=$(date +%s)
served --tasks gsm8k --limit "$GSM8K_LIMIT" --results "$WORK/results" >"$WORK/gsm8k.out" 2>&1
gsm8k_seconds=$(( $(date +%s) - start ))
check "GSM8K: $GSM8K_LIMIT records" '[ "$(wc -l <"$WORK/results/$MODEL_NAME/llamacpp/gsm8k.jsonl")" -eq "$GSM8K_LIMIT" ]'
stop_server

echo "[openai-test] 4. the native engine on the same documents"
"$BENCH" run --model "$MODEL_NAME" --config baseline --threads "$THREADS" --tasks arc_easy --limit "$ARC_LIMIT" --results "$WORK/native" >/dev/null 2>&1
"$BENCH" run --model "$MODEL_NAME" --config baseline --threads "$THREADS" --tasks gsm8k --limit "$GSM8K_LIMIT" --results "$WORK/native" >/dev/null 2>&1
python3 scripts/openai/compare_records.py "$WORK/native/$MODEL_NAME/baseline/arc_easy.jsonl" "$records" --title "ARC-Easy, first $ARC_LIMIT" >"$WORK/arc.md"
python3 scripts/openai/compare_records.py "$WORK/native/$MODEL_NAME/baseline/gsm8k.jsonl" "$WORK/results/$MODEL_NAME/llamacpp/gsm8k.jsonl" --title "GSM8K, first $GSM8K_LIMIT (strict and flexible match)" >"$WORK/gsm8k.md"
cat "$WORK/arc.md" "$WORK/gsm8k.md"
arc_agree=$(sed -nE '1s/.*: ([0-9]+)\/([0-9]+) documents agree.*/\1/p' "$WORK/arc.md")
check "ARC-Easy: chosen answers agree on >= 98% ($arc_agree/$ARC_LIMIT)" '[ $((arc_agree * 100)) -ge $((98 * ARC_LIMIT)) ]'

if [ -n "$REPORT" ]; then
  mkdir -p "$(dirname "$REPORT")"
  {
    echo "# \`--backend openai\` against llama.cpp's server: agreement with the native engine"
    echo
    echo "Generated by \`scripts/openai/test_llama_cpp_server.sh\` ($(date -u +%Y-%m-%d), $(nproc) cores, server and native engine on $THREADS thread(s))."
    echo "Server: llama-cpp-python $("$VENV/bin/python" -c 'import llama_cpp; print(llama_cpp.__version__)') (\`scripts/openai/llama_cpp_server.py --fix-echo-logprobs --model models/SmolLM2-135M-Instruct.Q4_1.gguf --model_alias smollm2 --n_threads $THREADS --n_ctx 2048\`),"
    echo "client: \`bench run --backend openai --prompt-encoding text --base-url http://127.0.0.1:PORT/v1 --model $MODEL_NAME --served-model smollm2 --name llamacpp --tasks arc_easy --limit $ARC_LIMIT\` (and \`--tasks gsm8k --limit $GSM8K_LIMIT\`);"
    echo "native: \`bench run --model $MODEL_NAME --config baseline --tasks … --limit …\` on the same documents."
    echo "llama.cpp computes with the GGUF's Q4_1 weights and quantises activations to 8 bits in its matrix products; the native engine"
    echo "dequantises the weights and computes in fp32, so log-likelihoods differ slightly and near-ties can flip."
    echo
    echo "## Checks: $passed passed, $failed failed"
    echo
    echo "- The unpatched server is refused: \`$(tr -d '\n' <"$WORK/unpatched.error" | cut -c1-400)\`"
    echo "- Server killed after $kept of $ARC_LIMIT ARC-Easy records: \`$(tr -d '\n' <"$WORK/killed.error" | cut -c1-300)\`; the same command, with the server back, finished the run; the $kept records kept are byte-identical, and the first $REFERENCE_LIMIT equal an uninterrupted run's (\`seconds\` aside)."
    echo "- Wall time through the server: ARC-Easy resumed part $arc_seconds s, uninterrupted $REFERENCE_LIMIT documents $reference_seconds s, GSM8K $GSM8K_LIMIT documents $gsm8k_seconds s."
    echo
    echo "## Per-document agreement"
    echo
    sed 's/^### /### /' "$WORK/arc.md" "$WORK/gsm8k.md"
  } >"$REPORT"
  echo "[openai-test] report: $REPORT"
fi
echo "openai-backend: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
