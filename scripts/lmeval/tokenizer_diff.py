"""Where transformers' GGUF-derived tokenizer and bench's (llama.cpp's) tokenizer first differ on
the prompt lm-eval built for one document (its first request's context).
usage: tokenizer_diff.py LMEVAL_SAMPLES_JSONL DOC_ID BENCH_EXECUTABLE [--no-text]
(run from the repo root with the lm-eval venv's python; --no-text prints positions only, for GPQA)"""
import json, subprocess, sys
from transformers import AutoTokenizer

samples, doc_id, bench = sys.argv[1], int(sys.argv[2]), sys.argv[3]
show_text = "--no-text" not in sys.argv[4:]
sample = next(s for s in map(json.loads, open(samples)) if s["doc_id"] == doc_id)
prompt = sample["arguments"]["gen_args_0"]["arg_0"]
tok = AutoTokenizer.from_pretrained("models", gguf_file="SmolLM2-135M-Instruct.Q4_1.gguf")
hf = tok(prompt, add_special_tokens=False)["input_ids"]
ours = json.loads(subprocess.run([bench, "tokenize", prompt], capture_output=True, text=True, check=True).stdout)["ids"]
i = 0
while i < min(len(hf), len(ours)) and hf[i] == ours[i]:
    i += 1
if hf == ours:
    print(f"document {doc_id}: identical ({len(ours)} tokens)")
else:
    print(f"document {doc_id}: transformers {len(hf)} tokens, bench {len(ours)}; first difference at token {i}")
    if show_text:
        print("  transformers:", [tok.decode([t]) for t in hf[max(0, i - 3):i + 4]])
        print("  bench:       ", [tok.decode([t]) for t in ours[max(0, i - 3):i + 4]])
