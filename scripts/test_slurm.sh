#!/usr/bin/env bash
# End-to-end test of the Slurm deployment (deploy/slurm/) on a throwaway single-node Slurm cluster
# brought up on this machine. Needs root (it installs Debian's slurm-wlm and munge with apt when
# they are missing and runs the daemons as root); everything else lives in a temp dir that is
# removed at the end, and every daemon it started is stopped (trap on EXIT).
#
#   bash scripts/test_slurm.sh                  # the whole test (about 5 min on an idle 2-core machine)
#   bash scripts/test_slurm.sh --smoke-only     # only bring the cluster up, run a trivial array
#                                               # and a dependent job, tear it down (about 30 s)
#
# What it checks:
#   smoke  a trivial job array (--array=0-2) and a job depending on it (afterok) run on the cluster.
#   (a)    deploy/slurm/submit.sh --shards 3 -- run --tasks arc_easy,gsm8k --limit 6 --config both
#          (a job array of 3 shards + the merge job) gives, once merged, the same records as the same
#          `bench run` in one process: every results/<model>/<run>/<task>.jsonl identical byte for
#          byte once `"seconds":<number>` is cut, the summaries identical without their timing, the
#          configurations identical.
#   (b)    the same submission with shard 2 cancelled (scancel <job>_2) after its first records are
#          written: the merge job does not run; resubmitting that shard alone (submit.sh --only 2,
#          i.e. sbatch --array=2) resumes it (the records it had are kept as they were) and its merge
#          gives the same records again.
#   (c)    a sharded `bench mcts` submitted with plain sbatch (deploy/slurm/run_array.sbatch without
#          BENCH_SHARDS, so bench reads its shard from the Slurm array variables) and merge.sbatch
#          --mcts give the same MCTS file as one process (records identical without "seconds").
#
# Environment:
#   BENCH                 bench binary (default .build/release/bench; must have `run --shard`)
#   SLURM_TEST_LIMIT      --limit for the bench runs (default 6; a routed gsm8k document takes ~10 s)
#   SLURM_TEST_TASKS      --tasks (default arc_easy,gsm8k)
#   SLURM_TEST_TIMEOUT    seconds for the whole test after the install (default 900); every wait
#                         is bounded by it
#   SLURM_TEST_PARTS      which of the bench checks to run (default abc; the smoke test always runs)
#   SLURM_TEST_KEEP=1     keep the temp dir (logs, results) for inspection
# The last line is `slurm: N passed, M failed`; the exit status is non-zero on any failure.
set -uo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BENCH=${BENCH:-.build/release/bench}
case "$BENCH" in
    /*) ;;
    *) if [ -e "$BENCH" ]; then BENCH="$(pwd)/$BENCH"; else BENCH="$REPO/$BENCH"; fi ;;
esac
LIMIT=${SLURM_TEST_LIMIT:-6}
TASKS=${SLURM_TEST_TASKS:-arc_easy,gsm8k}
TIMEOUT=${SLURM_TEST_TIMEOUT:-900}
PARTS=${SLURM_TEST_PARTS:-abc}
SHARDS=3
CANCEL_SHARD=2
SMOKE_ONLY=0
for arg in "$@"; do
    case "$arg" in
        --smoke-only) SMOKE_ONLY=1 ;;
        -h | --help) sed -n '2,/^set -uo/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "test_slurm.sh: unknown argument '$arg'" >&2; exit 2 ;;
    esac
done

passed=0
failed=0
pass() { passed=$((passed + 1)); echo "PASS $*"; }
fail() { failed=$((failed + 1)); echo "FAIL $*"; }
log() { echo "[$(date -u +%H:%M:%S)] $*"; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

T=""
PIDS_STARTED=()   # daemons this script started (munged, slurmctld, slurmd), in start order
DEADLINE=0

remaining() { echo $((DEADLINE - $(date +%s))); }

# ---------------------------------------------------------------- teardown (trap on EXIT)
stop_pid() {  # stop_pid PID NAME: SIGTERM, wait up to 15 s, then SIGKILL
    local pid=$1 name=$2 i
    kill -0 "$pid" 2>/dev/null || return 0
    kill -TERM "$pid" 2>/dev/null
    for ((i = 0; i < 30; i++)); do
        kill -0 "$pid" 2>/dev/null || return 0
        sleep 0.5
    done
    echo "  $name ($pid) did not stop on SIGTERM: SIGKILL"
    kill -KILL "$pid" 2>/dev/null
}

cleanup() {
    local status=$? t0 i pid step_pids=()
    trap - EXIT INT TERM
    t0=$(now)
    if [ -n "$T" ] && [ -f "$T/slurm.conf" ] && [ ${#PIDS_STARTED[@]} -gt 0 ]; then
        log "teardown: cancelling jobs, stopping the daemons"
        # Processes of jobs still running on the node (slurmstepd outlives slurmd): their ids first.
        mapfile -t step_pids < <(timeout 10 scontrol listpids 2>/dev/null | awk 'NR > 1 && $1 ~ /^[0-9]+$/ { print $1 }')
        timeout 10 scancel --user=root >/dev/null 2>&1
        for ((i = 0; i < 30; i++)); do
            [ -z "$(timeout 10 squeue -h -o %i 2>/dev/null)" ] && break
            sleep 1
        done
        for pid in "${step_pids[@]}"; do
            # Only processes of this cluster (guards against a reused pid).
            if grep -qzx "SLURM_CONF=$T/slurm.conf" "/proc/$pid/environ" 2>/dev/null; then
                kill -KILL "$pid" 2>/dev/null
            fi
        done
        # slurmd, slurmctld, munged: the reverse of the start order.
        for ((i = ${#PIDS_STARTED[@]} - 1; i >= 0; i--)); do
            stop_pid "${PIDS_STARTED[$i]%%:*}" "${PIDS_STARTED[$i]#*:}"
        done
    fi
    if [ $failed -gt 0 ] && [ -n "$T" ] && [ -d "$T/log" ]; then
        for f in "$T"/log/*.log; do
            [ -f "$f" ] || continue
            echo "---- last lines of $f"
            tail -n 15 "$f"
        done
    fi
    if [ -n "$T" ] && [ -d "$T" ]; then
        if [ "${SLURM_TEST_KEEP:-0}" = 1 ]; then
            echo "kept $T"
        else
            rm -rf "$T"
        fi
    fi
    [ ${#PIDS_STARTED[@]} -eq 0 ] || log "teardown: $(since "$t0") s"
    if [ $status -ne 0 ] && [ $failed -eq 0 ]; then failed=1; fi
    echo "slurm: $passed passed, $failed failed"
    if [ $failed -gt 0 ]; then exit 1; fi
    exit 0
}
trap cleanup EXIT
trap 'echo "interrupted"; failed=$((failed + 1)); exit 1' INT TERM

abort() {  # a setup step failed: nothing after it can run
    fail "$*"
    exit 1
}

if [ "$(id -u)" != 0 ]; then
    abort "setup: needs root (installs slurm-wlm/munge and runs slurmctld/slurmd as root)"
fi

# ---------------------------------------------------------------- install
t_install=$(now)
missing=()
for tool in munged mungekey slurmctld slurmd sbatch squeue scontrol scancel sinfo; do
    command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
done
if [ ${#missing[@]} -gt 0 ]; then
    log "installing slurm-wlm and munge (missing: ${missing[*]})"
    # No service may start during the install (there is no init system to start them anyway).
    made_policy=0
    if [ ! -e /usr/sbin/policy-rc.d ]; then
        printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d && made_policy=1
    fi
    export DEBIAN_FRONTEND=noninteractive
    timeout 600 apt-get update -qq >/dev/null &&
        timeout 900 apt-get install -y -qq --no-install-recommends slurm-wlm munge >/dev/null
    install_status=$?
    [ $made_policy = 0 ] || rm -f /usr/sbin/policy-rc.d
    [ $install_status = 0 ] || abort "setup: apt-get install slurm-wlm munge failed ($install_status)"
fi
for tool in munged slurmctld slurmd sbatch squeue scontrol scancel sinfo python3; do
    command -v "$tool" >/dev/null 2>&1 || abort "setup: $tool not found"
done
log "packages ready: $(slurmctld -V 2>&1), $(munged -V 2>&1 | head -n 1) ($(since "$t_install") s)"
DEADLINE=$(($(date +%s) + TIMEOUT))

# ---------------------------------------------------------------- bring-up
t_up=$(now)
T=$(mktemp -d /tmp/drllm-slurm-test.XXXXXX) || abort "setup: mktemp failed"
chmod 755 "$T"   # munged needs the socket's folders executable by all
mkdir -p "$T/munge" "$T/run" "$T/log" "$T/logs" "$T/state" "$T/spool" "$T/smoke" || abort "setup: mkdir failed"
chmod 700 "$T/munge"
chmod 755 "$T/run"

# A private munge key and socket: the machine's own munge (if any) is left alone.
if command -v mungekey >/dev/null 2>&1; then
    mungekey --create --keyfile="$T/munge/munge.key" >/dev/null 2>&1
fi
if [ ! -s "$T/munge/munge.key" ]; then
    dd if=/dev/urandom of="$T/munge/munge.key" bs=1024 count=1 status=none
fi
chmod 600 "$T/munge/munge.key"
MUNGE_SOCKET=$T/run/munge.socket
munged --foreground --socket="$MUNGE_SOCKET" --key-file="$T/munge/munge.key" \
    --log-file="$T/log/munged.log" --pid-file="$T/run/munged.pid" --seed-file="$T/munge/munged.seed" \
    >>"$T/log/munged.log" 2>&1 &
PIDS_STARTED+=("$!:munged")
for ((i = 0; i < 50; i++)); do
    [ -S "$MUNGE_SOCKET" ] && break
    kill -0 "$!" 2>/dev/null || break
    sleep 0.2
done
if ! munge --socket="$MUNGE_SOCKET" -n 2>/dev/null | unmunge --socket="$MUNGE_SOCKET" >/dev/null 2>&1; then
    abort "bring-up: munged does not answer on $MUNGE_SOCKET"
fi

# Two free local TCP ports for slurmctld and slurmd.
read -r CTLD_PORT SLURMD_PORT < <(python3 - <<'EOF'
import socket
socks = [socket.socket() for _ in range(2)]
for s in socks:
    s.bind(("127.0.0.1", 0))
print(*(s.getsockname()[1] for s in socks))
EOF
)
[ -n "${SLURMD_PORT:-}" ] || abort "bring-up: no free ports"

# The node as slurmd sees it (CPUs, sockets, cores, memory), named localhost.
node_hw=$(slurmd -C 2>/dev/null | head -n 1 | sed -E 's/^NodeName=[^ ]+ //')
[[ "$node_hw" == *CPUs=* ]] || abort "bring-up: slurmd -C gave '$node_hw'"
node_cpus=$(sed -E 's/.*CPUs=([0-9]+).*/\1/' <<<"$node_hw")
cat >"$T/slurm.conf" <<EOF
# Generated by scripts/test_slurm.sh: a throwaway single-node cluster.
ClusterName=drllmtest
SlurmctldHost=localhost
SlurmctldPort=$CTLD_PORT
SlurmdPort=$SLURMD_PORT
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$MUNGE_SOCKET
StateSaveLocation=$T/state
SlurmdSpoolDir=$T/spool
SlurmctldPidFile=$T/run/slurmctld.pid
SlurmdPidFile=$T/run/slurmd.pid
SlurmctldLogFile=$T/log/slurmctld.log
SlurmdLogFile=$T/log/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
MpiDefault=none
SwitchType=switch/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
ReturnToService=2
MinJobAge=3600
KillWait=5
InactiveLimit=0
DependencyParameters=kill_invalid_depend
NodeName=localhost NodeAddr=127.0.0.1 $node_hw State=UNKNOWN
PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP
EOF
export SLURM_CONF=$T/slurm.conf

