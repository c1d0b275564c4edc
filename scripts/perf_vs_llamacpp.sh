#!/usr/bin/env bash
# Prefill/decode speed of bench and of llama.cpp (llama-cpp-python) on the same GGUF, 2 threads,
# alternating in one run so both see the same machine state.
# usage: scripts/perf_vs_llamacpp.sh PYTHON_WITH_LLAMA_CPP [ROUNDS]
#   MODEL=models/<file>.gguf picks another model (default SmolLM2-135M-Instruct).
#   (pip install llama-cpp-python gguf numpy — builds llama.cpp, ~10 minutes)
# llama.cpp is timed by scripts/llamacpp_speed.py, bench by `bench perf` (formatted by scripts/perf_line.py).
set -euo pipefail
PY=${1:?python of a venv with llama-cpp-python}; ROUNDS=${2:-3}
cd "$(dirname "$0")/.."
MODEL=${MODEL:-models/SmolLM2-135M-Instruct.Q4_1.gguf}
TOOL=scripts/llamacpp_speed.py
swift build -c release --product bench >/dev/null
for r in $(seq "$ROUNDS"); do
    .build/release/bench perf --model "$MODEL" --prompt-tokens 256 --gen-tokens 64 --repetitions 3 --threads 2 \
        | "$PY" scripts/perf_line.py
    printf 'llama.cpp  '; "$PY" "$TOOL" "$MODEL" 256 64
done
