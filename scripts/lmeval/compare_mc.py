"""Per-document agreement between lm-eval's samples of a multiple-choice task and `bench run`
records of the same documents (matched by position): the chosen answer (argmax of the
log-likelihoods), each per-document metric lm-eval logged (acc, acc_norm), and the largest
log-likelihood difference.
usage: compare_mc.py LMEVAL_SAMPLES_JSONL BENCH_RECORDS_JSONL"""
import json, sys

samples = [json.loads(l) for l in open(sys.argv[1])]
ours = {r["index"]: r for r in map(json.loads, open(sys.argv[2]))}
pick = lambda ll: max(range(len(ll)), key=lambda k: (ll[k], -k))
n = same_choice = 0
same_metric, totals_lm, totals_us = {}, {}, {}
max_diff = 0.0
for s in samples:
    r = ours.get(s["doc_id"])
    if r is None:
        continue
    n += 1
    ll_lm = [float(x[0][0]) for x in s["resps"]]
    ll_us = r["choice_loglikelihoods"]
    same_choice += pick(ll_lm) == pick(ll_us)
    max_diff = max(max_diff, max(abs(a - b) for a, b in zip(ll_lm, ll_us)))
    for metric in ("acc", "acc_norm"):
        if metric in s and f"{metric},none" in r["metrics"]:
            same_metric[metric] = same_metric.get(metric, 0) + (float(s[metric]) == float(r["metrics"][f"{metric},none"]))
            totals_lm[metric] = totals_lm.get(metric, 0) + float(s[metric])
            totals_us[metric] = totals_us.get(metric, 0) + float(r["metrics"][f"{metric},none"])
print(f"{n} documents: same choice on {same_choice}/{n}; largest |Δ loglik| {max_diff:.5f} nats")
for metric in same_metric:
    print(f"  {metric}: same on {same_metric[metric]}/{n}; lm-eval {100 * totals_lm[metric] / n:.2f}, bench {100 * totals_us[metric] / n:.2f}")
