#!/usr/bin/env bash
# Submits a sharded bench job to Slurm: a job array with one task per shard, then the merge,
# which starts only if every shard succeeded (--dependency=afterok:<array job>).
#
#   deploy/slurm/submit.sh --shards 3 -- run --tasks arc_easy,gsm8k --limit 12
#   deploy/slurm/submit.sh --shards 4 --cpus 4 --mem 8G -- run --suite indomain --results results
#   deploy/slurm/submit.sh --shards 8 --mcts data/mcts/big.jsonl -- mcts --mix arc_easy_letter:400
#   deploy/slurm/submit.sh --shards 3 --only 2 -- run --tasks arc_easy,gsm8k --limit 12   # rerun shard 2
#
# Everything after `--` is the bench subcommand (run or mcts) with its options, exactly as for one
# machine. Shards resume like any run, so resubmitting a failed shard with --only (same --shards,
# same bench arguments) continues where it stopped, and its merge runs again afterwards.
#
# Options:
#   --shards N        number of shards = array tasks (required)
#   --cpus N          CPUs per shard (--cpus-per-task; default $BENCH_CPUS or 2); bench's --threads
#                     follows it unless the bench arguments give --threads
#   --mem SIZE        memory per shard (default $BENCH_MEM or 4G)
#   --time T          time limit per shard (sbatch --time; default: the partition's)
#   --partition P, --account A   passed to sbatch (SBATCH_PARTITION/SBATCH_ACCOUNT work too)
#   --mcts OUTPUT     shard `bench mcts` into OUTPUT.shard-I-of-N.jsonl and merge into OUTPUT
#                     (adds --output OUTPUT to the mcts arguments; or give --output there yourself)
#   --only LIST       submit only these shard numbers (Slurm array syntax, e.g. 2 or 1,3), e.g. to
#                     rerun failed shards; the merge still waits for them and merges all N
#   --no-merge        submit the array only
#   --max-parallel K  run at most K shards at once (array throttle %K)
#   --logs DIR        log folder (default: logs/slurm in the repository), one file per task
#   --bench PATH      bench binary (default $BENCH or .build/release/bench)
#   --dry-run         print the sbatch commands instead of running them
# Relative paths (--results, --output, --mcts, --logs, --bench) are relative to the repository root:
# the jobs run there (BENCH_REPO), and so does this script.
set -euo pipefail

usage() { sed -n '2,/^set -euo/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'; }
die() { echo "submit.sh: $*" >&2; exit 2; }

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)

shards="" only="" mcts="" time_limit="" partition="" account="" max_parallel="" dry_run=0 merge=1
cpus=${BENCH_CPUS:-2}
mem=${BENCH_MEM:-4G}
logs=logs/slurm
bench=${BENCH:-.build/release/bench}

need() { if [ $# -lt 2 ] || [ -z "$2" ]; then die "$1 needs a value"; fi; }
while [ $# -gt 0 ]; do
    case "$1" in
        --shards) need "$@"; shards=$2; shift 2 ;;
        --shards=*) shards=${1#*=}; shift ;;
        --cpus) need "$@"; cpus=$2; shift 2 ;;
        --cpus=*) cpus=${1#*=}; shift ;;
        --mem) need "$@"; mem=$2; shift 2 ;;
        --mem=*) mem=${1#*=}; shift ;;
        --time) need "$@"; time_limit=$2; shift 2 ;;
        --time=*) time_limit=${1#*=}; shift ;;
        --partition) need "$@"; partition=$2; shift 2 ;;
        --partition=*) partition=${1#*=}; shift ;;
        --account) need "$@"; account=$2; shift 2 ;;
        --account=*) account=${1#*=}; shift ;;
        --mcts) need "$@"; mcts=$2; shift 2 ;;
        --mcts=*) mcts=${1#*=}; shift ;;
        --only) need "$@"; only=$2; shift 2 ;;
        --only=*) only=${1#*=}; shift ;;
        --max-parallel) need "$@"; max_parallel=$2; shift 2 ;;
        --max-parallel=*) max_parallel=${1#*=}; shift ;;
        --logs) need "$@"; logs=$2; shift 2 ;;
        --logs=*) logs=${1#*=}; shift ;;
        --bench) need "$@"; bench=$2; shift 2 ;;
        --bench=*) bench=${1#*=}; shift ;;
        --no-merge) merge=0; shift ;;
        --dry-run) dry_run=1; shift ;;
        -h | --help) usage; exit 0 ;;
        --) shift; break ;;
        *) die "unknown option '$1' (bench arguments go after --; see --help)" ;;
    esac
done

[ -n "$shards" ] || die "--shards N is required (see --help)"
[[ "$shards" =~ ^[1-9][0-9]*$ ]] || die "--shards '$shards': expected a positive integer"
[[ "$cpus" =~ ^[1-9][0-9]*$ ]] || die "--cpus '$cpus': expected a positive integer"
[ -z "$max_parallel" ] || [[ "$max_parallel" =~ ^[1-9][0-9]*$ ]] || die "--max-parallel '$max_parallel': expected a positive integer"
[ $# -ge 1 ] || die "missing the bench command after -- (e.g. -- run --tasks arc_easy)"
command=$1
case "$command" in
    run | mcts) ;;
    *) die "bench command '$command': expected run or mcts" ;;
