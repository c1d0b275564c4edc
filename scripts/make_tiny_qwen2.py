#!/usr/bin/env python3
"""Writes a tiny random Qwen2-architecture GGUF with K-quants (and every other weight type the engine
supports) plus a float64 reference of its log-likelihoods, for Tests/EngineTests/TinyQwen2Tests.swift.

usage: python3 scripts/make_tiny_qwen2.py [OUT_DIR]
       (default OUT_DIR: Tests/EngineTests/Fixtures/tiny-qwen2 beside this script's repo;
       python3 needs the `gguf` and `numpy` packages, e.g. in a venv: pip install gguf numpy)

The model: architecture qwen2, 2 blocks, d=256, 4 query heads / 2 KV heads (head dim 64), FFN 512,
context 256, rope base 1e6 (NEOX layout), RMS eps 1e-6, f32 Q/K/V biases, separate output.weight.

The tokenizer: gpt2-style byte-level BPE ("tokenizer.ggml.pre" = "qwen2") with NO merges, so every
byte is its own token. Token id b (0..255) is the GPT-2 byte-level character for byte b
(bytes_to_unicode()[b]), token 256 is <|endoftext|> (control, type 3), the EOS and BOS id. For ASCII
text the token ids are therefore the byte values.

Weights: random, seeded (deterministic). K-quant blocks are built from raw random bytes with the f16
super-block scales (d, dmin) overwritten by small values; the legacy quants, BF16 and F16 go through
gguf-py's quantisers. The reference is an independent float64 numpy forward (same algorithm as
scripts/np_reference.py) over the weights read back from the written file and
dequantised by gguf.quants.dequantize.
"""
import json
import math
import os
import sys
from typing import Any

import numpy as np
import gguf
from gguf import GGUFReader, GGUFValueType, GGUFWriter, GGMLQuantizationType as Q
from gguf.quants import dequantize, quantize

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT_DIR = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "Tests/EngineTests/Fixtures/tiny-qwen2")
MODEL_PATH = os.path.join(OUT_DIR, "tiny-qwen2.gguf")
REF_PATH = os.path.join(OUT_DIR, "reference.json")

ARCH = "qwen2"
N_LAYER, D, N_HEAD, N_KV, FF, CTX = 2, 256, 4, 2, 512, 256
HD = D // N_HEAD
ROPE_BASE, EPS = 1e6, 1e-6
EOS_ID = 256
VOCAB = 257

# Weight types per tensor: every K-quant and every other supported type takes part in a forward pass.
TYPES = {
    "blk.0.attn_q.weight": Q.Q4_K, "blk.0.attn_k.weight": Q.Q5_K, "blk.0.attn_v.weight": Q.Q6_K,
    "blk.0.attn_output.weight": Q.Q8_0, "blk.0.ffn_gate.weight": Q.Q4_K, "blk.0.ffn_up.weight": Q.Q5_K,
    "blk.0.ffn_down.weight": Q.Q6_K,
    # the 16-bit types sit on the small K/V projections to keep the file under 1 MiB with FF = 512
    "blk.1.attn_q.weight": Q.Q4_0, "blk.1.attn_k.weight": Q.BF16, "blk.1.attn_v.weight": Q.F16,
    "blk.1.attn_output.weight": Q.Q5_1, "blk.1.ffn_gate.weight": Q.Q4_1, "blk.1.ffn_up.weight": Q.Q5_0,
    "blk.1.ffn_down.weight": Q.Q4_K,
    "token_embd.weight": Q.Q8_0, "output.weight": Q.Q6_K,
}

rng = np.random.default_rng(20240611)


