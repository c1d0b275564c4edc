"""Where transformers' GGUF-derived tokenizer and bench's (llama.cpp's) tokenizer first differ on
the prompt lm-eval built for one GSM8K document.
usage: tokenizer_diff.py LMEVAL_OUT_DIR DOC_ID BENCH_EXECUTABLE   (run from the repo root, with
the lm-eval venv's python)"""
import glob, json, subprocess, sys
from transformers import AutoTokenizer

out_dir, doc_id, bench = sys.argv[1], int(sys.argv[2]), sys.argv[3]
samples = sorted(glob.glob(f"{out_dir}/**/samples_gsm8k_local_*.jsonl", recursive=True))[-1]
prompt = next(s for s in map(json.loads, open(samples)) if s["doc_id"] == doc_id)["arguments"]["gen_args_0"]["arg_0"]
tok = AutoTokenizer.from_pretrained("models", gguf_file="SmolLM2-135M-Instruct.Q4_1.gguf")
hf = tok(prompt, add_special_tokens=False)["input_ids"]
ours = json.loads(subprocess.run([bench, "tokenize", prompt], capture_output=True, text=True, check=True).stdout)["ids"]
print(f"transformers: {len(hf)} tokens; bench: {len(ours)} tokens")
i = 0
while i < min(len(hf), len(ours)) and hf[i] == ours[i]:
    i += 1
if hf == ours:
    print("identical")
else:
    print(f"first difference at token {i}:")
    print("  transformers:", [tok.decode([t]) for t in hf[max(0, i - 3):i + 4]])
    print("  bench:       ", [tok.decode([t]) for t in ours[max(0, i - 3):i + 4]])
