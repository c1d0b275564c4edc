#!/usr/bin/env python3
"""Per-document agreement between two runs' records of the same task (e.g. the native engine's
baseline and the same model served by llama.cpp through `bench run --backend openai`).

usage: compare_records.py NATIVE.jsonl SERVED.jsonl [--title T]
Prints a Markdown section: documents compared (those both runs hold, by index), choices or
predictions agreeing, metric agreement, log-likelihood differences (multiple choice), and every
document that differs. Exits 2 on unreadable input.
"""
import argparse
import json
import statistics
import sys


def load(path):
    records = {}
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            line = line.strip()
            if not line:
                continue
            try:
                r = json.loads(line)
            except json.JSONDecodeError as e:
                sys.exit(f"{path}:{n}: not a JSON record ({e})")
            records[r["index"]] = r
    return records


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("native")
    ap.add_argument("served")
    ap.add_argument("--title", default=None)
    a = ap.parse_args()
    native, served = load(a.native), load(a.served)
    common = sorted(set(native) & set(served))
    if not common:
        sys.exit(f"no document is in both {a.native} and {a.served}")
    title = a.title or a.served.rsplit("/", 1)[-1].removesuffix(".jsonl")
    mc = "choice_loglikelihoods" in served[common[0]]
    agree, metric_agree, diffs, lines, prefixes = 0, 0, [], [], []
    for i in common:
        n, s = native[i], served[i]
        same = (n.get("chosen_index") == s.get("chosen_index")) if mc else (n.get("prediction") == s.get("prediction"))
        agree += same
        metric_agree += n.get("metrics") == s.get("metrics")
        if mc:
            diffs += [abs(x - y) for x, y in zip(n["choice_loglikelihoods"], s["choice_loglikelihoods"])]
        elif not same:
            a_text, b_text = n.get("prediction", ""), s.get("prediction", "")
            k = 0
            while k < min(len(a_text), len(b_text)) and a_text[k] == b_text[k]:
                k += 1
            prefixes.append((k, len(a_text)))
        if not same:
            if mc:
                lines.append(f"| {i} | {n['id']} | {n['prediction']} | {s['prediction']} | {n['target']} | "
                             + ", ".join(f"{x:.3f}/{y:.3f}" for x, y in zip(n["choice_loglikelihoods"], s["choice_loglikelihoods"])) + " |")
            else:
                def clip(t):
                    return json.dumps(t[:80] + ("…" if len(t) > 80 else ""), ensure_ascii=False).replace("|", "\\|")
                lines.append(f"| {i} | {n['id']} | {clip(n['prediction'])} | {clip(s['prediction'])} | {n['target']} | "
                             f"{n['metrics']} → {s['metrics']} |")
    k = len(common)
    print(f"### {title}: {agree}/{k} documents agree ({100 * agree / k:.1f}%)\n")
    print(f"- {'chosen answer' if mc else 'generated text'} identical on {agree} of {k} documents; "
          f"metrics identical on {metric_agree} of {k}")
    if prefixes:
        shared = sorted(k for k, _ in prefixes)
        print(f"- where the texts differ, they share their first {shared[0]}–{shared[-1]} characters "
              f"(median {statistics.median(shared):g}) before the greedy paths part")
    if mc:
        print(f"- |Δ log-likelihood| over {len(diffs)} choices: median {statistics.median(diffs):.4f}, "
              f"mean {statistics.fmean(diffs):.4f}, max {max(diffs):.4f}")
    for name, recs in (("native", native), ("served", served)):
        keys = sorted({m for i in common for m in recs[i]["metrics"]})
        means = ", ".join(f"{m} {100 * statistics.fmean(recs[i]['metrics'][m] for i in common):.1f}" for m in keys)
        print(f"- {name} on these {k}: {means}")
    if lines:
        print()
        if mc:
            print("| index | id | native | served | target | log-likelihoods native/served |")
        else:
            print("| index | id | native | served | target | metrics |")
        print("|---:|---|---|---|---|---|")
        print("\n".join(lines))
    print()


if __name__ == "__main__":
    main()
