#!/usr/bin/env python3
"""llama.cpp token ids of 280 benchmark texts, the tokenizer's main reference.

Generates Tests/EngineTests/Fixtures/reference/smollm2-135m-instruct.tokens.json, which
Tests/EngineTests/TokenizerTests.swift compares the Swift tokenizer with (ids must be equal).

From: the GGUF file's vocabulary (loaded `vocab_only` by the `llama-cpp-python` bindings,
special-token parsing off, no BOS) and the first 40 documents of seven data files under tasks/,
each turned into one text:
- arc:        tasks/arc/ARC-Easy-Test.jsonl, question stem + " " + the choice texts joined by " "
- gsm8k:      tasks/gsm8k/test.jsonl, question + "\\n" + answer
- math:       tasks/math/test.jsonl, problem + "\\n" + solution
- agieval:    tasks/agieval/lsat-rc.jsonl, passage + "\\n" + question + "\\n" + options joined by "\\n"
- piqa:       tasks/piqa/valid.jsonl, goal + "\\n" + sol1 + "\\n" + sol2
- truthfulqa: tasks/truthfulqa/mc_task.json, question + "\\n" + the mc2 answers joined by "\\n"
- mmlu:       tasks/mmlu/test/*.csv in name order, the first 3 rows of each file (40 in all),
              the six fields joined by " | "

Needs: python3 with `llama-cpp-python` (`pip install llama-cpp-python`, which compiles llama.cpp:
about 10 minutes on 2 cores). Token ids do not depend on the CPU.

Exact command for the committed fixture (from the repository root, after scripts/setup.sh):

    python3 scripts/make_reference_tokens.py models/SmolLM2-135M-Instruct.Q4_1.gguf \
        Tests/EngineTests/Fixtures/reference/smollm2-135m-instruct.tokens.json

usage: make_reference_tokens.py MODEL.gguf OUT.json
"""
import csv
import json
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TASKS = os.path.join(ROOT, "tasks")
PER_SOURCE = 40


def jsonl(*parts):
    with open(os.path.join(TASKS, *parts), encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()][:PER_SOURCE]


def texts():
    """(source, text) pairs, in the fixture's order."""
    out = []
    for d in jsonl("arc", "ARC-Easy-Test.jsonl"):
        out.append(("arc", d["question"]["stem"] + " " + " ".join(c["text"] for c in d["question"]["choices"])))
    for d in jsonl("gsm8k", "test.jsonl"):
        out.append(("gsm8k", d["question"] + "\n" + d["answer"]))
    for d in jsonl("math", "test.jsonl"):
        out.append(("math", d["problem"] + "\n" + d["solution"]))
    for d in jsonl("agieval", "lsat-rc.jsonl"):
        out.append(("agieval", (d["passage"] or "") + "\n" + d["question"] + "\n" + "\n".join(d["options"])))
    for d in jsonl("piqa", "valid.jsonl"):
        out.append(("piqa", d["goal"] + "\n" + d["sol1"] + "\n" + d["sol2"]))
    with open(os.path.join(TASKS, "truthfulqa", "mc_task.json"), encoding="utf-8") as f:
        for d in json.load(f)[:PER_SOURCE]:
            out.append(("truthfulqa", d["question"] + "\n" + "\n".join(d["mc2_targets"])))
    rows = []
    folder = os.path.join(TASKS, "mmlu", "test")
    for name in sorted(os.listdir(folder)):
        with open(os.path.join(folder, name), encoding="utf-8", newline="") as f:
            rows += list(csv.reader(f))[:3]
    out += [("mmlu", " | ".join(row)) for row in rows[:PER_SOURCE]]
    return out


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    from llama_cpp import Llama

    model_path, out_path = sys.argv[1:3]
    llm = Llama(model_path=model_path, vocab_only=True, verbose=False)
    items = [{"source": source, "text": text, "ids": llm.tokenize(text.encode("utf-8"), add_bos=False, special=False)}
             for source, text in texts()]
    out = {"model": os.path.basename(model_path), "engine": "llama.cpp via llama-cpp-python", "special": False,
           "items": items}
    with open(out_path, "w", encoding="utf-8") as f:
        json.dump(out, f, indent=0, ensure_ascii=False)
    print("wrote", out_path, len(items), "texts")


if __name__ == "__main__":
    main()
