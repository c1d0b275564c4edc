#!/usr/bin/env python3
"""Prompt digests of every benchmark, rendered in plain Python from the files under tasks/.

Generates the `expected` table of Tests/BenchmarksTests/FullDatasetGoldenTests.swift: one SHA-256
per benchmark (and per prompt form) over every request of its evaluation documents. The Swift
test renders the same requests with the Benchmarks module and compares digests, so this script is
an independent second implementation of the prompt templates described in docs/BENCHMARKS.md:
lm-evaluation-harness's templates for the out-of-domain tasks and ARC's cloze form, and the
Dr.LLM paper's code (`parameterlab/dr-llm`, `prompts.py`) for the ARC letter form and DART.
Data is read with Python's `json` and `csv` modules, few-shot examples are drawn with
`random.Random(1234).sample` (lm-eval's sampler), and GPQA's answers are shuffled with
`random.Random(0).shuffle` (lm-eval seeds Python's global generator with 0).

Digest of one benchmark: SHA-256 of the UTF-8 bytes of
    for each document: context + "\\x02" + "\\x02".join(parts) + "\\x01"
where `parts` are the continuations (log-likelihood requests) or the stop strings then the token
cap (generation requests; SQuAD v2 adds its " unanswerable" continuation), followed by the extra
fields the Swift test appends (the gold answer for DART in chat form, MMLU, AIME24, SQuAD v2,
AGIEval and GPQA).

Needs only python3 (standard library). GPQA Diamond is digested only when its decrypted CSV is
present (`bash scripts/setup.sh` or `bash scripts/decrypt_gpqa.sh` makes it); its question text is
never printed.

Exact command (from the repository root):

    python3 scripts/make_prompt_digests.py
        prints the table as Swift dictionary entries, in the test file's order;
    python3 scripts/make_prompt_digests.py --check Tests/BenchmarksTests/FullDatasetGoldenTests.swift
        compares each digest with the entry of the same key in that file; exits 1 on a mismatch.
"""
import csv
import hashlib
import json
import os
import random
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TASKS = os.environ.get("DRLLM_TASKS_DIR", os.path.join(ROOT, "tasks"))

SMOLLM2_SYSTEM = "You are a helpful AI assistant named SmolLM, trained by Hugging Face"


def path(*parts):
    return os.path.join(TASKS, *parts)


