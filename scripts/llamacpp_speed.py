#!/usr/bin/env python3
"""Prefill and decode speed of llama.cpp on a GGUF model, for comparison with `bench perf`.

What it measures: llama.cpp through the `llama-cpp-python` bindings, 2 threads, on the same
repeated English sentence `bench perf` uses, cut to PREFILL_TOKENS tokens. Prefill = one
`eval` of those tokens from an empty cache; decode = DECODE_TOKENS single-token `eval`s after
it. Best of 3 repetitions each, printed as one line:
    prefill 256 tok: 345 tok/s; decode 64 tok: 118.6 tok/s
scripts/perf_line.py prints `bench perf`'s JSON in the same form, and
scripts/perf_vs_llamacpp.sh alternates the two.

Needs: python3 with `llama-cpp-python` (`pip install llama-cpp-python`, which compiles
llama.cpp: about 10 minutes on 2 cores).

Command (from the repository root, after scripts/setup.sh):

    python3 scripts/llamacpp_speed.py models/SmolLM2-135M-Instruct.Q4_1.gguf 256 64

usage: llamacpp_speed.py MODEL.gguf [PREFILL_TOKENS] [DECODE_TOKENS]
"""
import sys
import time

from llama_cpp import Llama

TEXT = "The quick brown fox jumps over the lazy dog while the scientist measures the boiling point of water. " * 64


def main():
    if not 2 <= len(sys.argv) <= 4:
        sys.exit(__doc__)
    model_path = sys.argv[1]
    n_prefill = int(sys.argv[2]) if len(sys.argv) > 2 else 256
    n_decode = int(sys.argv[3]) if len(sys.argv) > 3 else 64
    llm = Llama(model_path=model_path, n_ctx=4096, n_batch=512, n_threads=2, n_threads_batch=2,
                verbose=False, logits_all=False)
    tokens = llm.tokenize(TEXT.encode(), add_bos=False)[:n_prefill]
    best_prefill = best_decode = 0.0
    for _ in range(3):
        llm.reset()
        start = time.perf_counter()
        llm.eval(tokens)
        best_prefill = max(best_prefill, len(tokens) / (time.perf_counter() - start))
        start = time.perf_counter()
        for i in range(n_decode):
            llm.eval([tokens[i % len(tokens)]])
        best_decode = max(best_decode, n_decode / (time.perf_counter() - start))
    print(f"prefill {len(tokens)} tok: {best_prefill:.0f} tok/s; decode {n_decode} tok: {best_decode:.1f} tok/s")


if __name__ == "__main__":
    main()
