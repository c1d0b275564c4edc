#!/usr/bin/env python3
"""Exact float64 reference log-likelihoods for a Llama/Qwen2 GGUF model, independent of llama.cpp.

Generates Tests/EngineTests/Fixtures/reference/smollm2-135m-instruct.f64.json (every block once)
and smollm2-135m-instruct.path.f64.json (a skip/repeat layer path), which
Tests/EngineTests/ReferenceScoringTests.swift matches within 1e-3.

From: the GGUF file (weights dequantised by the `gguf` package's `gguf.quants.dequantize`, then
widened to float64) and the token ids of a llama.cpp reference file made by
scripts/make_reference.py (its `pairs[*].context_ids` / `continuation_ids` are reused, so both
references score exactly the same tokens). The forward pass is written out in plain numpy:
RMSNorm, RoPE (interleaved pairs for llama, NEOX halves for qwen2), grouped-query attention
with a causal mask, SwiGLU, tied or separate output matrix, log-softmax.

Needs: python3 with `gguf` and `numpy` (e.g. in a venv: `pip install gguf numpy`). Takes about a minute and ~4 GB of memory for SmolLM2-135M.

Exact commands for the committed fixtures (from the repository root, after scripts/setup.sh):

    R=Tests/EngineTests/Fixtures/reference
    python3 scripts/np_reference.py models/SmolLM2-135M-Instruct.Q4_1.gguf \
        $R/smollm2-135m-instruct.llamacpp.json $R/smollm2-135m-instruct.f64.json
    python3 scripts/np_reference.py models/SmolLM2-135M-Instruct.Q4_1.gguf \
        $R/smollm2-135m-instruct.llamacpp.json $R/smollm2-135m-instruct.path.f64.json \
        0,1,2,3,3,4,5,6,7,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,29

usage: np_reference.py MODEL.gguf LLAMACPP_REF.json OUT.json [PATH]
  PATH: comma-separated block indices in execution order (a skipped block is left out, a
  repeated one is listed twice in a row); default: every block once (then the output has no
  "path" key).
"""
import json
import math
import sys

import numpy as np
from gguf import GGUFReader
from gguf.quants import dequantize


