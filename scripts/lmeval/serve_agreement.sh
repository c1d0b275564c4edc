#!/usr/bin/env bash
# lm-evaluation-harness itself as the judge of our task implementations through HTTP: installs
# lm-eval 0.4.9.1 (pinned, with torch and transformers<5) into a venv, makes a Hugging Face
# tokenizer folder from the GGUF (no hub contact), starts `bench serve` on a free loopback port
# and runs lm-eval's own `local-completions` model against it on the repo's task data (the
# run_*.sh task setups of this folder) for ARC-Easy, ARC-Challenge, PIQA, TruthfulQA-MC1 (first
# $LIMIT each), AGIEval's English subsets (first $AGIEVAL_LIMIT each) and GSM8K (first
# $GSM8K_LIMIT), as `baseline` (model M) and `routed` (model
# M:routed); then compares every document with the committed `bench run` records, and the served
# routed answers also with a `bench run --routing-input sequence` run of the same documents
# (compare_served.py), into reports/lmeval-agreement/README.md.
# usage: scripts/lmeval/serve_agreement.sh
# env:   BENCH (default .build/release/bench, else .build/debug/bench), VENV, LIMIT (100),
#        GSM8K_LIMIT (10), AGIEVAL_LIMIT (10 per subset), CONFIGS ("baseline routed"), THREADS (2), OUT (a temp folder), REPORT
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
BENCH=${BENCH:-$( [ -x .build/release/bench ] && echo .build/release/bench || echo .build/debug/bench )}
BENCH=$(cd "$(dirname "$BENCH")" && pwd)/$(basename "$BENCH")
VENV=${VENV:-$ROOT/.venv/lm-eval-serve}
LIMIT=${LIMIT:-100}; GSM8K_LIMIT=${GSM8K_LIMIT:-10}; AGIEVAL_LIMIT=${AGIEVAL_LIMIT:-10}; CONFIGS=${CONFIGS:-baseline routed}; THREADS=${THREADS:-2}
OUT=${OUT:-$(mktemp -d)}; REPORT=${REPORT:-reports/lmeval-agreement/README.md}
MODEL=smollm2-135m-instruct
log() { echo "[serve-agreement] $*" >&2; }
if ! "$VENV/bin/python" -c "import lm_eval, tenacity, transformers, gguf" 2>/dev/null; then
  log "installing lm-eval 0.4.9.1 into $VENV (torch included: a few GB, once)"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q --upgrade pip
  "$VENV/bin/pip" install -q "lm-eval==0.4.9.1" "transformers>=4.45,<5" gguf sentencepiece tenacity tiktoken
fi
PY=$VENV/bin/python
TOKENIZER=$OUT/hf-tokenizer
# transformers derives the tokenizer from the GGUF without SmolLM2's pre-tokenizer, which splits
# digits one by one before the byte-level split (the GGUF names it only as `tokenizer.ggml.pre =
# smollm`): without it, "students.  25" gets two one-space ids where SmolLM2's tokenizer (and
# llama.cpp's, and bench's) has one two-space id, and lm-eval would send other prompt ids than the
# model's own. The folder gets SmolLM2's pre-tokenizer back; `scripts/lmeval/served_tokenization.py`
# shows what the unpatched one changes.
"$PY" - "$ROOT/models" "$TOKENIZER" <<'PYEOF'
import sys
from tokenizers import pre_tokenizers
from transformers import AutoTokenizer
tok = AutoTokenizer.from_pretrained(sys.argv[1], gguf_file="SmolLM2-135M-Instruct.Q4_1.gguf")
tok.backend_tokenizer.pre_tokenizer = pre_tokenizers.Sequence([
    pre_tokenizers.Digits(individual_digits=True),
    pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)])
tok.save_pretrained(sys.argv[2])
PYEOF
"$BENCH" serve --model "$MODEL" --port 0 --threads "$THREADS" > "$OUT/serve.out" 2> "$OUT/serve.err" &
SERVER=$!
trap 'kill $SERVER 2>/dev/null || true' EXIT
for _ in $(seq 1 120); do grep -q listening "$OUT/serve.out" 2>/dev/null && break; sleep 0.5; done
BASE=$(python3 -c "import json,sys; print(json.loads(open(sys.argv[1]).readline())['listening'])" "$OUT/serve.out")
log "bench serve at $BASE"
pairs=""
for config in $CONFIGS; do
  served=$MODEL; [ "$config" = routed ] && served=$MODEL:routed
  export LMEVAL_BASE_URL=$BASE LMEVAL_SERVED_MODEL=$served LMEVAL_TOKENIZER=$TOKENIZER
  for subset in Easy Challenge; do
    log "$config: ARC-$subset, first $LIMIT"
    ARC_SUBSET=$subset bash scripts/lmeval/run_arc_easy.sh "$PY" "$LIMIT" "$OUT/$config" > "$OUT/$config-arc-$subset.log" 2>&1
  done
  log "$config: PIQA and TruthfulQA-MC1, first $LIMIT"
  bash scripts/lmeval/run_piqa_truthfulqa.sh "$PY" "$LIMIT" "$OUT/$config" > "$OUT/$config-piqa-tqa.log" 2>&1
  log "$config: AGIEval (agieval_en's ten subsets), first $AGIEVAL_LIMIT of each"
  bash scripts/lmeval/run_agieval.sh "$PY" "$AGIEVAL_LIMIT" "$OUT/$config" "$BENCH" > "$OUT/$config-agieval.log" 2>&1
  log "$config: GSM8K, first $GSM8K_LIMIT"
  bash scripts/lmeval/run_gsm8k.sh "$PY" "$GSM8K_LIMIT" "$OUT/$config" > "$OUT/$config-gsm8k.log" 2>&1
  pairs="$pairs${pairs:+,}$config=$config"
done
# The served routed model routes each choice on context + choice (one prompt per request);
# `bench run --routing-input sequence` does the same, so those records must agree like the baseline's.
case " $CONFIGS " in *" routed "*)
  log "routed: bench run --routing-input sequence, first $LIMIT"
  "$BENCH" run --model "$MODEL" --tasks arc_easy,arc_challenge,piqa,truthfulqa_mc1 --limit "$LIMIT" --config routed \
    --routing-input sequence --name routed-sequence --threads "$THREADS" --results "$OUT/results" > "$OUT/routed-sequence.log" 2>&1
  "$BENCH" run --model "$MODEL" --tasks agieval_en --limit "$AGIEVAL_LIMIT" --config routed \
    --routing-input sequence --name routed-sequence --threads "$THREADS" --results "$OUT/results" >> "$OUT/routed-sequence.log" 2>&1
  pairs="$pairs,routed=$OUT/results/$MODEL/routed-sequence" ;;
esac
mkdir -p "$(dirname "$REPORT")"
python3 scripts/lmeval/compare_served.py "$OUT" "results/$MODEL" "$REPORT" "$pairs" \
  "LIMIT=$LIMIT GSM8K_LIMIT=$GSM8K_LIMIT AGIEVAL_LIMIT=$AGIEVAL_LIMIT CONFIGS=\"$CONFIGS\" bash scripts/lmeval/serve_agreement.sh"
log "report: $REPORT; lm-eval outputs: $OUT"
