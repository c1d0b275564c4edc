"""Compares lm-eval's GSM8K samples (run_gsm8k.sh) with bench's records of the same documents:
the exact prompt (5 few-shot examples drawn by lm-eval's sampler), the raw generation, both
filtered answers' scores. Prints a Markdown report.
usage: compare_gsm8k.py LMEVAL_OUT_DIR BENCH_RECORDS_JSONL BENCH_EXECUTABLE"""
import glob, json, subprocess, sys

out_dir, records_file, bench = sys.argv[1:4]
samples_file = sorted(glob.glob(f"{out_dir}/**/samples_gsm8k_local_*.jsonl", recursive=True))[-1]
samples = list(map(json.loads, open(samples_file)))  # one line per (document, filter)
records = {r["index"]: r for r in map(json.loads, open(records_file))}

def bench_context(index):
    text = subprocess.run([bench, "prompt", "gsm8k", "--index", str(index)], capture_output=True, text=True, check=True).stdout
    start = text.index("verbatim between the rules) ---\n") + len("verbatim between the rules) ---\n")
    return text[start:text.index("\n--- end of context ---")]

rows = []
for s in sorted(samples, key=lambda s: (s["doc_id"], s["filter"])):
    i = s["doc_id"]
    r = records.get(i)
    if r is None:
        continue
    prompt_ok = s["arguments"]["gen_args_0"]["arg_0"] == bench_context(i)
    text_ok = s["resps"][0][0] == r["prediction"]
    ours = r["metrics"]["exact_match," + s["filter"]]
    rows.append((i, prompt_ok, text_ok, s["filter"], s["filtered_resps"][0], s["exact_match"], ours))
docs = sorted({row[0] for row in rows})
print(f"| doc | filter | same prompt | same generation | lm-eval answer | lm-eval exact_match | bench exact_match |")
print("|---:|---|---|---|---|---:|---:|")
for i, p, t, f, ans, lm, ours in rows:
    print(f"| {i} | {f} | {'yes' if p else 'NO'} | {'yes' if t else 'NO'} | `{ans}` | {lm} | {ours} |")
prompt_docs = sum(1 for i in docs if all(row[1] for row in rows if row[0] == i))
text_docs = sum(1 for i in docs if all(row[2] for row in rows if row[0] == i))
metric_rows = sum(1 for row in rows if float(row[5]) == float(row[6]))
print(f"\n{len(docs)} documents: same prompt on {prompt_docs}, same generation on {text_docs}; "
      f"same exact_match on {metric_rows} of {len(rows)} (document, filter) pairs.")