class Float64Model:
    """All tensors of a GGUF file dequantised to float64, with the hyper-parameters a forward needs."""

    def __init__(self, gguf_path):
        reader = GGUFReader(gguf_path)
        fields = dict(reader.fields.items())
        self.arch = fields["general.architecture"].contents()

        def hparam(key, default=None):
            name = f"{self.arch}.{key}"
            return fields[name].contents() if name in fields else default

        self.layers = hparam("block_count")
        self.width = hparam("embedding_length")
        self.heads = hparam("attention.head_count")
        self.kv_heads = hparam("attention.head_count_kv")
        self.eps = hparam("attention.layer_norm_rms_epsilon")
        self.rope_base = hparam("rope.freq_base", 10000.0)
        self.head_dim = self.width // self.heads
        self.tensors = {}
        for t in reader.tensors:
            values = dequantize(t.data, t.tensor_type).astype(np.float64)
            # GGUF lists dimensions innermost first; numpy wants them outermost first.
            shape = [int(x) for x in reversed(t.shape)]
            self.tensors[t.name] = values.reshape(shape) if values.ndim == 1 and len(t.shape) > 1 else values
        self.embedding = self.tensors["token_embd.weight"]
        self.output = self.tensors.get("output.weight", self.embedding)  # tied embeddings

    def rms_norm(self, x, weight):
        return x / np.sqrt((x * x).mean(-1, keepdims=True) + self.eps) * weight

    def rope(self, x, positions):
        n = x.shape[-1]
        inv_freq = self.rope_base ** (-np.arange(0, n, 2) / n)
        angles = positions[:, None] * inv_freq[None, :]
        cos, sin = np.cos(angles)[:, None, :], np.sin(angles)[:, None, :]
        if self.arch == "qwen2":  # NEOX: rotate the two halves
            a, b = x[..., : n // 2], x[..., n // 2:]
            return np.concatenate([a * cos - b * sin, a * sin + b * cos], -1)
        a, b = x[..., 0::2], x[..., 1::2]  # llama: rotate adjacent pairs
        out = np.empty_like(x)
        out[..., 0::2] = a * cos - b * sin
        out[..., 1::2] = a * sin + b * cos
        return out

    def block(self, index, x, positions, mask):
        t = self.tensors
        p = f"blk.{index}."
        n, hd = x.shape[0], self.head_dim
        h = self.rms_norm(x, t[p + "attn_norm.weight"])
        q = h @ t[p + "attn_q.weight"].T
        k = h @ t[p + "attn_k.weight"].T
        v = h @ t[p + "attn_v.weight"].T
        if p + "attn_q.bias" in t:
            q += t[p + "attn_q.bias"]
            k += t[p + "attn_k.bias"]
            v += t[p + "attn_v.bias"]
        q = self.rope(q.reshape(n, self.heads, hd), positions)
        k = self.rope(k.reshape(n, self.kv_heads, hd), positions)
        v = v.reshape(n, self.kv_heads, hd)
        group = self.heads // self.kv_heads
        k, v = np.repeat(k, group, 1), np.repeat(v, group, 1)
        scores = np.einsum("qhd,khd->hqk", q, k) / math.sqrt(hd) + mask
        scores = np.exp(scores - scores.max(-1, keepdims=True))
        scores /= scores.sum(-1, keepdims=True)
        attended = np.einsum("hqk,khd->qhd", scores, v).reshape(n, self.width)
        x = x + attended @ t[p + "attn_output.weight"].T
        h = self.rms_norm(x, t[p + "ffn_norm.weight"])
        gate = h @ t[p + "ffn_gate.weight"].T
        up = h @ t[p + "ffn_up.weight"].T
        return x + ((gate / (1 + np.exp(-gate))) * up) @ t[p + "ffn_down.weight"].T

    def log_probs(self, ids, path=None):
        """Log-softmax over the vocabulary at every position of `ids`, running the blocks of `path`."""
        path = list(range(self.layers)) if path is None else path
        n = len(ids)
        positions = np.arange(n, dtype=np.float64)
        mask = np.triu(np.full((n, n), -np.inf), 1)
        x = self.embedding[ids]
        for index in path:
            x = self.block(index, x, positions, mask)
        logits = self.rms_norm(x, self.tensors["output_norm.weight"]) @ self.output.T
        m = logits.max(-1, keepdims=True)
        return logits - (m + np.log(np.exp(logits - m).sum(-1, keepdims=True)))


def main():
    if len(sys.argv) not in (4, 5):
        sys.exit(__doc__)
    model_path, ref_path, out_path = sys.argv[1:4]
    path = [int(x) for x in sys.argv[4].split(",")] if len(sys.argv) == 5 else None
    model = Float64Model(model_path)
    ref = json.load(open(ref_path, encoding="utf-8"))
    out = {"model": ref["model"], "engine": "float64 numpy over gguf-dequantized weights"}
    if path is not None:
        out["path"] = path
    out["pairs"] = []
    for pair in ref["pairs"]:
        ctx, cont = pair["context_ids"], pair["continuation_ids"]
        lp = model.log_probs(ctx + cont, path)
        n = len(ctx)
        token_lps = [float(lp[n - 1 + i, tok]) for i, tok in enumerate(cont)]
        greedy = all(int(lp[n - 1 + i].argmax()) == tok for i, tok in enumerate(cont))
        top = np.argsort(-lp[n - 1])[:10]
        out["pairs"].append({
            "context": pair["context"], "continuation": pair["continuation"], "context_ids": ctx,
            "continuation_ids": cont, "logprob": sum(token_lps), "token_logprobs": token_lps, "is_greedy": greedy,
            "top10_after_context": [[int(i), float(lp[n - 1, i])] for i in top]})
        print(f"{pair['continuation'][:30]!r:34} llama.cpp {pair['logprob']:9.4f}  "
              f"f64 {sum(token_lps):9.4f}  diff {sum(token_lps) - pair['logprob']:+.4f}")
    with open(out_path, "w", encoding="utf-8") as f:
        json.dump(out, f, indent=1, ensure_ascii=False)


if __name__ == "__main__":
    main()