slurmctld -D -f "$SLURM_CONF" >>"$T/log/slurmctld.out" 2>&1 &
PIDS_STARTED+=("$!:slurmctld")
slurmd -D -N localhost -f "$SLURM_CONF" >>"$T/log/slurmd.out" 2>&1 &
PIDS_STARTED+=("$!:slurmd")

state=""
for ((i = 0; i < 120; i++)); do
    state=$(timeout 10 sinfo -h -N -n localhost -o %t 2>/dev/null | head -n 1)
    [ "$state" = idle ] && break
    sleep 0.5
done
if [ "$state" != idle ]; then
    cat "$T"/log/*.out 2>/dev/null | tail -n 20
    abort "bring-up: the node is '${state:-not there}' after 60 s, not idle"
fi
BRINGUP=$(since "$t_up")
log "cluster up in $BRINGUP s: node localhost ($node_cpus CPUs), conf $SLURM_CONF"

# ---------------------------------------------------------------- helpers
# The JobState of every task of a job (one per line; an array's pending tasks count once).
job_states() { timeout 10 scontrol -o show job "$1" 2>/dev/null | grep -o 'JobState=[A-Z_]*' | cut -d= -f2; }

# wait_job JOB SECONDS: waits until every task of JOB has ended; prints their states;
# status 0 when all COMPLETED, 1 otherwise (2 on timeout).
wait_job() {
    local job=$1 limit=$2 end states s finished
    end=$(($(date +%s) + limit))
    local r
    r=$(remaining)
    [ "$r" -lt "$limit" ] && end=$(($(date +%s) + r))
    while :; do
        states=$(job_states "$job")
        if [ -n "$states" ]; then
            finished=1
            for s in $states; do
                case "$s" in
                    COMPLETED | CANCELLED | FAILED | TIMEOUT | NODE_FAIL | PREEMPTED | BOOT_FAIL | DEADLINE | OUT_OF_MEMORY) ;;
                    *) finished=0 ;;
                esac
            done
            if [ $finished = 1 ]; then
                tr '\n' ' ' <<<"$states" | sed 's/ $//'; echo
                for s in $states; do [ "$s" = COMPLETED ] || return 1; done
                return 0
            fi
        fi
        if [ "$(date +%s)" -ge "$end" ]; then
            echo "timeout (states: ${states:-unknown job})"
            return 2
        fi
        sleep 2
    done
}

# wait_for SECONDS COMMAND…: polls COMMAND every 0.5 s until it succeeds (status 0) or time is up.
wait_for() {
    local limit=$1 end r
    shift
    r=$(remaining)
    [ "$r" -lt "$limit" ] && limit=$r
    end=$(($(date +%s) + limit))
    while ! "$@"; do
        [ "$(date +%s)" -lt "$end" ] || return 1
        sleep 0.5
    done
}

# ---------------------------------------------------------------- smoke: array + dependency
t_smoke=$(now)
# shellcheck disable=SC2016  # expanded by the job
smoke_array=$(sbatch --parsable --array=0-2 --cpus-per-task=1 --output="$T/smoke/array-%A_%a.out" \
    --wrap 'echo "$SLURM_ARRAY_TASK_ID $SLURM_ARRAY_TASK_MIN $SLURM_ARRAY_TASK_COUNT nice=$(nice)"' 2>&1)
smoke_array=${smoke_array%%;*}
if [[ "$smoke_array" =~ ^[0-9]+$ ]]; then
    smoke_dep=$(sbatch --parsable --dependency=afterok:"$smoke_array" --cpus-per-task=1 \
        --output="$T/smoke/dependent.out" --wrap "cat $T/smoke/array-${smoke_array}_*.out | sort" 2>&1)
    smoke_dep=${smoke_dep%%;*}
    if states=$(wait_job "$smoke_array" 120); then
        got=$(cat "$T/smoke/array-${smoke_array}"_*.out 2>/dev/null | awk '{ print $1 }' | sort | tr '\n' ' ')
        if [ "$got" = "0 1 2 " ]; then
            pass "smoke: array job $smoke_array ran tasks 0-2 ($(head -n 1 "$T/smoke/array-${smoke_array}_0.out"))"
        else
            fail "smoke: array job $smoke_array wrote '$got', expected '0 1 2 '"
        fi
    else
        fail "smoke: array job $smoke_array: $states"
    fi
    if [[ "$smoke_dep" =~ ^[0-9]+$ ]] && states=$(wait_job "$smoke_dep" 60) &&
        [ "$(wc -l <"$T/smoke/dependent.out" 2>/dev/null)" = 3 ]; then
        pass "smoke: dependent job $smoke_dep ran after the array (afterok)"
    else
        fail "smoke: dependent job '$smoke_dep': ${states:-} $(cat "$T/smoke/dependent.out" 2>/dev/null)"
    fi
else
    fail "smoke: sbatch --array=0-2 failed: $smoke_array"
fi
log "smoke test: $(since "$t_smoke") s"
[ $SMOKE_ONLY = 0 ] || exit 0

# ---------------------------------------------------------------- bench checks
[ -x "$BENCH" ] || abort "bench: '$BENCH' not found (swift build -c release, or set BENCH)"
# The help is read whole first: `grep -q` stops at the first match, and under pipefail the
# SIGPIPE bench then gets would read as a failure.
run_help=$("$BENCH" run --help 2>&1 || true)
if ! grep -q -- '--shard' <<<"$run_help"; then
    abort "bench: '$BENCH' has no 'run --shard' (a build without sharding)"
fi
if ! "$BENCH" merge --help >/dev/null 2>&1; then
    abort "bench: '$BENCH' has no 'merge' subcommand"
fi

cat >"$T/compare.py" <<'EOF'
"""compare.py ONE MERGED (or --file A B): the results trees of a one-process run and a merged sharded run.

Records (<model>/<run>/<task>.jsonl) must be identical byte for byte once "seconds":<number> is cut
(as scripts/check_records.py does), summaries (<task>.json) identical without "timing", and
configurations (<task>.config.json) identical. The shards/ folder of MERGED is not compared.
Prints one line per kind of file; exit status 1 on any difference."""
import json, os, re, sys

NUM = r"-?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?"
MIDDLE = re.compile(r',"seconds":' + NUM + r'(?=[,}])')
FIRST = re.compile(r'\{"seconds":' + NUM + r',')
ONLY = re.compile(r'\{"seconds":' + NUM + r'\}')

def strip_seconds(line):
    line = MIDDLE.sub("", line.rstrip("\n"))
    return ONLY.sub("{}", FIRST.sub("{", line))

def files(root):
    found = {}
    for folder, dirs, names in os.walk(root):
        rel = os.path.relpath(folder, root)
        if rel == "shards" or rel.startswith("shards" + os.sep):
            dirs[:] = []
            continue
        for name in names:
            found[os.path.normpath(os.path.join(rel, name))] = os.path.join(folder, name)
    return found

def kind(name):
    if name.endswith(".config.json"):
        return "configurations"
    if name.endswith(".jsonl"):
        return "records"
    if name.endswith(".json"):
        return "summaries"
    return None

def drop(value, keys):
    if isinstance(value, dict):
        return {k: drop(v, keys) for k, v in value.items() if k not in keys}
    if isinstance(value, list):
        return [drop(v, keys) for v in value]
    return value

if sys.argv[1] == "--file":  # compare.py --file A B: two JSONL files, "seconds" cut
    try:
        a = [strip_seconds(l) for l in open(sys.argv[2])]
        b = [strip_seconds(l) for l in open(sys.argv[3])]
    except OSError as error:
        print(error)
        sys.exit(1)
    if a != b or not a:
        print(f"{len(a)} vs {len(b)} records, different")
        sys.exit(1)
    print(f"{len(a)} records identical")
    sys.exit(0)

one, merged = files(sys.argv[1]), files(sys.argv[2])
bad = False
for what in ("records", "summaries", "configurations"):
    names = sorted(n for n in one if kind(n) == what)
    extra = sorted(n for n in merged if kind(n) == what and n not in one)
    problems, compared = [], 0
    if not names:
        problems.append("none in the one-process run")
    for name in names:
        if name not in merged:
            problems.append(f"{name}: missing from the merge")
            continue
        a, b = open(one[name]).read(), open(merged[name]).read()
        if what == "records":
            la = [strip_seconds(l) for l in a.splitlines()]
            lb = [strip_seconds(l) for l in b.splitlines()]
            compared += len(la)
            if la != lb:
                diff = next((i for i, (x, y) in enumerate(zip(la, lb)) if x != y), min(len(la), len(lb)))
                problems.append(f"{name}: {len(la)} vs {len(lb)} records, first difference at line {diff + 1}")
        else:
            keys = {"timing"} if what == "summaries" else {"shard"}
            ja, jb = drop(json.loads(a), keys), drop(json.loads(b), keys)
            compared += 1
            if ja != jb:
                differing = sorted(k for k in set(ja) | set(jb) if ja.get(k) != jb.get(k))
                problems.append(f"{name}: differs in {differing}")
    problems += [f"{name}: only in the merge" for name in extra]
    if problems:
        bad = True
        print(f"{what}: DIFFERENT")
        for p in problems:
            print(f"  {p}")
    else:
        unit = "records" if what == "records" else "files"
        print(f"{what}: identical ({compared} {unit} in {len(names)} files)")
sys.exit(1 if bad else 0)
EOF

RUN_ARGS=(run --tasks "$TASKS" --limit "$LIMIT" --config both --threads 1)

# check_merge NAME RESULTS: the merged tree RESULTS against the one-process run.
check_merge() {
    local name=$1 results=$2 out
    if out=$(python3 "$T/compare.py" "$T/one-results" "$results" 2>&1); then
        pass "$name: merged shards = one process: $(echo "$out" | tr '\n' ';' | sed 's/;$//; s/;/; /g')"
    else
        fail "$name: merged shards differ from one process:"
        echo "$out"
    fi
}

# submit NAME RESULTS [submit.sh options…]: runs submit.sh, sets ARRAY_JOB and MERGE_JOB.
submit() {
    local name=$1 results=$2 out
    shift 2
    ARRAY_JOB="" MERGE_JOB=""
    out=$("$REPO/deploy/slurm/submit.sh" --shards $SHARDS --cpus 1 --mem 2G --bench "$BENCH" \
        --logs "$T/logs" "$@" -- "${RUN_ARGS[@]}" --results "$results" 2>&1)
    printf '%s\n' "$out" | sed 's/^/  | /'  # submit.sh's own report
    ARRAY_JOB=$(sed -n -E 's/^array job: ([0-9]+).*/\1/p' <<<"$out")
    MERGE_JOB=$(sed -n -E 's/^merge job: ([0-9]+).*/\1/p' <<<"$out")
    if [ -z "$ARRAY_JOB" ] || [ -z "$MERGE_JOB" ]; then
        fail "$name: submit.sh did not print the array and merge job ids"
        return 1
    fi
}