esac
bench_args=("$@")

# The value of a bench option (--name VALUE or --name=VALUE) in the bench arguments, or "".
option_value() {
    local i
    for ((i = 1; i < ${#bench_args[@]}; i++)); do
        case "${bench_args[$i]}" in
            "$1") echo "${bench_args[$((i + 1))]:-}"; return ;;
            "$1"=*) echo "${bench_args[$i]#*=}"; return ;;
        esac
    done
}
[ -z "$(option_value --shard)" ] || die "do not pass --shard to bench: the array gives each task its shard"

if [ "$command" = mcts ]; then
    output=$(option_value --output)
    if [ -n "$mcts" ] && [ -n "$output" ] && [ "$mcts" != "$output" ]; then
        die "--mcts '$mcts' and the mcts --output '$output' differ"
    fi
    [ -n "$mcts" ] || mcts=$output
    [ -n "$mcts" ] || die "bench mcts needs an output: give --mcts OUTPUT (or --output OUTPUT after --)"
    [ -n "$output" ] || bench_args+=(--output "$mcts")
    merge_args=(--mcts "$mcts")
else
    [ -z "$mcts" ] || die "--mcts is for the mcts command, not '$command'"
    results=$(option_value --results)
    merge_args=(--results "${results:-results}")
fi

array=${only:-1-$shards}
[[ "$array" =~ ^[0-9,-]+$ ]] || die "--only '$only': expected shard numbers such as 2 or 1,3 or 2-4"
# Every index must be a shard number 1..N.
IFS=, read -ra pieces <<<"$array"
for piece in "${pieces[@]}"; do
    [[ "$piece" =~ ^([0-9]+)(-([0-9]+))?$ ]] || die "--only '$only': bad element '$piece'"
    lo=${BASH_REMATCH[1]} hi=${BASH_REMATCH[3]:-${BASH_REMATCH[1]}}
    if ((lo < 1 || hi > shards || lo > hi)); then
        die "--only '$only': shard numbers run from 1 to $shards"
    fi
done
[ -z "$max_parallel" ] || array="$array%$max_parallel"

cd "$repo"
[ "$dry_run" = 1 ] || [ -x "$bench" ] || die "bench binary '$bench' not found in $repo (build it: swift build -c release, or give --bench)"
[ "$dry_run" = 1 ] || command -v sbatch >/dev/null || die "sbatch not found: is this a Slurm login node?"
[ "$dry_run" = 1 ] || mkdir -p "$logs"

common=(--parsable --chdir="$repo" --export="ALL,BENCH_REPO=$repo,BENCH=$bench,BENCH_SHARDS=$shards")
[ -z "$partition" ] || common+=(--partition="$partition")
[ -z "$account" ] || common+=(--account="$account")

array_cmd=(sbatch "${common[@]}" --array="$array" --job-name="bench-$command"
    --cpus-per-task="$cpus" --mem="$mem" --output="$logs/%x-%A_%a.out")
[ -z "$time_limit" ] || array_cmd+=(--time="$time_limit")
array_cmd+=("$here/run_array.sbatch" "${bench_args[@]}")

merge_cmd=(sbatch "${common[@]}" --job-name=bench-merge --output="$logs/%x-%j.out"
    --dependency=afterok:ARRAY_JOB --kill-on-invalid-dep=yes "$here/merge.sbatch" "${merge_args[@]}")

if [ "$dry_run" = 1 ]; then
    printf '%q ' "${array_cmd[@]}"; echo
    [ "$merge" = 0 ] || { printf '%q ' "${merge_cmd[@]}"; echo; }
    exit 0
fi

array_job=$(sbatch_out=$("${array_cmd[@]}") && echo "${sbatch_out%%;*}") || die "sbatch of the array failed"
[[ "$array_job" =~ ^[0-9]+$ ]] || die "unexpected sbatch output '$array_job'"
echo "array job: $array_job (bench $command, shards $array of $shards, CPUs per shard: $cpus)"
ids=$array_job
if [ "$merge" = 1 ]; then
    merge_cmd=("${merge_cmd[@]/ARRAY_JOB/$array_job}")
    merge_job=$(sbatch_out=$("${merge_cmd[@]}") && echo "${sbatch_out%%;*}") || die "sbatch of the merge failed (the array job $array_job is submitted)"
    [[ "$merge_job" =~ ^[0-9]+$ ]] || die "unexpected sbatch output '$merge_job'"
    echo "merge job: $merge_job (bench merge ${merge_args[*]}, after every shard of $array_job succeeds)"
    ids="$array_job,$merge_job"
fi
echo "watch:     squeue -j $ids    (or: scontrol show job $array_job)"
case "$logs" in /*) log_dir=$logs ;; *) log_dir=$repo/$logs ;; esac
echo "logs:      $log_dir/bench-$command-${array_job}_<shard>.out$([ "$merge" = 0 ] || echo ", $log_dir/bench-merge-$merge_job.out")"
echo "cancel:    scancel $ids"
echo "rerun a failed shard I: $0 --shards $shards --only I -- ${bench_args[*]}"
