"""Per-document agreement between lm-eval's log_samples output and `bench run` records.
usage: compare_arc.py LMEVAL_SAMPLES.jsonl BENCH_RECORDS.jsonl"""
import json, sys
lm = [json.loads(l) for l in open(sys.argv[1])]
ours = {r["index"]: r for r in map(json.loads, open(sys.argv[2]))}
agree_acc = agree_norm = 0
max_diff = 0.0
lm_acc = our_acc = 0.0
for s in lm:
    i = s["doc_id"]
    r = ours[i]
    ll_lm = [float(x[0][0]) for x in s["resps"]]
    ll_us = r["choice_loglikelihoods"]
    choices = s["doc"]["choices"]["text"]
    pick = lambda ll: max(range(len(ll)), key=lambda k: (ll[k], -k))
    norm = lambda ll: [v / len(c) for v, c in zip(ll, choices)]
    agree_acc += pick(ll_lm) == pick(ll_us)
    agree_norm += pick(norm(ll_lm)) == pick(norm(ll_us))
    max_diff = max(max_diff, max(abs(a - b) for a, b in zip(ll_lm, ll_us)))
    lm_acc += s["acc"]; our_acc += r["metrics"]["acc,none"]
n = len(lm)
print(f"documents {n}: acc choice agreement {agree_acc}/{n} ({100*agree_acc/n:.1f}%), "
      f"acc_norm choice agreement {agree_norm}/{n} ({100*agree_norm/n:.1f}%)")
print(f"accuracy: lm-eval {100*lm_acc/n:.2f}, bench {100*our_acc/n:.2f}; max |Δ loglik| {max_diff:.5f}")