def bytes_to_unicode() -> dict[int, str]:
    """GPT-2's reversible byte -> printable unicode character map."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, (chr(c) for c in cs)))


# ---------------------------------------------------------------------------------------------
# K-quant blocks from raw bytes (llama.cpp ggml-common.h layouts, QK_K = 256)
#   block_q4_K { f16 d; f16 dmin; u8 scales[12]; u8 qs[128]; }            144 bytes
#   block_q5_K { f16 d; f16 dmin; u8 scales[12]; u8 qh[32]; u8 qs[128]; }  176 bytes
#   block_q6_K { u8 ql[128]; u8 qh[64]; i8 scales[16]; f16 d; }            210 bytes
# q4_K/q5_K: w = d*sc*q - dmin*m (sc, m 6-bit, q 4/5-bit); q6_K: w = d*scale*(q-32).
# ---------------------------------------------------------------------------------------------
def f16_bytes(values: np.ndarray) -> np.ndarray:
    return values.astype(np.float16).view(np.uint8).reshape(values.shape[0], 2)


def kquant_raw(qtype: Q, rows: int, cols: int, std: float) -> np.ndarray:
    """uint8 [rows, cols/256 * type_size]: random quant fields, d/dmin chosen for weights ~ N(0, std)-ish."""
    assert cols % 256 == 0
    _, ts = gguf.GGML_QUANT_SIZES[qtype]
    nb = rows * cols // 256
    blocks = rng.integers(0, 256, size=(nb, ts), dtype=np.uint8)
    # per-block jitter of the scales so super-blocks differ
    jitter = rng.uniform(0.75, 1.25, size=nb)
    if qtype == Q.Q4_K:
        # sc, m uniform 0..63, q uniform 0..15: std(d*sc*q - dmin*m) ~ 200 d (with dmin = 7.5 d
        # centring the mean); the constant comes from measuring it.
        d = std / 225.0 * jitter
        blocks[:, 0:2] = f16_bytes(d)
        blocks[:, 2:4] = f16_bytes(7.5 * d)
    elif qtype == Q.Q5_K:
        d = std / 470.0 * jitter
        blocks[:, 0:2] = f16_bytes(d)
        blocks[:, 2:4] = f16_bytes(15.5 * d)
    elif qtype == Q.Q6_K:
        # int8 scales uniform -128..127 (std ~74), q-32 uniform -32..31 (std ~18.5)
        d = std / 1370.0 * jitter
        blocks[:, ts - 2:ts] = f16_bytes(d)
    else:
        raise ValueError(qtype)
    return blocks.reshape(rows, cols // 256 * ts)


def weight(name: str, rows: int, cols: int, std: float) -> tuple[np.ndarray, Q]:
    """The stored array for a [rows (out) x cols (in)] weight: uint8 bytes [rows, row bytes] (raw)."""
    qt = TYPES[name]
    if qt in (Q.Q4_K, Q.Q5_K, Q.Q6_K):
        return kquant_raw(qt, rows, cols, std), qt
    w = rng.normal(0.0, std, size=(rows, cols)).astype(np.float32)
    if qt == Q.F16:
        return w.astype(np.float16), qt
    return quantize(w, qt), qt          # uint8 [rows, cols/bs*ts]; BF16 too


class Writer(GGUFWriter):
    """GGUFWriter that can write an EMPTY typed array (gguf-py refuses them): used for the empty
    `tokenizer.ggml.merges` array of strings."""

    def _pack_val(self, val: Any, vtype: GGUFValueType, add_vtype: bool, sub_type: GGUFValueType | None = None) -> bytes:
        if vtype == GGUFValueType.ARRAY and len(val) == 0 and sub_type is not None:
            out = bytearray()
            if add_vtype:
                out += self._pack("I", vtype)
            out += self._pack("I", sub_type)
            out += self._pack("Q", 0)
            return bytes(out)
        return super()._pack_val(val, vtype, add_vtype, sub_type)


def write_model() -> dict[str, str]:
    os.makedirs(OUT_DIR, exist_ok=True)
    w = Writer(MODEL_PATH, ARCH)
    w.add_name("tiny-qwen2 (random, test fixture)")
    w.add_block_count(N_LAYER)
    w.add_context_length(CTX)
    w.add_embedding_length(D)
    w.add_feed_forward_length(FF)
    w.add_head_count(N_HEAD)
    w.add_head_count_kv(N_KV)
    w.add_rope_freq_base(ROPE_BASE)
    w.add_layer_norm_rms_eps(EPS)
    w.add_file_type(gguf.LlamaFileType.MOSTLY_Q4_K_M)

    b2u = bytes_to_unicode()
    tokens = [b2u[b] for b in range(256)] + ["<|endoftext|>"]
    types = [gguf.TokenType.NORMAL] * 256 + [gguf.TokenType.CONTROL]
    w.add_tokenizer_model("gpt2")
    w.add_tokenizer_pre("qwen2")
    w.add_token_list(tokens)
    w.add_token_types([int(t) for t in types])
    w.add_key_value(gguf.Keys.Tokenizer.MERGES, [], GGUFValueType.ARRAY, sub_type=GGUFValueType.STRING)
    w.add_bos_token_id(EOS_ID)
    w.add_eos_token_id(EOS_ID)
    w.add_add_bos_token(False)

    written: dict[str, str] = {}

    def put(name: str, arr: np.ndarray, qt: Q | None = None) -> None:
        if qt is None or qt in (Q.F32, Q.F16):
            w.add_tensor(name, arr)
        else:
            w.add_tensor(name, arr, raw_dtype=qt)
        written[name] = (qt or Q.F32).name

    def norm(name: str) -> None:
        put(name, (1.0 + rng.normal(0.0, 0.1, size=D)).astype(np.float32))

    put("token_embd.weight", *weight("token_embd.weight", VOCAB, D, 0.5))
    for l in range(N_LAYER):
        p = f"blk.{l}."
        norm(p + "attn_norm.weight")
        put(p + "attn_q.weight", *weight(p + "attn_q.weight", N_HEAD * HD, D, 0.06))
        put(p + "attn_q.bias", rng.normal(0.0, 0.1, size=N_HEAD * HD).astype(np.float32))
        put(p + "attn_k.weight", *weight(p + "attn_k.weight", N_KV * HD, D, 0.06))
        put(p + "attn_k.bias", rng.normal(0.0, 0.1, size=N_KV * HD).astype(np.float32))
        put(p + "attn_v.weight", *weight(p + "attn_v.weight", N_KV * HD, D, 0.06))
        put(p + "attn_v.bias", rng.normal(0.0, 0.1, size=N_KV * HD).astype(np.float32))
        put(p + "attn_output.weight", *weight(p + "attn_output.weight", D, N_HEAD * HD, 0.06))
        norm(p + "ffn_norm.weight")
        put(p + "ffn_gate.weight", *weight(p + "ffn_gate.weight", FF, D, 0.06))
        put(p + "ffn_up.weight", *weight(p + "ffn_up.weight", FF, D, 0.06))
        put(p + "ffn_down.weight", *weight(p + "ffn_down.weight", D, FF, 0.05))
    norm("output_norm.weight")
    put("output.weight", *weight("output.weight", VOCAB, D, 0.25))

    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    return written


# ---------------------------------------------------------------------------------------------
# float64 reference (the algorithm of scripts/np_reference.py, reading the file back)
# ---------------------------------------------------------------------------------------------
class Reference:
    def __init__(self, path: str):
        r = GGUFReader(path)
        f = r.fields
        arch = f["general.architecture"].contents()
        assert arch == "qwen2"
        g = lambda k: f[f"{arch}.{k}"].contents()
        self.L, self.d = g("block_count"), g("embedding_length")
        self.H, self.KV = g("attention.head_count"), g("attention.head_count_kv")
        self.eps, self.base = g("attention.layer_norm_rms_epsilon"), g("rope.freq_base")
        self.hd = self.d // self.H
        assert f["tokenizer.ggml.merges"].contents() == []
        self.tokens = f["tokenizer.ggml.tokens"].contents()
        self.T: dict[str, np.ndarray] = {}
        self.types: dict[str, str] = {}
        self.shapes: dict[str, list[int]] = {}
        for t in r.tensors:
            a = dequantize(t.data, t.tensor_type).astype(np.float64)
            if a.ndim == 1 and len(t.shape) > 1:
                a = a.reshape([int(x) for x in reversed(t.shape)])
            self.T[t.name] = a
            self.types[t.name] = t.tensor_type.name
            self.shapes[t.name] = [int(x) for x in t.shape]

    def rms(self, x, w):
        return x / np.sqrt((x * x).mean(-1, keepdims=True) + self.eps) * w

    def rope(self, x, pos):  # NEOX: halves (x[i], x[i + n/2]) rotate together
        n = x.shape[-1]
        inv = self.base ** (-np.arange(0, n, 2) / n)
        ang = pos[:, None] * inv[None, :]
        c, s = np.cos(ang)[:, None, :], np.sin(ang)[:, None, :]
        x1, x2 = x[..., : n // 2], x[..., n // 2:]
        return np.concatenate([x1 * c - x2 * s, x1 * s + x2 * c], -1)

    def forward(self, ids, path=None):
        T, H, KV, hd, d = self.T, self.H, self.KV, self.hd, self.d
        path = list(range(self.L)) if path is None else path
        n = len(ids)
        pos = np.arange(n, dtype=np.float64)
        x = T["token_embd.weight"][ids]
        mask = np.triu(np.full((n, n), -np.inf), 1)
        for l in path:
            p = f"blk.{l}."
            h = self.rms(x, T[p + "attn_norm.weight"])
            q = h @ T[p + "attn_q.weight"].T + T[p + "attn_q.bias"]
            k = h @ T[p + "attn_k.weight"].T + T[p + "attn_k.bias"]
            v = h @ T[p + "attn_v.weight"].T + T[p + "attn_v.bias"]
            q = self.rope(q.reshape(n, H, hd), pos)
            k = self.rope(k.reshape(n, KV, hd), pos)
            v = v.reshape(n, KV, hd)
            rep = H // KV
            k, v = np.repeat(k, rep, 1), np.repeat(v, rep, 1)
            s = np.einsum("qhd,khd->hqk", q, k) / math.sqrt(hd) + mask
            s = np.exp(s - s.max(-1, keepdims=True))
            s /= s.sum(-1, keepdims=True)
            a = np.einsum("hqk,khd->qhd", s, v).reshape(n, d)
            x = x + a @ T[p + "attn_output.weight"].T
            h = self.rms(x, T[p + "ffn_norm.weight"])
            gt = h @ T[p + "ffn_gate.weight"].T
            up = h @ T[p + "ffn_up.weight"].T
            x = x + ((gt / (1 + np.exp(-gt))) * up) @ T[p + "ffn_down.weight"].T
        x = self.rms(x, T["output_norm.weight"])
        return x @ T["output.weight"].T


def logsm(z):
    m = z.max(-1, keepdims=True)
    return z - (m + np.log(np.exp(z - m).sum(-1, keepdims=True)))


def encode(text: str) -> list[int]:
    """Token ids under the fixture's tokenizer: <|endoftext|> is the special token 256, every other
    byte of the UTF-8 text is its own token (no merges)."""
    out: list[int] = []
    parts = text.split("<|endoftext|>")
    for i, part in enumerate(parts):
        if i > 0:
            out.append(EOS_ID)
        out.extend(part.encode("utf-8"))
    return out


def encode_pair(context: str, continuation: str) -> tuple[list[int], list[int]]:
    """lm-eval's _encode_pair: trailing whitespace of the context moves to the continuation."""
    n_spaces = len(context) - len(context.rstrip())
    if n_spaces > 0:
        continuation = context[-n_spaces:] + continuation
        context = context[:-n_spaces]
    whole = encode(context + continuation)
    ctx = encode(context)
    return (ctx if ctx else [EOS_ID]), whole[len(ctx):]


