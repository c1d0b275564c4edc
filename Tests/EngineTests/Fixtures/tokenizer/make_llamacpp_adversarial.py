#!/usr/bin/env python3
"""Regenerates llamacpp-adversarial.json: llama.cpp's token ids for adversarial texts.

The SmolLM2 vocabulary is tokenized by llama.cpp (llama-cpp-python, vocab_only) once per
pre-tokenizer: metadata-only copies of the model file are written with tokenizer.ggml.pre
replaced, so every pre-tokenizer is checked against the real llama.cpp code.

usage: make_llamacpp_adversarial.py MODEL.gguf OUT.json   (needs llama_cpp)
"""
import json, os, random, struct, sys, tempfile
from llama_cpp import Llama

NAMES = ["smollm", "qwen2", "llama-bpe", "gpt-2", "default"]
PIECES = [
    "a", "b", "Z", "hello", " world", "The", "ing", "'s", "'t", "'re", "'ve", "'m", "'ll", "'d", "'S", "'T", "'RE", "'Ll",
    "'D", "'", "''", " ", "  ", "   ", "\t", "\n", "\r", "\r\n", "\n\n", "\x0b", "\x0c", "\x00", "\x01", "\x1c", "\x1f",
    "\x7f", "0", "1", "12", "123", "1234", "2024", "3.14", "1,000", ".", ",", "!", "?", "...", "-", "—", "–", "(", ")", "[",
    "]", "{", "}", "<", ">", "$", "+", "=", "^", "~", "|", "`", "#", "%", "&", "*", "/", "\\", "_", "@", ":", ";", "\"",
    "é", "ß", "naïve", "café", "Ελληνικά", "русский", "日本語", "テキスト", "中文", "العربية", "हिन्दी", "ि", "्", "\u0301",
    "e\u0301", "🙂", "👍🏽", "👨‍👩‍👧", "🇫🇷", "\u00a0", "\u2009", "\u3000", "\u0085", "\u2028", "\u200b", "\ufeff", "\ue000",
    "\u0378", "\U0001F600", "٣", "٤٥", "²", "½", "Ⅻ", "①", "𝟘", "<|im_start|>", "<|im_end|>", "<|endoftext|>", "<|im_",
    "|>", "<repo_name>", "<reponame>", "<file_sep>", "<jupyter_output>", "ﬁ", "Å", "ǅ", "ᾼ", "ſ", "İ", "K",
]


def with_pre_tokenizer(model, name, folder):
    """A metadata-only copy of `model` (no tensors) whose tokenizer.ggml.pre is `name`."""
    data = open(model, "rb").read()
    pos = 4
    def rd(fmt):
        nonlocal pos
        v = struct.unpack_from("<" + fmt, data, pos)[0]
        pos += struct.calcsize("<" + fmt)
        return v
    sizes = {0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8}
    def skip(t):
        nonlocal pos
        if t == 8:
            length = rd("Q")
            pos += length
        elif t == 9:
            et, n = rd("I"), rd("Q")
            for _ in range(n):
                skip(et)
        else:
            pos += sizes[t]
    version, _, count = rd("I"), rd("Q"), rd("Q")
    out = b"GGUF" + struct.pack("<IQQ", version, 0, count)
    for _ in range(count):
        start = pos
        length = rd("Q")
        key = data[pos:pos + length].decode()
        pos += length
        skip(rd("I"))
        raw = data[start:pos]
        if key == "tokenizer.ggml.pre":
            s = lambda x: struct.pack("<Q", len(x.encode())) + x.encode()
            raw = s(key) + struct.pack("<I", 8) + s(name)
        out += raw
    path = os.path.join(folder, name + ".gguf")
    open(path, "wb").write(out)
    return path


def main():
    model, out_path = sys.argv[1:3]
    random.seed(20251129)
    texts = ["".join(random.choice(PIECES) for _ in range(random.randint(1, 10))) for _ in range(70)]
    texts += ["1" * 31, " " * 17 + "x", "\r\n \r\n\t x", "a'S b'LL c'Re", "<|im_start|><|im_start|>user<|im_end|"]
    with tempfile.TemporaryDirectory() as folder:
        models = {n: Llama(model_path=with_pre_tokenizer(model, n, folder), vocab_only=True, verbose=False) for n in NAMES}
        cases = []
        for t in texts:
            case = {"text": t, "utf8_hex": t.encode().hex()}
            for n, llm in models.items():
                case[n] = llm.tokenize(t.encode(), add_bos=False, special=False)
                case[n + "+special"] = llm.tokenize(t.encode(), add_bos=False, special=True)
            cases.append(case)
    about = ("llama.cpp (llama-cpp-python 0.3.36, vocab_only) token ids of adversarial texts with the "
             "SmolLM2-135M-Instruct vocabulary, tokenizer.ggml.pre replaced by each name; add_special false; "
             "'+special' = parse_special true")
    s = json.dumps({"about": about, "cases": cases}, ensure_ascii=True, separators=(",", ":"))
    open(out_path, "w").write(s.replace(',{"text"', ',\n{"text"') + "\n")


if __name__ == "__main__":
    main()
