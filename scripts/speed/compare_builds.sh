#!/usr/bin/env bash
# Times two bench builds on the same `bench run` job, side by side: ROUNDS alternating rounds
# (before, after, before, after, ...), each into a fresh results folder; prints each round, the
# medians and their ratio as Markdown, and checks that both builds wrote the same records
# (byte for byte once the "seconds" member is cut out).
#
#   scripts/speed/compare_builds.sh BEFORE_BENCH AFTER_BENCH ROUNDS -- run --tasks squadv2 --limit 500 --config baseline
#
# `bench mcts` jobs write into a file: each round gets `--output <round>/mcts.jsonl` instead of
# `--results <round>`. IGNORE="member ..." cuts those JSON members out before comparing, besides
# "seconds" (e.g. IGNORE="blocksComputed blocksReused" when the after-build counts work the
# before-build did not do).
#
# BEFORE_BENCH is e.g. a release build of an earlier commit:
#   git worktree add /tmp/before <commit> && (cd /tmp/before && swift build -c release --product bench)
set -euo pipefail
if [ $# -lt 4 ] || [ "$4" != "--" ]; then
  echo "usage: $0 BEFORE_BENCH AFTER_BENCH ROUNDS -- BENCH_ARGS..." >&2; exit 2
fi
before=$1 after=$2 rounds=$3; shift 4
for b in "$before" "$after"; do [ -x "$b" ] || { echo "$0: $b is not an executable" >&2; exit 2; }; done
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
declare -a tb ta
for r in $(seq 1 "$rounds"); do
  for which in before after; do
    bin=$before; [ $which = after ] && bin=$after
    out="$scratch/$which-$r"
    start=$(date +%s.%N)
    if [ "$1" = mcts ]; then mkdir -p "$out"; where=(--output "$out/mcts.jsonl"); else where=(--results "$out"); fi
    "$bin" "$@" "${where[@]}" > "$out.log" 2>&1 || { echo "$0: $which round $r failed; see its log:" >&2; cat "$out.log" >&2; exit 1; }
    end=$(date +%s.%N)
    t=$(python3 -c "print(f'{$end - $start:.1f}')")
    if [ $which = before ]; then tb+=("$t"); else ta+=("$t"); fi
    echo "round $r $which: $t s" >&2
  done
done
# Records of every round must agree with the first before-round.
reference="$scratch/before-1"
status=0
strip='s/"seconds":[^,}]*,\{0,1\}//'
for member in ${IGNORE:-}; do strip="$strip; s/\"$member\":[^,}]*,\{0,1\}//"; done
for d in "$scratch"/*-[0-9]*; do
  [ -d "$d" ] || continue
  while IFS= read -r f; do
    rel=${f#"$reference"/}
    if ! cmp -s <(sed "$strip" "$f") <(sed "$strip" "$d/$rel"); then
      echo "records differ: $d/$rel" >&2; status=1
    fi
  done < <(find "$reference" -name '*.jsonl')
done
python3 - "$*" "${tb[*]}" "${ta[*]}" "$status" <<'PY'
import statistics, sys
args, tb, ta, status = sys.argv[1], list(map(float, sys.argv[2].split())), list(map(float, sys.argv[3].split())), sys.argv[4]
mb, ma = statistics.median(tb), statistics.median(ta)
print(f"| job | rounds | before (s) | after (s) | median before | median after | speed-up | records |")
print(f"|---|---:|---|---|---:|---:|---:|---|")
print(f"| `bench {args}` | {len(tb)} | {', '.join(map(str, tb))} | {', '.join(map(str, ta))} | {mb:.1f} | {ma:.1f} | {mb/ma:.2f}× | {'identical' if status == '0' else 'DIFFERENT'} |")
PY
exit $status