# (context, continuation): short ones run the engine's quantised kernels (<= 8 rows), long ones its
# sgemm prefill (> 8 rows), including a long continuation scored at positions after a long context.
# "abc " checks the trailing-whitespace boundary rule; the <|endoftext|> one the special-token parse.
PAIRS = [
    ("Hi", " there"),
    ("The cat", " sat"),
    ("Once upon a time, in a land far away,", " there lived a king"),
    ("The quick brown fox jumps over the lazy dog.", " The end."),
    ("Question: what is 2+2?\nAnswer:", " 4"),
    ("abc ", "def"),
    ("<|endoftext|>Hello", ", world!"),
    ("A fairly long context that certainly spans more than eight tokens", " and an equally long continuation of text"),
]
# Contexts whose greedy continuations (printable ASCII, decoded from the reference along each path)
# are added so that is_greedy == true is tested too.
GREEDY_CONTEXTS = ["x", "Hello", "The cat", "Once upon a time", "Question: what is 2+2?\nAnswer:",
                   "The quick brown fox jumps over the lazy dog", "1, 2, 3,", "def f(x):", "Zebra", "Q",
                   "Mary had a little lamb"] + list("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
GREEDY_PER_PATH = 4
MARGIN = 2e-3   # every is_greedy decision must be this far from a tie (f32 engine vs f64 reference)
PATHS = [[0, 0, 1], [1]]


def greedy_pairs(ref: Reference, path=None):
    out = []
    for context in GREEDY_CONTEXTS:
        ids = encode_pair(context, "")[0]
        cont = []
        for _ in range(4):
            lp = logsm(ref.forward(ids + cont, path))[-1]
            srt = np.sort(lp)
            t = int(lp.argmax())
            if not (32 <= t <= 126) or srt[-1] - srt[-2] < MARGIN:
                break
            cont.append(t)
        if cont:
            out.append((context, bytes(cont).decode("ascii")))
        if len(out) == GREEDY_PER_PATH:
            break
    return out


def score(ref: Reference, pairs, path=None):
    out = []
    for context, continuation in pairs:
        ctx, cont = encode_pair(context, continuation)
        lp = logsm(ref.forward(ctx + cont, path))
        n = len(ctx)
        rows = lp[n - 1:n - 1 + len(cont)]
        tl = [float(rows[i, t]) for i, t in enumerate(cont)]
        greedy = all(int(rows[i].argmax()) == t for i, t in enumerate(cont))
        # How far is_greedy is from flipping: for a greedy pair the smallest top-1/top-2 gap, else the
        # largest gap between a position's best log-prob and the target's.
        srt = np.sort(rows, axis=-1)
        if greedy:
            margin = float((srt[:, -1] - srt[:, -2]).min())
        else:
            margin = float(max(rows[i].max() - rows[i, t] for i, t in enumerate(cont)))
        assert margin > MARGIN, (context, continuation, path, margin)
        top = np.argsort(-lp[n - 1], kind="stable")[:5]
        out.append({
            "context": context, "continuation": continuation,
            "context_ids": ctx, "continuation_ids": cont,
            "logprob": float(sum(tl)), "token_logprobs": tl, "is_greedy": bool(greedy),
            "argmax_after_context": int(lp[n - 1].argmax()),
            "top5_after_context": [[int(i), float(lp[n - 1, i])] for i in top],
            "is_greedy_margin": margin,
            "logprob_std_after_context": float(lp[n - 1].std()),
        })
    return out


def main():
    written = write_model()
    size = os.path.getsize(MODEL_PATH)
    assert size < 1 << 20, size
    ref = Reference(MODEL_PATH)

    print(f"wrote {MODEL_PATH} ({size} bytes)")
    for name, a in ref.T.items():
        assert np.isfinite(a).all(), name
        print(f"  {name:28} {ref.types[name]:5} ggml shape {str(ref.shapes[name]):12} "
              f"mean {a.mean():+.4f} std {a.std():.4f} max|w| {np.abs(a).max():.3f}")
        if name in TYPES:
            assert ref.types[name] == TYPES[name].name, (name, ref.types[name])
            assert 0.01 < a.std() < 0.6, (name, a.std())
    b2u = bytes_to_unicode()
    assert ref.tokens[:256] == [b2u[b] for b in range(256)] and ref.tokens[256] == "<|endoftext|>"

    full = score(ref, PAIRS + greedy_pairs(ref))
    paths = [{"path": path, "pairs": score(ref, PAIRS + greedy_pairs(ref, path), path)} for path in PATHS]
    for p in full + [q for ps in paths for q in ps["pairs"]]:
        assert math.isfinite(p["logprob"]) and all(math.isfinite(x) for x in p["token_logprobs"])
        assert p["logprob_std_after_context"] > 0.5, p  # not degenerate
    for pairs in [full] + [ps["pairs"] for ps in paths]:
        assert sum(p["is_greedy"] for p in pairs) >= 2, "too few greedy pairs"

    doc = {
        "model": "tiny-qwen2.gguf",
        "engine": "float64 numpy over gguf-dequantized weights (scripts/make_tiny_qwen2.py)",
        "generator": "scripts/make_tiny_qwen2.py",
        "gguf_py_version": getattr(gguf, "__version__", None) or "0.19.0",
        "vocab": VOCAB, "eos_id": EOS_ID,
        "tokenizer": "byte-level gpt2 (pre qwen2), no merges: id b = bytes_to_unicode()[b], 256 = <|endoftext|>",
        "tensor_types": {k: ref.types[k] for k in ref.T},
        "pairs": full,
        "paths": paths,
    }
    with open(REF_PATH, "w") as fh:
        json.dump(doc, fh, indent=1, ensure_ascii=False)
        fh.write("\n")

    print("\nfull path:")
    for p in full:
        print(f"  {p['context'][:28]!r:32} {p['continuation'][:24]!r:28} logprob {p['logprob']:10.5f} "
              f"greedy {p['is_greedy']!s:5} argmax {p['argmax_after_context']:3} margin {p['is_greedy_margin']:.4f}")
    for ps in paths:
        print(f"path {ps['path']}:")
        for p in ps["pairs"]:
            print(f"  {p['context'][:28]!r:32} {p['continuation'][:24]!r:28} logprob {p['logprob']:10.5f} "
                  f"greedy {p['is_greedy']!s:5} argmax {p['argmax_after_context']:3} margin {p['is_greedy_margin']:.4f}")


if __name__ == "__main__":
    main()