# The reference: the same run in one process, alongside the cluster's shards.
start_reference() {
    log "reference run: $BENCH ${RUN_ARGS[*]} --results $T/one-results"
    t_ref=$(now)
    (cd "$REPO" && exec timeout "$(remaining)" "$BENCH" "${RUN_ARGS[@]}" --results "$T/one-results") \
        >"$T/log/one-process.out" 2>&1 &
    ref_pid=$!
}
finish_reference() {
    local ref_status
    wait "$ref_pid"
    ref_status=$?
    log "reference run: exit status $ref_status, $(since "$t_ref") s"
    if [ $ref_status != 0 ]; then
        tail -n 20 "$T/log/one-process.out"
        abort "reference: bench run in one process failed ($ref_status)"
    fi
}

# (a) three shards and the merge.
part_a() {
    log "(a) submit.sh --shards $SHARDS -- ${RUN_ARGS[*]} --results $T/slurm-results"
    t_a=$(now)
    if submit "(a)" "$T/slurm-results"; then
        if states=$(wait_job "$ARRAY_JOB" 900); then
            pass "(a) array job $ARRAY_JOB: all $SHARDS shards completed"
        else
            fail "(a) array job $ARRAY_JOB: $states"
        fi
        logs_found=$(find "$T/logs" -name "bench-run-${ARRAY_JOB}_*.out" 2>/dev/null | wc -l)
        if [ "$logs_found" = $SHARDS ]; then
            pass "(a) one log per shard in $T/logs"
        else
            fail "(a) $logs_found logs for $SHARDS shards: $(find "$T/logs" -type f -printf '%f ' 2>/dev/null)"
        fi
        if states=$(wait_job "$MERGE_JOB" 120); then
            pass "(a) merge job $MERGE_JOB completed"
        else
            fail "(a) merge job $MERGE_JOB: $states"
            tail -n 20 "$T/logs/bench-merge-$MERGE_JOB.out" 2>/dev/null
        fi
    fi
    log "(a) sharded run and merge: $(since "$t_a") s"
}

