#!/usr/bin/env bash
# The routers' control knob (bench run --router-blend) swept on the first N documents of some
# tasks: one routed run per setting (results/<model>/routed-<class>-<alpha>/, resumable), each
# compared with the baseline (reports/<model>/baseline-vs-routed-<class>-<alpha>.{md,csv}), and
# one trade-off table pooled over the tasks: reports/<model>/knob-sweep.md.
# usage: scripts/knob_sweep.sh [TASKS] [LIMIT] [SETTINGS…]
#   defaults: arc_easy,arc_challenge 400 execute:0 execute:0.05 execute:0.1 execute:0.2 execute:0.3 skip:0.05 skip:0.1
# Needs the baseline results of those documents (bench run --config baseline).
set -euo pipefail
TASKS=${1:-arc_easy,arc_challenge}; LIMIT=${2:-400}; shift $(( $# > 2 ? 2 : $# ))
SETTINGS=("$@")
if [ ${#SETTINGS[@]} -eq 0 ]; then
    SETTINGS=(execute:0 execute:0.05 execute:0.1 execute:0.2 execute:0.3 skip:0.05 skip:0.1)
fi
MODEL=smollm2-135m-instruct
ROUTER=routers/$MODEL.routers
cd "$(dirname "$0")/.."
BENCH=${BENCH:-.build/release/bench}
[ -n "${BENCH_SKIP_BUILD:-}" ] || swift build -c release --product bench >/dev/null
names=()
for s in "${SETTINGS[@]}"; do
    name="routed-${s/:/-}"
    names+=("$name")
    "$BENCH" run --tasks "$TASKS" --limit "$LIMIT" --config routed --router "$ROUTER" \
        --router-blend "$s" --name "$name" --seed 1234 >/dev/null
    "$BENCH" compare baseline "$name" --model "$MODEL" >/dev/null
done
python3 - "$MODEL" "$TASKS" "$LIMIT" "$ROUTER" "${names[@]}" <<'PY'
import csv, sys
model, tasks, limit, router, names = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5:]
rows = []
for name in names:
    with open(f"reports/{model}/baseline-vs-{name}.csv", newline="") as f:
        all_rows = list(csv.DictReader(f))
    task_rows = [r for r in all_rows if r["kind"] == "task"]
    n = sum(int(r["n"]) for r in task_rows)
    # The suite row that pools exactly these documents carries the bootstrap CI of the pooled Δ.
    suite = next((r for r in all_rows if r["kind"] == "suite" and int(r["n"]) == n), None)
    pooled = lambda key: sum(float(r[key]) * int(r["n"]) for r in task_rows) / n
    ci = f"[{float(suite['ci_lower']):+.1f}, {float(suite['ci_upper']):+.1f}]" if suite else "–"
    setting = name.removeprefix("routed-").replace("-", ":", 1)
    rows.append((setting, n, pooled("score_a"), pooled("score_b"), pooled("delta"), ci,
                 pooled("layers_a"), pooled("layers_b"), pooled("layers_saved"),
                 pooled("path_length_a"), pooled("path_length_b")))
out = [f"## {model}: the routers' control knob (`--router-blend`)\n",
       f"Routed runs on the first {limit} documents of {tasks.replace(',', ', ')}, each against the baseline on",
       "the same documents, pooled over the tasks (documents weighted equally). The router's class",
       "probabilities are blended with a one-hot on CLASS before the argmax: p′ = (1 − α)·p + α·e_CLASS;",
       "`execute:0` is the plain router. 95% CI: paired bootstrap over the pooled documents (10000 resamples,",
       "seed 1234); path = blocks per token. Per-task tables: `baseline-vs-routed-<setting>.md`.\n",
       "| setting | n | baseline | routed | Δ (pts) | 95% CI | layers baseline | layers routed | layers saved | saved % | path baseline | path routed |",
       "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
for s, n, a, b, d, ci, la, lb, ls, pa, pb in rows:
    out.append(f"| {s} | {n} | {a:.1f} | {b:.1f} | {d:+.1f} | {ci} | {la:.1f} | {lb:.1f} | {ls:+.2f} | {100 * ls / la:+.2f} | {pa:.2f} | {pb:.2f} |")
out.append(f"\nReproduce: `scripts/knob_sweep.sh {tasks} {limit} {' '.join(n.removeprefix('routed-').replace('-', ':', 1) for n in names)}` (router `{router}`).")
open(f"reports/{model}/knob-sweep.md", "w").write("\n".join(out) + "\n")
print("\n".join(out))
PY
