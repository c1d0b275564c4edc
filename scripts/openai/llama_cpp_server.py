#!/usr/bin/env python3
"""Starts llama-cpp-python's OpenAI-compatible server (`python -m llama_cpp.server`), optionally
with its echoed prompt log-probabilities put right.

usage: llama_cpp_server.py [--fix-echo-logprobs] SERVER_ARGS...
       (SERVER_ARGS as for `python -m llama_cpp.server`, e.g. --model M.gguf --port 8765)

Why the fix: with `echo: true` and `logprobs`, llama-cpp-python 0.3.x gives prompt token i the
log-probability of row i of its logits, i.e. of the distribution *after* token i, instead of row
i-1, the distribution that predicts it (abetlen/llama-cpp-python#1983). It is right only when the
prompt starts with a BOS token, whose row absorbs the shift; SmolLM2 and Qwen2.5 add none. The
echo also leaves out the generated token's entry. `bench run --backend openai` detects the shift
with a probe and refuses such a server; with --fix-echo-logprobs this launcher shifts the rows by
one where the prompt has no BOS (nothing else changes: generation, its log-probabilities, and
prompts that start with BOS are untouched), which is what lm-eval's local-completions needs too.
"""
import sys
import threading

import numpy as np
import llama_cpp
from llama_cpp import Llama

_state = threading.local()


def _starts_with_bos(llm, prompt):
    bos = llm.token_bos()
    if bos < 0:
        return False
    if isinstance(prompt, list):
        return len(prompt) > 0 and prompt[0] == bos
    # A text prompt gets the BOS the model adds, or one written in the text.
    if llm._model.add_bos_token():
        return True
    tokens = llm.tokenize(prompt.encode("utf-8"), add_bos=False, special=True) if prompt else []
    return len(tokens) > 0 and tokens[0] == bos


def install_echo_fix():
    """Patches Llama so that echoed prompt log-probabilities come from the row before each token."""
    original_completion = Llama._create_completion
    original_logprobs = Llama.logits_to_logprobs

    def create_completion(self, *args, **kwargs):
        prompt = kwargs.get("prompt", args[0] if args else "")
        shift = bool(kwargs.get("echo", False)) and kwargs.get("logprobs") is not None \
            and not _starts_with_bos(self, prompt)
        chunks = original_completion(self, *args, **kwargs)
        while True:
            # The flag holds only while this request's generator runs (the server runs one at a time).
            _state.shift = shift
            try:
                chunk = next(chunks)
            except StopIteration as stop:
                return stop.value
            finally:
                _state.shift = False
            yield chunk

    def logits_to_logprobs(logits, axis=-1):
        out = original_logprobs(logits, axis=axis)
        if getattr(_state, "shift", False) and np.ndim(out) == 2:
            # Row i-1 for token i; the first token has no row (its entry is null in the answer), and
            # the last evaluated row now reaches the generated token.
            out = np.concatenate([np.zeros((1, out.shape[1]), dtype=out.dtype), out])
        return out

    Llama._create_completion = create_completion
    Llama.logits_to_logprobs = staticmethod(logits_to_logprobs)


def main():
    args = sys.argv[1:]
    if "--fix-echo-logprobs" in args:
        args.remove("--fix-echo-logprobs")
        install_echo_fix()
        print(f"[llama_cpp_server] llama-cpp-python {llama_cpp.__version__}: echoed prompt log-probabilities "
              "shifted to the row that predicts each token", file=sys.stderr, flush=True)
    from llama_cpp.server.__main__ import main as server_main
    sys.argv = [sys.argv[0]] + args
    server_main()


if __name__ == "__main__":
    main()
