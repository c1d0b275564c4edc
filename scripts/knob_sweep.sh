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
        task_rows = [r for r in csv.DictReader(f) if r["kind"] == "task"]
    n = sum(int(r["n"]) for r in task_rows)
    pooled = lambda key: sum(float(r[key]) * int(r["n"]) for r in task_rows) / n
    setting = name.removeprefix("routed-").replace("-", ":", 1)
    rows.append((setting, n, pooled("score_a"), pooled("score_b"), pooled("delta"),
                 pooled("layers_a"), pooled("layers_b"), pooled("layers_saved")))
out = [f"## {model}: the routers' control knob (`--router-blend`)\n",
       f"Routed runs on the first {limit} documents of {tasks.replace(',', ', ')}, each against the baseline on",
       "the same documents, pooled over the tasks (documents weighted equally). The router's class",
       "probabilities are blended with a one-hot on CLASS before the argmax: p′ = (1 − α)·p + α·e_CLASS;",
       "`execute:0` is the plain router. Per-task tables with bootstrap CIs: `baseline-vs-routed-<setting>.md`.\n",
       "| setting | n | baseline | routed | Δ (pts) | layers baseline | layers routed | layers saved | saved % |",
       "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
for s, n, a, b, d, la, lb, ls in rows:
    out.append(f"| {s} | {n} | {a:.1f} | {b:.1f} | {d:+.1f} | {la:.1f} | {lb:.1f} | {ls:+.2f} | {100 * ls / la:+.2f} |")
out.append(f"\nReproduce: `scripts/knob_sweep.sh {tasks} {limit} {' '.join(n.removeprefix('routed-').replace('-', ':', 1) for n in names)}` (router `{router}`).")
open(f"reports/{model}/knob-sweep.md", "w").write("\n".join(out) + "\n")
print("\n".join(out))
PY
