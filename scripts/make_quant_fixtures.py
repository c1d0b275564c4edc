#!/usr/bin/env python3
"""Makes the reference fixtures for Tests/EngineTests/QuantTests.swift.

Run with a python3 that has the `gguf` and `numpy` packages (e.g. a venv: pip install gguf numpy):
    python3 scripts/make_quant_fixtures.py [--model models/SmolLM2-135M-Instruct.Q4_1.gguf]

Writes Tests/EngineTests/Fixtures/quant/:
  * dequant.json  - for each supported ggml type a few random blocks (raw bytes, sane f16 scale
                    fields so nothing is inf/NaN) and their dequantisation by gguf.quants, plus
                    gguf-py's (block size, type size) table for every type it knows.
  * model.json    - a few hundred values of real tensors of the default model: the absolute
                    file offset of the packed bytes and gguf.quants' dequantisation of them.

Every gguf.quants result is first checked bit for bit against an independent scalar float32
transcription of llama.cpp's reference dequantize_row_* loops (ggml/src/ggml-quants.c), so the
fixtures pin down llama.cpp's semantics, not just gguf-py's.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from gguf import GGMLQuantizationType as T
from gguf import GGUFReader
from gguf.constants import GGML_QUANT_SIZES
from gguf.quants import dequantize

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "Tests" / "EngineTests" / "Fixtures" / "quant"
F32 = np.float32

# Blocks per type in the fixture: enough to cover every sub-block layout, small on disk.
BLOCKS = {T.Q4_0: 8, T.Q4_1: 8, T.Q5_0: 8, T.Q5_1: 8, T.Q8_0: 8,
          T.Q4_K: 3, T.Q5_K: 3, T.Q6_K: 3, T.F16: 96, T.BF16: 96, T.F32: 64}

# Byte offsets of the f16 scale fields inside each block.
HALF_FIELDS = {T.Q4_0: [0], T.Q4_1: [0, 2], T.Q5_0: [0], T.Q5_1: [0, 2], T.Q8_0: [0],
               T.Q4_K: [0, 2], T.Q5_K: [0, 2], T.Q6_K: [208]}


def sane_halves(rng: np.random.Generator, n: int) -> np.ndarray:
    """Finite f16 scales: mostly typical magnitudes, some tiny (subnormal) and negative ones."""
    mags = 10.0 ** rng.uniform(-4, 0, n)
    signs = np.where(rng.random(n) < 0.25, -1.0, 1.0)
    h = (mags * signs).astype(np.float16)
    # Exercise the subnormal and zero paths of the f16 widening too.
    h[rng.random(n) < 0.1] = np.float16(3e-6)
    h[rng.random(n) < 0.05] = np.float16(0.0)
    return h


def random_blocks(rng: np.random.Generator, qtype: T, n: int) -> np.ndarray:
    block, size = GGML_QUANT_SIZES[qtype]
    if qtype == T.F32:
        return rng.normal(0, 1, n).astype(np.float32).view(np.uint8).reshape(n, 4)
    if qtype == T.F16:
        bits = rng.integers(0, 1 << 16, n, dtype=np.uint16)
        bits[(bits & 0x7C00) == 0x7C00] &= 0xBFFF     # no inf/NaN
        bits[:4] = [0x0000, 0x8000, 0x0001, 0x83FF]    # ±0 and subnormals
        return bits.view(np.uint8).reshape(n, 2)
    if qtype == T.BF16:
        bits = rng.integers(0, 1 << 16, n, dtype=np.uint16)
        bits[(bits & 0x7F80) == 0x7F80] &= 0xBFFF     # no inf/NaN
        return bits.view(np.uint8).reshape(n, 2)
    raw = rng.integers(0, 256, (n, size), dtype=np.uint8)
    for offset in HALF_FIELDS[qtype]:
        raw[:, offset:offset + 2] = sane_halves(rng, n).view(np.uint8).reshape(n, 2)
    return raw


# ---- Scalar transcription of ggml-quants.c dequantize_row_* (one float32 rounding per C op) ----

def half(b: np.ndarray, o: int) -> np.float32:
    return F32(b[o:o + 2].copy().view(np.float16)[0])


def ref_q4_0(b):
    d = half(b, 0)
    qs = b[2:18]
    y = [F32(0)] * 32
    for j in range(16):
        y[j] = F32(int(qs[j] & 0xF) - 8) * d
        y[j + 16] = F32(int(qs[j] >> 4) - 8) * d
    return y


def ref_q4_1(b):
    d, m = half(b, 0), half(b, 2)
    qs = b[4:20]
    y = [F32(0)] * 32
    for j in range(16):
        y[j] = F32(int(qs[j] & 0xF)) * d + m
        y[j + 16] = F32(int(qs[j] >> 4)) * d + m
    return y


def q5_values(qh: int, qs) -> list[int]:
    y = [0] * 32
    for j in range(16):
        y[j] = int(qs[j] & 0xF) | (((qh >> j) << 4) & 0x10)
        y[j + 16] = int(qs[j] >> 4) | ((qh >> (j + 12)) & 0x10)
    return y


def ref_q5_0(b):
    d = half(b, 0)
    qh = int(b[2:6].copy().view(np.uint32)[0])
    return [F32(q - 16) * d for q in q5_values(qh, b[6:22])]


def ref_q5_1(b):
    d, m = half(b, 0), half(b, 2)
    qh = int(b[4:8].copy().view(np.uint32)[0])
    return [F32(q) * d + m for q in q5_values(qh, b[8:24])]


def ref_q8_0(b):
    d = half(b, 0)
    return [F32(int(q)) * d for q in b[2:34].view(np.int8)]


def scale_min_k4(j: int, q) -> tuple[int, int]:
    if j < 4:
        return int(q[j] & 63), int(q[j + 4] & 63)
    return (int(q[j + 4] & 0xF) | (int(q[j - 4] >> 6) << 4),
            int(q[j + 4] >> 4) | (int(q[j] >> 6) << 4))


def ref_q4_k(b):
    d, dmin = half(b, 0), half(b, 2)
    sc, qs = b[4:16], b[16:144]
    y = []
    for g in range(4):
        s1, m1 = scale_min_k4(2 * g, sc)
        s2, m2 = scale_min_k4(2 * g + 1, sc)
        d1, mm1 = d * F32(s1), dmin * F32(m1)
        d2, mm2 = d * F32(s2), dmin * F32(m2)
        q = qs[32 * g:32 * g + 32]
        y += [d1 * F32(int(v & 0xF)) - mm1 for v in q]
        y += [d2 * F32(int(v >> 4)) - mm2 for v in q]
    return y


def ref_q5_k(b):
    d, dmin = half(b, 0), half(b, 2)
    sc, qh, qs = b[4:16], b[16:48], b[48:176]
    y = []
    for g in range(4):
        s1, m1 = scale_min_k4(2 * g, sc)
        s2, m2 = scale_min_k4(2 * g + 1, sc)
        d1, mm1 = d * F32(s1), dmin * F32(m1)
        d2, mm2 = d * F32(s2), dmin * F32(m2)
        u1, u2 = 1 << (2 * g), 2 << (2 * g)
        q = qs[32 * g:32 * g + 32]
        y += [d1 * F32(int(q[l] & 0xF) + (16 if qh[l] & u1 else 0)) - mm1 for l in range(32)]
        y += [d2 * F32(int(q[l] >> 4) + (16 if qh[l] & u2 else 0)) - mm2 for l in range(32)]
    return y


def ref_q6_k(b):
    d = half(b, 208)
    sc = b[192:208].view(np.int8)
    y = [F32(0)] * 256
    for n in range(2):
        ql, qh, s, o = b[64 * n:64 * n + 64], b[128 + 32 * n:160 + 32 * n], sc[8 * n:8 * n + 8], 128 * n
        for l in range(32):
            i = l // 16
            q1 = (int(ql[l] & 0xF) | (((int(qh[l]) >> 0) & 3) << 4)) - 32
            q2 = (int(ql[l + 32] & 0xF) | (((int(qh[l]) >> 2) & 3) << 4)) - 32
            q3 = (int(ql[l] >> 4) | (((int(qh[l]) >> 4) & 3) << 4)) - 32
            q4 = (int(ql[l + 32] >> 4) | (((int(qh[l]) >> 6) & 3) << 4)) - 32
            y[o + l] = d * F32(int(s[i])) * F32(q1)
            y[o + l + 32] = d * F32(int(s[i + 2])) * F32(q2)
            y[o + l + 64] = d * F32(int(s[i + 4])) * F32(q3)
            y[o + l + 96] = d * F32(int(s[i + 6])) * F32(q4)
    return y


def ref_f16(b):
    return [half(b, 0)]


def ref_bf16(b):
    return [np.array([int(b[0]) << 16 | int(b[1]) << 24], dtype=np.uint32).view(np.float32)[0]]


def ref_f32(b):
    return [b.copy().view(np.float32)[0]]


REFERENCE = {T.Q4_0: ref_q4_0, T.Q4_1: ref_q4_1, T.Q5_0: ref_q5_0, T.Q5_1: ref_q5_1,
             T.Q8_0: ref_q8_0, T.Q4_K: ref_q4_k, T.Q5_K: ref_q5_k, T.Q6_K: ref_q6_k,
             T.F16: ref_f16, T.BF16: ref_bf16, T.F32: ref_f32}


def checked_dequantize(raw: np.ndarray, qtype: T) -> np.ndarray:
    """gguf.quants.dequantize of whole blocks, asserted bitwise equal to the C transcription."""
    ours = np.asarray(dequantize(raw.reshape(-1), qtype), dtype=np.float32).reshape(-1)
    ref = np.array([v for row in raw for v in REFERENCE[qtype](row)], dtype=np.float32)
    if not np.array_equal(ours.view(np.uint32), ref.view(np.uint32)):
        bad = np.nonzero(ours.view(np.uint32) != ref.view(np.uint32))[0]
        raise SystemExit(f"{qtype.name}: gguf.quants disagrees with the C reference at {bad[:10]}")
    if not np.all(np.isfinite(ours)):
        raise SystemExit(f"{qtype.name}: non-finite fixture values")
    return ours


def make_dequant_fixture() -> dict:
    rng = np.random.default_rng(20240611)
    cases = []
    for qtype, n in BLOCKS.items():
        raw = random_blocks(rng, qtype, n)
        values = checked_dequantize(raw, qtype)
        cases.append({"type": qtype.name, "id": int(qtype), "count": int(values.size),
                      "raw": raw.tobytes().hex(), "expected": values.tobytes().hex()})
    sizes = {t.name: {"id": int(t), "blockSize": b, "bytesPerBlock": s}
             for t, (b, s) in GGML_QUANT_SIZES.items()}
    return {"note": "expected = little-endian float32 bytes of gguf.quants.dequantize(raw)",
            "cases": cases, "sizes": sizes}


def make_model_fixture(model: Path) -> dict:
    reader = GGUFReader(model)
    # (tensor, first row, values): a Q4_1 projection, the Q8_0 embedding, an F32 norm.
    picks = [("blk.0.attn_q.weight", 7, 192), ("blk.29.ffn_down.weight", 300, 128),
             ("token_embd.weight", 9906, 160), ("output_norm.weight", 0, 64)]
    blobs = model.read_bytes()
    cases = []
    for name, row, count in picks:
        t = next(t for t in reader.tensors if t.name == name)
        qtype = T(t.tensor_type)
        block, size = GGML_QUANT_SIZES[qtype]
        columns = int(t.shape[0])
        row_bytes = columns // block * size
        start = int(t.data_offset) + row * row_bytes
        nbytes = count // block * size
        raw = np.frombuffer(blobs[start:start + nbytes], dtype=np.uint8)
        # The same bytes as gguf-py's own view of the tensor, so the offset is right.
        assert raw.tobytes() == np.asarray(t.data).reshape(-1).view(np.uint8)[row * row_bytes:row * row_bytes + nbytes].tobytes()
        values = checked_dequantize(raw.reshape(-1, size), qtype)
        cases.append({"tensor": name, "type": qtype.name, "row": row, "columns": columns,
                      "offset": start, "count": count, "expected": values.tobytes().hex()})
    return {"model": str(model.relative_to(ROOT)), "fileSize": len(blobs), "cases": cases}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, default=ROOT / "models" / "SmolLM2-135M-Instruct.Q4_1.gguf")
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "dequant.json").write_text(json.dumps(make_dequant_fixture(), indent=1) + "\n")
    (OUT / "model.json").write_text(json.dumps(make_model_fixture(args.model.resolve()), indent=1) + "\n")
    for f in sorted(OUT.iterdir()):
        print(f"{f.relative_to(ROOT)}: {f.stat().st_size} bytes")


if __name__ == "__main__":
    main()
