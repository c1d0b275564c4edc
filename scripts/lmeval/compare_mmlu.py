"""Per-document agreement between lm-eval's MMLU samples (run_mmlu.sh) and `bench run --tasks mmlu`
records: the chosen letter, accuracy and the largest log-likelihood difference, per subject and
overall. Documents are matched by subject and index within the subject.
usage: compare_mmlu.py LMEVAL_OUT_DIR BENCH_RECORDS_JSONL"""
import glob, json, sys

out_dir, records_file = sys.argv[1:3]
ours = {r["id"]: r for r in map(json.loads, open(records_file))}
rows, total, agree, max_diff, lm_correct, our_correct = [], 0, 0, 0.0, 0.0, 0.0
for path in sorted(glob.glob(f"{out_dir}/**/samples_mmlu_local_*.jsonl", recursive=True)):
    subject = path.split("samples_mmlu_local_")[1].rsplit("_", 1)[0]
    n = a = 0
    diff = 0.0
    for s in map(json.loads, open(path)):
        r = ours.get(f"mmlu_{subject}/{s['doc_id']}")
        if r is None:
            continue
        ll_lm = [float(x[0][0]) for x in s["resps"]]
        ll_us = r["choice_loglikelihoods"]
        pick = lambda ll: max(range(len(ll)), key=lambda k: (ll[k], -k))
        n += 1
        a += pick(ll_lm) == pick(ll_us)
        diff = max(diff, max(abs(x - y) for x, y in zip(ll_lm, ll_us)))
        lm_correct += s["acc"]
        our_correct += r["metrics"]["acc,none"]
    rows.append((subject, n, a, diff))
    total += n; agree += a; max_diff = max(max_diff, diff)
print("| subject | documents | same choice | max |Δ loglik| |")
print("|---|---:|---:|---:|")
for subject, n, a, d in rows:
    print(f"| {subject} | {n} | {a} | {d:.5f} |")
print(f"\n{len(rows)} subjects, {total} documents: same choice on {agree}/{total}; "
      f"accuracy lm-eval {100 * lm_correct / total:.2f}, bench {100 * our_correct / total:.2f}; "
      f"largest |Δ loglik| {max_diff:.5f} nats.")