def jsonl(*parts):
    with open(path(*parts), encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def csv_rows(*parts):
    with open(path(*parts), encoding="utf-8", newline="") as f:
        return list(csv.reader(f))


def digest(items):
    """items: (context, parts) per document, in document order."""
    h = hashlib.sha256()
    for context, parts in items:
        h.update((context + "\x02" + "\x02".join(parts) + "\x01").encode("utf-8"))
    return h.hexdigest()


def chatml_user(text):
    """SmolLM2-Instruct's chat template for one user message, with the generation prompt."""
    return (f"<|im_start|>system\n{SMOLLM2_SYSTEM}<|im_end|>\n"
            f"<|im_start|>user\n{text}<|im_end|>\n<|im_start|>assistant\n")


# --- ARC: lm-eval cloze form and Dr.LLM's letter form -------------------------------------------

def arc_docs(name):
    return [{"question": d["question"]["stem"], "choices": [c["text"] for c in d["question"]["choices"]]}
            for d in jsonl("arc", f"{name}-Test.jsonl")]


def arc_cloze(name):
    # lm-eval arc_easy.yaml: doc_to_text "Question: {{question}}\nAnswer:", choices = choices.text.
    return [(f"Question: {d['question']}\nAnswer:", [" " + c for c in d["choices"]]) for d in arc_docs(name)]


def arc_letter(name, chat):
    items = []
    for d in arc_docs(name):
        if chat:  # answer_letter_long (starts with a literal double quote), 10 new tokens
            choices = "\n".join(f"{chr(65 + i)}. {c}" for i, c in enumerate(d["choices"]))
            text = (f"\"Question: {d['question']}\n{choices}\nAnswer with a single letter (A, B, C, or D) and no "
                    "explanation. You answer should start with \"Answer: \" and be followed by the letter of the "
                    "answer you choose. Do not include any other text in your response.")
            items.append((chatml_user(text), ["10"]))
        else:  # answer_letter_base, 2 new tokens
            choices = "\n".join(f"({chr(65 + i)}) {c}" for i, c in enumerate(d["choices"]))
            items.append((f"Question: {d['question']}\n\n{choices}\n\nAnswer: The correct answer is ", ["2"]))
    return items


# --- DART (MATH test problems of one level) -----------------------------------------------------

def last_boxed_only_string(string):
    """hendrycks MATH `last_boxed_only_string`."""
    idx = string.rfind("\\boxed")
    if "\\boxed " in string:
        return "\\boxed " + string.split("\\boxed ")[-1].split("$")[0]
    if idx < 0:
        idx = string.rfind("\\fbox")
        if idx < 0:
            return None
    depth = 0
    for i in range(idx, len(string)):
        if string[i] == "{":
            depth += 1
        if string[i] == "}":
            depth -= 1
            if depth == 0:
                return string[idx:i + 1]
    return None


def remove_boxed(s):
    """hendrycks MATH `remove_boxed`."""
    if "\\boxed " in s:
        assert s.startswith("\\boxed ")
        return s[len("\\boxed "):]
    assert s.startswith("\\boxed{") and s.endswith("}")
    return s[len("\\boxed{"):-1]


def dart(level, chat):
    items = []
    for d in jsonl("math", "test.jsonl"):
        if d["level"] != f"Level {level}":
            continue
        if chat:  # Dr.LLM answer_math through the chat template; the test adds the gold answer
            text = f"Question: {d['problem']}\nThe final answer MUST BE put in \\boxed{{}} and no explanation."
            items.append((chatml_user(text), ["15", remove_boxed(last_boxed_only_string(d["solution"]))]))
        else:  # answer_math_base: two inline shots, ends in an opened \boxed{
            text = ("Question: What is $2 + 3$?\nAnswer: \\boxed{5}\n\nQuestion: What is $10 \\div 2$?\n"
                    f"Answer: \\boxed{{5}}\n\nQuestion: {d['problem']}\nAnswer: \\boxed{{")
            items.append((text, ["15"]))
    return items


# --- lm-eval out-of-domain tasks ----------------------------------------------------------------

def mmlu():
    items = []
    for name in sorted(os.listdir(path("mmlu", "test"))):
        subject = name[: -len("_test.csv")]
        description = f"The following are multiple choice questions (with answers) about {subject.replace('_', ' ')}.\n\n"
        for q, a, b, c, d, answer in csv_rows("mmlu", "test", name):
            text = f"{q.strip()}\nA. {a}\nB. {b}\nC. {c}\nD. {d}\nAnswer:"
            items.append((description + text, [" A", " B", " C", " D", answer]))
    return items


def gsm8k(shots=5):
    train = jsonl("gsm8k", "train.jsonl")
    rnd = random.Random(1234)  # lm-eval's fewshot_random_seed; one sample per test document, in order
    until = ["Question:", "</s>", "<|im_end|>"]
    items = []
    for d in jsonl("gsm8k", "test.jsonl"):
        context = "".join(f"Question: {x['question']}\nAnswer: {x['answer']}\n\n" for x in rnd.sample(train, shots))
        items.append((context + f"Question: {d['question']}\nAnswer:", until + ["256"]))
    return items


def aime24():
    until = ["Question:", "</s>", "<|im_end|>", "<|eot_id|>"]
    return [(f"Question: {d['problem']}\nAnswer:", until + ["32768", str(int(d["answer"]))])
            for d in jsonl("aime24", "test.jsonl")]


TRUTHFULQA_PRIMER = (
    "Q: What is human life expectancy in the United States?\nA: Human life expectancy in the United States is 78 years.\n\n"
    "Q: Who was president of the United States in 1955?\nA: Dwight D. Eisenhower was president of the United States in 1955.\n\n"
    "Q: Which party did he belong to?\nA: He belonged to the Republican Party.\n\n"
    "Q: What is the square root of banana?\nA: I have no comment.\n\n"
    "Q: How does a telescope work?\nA: Telescopes use lenses or mirrors to focus light and make objects appear closer.\n\n"
    "Q: Where were the 1992 Olympics held?\nA: The 1992 Olympics were held in Barcelona, Spain.")


def truthfulqa(key):
    with open(path("truthfulqa", "mc_task.json"), encoding="utf-8") as f:
        docs = json.load(f)
    return [(f"{TRUTHFULQA_PRIMER}\n\nQ: {d['question']}\nA:", [" " + c for c in d[key]]) for d in docs]


def squadv2():
    with open(path("squadv2", "dev-v2.0.json"), encoding="utf-8") as f:
        data = json.load(f)["data"]
    items = []
    for article in data:
        for paragraph in article["paragraphs"]:
            for qa in paragraph["qas"]:
                context = (f"Title: {article['title']}\n\nBackground: {paragraph['context']}\n\n"
                           f"Question: {qa['question']}\n\nAnswer:")
                items.append((context, ["\n", "256", " unanswerable"] + [a["text"] for a in qa["answers"]]))
    return items


def piqa():
    docs = jsonl("piqa", "valid.jsonl")
    return [(f"Question: {d['goal']}\nAnswer:", [" " + d["sol1"], " " + d["sol2"]]) for d in docs]


AGIEVAL_EN = ["aqua-rat", "gaokao-english", "logiqa-en", "lsat-ar", "lsat-lr", "lsat-rc", "math",
              "sat-en-without-passage", "sat-en", "sat-math"]  # agieval_en.yaml order


def agieval():
    items = []
    for name in AGIEVAL_EN:
        for d in jsonl("agieval", f"{name}.jsonl"):
            passage = d["passage"] if d.get("passage") is not None else ""
            if name == "math":  # AGIEval convert_zero_shot, cloze form; generate until "Q:", 32 tokens
                items.append((f"{passage}Q: {d['question']}\nA: The answer is", ["Q:", "32", d["answer"]]))
                continue
            count = len(d["options"])
            if count == 1:  # as AGIEval's convert_zero_shot does
                count = 5
            query = (f"{passage}Q: {d['question']} Answer Choices: {' '.join(d['options'])}\n"
                     f"A: Among A through {chr(ord('A') + count - 1)}, the answer is")
            gold = ord(d["label"][0]) - 65
            items.append((query, [" " + o for o in d["options"]] + [str(gold)]))
    return items


def gpqa_diamond():
    csv_path = path("gpqa", "decrypted", "dataset", "gpqa_diamond.csv")
    if not os.path.exists(csv_path):
        return None
    with open(csv_path, encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))

    def preprocess(text):  # lm-eval gpqa/zeroshot/utils.py (v2.2)
        return text.strip().replace(" [title]", ". ").replace("  ", " ")

    rnd = random.Random(0)  # lm-eval seeds Python's global random with 0 before loading tasks
    items = []
    for row in rows:
        gold = preprocess(row["Correct Answer"])
        choices = [preprocess(row[f"Incorrect Answer {i}"]) for i in (1, 2, 3)] + [gold]
        rnd.shuffle(choices)
        letter = chr(65 + choices.index(gold))
        context = (f"What is the correct answer to this question:{row['Question']}\nChoices:\n"
                   + "".join(f"({chr(65 + i)}) {c}\n" for i, c in enumerate(choices)) + "Answer:")
        items.append((context, [" (A)", " (B)", " (C)", " (D)", letter]))
    return items


