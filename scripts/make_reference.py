#!/usr/bin/env python3
"""llama.cpp reference token ids and log-likelihoods for a GGUF model.

Generates Tests/EngineTests/Fixtures/reference/smollm2-135m-instruct.llamacpp.json, which
Tests/EngineTests/TokenizerTests.swift (token ids) and ReferenceScoringTests.swift (greedy
decisions, log-likelihoods within 0.1 per token) read, and whose token ids
scripts/np_reference.py reuses for the float64 references.

From: the GGUF file and Tests/EngineTests/Fixtures/reference/cases.json
(`{"texts": [...], "pairs": [[context, continuation], ...]}`), run through llama.cpp by the
`llama-cpp-python` bindings (2 threads, context 2048, logits of every position kept).
- For each text: its ids with special-token parsing off (`ids`) and on (`ids_special`), no BOS.
- For each pair, as lm-evaluation-harness splits it: the context is tokenised on its own, the
  continuation's tokens are those of context+continuation after the context's tokens (when the
  joint tokenisation starts with the context's tokens; otherwise the two are tokenised apart).
  Then: the summed log-probability of the continuation tokens, each token's log-probability,
  whether each was the argmax (greedy), and the ten most likely tokens after the context.
  Log-softmax is taken in float64 over llama.cpp's float32 logits.

Needs: python3 with `llama-cpp-python` and `numpy` (`pip install llama-cpp-python numpy`
compiles llama.cpp, about 10 minutes on 2 cores). The log-probabilities depend on the llama.cpp
version and on the CPU's kernels (llama.cpp quantises activations to 8 bits for quantised
weights), so a rerun reproduces the token ids and greedy flags exactly, but the log-probabilities
only roughly (llama-cpp-python 0.3.36 built here: within 0.21 on a 10-token continuation, 0.08
on the shorter ones; near-tied entries of the top-10 lists swap places).

Exact command for the committed fixture (from the repository root, after scripts/setup.sh):

    R=Tests/EngineTests/Fixtures/reference
    python3 scripts/make_reference.py models/SmolLM2-135M-Instruct.Q4_1.gguf \
        $R/cases.json $R/smollm2-135m-instruct.llamacpp.json

usage: make_reference.py MODEL.gguf CASES.json OUT.json
"""
import json
import math
import os
import sys

import numpy as np
from llama_cpp import Llama


def log_softmax(row):
    row = row.astype(np.float64)
    m = row.max()
    return row - (m + math.log(np.exp(row - m).sum()))


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    model_path, cases_path, out_path = sys.argv[1:4]
    with open(cases_path, encoding="utf-8") as f:
        cases = json.load(f)
    llm = Llama(model_path=model_path, n_ctx=2048, logits_all=True, n_threads=2, verbose=False, seed=0)

    def tokenize(text, special):
        return llm.tokenize(text.encode("utf-8"), add_bos=False, special=special)

    out = {"model": os.path.basename(model_path), "engine": "llama.cpp via llama-cpp-python", "texts": [], "pairs": []}
    for text in cases["texts"]:
        out["texts"].append({"text": text, "ids": tokenize(text, False), "ids_special": tokenize(text, True)})
    for context, continuation in cases["pairs"]:
        ctx_ids = tokenize(context, True)
        whole = tokenize(context + continuation, True)
        n = len(ctx_ids)
        if whole[:n] != ctx_ids:  # a token spans the boundary: tokenise the two parts apart
            whole = ctx_ids + tokenize(continuation, True)
        cont_ids = whole[n:]
        llm.reset()
        llm.eval(whole)
        scores = np.array(llm.scores[: len(whole)])
        token_lps, greedy = [], True
        for i, tok in enumerate(cont_ids):
            row = log_softmax(scores[n - 1 + i])
            token_lps.append(float(row[tok]))
            greedy = greedy and int(row.argmax()) == tok
        after = log_softmax(scores[n - 1])
        top = np.argsort(-after)[:10]
        out["pairs"].append({
            "context": context, "continuation": continuation, "context_ids": ctx_ids, "continuation_ids": cont_ids,
            "logprob": sum(token_lps), "token_logprobs": token_lps, "is_greedy": greedy,
            "top10_after_context": [[int(i), float(after[i])] for i in top]})
    with open(out_path, "w", encoding="utf-8") as f:
        json.dump(out, f, indent=1, ensure_ascii=False)
    print("wrote", out_path, len(out["texts"]), "texts", len(out["pairs"]), "pairs")


if __name__ == "__main__":
    main()
