"""Converts AI2's original ARC JSONL (question.stem, question.choices[{text,label}], answerKey) to
the schema of the Hugging Face dataset allenai/ai2_arc (id, question, choices{text,label},
answerKey) that lm-eval's arc tasks read."""
import json, sys
src, dst = sys.argv[1:3]
with open(src) as f, open(dst, "w") as out:
    for line in f:
        d = json.loads(line)
        q = d["question"]
        out.write(json.dumps({"id": d["id"], "question": q["stem"],
                              "choices": {"text": [c["text"] for c in q["choices"]],
                                          "label": [c["label"] for c in q["choices"]]},
                              "answerKey": d["answerKey"]}) + "\n")
