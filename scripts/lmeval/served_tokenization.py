"""Does a served answer change only because of the client's tokenisation?  For one document,
sends `bench serve` the prompt's token ids twice — as transformers' GGUF-derived tokenizer gives
them (what lm-eval's `local-completions` sends with `tokenized_requests=True` and the tokenizer
folder scripts/lmeval/serve_agreement.sh makes) and as bench's own tokenizer (SmolLM2's, as
llama.cpp's) gives them — and prints where the two id lists first differ and both answers, with
the path each ran.  A generation task's document only (its `generation` request).
usage: served_tokenization.py BENCH TASK INDEX BASE_URL MODEL_NAME
  e.g. served_tokenization.py .build/release/bench gsm8k 4 http://127.0.0.1:8000/v1 smollm2-135m-instruct:routed
(run from the repo root with the lm-eval venv's python, a `bench serve` listening at BASE_URL)"""
import json, subprocess, sys, urllib.request
from transformers import AutoTokenizer

bench, task, index, base_url, model = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5]
doc = json.loads(subprocess.run([bench, "prompt", task, "--index", str(index), "--count", "1", "--json"],
                                capture_output=True, text=True, check=True).stdout.splitlines()[0])
request = doc["generation"]
if not request:
    sys.exit(f"{task} document {index} has no generation request")
prompt = request["context"]
tok = AutoTokenizer.from_pretrained("models", gguf_file="SmolLM2-135M-Instruct.Q4_1.gguf")
hf = tok(prompt, add_special_tokens=False)["input_ids"]
ours = json.loads(subprocess.run([bench, "tokenize", "--no-special", prompt], capture_output=True, text=True,
                                 check=True).stdout)["ids"]
i = 0
while i < min(len(hf), len(ours)) and hf[i] == ours[i]:
    i += 1
if hf == ours:
    print(f"{task} document {index}: the same {len(ours)} ids both ways")
else:
    print(f"{task} document {index}: transformers {len(hf)} ids, bench {len(ours)}; first difference at id {i}")
    print("  transformers:", [tok.decode([t]) for t in hf[max(0, i - 2):i + 3]])
    print("  bench:       ", [tok.decode([t]) for t in ours[max(0, i - 2):i + 3]])


def complete(ids):
    body = {"model": model, "prompt": ids, "max_tokens": request["max_tokens"], "stop": request["until"][:16],
            "temperature": 0}
    http = urllib.request.Request(f"{base_url}/completions", data=json.dumps(body).encode(),
                                  headers={"Content-Type": "application/json"})
    choice = json.load(urllib.request.urlopen(http, timeout=3600))["choices"][0]
    return choice["text"], choice.get("drllm", {}).get("path")


for name, ids in [("transformers' ids", hf), ("bench's ids", ours)]:
    text, path = complete(ids)
    print(f"{name}: {text[:100]!r}\n  path {path}")
