#!/usr/bin/env bash
# Exports committed runs with `bench export --format lm-eval` and reads them back with
# lm-evaluation-harness's own code (scripts/lmeval/check_export.py: make_table, its results and
# samples file helpers), checking every task row against `bench compare`'s CSV.
# Installs lm-eval (pinned, without its heavy dependencies: only lm_eval.utils is used) into
# .venv/lm-eval-export on first use.
# usage: scripts/lmeval/check_export.sh [MODEL] [RUN_A] [RUN_B]
#        (default smollm2-135m-instruct baseline routed; the CSV is reports/MODEL/RUN_A-vs-RUN_B.csv)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
MODEL=${1:-smollm2-135m-instruct}; RUN_A=${2:-baseline}; RUN_B=${3:-routed}
BENCH=${BENCH:-$( [ -x .build/release/bench ] && echo .build/release/bench || echo .build/debug/bench )}
VENV=${VENV:-$ROOT/.venv/lm-eval-export}
if ! "$VENV/bin/python" -c "import lm_eval.utils, pytablewriter" 2>/dev/null; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q --no-deps lm-eval==0.4.9.1
  "$VENV/bin/pip" install -q numpy pyyaml jinja2 pytablewriter
fi
CSV=reports/$MODEL/$RUN_A-vs-$RUN_B.csv
[ -f "$CSV" ] || { echo "no $CSV: run bench compare $RUN_A $RUN_B --model $MODEL first" >&2; exit 2; }
OUT=$(mktemp -d); trap 'rm -rf "$OUT"' EXIT
status=0
for side in a b; do
  run=$([ $side = a ] && echo "$RUN_A" || echo "$RUN_B")
  echo "== $MODEL/$run: bench export --format lm-eval --model $MODEL --run $run"
  "$BENCH" export --format lm-eval --model "$MODEL" --run "$run" --out "$OUT/$run" >/dev/null
  "$VENV/bin/python" scripts/lmeval/check_export.py "$OUT/$run" --compare "$CSV" --side $side || status=1
done
exit $status