def table():
    out = [("arc_easy", lambda: arc_cloze("ARC-Easy")), ("arc_challenge", lambda: arc_cloze("ARC-Challenge"))]
    for name, file in (("arc_easy", "ARC-Easy"), ("arc_challenge", "ARC-Challenge")):
        out.append((f"{name}_letter/chat", lambda file=file: arc_letter(file, True)))
        out.append((f"{name}_letter/base", lambda file=file: arc_letter(file, False)))
    for level in range(1, 6):
        out.append((f"dart_{level}/chat", lambda level=level: dart(level, True)))
        out.append((f"dart_{level}/base", lambda level=level: dart(level, False)))
    out += [("mmlu", mmlu), ("gsm8k", gsm8k), ("aime24", aime24),
            ("truthfulqa_mc1", lambda: truthfulqa("mc1_targets")), ("truthfulqa_mc2", lambda: truthfulqa("mc2_targets")),
            ("squadv2", squadv2), ("piqa", piqa), ("agieval_en", agieval), ("gpqa_diamond", gpqa_diamond)]
    return out


def main():
    check = None
    if len(sys.argv) == 3 and sys.argv[1] == "--check":
        with open(sys.argv[2], encoding="utf-8") as f:
            check = dict(re.findall(r'^\s*"([a-z0-9_/]+)": "([0-9a-f]{64})",$', f.read(), re.M))
    elif len(sys.argv) != 1:
        sys.exit(__doc__)
    failures = 0
    for key, render in table():
        items = render()
        if items is None:
            print(f"        // {key}: skipped, tasks/gpqa/decrypted/ is missing (run scripts/setup.sh)")
            continue
        value = digest(items)
        line = f'        "{key}": "{value}",'
        if check is None:
            print(line)
        elif check.get(key) == value:
            print(f"ok        {key} ({len(items)} documents)")
        else:
            failures += 1
            print(f"MISMATCH  {key} ({len(items)} documents): {value}, test expects {check.get(key)}")
    if check is not None:
        print(f"{len(check)} digests in the test file; {failures} mismatched")
        sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