# (b) cancel shard 2 after its first records, resubmit it alone, merge again.
RES_B=$T/slurm-results-b
part_b() {
    log "(b) the same with shard $CANCEL_SHARD cancelled midway"
    t_b=$(now)
    first_records() {  # some record of shard CANCEL_SHARD is written
        local f
        for f in "$RES_B/shards/$CANCEL_SHARD-of-$SHARDS"/*/*/*.jsonl; do
            [ -s "$f" ] && return 0
        done
        return 1
}
if submit "(b)" "$RES_B"; then
    first_array=$ARRAY_JOB first_merge=$MERGE_JOB
    if wait_for 600 first_records; then
        scancel "${first_array}_$CANCEL_SHARD"
        log "(b) cancelled ${first_array}_$CANCEL_SHARD after its first records"
    else
        fail "(b) shard $CANCEL_SHARD wrote no record in time"
    fi
    states=$(wait_job "$first_array" 900)
    task_state=$(timeout 10 scontrol -o show job "${first_array}_$CANCEL_SHARD" 2>/dev/null | grep -o 'JobState=[A-Z_]*' | cut -d= -f2)
    others=$(echo "$states" | tr ' ' '\n' | grep -c '^COMPLETED$')
    if [ "$task_state" = CANCELLED ] && [ "$others" = $((SHARDS - 1)) ]; then
        pass "(b) shard $CANCEL_SHARD cancelled midway, the other $others shards completed"
    else
        fail "(b) after the cancel: shard $CANCEL_SHARD is '${task_state:-unknown}', the array: $states"
    fi
    merge_state=$(wait_job "$first_merge" 60)
    model_dir=$(find "$T/one-results" -mindepth 1 -maxdepth 1 -type d -printf '%f\n' | head -n 1)
    if [ "$merge_state" != COMPLETED ] && [ ! -d "$RES_B/$model_dir" ]; then
        pass "(b) merge job $first_merge did not run ($merge_state): a shard failed"
    else
        fail "(b) merge job $first_merge: '$merge_state' although shard $CANCEL_SHARD was cancelled"
    fi
    # The records the cancelled shard kept; the resumed shard must keep them as they are.
    mkdir -p "$T/kept"
    (cd "$RES_B/shards/$CANCEL_SHARD-of-$SHARDS" && find . -name '*.jsonl' -exec cp --parents {} "$T/kept/" \;)
    kept_records=$(cat "$T/kept"/*/*/*.jsonl 2>/dev/null | wc -l)

    log "(b) resubmitting shard $CANCEL_SHARD (submit.sh --only $CANCEL_SHARD)"
    if submit "(b) resubmission" "$RES_B" --only "$CANCEL_SHARD"; then
        if states=$(wait_job "$ARRAY_JOB" 900); then
            pass "(b) resubmitted shard $CANCEL_SHARD (job ${ARRAY_JOB}_$CANCEL_SHARD) completed"
        else
            fail "(b) resubmitted shard $CANCEL_SHARD: $states"
            tail -n 20 "$T/logs/bench-run-${ARRAY_JOB}_$CANCEL_SHARD.out" 2>/dev/null
        fi
        if states=$(wait_job "$MERGE_JOB" 120); then
            pass "(b) merge job $MERGE_JOB completed"
        else
            fail "(b) merge job $MERGE_JOB: $states"
            tail -n 20 "$T/logs/bench-merge-$MERGE_JOB.out" 2>/dev/null
        fi
        prefix_ok=1
        while IFS= read -r -d '' kept; do
            rel=${kept#"$T/kept/"}
            now_file="$RES_B/shards/$CANCEL_SHARD-of-$SHARDS/$rel"
            # The complete lines kept (a torn last line is dropped on resume).
            complete=$(awk 'END { print NR }' "$kept")
            [ -n "$(tail -c 1 "$kept")" ] && complete=$((complete - 1))
            if ! cmp -s <(head -n "$complete" "$kept") <(head -n "$complete" "$now_file"); then
                prefix_ok=0
                echo "  $rel: the resumed shard changed records it had before the cancel"
            fi
        done < <(find "$T/kept" -name '*.jsonl' -print0)
        if [ $prefix_ok = 1 ]; then
            pass "(b) the resumed shard kept its $kept_records records from before the cancel"
        else
            fail "(b) the resumed shard rewrote records"
        fi
        check_merge "(b)" "$RES_B"
    fi
fi
log "(b) cancel, resubmission and merge: $(since "$t_b") s"
}

# (c) a sharded MCTS search submitted with plain sbatch, as deploy/README.md shows: no BENCH_SHARDS,
# so bench takes its shard from SLURM_ARRAY_TASK_ID/MIN/COUNT itself; then merge.sbatch --mcts.
MCTS_ARGS=(mcts --mix arc_easy_letter:3 --simulations 4 --threads 1)
part_c() {
    log "(c) sbatch --array=1-$SHARDS run_array.sbatch ${MCTS_ARGS[*]} --output $T/mcts.jsonl"
    t_c=$(now)
    (cd "$REPO" && exec timeout "$(remaining)" "$BENCH" "${MCTS_ARGS[@]}" --output "$T/mcts-one.jsonl") \
        >"$T/log/mcts-one-process.out" 2>&1 &
    ref_pid=$!
    mcts_array=$(cd "$REPO" && BENCH=$BENCH sbatch --parsable --array=1-$SHARDS --cpus-per-task=1 --mem=2G \
        --output="$T/logs/%x-%A_%a.out" deploy/slurm/run_array.sbatch "${MCTS_ARGS[@]}" --output "$T/mcts.jsonl" 2>&1)
    mcts_array=${mcts_array%%;*}
    if [[ "$mcts_array" =~ ^[0-9]+$ ]]; then
        mcts_merge=$(cd "$REPO" && BENCH=$BENCH sbatch --parsable --dependency=afterok:"$mcts_array" \
            --output="$T/logs/%x-%j.out" deploy/slurm/merge.sbatch --mcts "$T/mcts.jsonl" 2>&1)
        mcts_merge=${mcts_merge%%;*}
        if states=$(wait_job "$mcts_array" 600); then
            shard_files=$(find "$T" -maxdepth 1 -name "mcts.shard-*-of-$SHARDS.jsonl" | wc -l)
            if [ "$shard_files" = $SHARDS ]; then
                pass "(c) MCTS array job $mcts_array: $SHARDS shards from the Slurm environment, one file each"
            else
                fail "(c) MCTS array job $mcts_array: $shard_files shard files, expected $SHARDS"
            fi
        else
            fail "(c) MCTS array job $mcts_array: $states"
            tail -n 5 "$T/logs/bench-shard-${mcts_array}"_*.out 2>/dev/null
        fi
        if [[ "$mcts_merge" =~ ^[0-9]+$ ]] && states=$(wait_job "$mcts_merge" 120); then
            pass "(c) MCTS merge job $mcts_merge completed"
        else
            fail "(c) MCTS merge job '$mcts_merge': ${states:-}"
            tail -n 20 "$T/logs/bench-merge-$mcts_merge.out" 2>/dev/null
        fi
    else
        fail "(c) sbatch of the MCTS array failed: $mcts_array"
    fi
    wait $ref_pid
    ref_status=$?
    if [ $ref_status != 0 ]; then
        tail -n 20 "$T/log/mcts-one-process.out"
        fail "(c) bench mcts in one process failed ($ref_status)"
    elif out=$(python3 "$T/compare.py" --file "$T/mcts-one.jsonl" "$T/mcts.jsonl" 2>&1); then
        pass "(c) merged MCTS file = one process: $out"
    else
        fail "(c) merged MCTS file differs from one process: $out"
    fi
    log "(c) sharded MCTS and merge: $(since "$t_c") s"
}

t_parts=$(now)
case "$PARTS" in *a* | *b*) start_reference ;; esac
case "$PARTS" in *a*) part_a ;; esac
case "$PARTS" in *a* | *b*) finish_reference ;; esac
case "$PARTS" in *a*) check_merge "(a)" "$T/slurm-results" ;; esac
case "$PARTS" in *b*) part_b ;; esac
case "$PARTS" in *c*) part_c ;; esac
log "bench checks: $(since "$t_parts") s"
