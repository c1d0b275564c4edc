#!/usr/bin/env python3
"""Regression check: rerun the committed benchmark records and compare them byte for byte.

For every committed results/<model>/<run>/<task>.config.json (filtered by the options) this
rebuilds the `bench run` command that produced it, runs it on the first K documents of each task
(of each subtask for groups: mmlu has 57 subjects, agieval_en 10 subsets) into a scratch results
folder, and checks that every record the scratch run wrote is in the committed <task>.jsonl (same
id) and identical to it byte for byte once the `"seconds":<number>` member is cut out of both raw
lines. With --mcts it also recomputes the last record(s) of each committed MCTS supervision file
(data/mcts/*.jsonl) by resuming `bench mcts` on a copy that lacks them.

The configuration each scratch run records must equal the committed one (its `limit` aside), and
the sha256 of the model and of the router file must equal the committed `model_sha256` and
`router_sha256` (else the task is not run: the check would be meaningless).

Exit status: 0 when every compared record is identical, 1 on any difference, missing record,
changed configuration, failed command or hash mismatch, 2 on a usage or setup error. Tasks whose
router file is absent (not committed, e.g. routed-arc400) are reported as not checked and do not
change the exit status.

Log-likelihoods depend on the kernels OpenBLAS picks for the CPU (and on --threads, default 2), so
a machine other than the one that made the records may not reproduce them even with the release
binary; then --reference-bench OLD compares the checked binary with OLD on the same commands.

  python3 scripts/check_records.py                       # sample: first 2 documents per task
  python3 scripts/check_records.py --skip-tasks aime24   # the same without AIME24
  python3 scripts/check_records.py --full --mcts         # every committed record (many hours)
  python3 scripts/check_records.py --reference-bench /tmp/bench-base --skip-tasks aime24

Progress, bench output and errors go to stderr; the per-task report and the final
`records: N identical, M different` line go to stdout. Python 3 standard library only.
"""

import argparse
import hashlib
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from collections import OrderedDict

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_BENCH = os.path.join(".build", "release", "bench")
# The default model, for a checkout without data/models.json.
KNOWN_MODELS = {"smollm2-135m-instruct": "SmolLM2-135M-Instruct.Q4_1.gguf"}
# Benchmarks that go through the chat template (used when `bench tasks` cannot tell).
CHAT_TASKS_FALLBACK = {"dart_1", "dart_2", "dart_3", "dart_4", "dart_5", "arc_easy_letter", "arc_challenge_letter"}
# Config keys allowed to differ between the scratch run and the committed one.
CONFIG_KEYS_IGNORED = {"limit"}

_NUM = r"-?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?"
# The member is cut with its comma; a quote inside a JSON string is escaped (\"), so `,"seconds":`
# and `{"seconds":` only match real members.
_SECONDS_MIDDLE = re.compile(r',"seconds":' + _NUM + r'(?=[,}])')
_SECONDS_FIRST = re.compile(r'\{"seconds":' + _NUM + r',')
_SECONDS_ONLY = re.compile(r'\{"seconds":' + _NUM + r'\}')


def log(msg=""):
    print(msg, file=sys.stderr, flush=True)


def out(msg=""):
    print(msg, flush=True)


def strip_seconds(line):
    """The raw record line without its `"seconds":<number>` member (text only, no re-serialising)."""
    line = line.rstrip("\n")
    line = _SECONDS_MIDDLE.sub("", line)
    line = _SECONDS_FIRST.sub("{", line)
    return _SECONDS_ONLY.sub("{}", line)


def sha256_file(path, cache={}):
    path = os.path.realpath(path)
    if path not in cache:
        h = hashlib.sha256()
        with open(path, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
        cache[path] = h.hexdigest()
    return cache[path]


def fmt_seconds(s):
    if s < 60:
        return f"{s:.1f} s"
    m, s = divmod(int(round(s)), 60)
    if m < 60:
        return f"{m} min {s:02d} s"
    h, m = divmod(m, 60)
    return f"{h} h {m:02d} min"


def split_list(text):
    return [x.strip() for x in text.split(",") if x.strip()] if text else []


def short(value, width=80):
    text = json.dumps(value, ensure_ascii=False, sort_keys=True)
    return text if len(text) <= width else text[: width - 1] + "…"


def key_diff(a, b, prefix=""):
    """Dotted keys whose values differ between two parsed records (nested objects walked)."""
    if isinstance(a, dict) and isinstance(b, dict):
        keys = []
        for k in sorted(set(a) | set(b)):
            if k == "seconds" and not prefix:
                continue
            name = f"{prefix}{k}"
            if k not in a:
                keys.append((name, "<absent>", short(b[k])))
            elif k not in b:
                keys.append((name, short(a[k]), "<absent>"))
            else:
                keys += key_diff(a[k], b[k], name + ".")
        return keys
    if a != b or type(a) is not type(b):
        return [(prefix.rstrip(".") or "<record>", short(a), short(b))]
    return []


def describe_difference(committed_line, scratch_line, what="committed"):
    """A short diff: which keys differ, with both values (or a byte position when the values agree)."""
    try:
        a, b = json.loads(committed_line), json.loads(scratch_line)
    except ValueError as e:
        return [f"unparsable line ({e})"]
    diffs = key_diff(a, b)
    if not diffs:
        x, y = strip_seconds(committed_line), strip_seconds(scratch_line)
        i = next((i for i, (p, q) in enumerate(zip(x, y)) if p != q), min(len(x), len(y)))
        return [f"same values, different bytes at offset {i}: {what} …{x[max(0, i - 30):i + 30]!r}…"
                f" vs new …{y[max(0, i - 30):i + 30]!r}…"]
    lines = ["keys differ: " + ", ".join(k for k, _, _ in diffs)]
    for k, old, new in diffs[:4]:
        lines.append(f"  {k}: {what} {old}  new {new}")
    if len(diffs) > 4:
        lines.append(f"  … and {len(diffs) - 4} more")
    return lines


def read_lines(path):
    with open(path, encoding="utf-8", newline="\n") as f:
        return [line for line in f.read().split("\n") if line.strip()]


def index_records(path, key=lambda r: r["id"]):
    """{key: raw line} of a JSONL file; a torn last line (no JSON) is skipped."""
    records = OrderedDict()
    lines = read_lines(path)
    for n, line in enumerate(lines):
        try:
            records[key(json.loads(line))] = line
        except ValueError:
            if n == len(lines) - 1:
                continue
            raise
    return records


class Totals:
    def __init__(self):
        self.identical = 0
        self.different = 0      # includes missing records
        self.failures = []      # things that make the check fail besides record differences
        self.unchecked = []     # skipped without failing (router file not committed)
        self.timings = []       # (label, seconds, rc)


def run_command(argv, label, totals):
    log(f"$ {' '.join(shlex.quote(a) for a in argv)}")
    t0 = time.monotonic()
    try:
        rc = subprocess.call(argv, cwd=REPO, stdout=sys.stderr, stderr=sys.stderr)
    except OSError as e:
        log(f"error: cannot run {argv[0]}: {e}")
        rc = 127
    dt = time.monotonic() - t0
    totals.timings.append((label, dt, rc))
    log(f"[{label}] took {fmt_seconds(dt)} (exit {rc})")
    return rc, dt


# ---------------------------------------------------------------------------------------------
# Benchmark records
# ---------------------------------------------------------------------------------------------

def model_registry():
    """name -> file under models/, from data/models.json when present, else the built-in list."""
    names = dict(KNOWN_MODELS)
    reg = os.path.join(REPO, "data", "models.json")
    if os.path.exists(reg):
        try:
            with open(reg, encoding="utf-8") as f:
                for m in json.load(f).get("models", []):
                    if m.get("name") and m.get("file"):
                        names[m["name"].lower()] = m["file"]
        except (OSError, ValueError) as e:
            log(f"warning: cannot read {reg}: {e}")
    return names


def model_dirs():
    dirs = []
    if os.environ.get("DRLLM_MODELS_DIR"):
        dirs.append(os.environ["DRLLM_MODELS_DIR"])
    dirs.append(os.path.join(REPO, "models"))
    return dirs


def locate_model(name):
    """(argument for --model, file path) for a model name as stored in a config, or (None, reason)."""
    registry = model_registry()
    file = registry.get(name.lower())
    if file:
        for d in model_dirs():
            p = os.path.join(d, file)
            if os.path.exists(p):
                return name, p
        return None, f"model '{name}' is not installed ({file} not under {', '.join(model_dirs())}; run scripts/setup.sh)"
    # A run made with --model path/to/file.gguf is stored under the file's lowercased stem.
    for d in model_dirs():
        if os.path.isdir(d):
            for f in sorted(os.listdir(d)):
                if f.endswith(".gguf") and f[:-5].lower() == name.lower():
                    p = os.path.join(d, f)
                    return os.path.relpath(p, REPO), p
    return None, f"model '{name}' is neither a known name nor a .gguf under {', '.join(model_dirs())}"


def chat_tasks(bench):
    """Benchmarks whose prompts go through the chat template, from `bench tasks`."""
    try:
        text = subprocess.run([bench, "tasks"], cwd=REPO, capture_output=True, text=True, timeout=120).stdout
    except (OSError, subprocess.SubprocessError):
        text = ""
    found = set()
    for row in text.splitlines():
        cells = [c.strip() for c in row.strip().strip("|").split("|")]
        if len(cells) >= 7 and cells[0] not in ("benchmark", "") and not set(cells[0]) <= set("-:"):
            if "chat template" in row:
                found.add(cells[0])
    return found or set(CHAT_TASKS_FALLBACK)


def discover(args):
    """Committed task configurations, filtered: list of dicts."""
    root = os.path.join(REPO, args.results) if not os.path.isabs(args.results) else args.results
    if not os.path.isdir(root):
        log(f"error: results folder {root} does not exist (give --results)")
        sys.exit(2)
    models, runs, tasks = set(split_list(args.models)), set(split_list(args.runs)), set(split_list(args.tasks))
    skip = set(split_list(args.skip_tasks))
    found = []
    for model in sorted(os.listdir(root)):
        mdir = os.path.join(root, model)
        if not os.path.isdir(mdir) or (models and model not in models):
            continue
        for run in sorted(os.listdir(mdir)):
            rdir = os.path.join(mdir, run)
            if not os.path.isdir(rdir) or (runs and run not in runs):
                continue
            for f in sorted(os.listdir(rdir)):
                if not f.endswith(".config.json"):
                    continue
                task = f[: -len(".config.json")]
                if (tasks and task not in tasks) or task in skip:
                    continue
                path = os.path.join(rdir, f)
                with open(path, encoding="utf-8") as fh:
                    config = json.load(fh)
                found.append({"model": model, "run": run, "task": task, "config": config, "config_path": path,
                              "jsonl": os.path.join(rdir, task + ".jsonl")})
    for name, wanted, seen in (("model", models, {c["model"] for c in found}),
                               ("run", runs, {c["run"] for c in found}),
                               ("task", tasks, {c["task"] for c in found})):
        for w in sorted(wanted - seen):
            log(f"warning: no committed configuration matches {name} '{w}'")
    return root, found


def command_args(entry, limit, chat_tasks_set, model_arg):
    """(grouping key, bench run arguments without --tasks/--results) or raise ValueError."""
    c, run, task = entry["config"], entry["run"], entry["task"]
    settings = c.get("settings", {})
    policy = c.get("policy", "full")
    a = ["--model", model_arg]
    if policy == "full":
        if run != "baseline":
            raise ValueError(f"policy 'full' under run name '{run}': `bench run --config baseline` always writes 'baseline'")
        a += ["--config", "baseline"]
    elif policy == "routers":
        if not c.get("router_file"):
            raise ValueError("policy 'routers' without router_file in the configuration")
        a += ["--config", "routed", "--router", c["router_file"], "--name", run]
        if settings.get("router_blend"):
            a += ["--router-blend", settings["router_blend"]]
    elif policy == "fixed":
        if not c.get("fixed_path"):
            raise ValueError("policy 'fixed' without fixed_path in the configuration")
        a += ["--path", ",".join(str(b) for b in c["fixed_path"]), "--name", run]
    else:
        raise ValueError(f"unknown policy '{policy}'")
    a += ["--seed", str(c.get("seed", 1234))]
    if c.get("fewshot_requested") is not None:
        a += ["--fewshot", str(c["fewshot_requested"])]
    if settings.get("max_gen_tokens"):
        a += ["--max-gen-tokens", str(settings["max_gen_tokens"])]
    if settings.get("chat_template_override"):
        a += ["--chat-template", settings["chat_template_override"]]
    elif not c.get("chat_template", False) and task in chat_tasks_set:
        a += ["--chat-template", "plain"]
    if limit is not None:
        a += ["--limit", str(limit)]
    return tuple(a), list(a)


def hash_problems(entry, model_path):
    """Reasons the committed records cannot be reproduced here (hash mismatches); [] when fine."""
    c = entry["config"]
    problems = []
    if model_path and c.get("model_sha256"):
        got = sha256_file(model_path)
        if got != c["model_sha256"]:
            problems.append(f"model {model_path} has sha256 {got}, the records were made with {c['model_sha256']}")
    if c.get("policy") == "routers":
        rf = os.path.join(REPO, c["router_file"])
        got = sha256_file(rf)
        if c.get("router_sha256") and got != c["router_sha256"]:
            problems.append(f"router {c['router_file']} has sha256 {got}, the records were made with {c['router_sha256']}")
    return problems


def compare_task(entry, scratch_root, totals, reference_root=None):
    """Compares the records a scratch run wrote with the committed ones, or, with reference_root,
    with the records the reference binary wrote for the same command (then both sets must match)."""
    label = f"{entry['model']}/{entry['run']}/{entry['task']}"
    scratch_dir = os.path.join(scratch_root, entry["model"], entry["run"])
    scratch_jsonl = os.path.join(scratch_dir, entry["task"] + ".jsonl")
    scratch_config = os.path.join(scratch_dir, entry["task"] + ".config.json")
    if not os.path.exists(scratch_jsonl):
        totals.failures.append(f"{label}: the run wrote no {scratch_jsonl}")
        out(f"{label}: FAILED: no records written")
        return
    # The configuration the new binary records must match the committed one (limit aside): a
    # mismatch means the command was rebuilt wrongly or the binary now records something else.
    config_note = ""
    try:
        with open(scratch_config, encoding="utf-8") as f:
            new_config = json.load(f)
        old_config = entry["config"]
        changed = sorted(k for k in set(old_config) | set(new_config)
                         if k not in CONFIG_KEYS_IGNORED and old_config.get(k) != new_config.get(k))
        if changed:
            details = "; ".join(f"{k}: committed {short(old_config.get(k), 60)} new {short(new_config.get(k), 60)}"
                                for k in changed)
            totals.failures.append(f"{label}: configuration differs: {details}")
            config_note = f"; CONFIGURATION DIFFERS ({details})"
    except (OSError, ValueError) as e:
        totals.failures.append(f"{label}: cannot read {scratch_config}: {e}")
        config_note = "; configuration unreadable"
    what = "committed"
    if reference_root:
        what = "reference"
        ref_jsonl = os.path.join(reference_root, entry["model"], entry["run"], entry["task"] + ".jsonl")
        committed = index_records(ref_jsonl) if os.path.exists(ref_jsonl) else {}
    else:
        committed = index_records(entry["jsonl"]) if os.path.exists(entry["jsonl"]) else {}
    new = index_records(scratch_jsonl)
    n = same = missing = 0
    first = None
    extra = [rid for rid in committed if rid not in new] if reference_root else []
    for rid in extra:
        n += 1
        missing += 1
        first = first or (rid, ["written by the reference binary, not by the checked one"])
    for rid, line in new.items():
        n += 1
        old = committed.get(rid)
        if old is None:
            missing += 1
            first = first or (rid, [f"not in the {what} records"])
        elif strip_seconds(old) == strip_seconds(line):
            same += 1
        else:
            first = first or (rid, describe_difference(old, line, what))
    totals.identical += same
    totals.different += n - same
    if n == 0:
        totals.failures.append(f"{label}: the run wrote no records")
    status = "ok" if n and same == n else "DIFFERENT"
    msg = f"{label}: {n} compared, {same} identical"
    if missing:
        msg += f", {missing} missing from the {what} records" if not extra else f", {missing} missing on one side"
    out(f"{msg} [{status}]{config_note}")
    if first:
        out(f"  first difference: id {first[0]}")
        for line in first[1]:
            out(f"    {line}")


def check_results(args, bench, scratch, totals, reference=None):
    results_root, entries = discover(args)
    if not entries:
        log("no committed configurations match the filters")
        return
    log(f"{len(entries)} committed task configuration(s) under {results_root}")
    chat = chat_tasks(bench)
    groups = OrderedDict()   # key -> {"args": [...], "entries": [...]}
    model_cache = {}
    for e in entries:
        label = f"{e['model']}/{e['run']}/{e['task']}"
        c = e["config"]
        if not os.path.exists(e["jsonl"]):
            totals.failures.append(f"{label}: committed {e['jsonl']} is missing")
            out(f"{label}: FAILED: committed records missing")
            continue
        if c.get("model", e["model"]) != e["model"] or c.get("run", e["run"]) != e["run"] or c.get("task", e["task"]) != e["task"]:
            log(f"warning: {e['config_path']} names {c.get('model')}/{c.get('run')}/{c.get('task')}")
        model_name = c.get("model", e["model"])
        if model_name not in model_cache:
            model_cache[model_name] = locate_model(model_name)
        model_arg, model_path = model_cache[model_name]
        if model_arg is None:
            totals.failures.append(f"{label}: {model_path}")
            out(f"{label}: NOT CHECKED: {model_path}")
            continue
        if c.get("policy") == "routers" and c.get("router_file") and not os.path.exists(os.path.join(REPO, c["router_file"])):
            why = f"router file {c['router_file']} is not here (not committed; train it again to check this run)"
            totals.unchecked.append(f"{label}: {why}")
            out(f"{label}: NOT CHECKED: {why}")
            continue
        problems = hash_problems(e, model_path)
        if problems:
            for p in problems:
                totals.failures.append(f"{label}: {p}")
            out(f"{label}: NOT CHECKED, the check would be meaningless: " + "; ".join(problems))
            continue
        committed_limit = c.get("limit")
        if args.full:
            limit = committed_limit
        else:
            limit = args.limit if committed_limit is None else min(args.limit, committed_limit)
        try:
            key, argv = command_args(e, limit, chat, model_arg)
        except ValueError as err:
            totals.failures.append(f"{label}: cannot rebuild the command: {err}")
            out(f"{label}: NOT CHECKED: cannot rebuild the command: {err}")
            continue
        groups.setdefault(key, {"args": argv, "entries": []})["entries"].append(e)

    scratch_results = os.path.join(scratch, "results")
    os.makedirs(scratch_results, exist_ok=True)
    reference_results = os.path.join(scratch, "reference")
    if reference:
        os.makedirs(reference_results, exist_ok=True)
    for i, g in enumerate(groups.values(), 1):
        tasks = [e["task"] for e in g["entries"]]
        run = g["entries"][0]["run"]
        argv = [bench, "run", "--tasks", ",".join(tasks)] + g["args"] + ["--results", scratch_results]
        label = f"run {i}/{len(groups)}: {g['entries'][0]['model']}/{run} {','.join(tasks)}"
        ref_argv = None
        if reference:
            ref_argv = [reference, "run", "--tasks", ",".join(tasks)] + g["args"] + ["--results", reference_results]
        log(f"\n== {label}")
        if args.dry_run:
            for a in ([ref_argv] if ref_argv else []) + [argv]:
                out(" ".join(shlex.quote(args.bench if x == bench else args.reference_bench if x == reference else x)
                             for x in a))
            continue
        if ref_argv:
            rc, dt = run_command(ref_argv, label + " (reference)", totals)
            if rc != 0:
                totals.failures.append(f"{label}: the reference bench exited with {rc}")
            out(f"# reference {g['entries'][0]['model']}/{run} ({','.join(tasks)}): {fmt_seconds(dt)}, exit {rc}")
        rc, dt = run_command(argv, label, totals)
        if rc != 0:
            totals.failures.append(f"{label}: bench exited with {rc}")
        out(f"# {g['entries'][0]['model']}/{run} ({','.join(tasks)}): {fmt_seconds(dt)}, exit {rc}")
        for e in g["entries"]:
            compare_task(e, scratch_results, totals, reference_results if reference else None)


# ---------------------------------------------------------------------------------------------
# MCTS supervision records
# ---------------------------------------------------------------------------------------------

def readme_mcts_commands():
    """{output path: argument list} from the `bench mcts …` commands quoted in README.md."""
    path = os.path.join(REPO, "README.md")
    found = {}
    if not os.path.exists(path):
        return found
    with open(path, encoding="utf-8") as f:
        text = f.read()
    for cmd in re.findall(r"`([^`\n]*\bbench mcts\b[^`\n]*)`", text):
        words = shlex.split(cmd)
        words = words[words.index("mcts") + 1:]
        opts = {}
        i = 0
        while i < len(words):
            if words[i].startswith("--") and i + 1 < len(words):
                opts[words[i]] = words[i + 1]
                i += 2
            else:
                i += 1
        output = os.path.normpath(opts.get("--output", "data/mcts/smollm2-135m-instruct.jsonl"))
        found.setdefault(output, opts)  # the first (the reproduction table) wins
    return found


def parse_mix(text):
    mix = OrderedDict()
    for part in split_list(text):
        task, _, count = part.rpartition(":")
        mix[task] = mix.get(task, 0) + int(count)
    return mix


def check_mcts(args, bench, scratch, totals, reference=None):
    folder = os.path.join(REPO, "data", "mcts")
    files = sorted(f for f in os.listdir(folder) if f.endswith(".jsonl")) if os.path.isdir(folder) else []
    wanted = set(split_list(args.mcts_files))
    for w in sorted(wanted - set(files)):
        log(f"warning: --mcts-files: no data/mcts/{w}")
    if wanted:
        files = [f for f in files if f in wanted]
    if not files:
        log("--mcts: no data/mcts/*.jsonl files")
        totals.failures.append("--mcts: no committed MCTS records")
        return
    commands = readme_mcts_commands()
    dest = os.path.join(scratch, "mcts")
    os.makedirs(dest, exist_ok=True)
    for name in files:
        rel = os.path.join("data", "mcts", name)
        label = f"mcts {rel}"
        lines = read_lines(os.path.join(REPO, rel))
        records = [json.loads(line) for line in lines]
        counts = OrderedDict()
        for r in records:
            counts[r["task"]] = counts.get(r["task"], 0) + 1
        opts = dict(commands.get(os.path.normpath(rel), {}))
        if opts:
            source = "README.md"
        else:
            # No command quoted: the records give the mix; seed and simulations are the defaults.
            opts = {"--mix": ",".join(f"{t}:{n}" for t, n in counts.items())}
            source = "the records (mix), defaults otherwise"
        if "--mix" in opts:
            mix = parse_mix(opts["--mix"])
            if dict(mix) != dict(counts):
                totals.failures.append(f"{label}: README's --mix {opts['--mix']} does not match the records "
                                       f"({', '.join(f'{t}:{n}' for t, n in counts.items())})")
                out(f"{label}: NOT CHECKED: the command's mix does not match the records")
                continue
        elif "--total" not in opts:
            log(f"warning: {label}: the command has neither --mix nor --total")
        model_name = opts.get("--model", "smollm2-135m-instruct")
        model_arg, model_path = locate_model(model_name)
        if model_arg is None:
            totals.failures.append(f"{label}: {model_path}")
            out(f"{label}: NOT CHECKED: {model_path}")
            continue
        want = model_registry_sha(model_name)
        if want and sha256_file(model_path) != want:
            totals.failures.append(f"{label}: model {model_path} does not have the registry's sha256 {want}")
            out(f"{label}: NOT CHECKED, the check would be meaningless: model sha256 differs from the registry")
            continue
        k = max(1, min(args.mcts_examples, len(lines)))
        key = lambda r: f"{r['task']}/{r['id']}"

        def resume(binary, folder, tag):
            """Copies the file minus its last k records to folder, resumes `bench mcts` on it and
            returns ({key: line} of the records it appended, seconds, exit status)."""
            os.makedirs(folder, exist_ok=True)
            scratch_file = os.path.join(folder, name)
            with open(scratch_file, "w", encoding="utf-8", newline="\n") as f:
                f.write("".join(line + "\n" for line in lines[:-k]))
            argv = [binary, "mcts"]
            for opt, value in opts.items():
                if opt != "--output":
                    argv += [opt, value]
            if "--model" not in opts:
                argv += ["--model", model_arg]
            argv += ["--output", scratch_file]
            if args.dry_run:
                out(" ".join(shlex.quote(args.bench if a == bench else args.reference_bench if a == reference else a)
                             for a in argv))
                return {}, 0.0, 0
            rc, dt = run_command(argv, label + tag, totals)
            if rc != 0:
                totals.failures.append(f"{label}{tag}: bench mcts exited with {rc}")
            new_lines = read_lines(scratch_file)
            if new_lines[: len(lines) - k] != lines[:-k]:
                totals.failures.append(f"{label}{tag}: the resumed run changed the records it was given")
            fresh = OrderedDict()
            for line in new_lines[len(lines) - k:]:
                try:
                    fresh[key(json.loads(line))] = line
                except ValueError:
                    pass
            out(f"# {label}{tag}: {fmt_seconds(dt)}, exit {rc}")
            return fresh, dt, rc

        log(f"\n== {label}: recomputing its last {k} record(s) (command from {source})")
        what = "committed"
        if reference:
            what = "reference"
            expected, _, _ = resume(reference, os.path.join(scratch, "mcts-reference"), " (reference)")
        else:
            expected = OrderedDict((key(json.loads(line)), line) for line in lines[-k:])
        fresh, dt, rc = resume(bench, dest, "")
        if args.dry_run:
            continue
        n = same = 0
        first = None
        for rid in expected:
            if rid not in fresh:
                n += 1
                first = first or (rid, [f"in the {what} records, not recomputed by the checked binary"])
        for rid, line in fresh.items():
            n += 1
            old = expected.get(rid)
            if old is None:
                first = first or (rid, [f"not among the {what} records (the plan differs)"])
            elif strip_seconds(old) == strip_seconds(line):
                same += 1
            else:
                first = first or (rid, describe_difference(old, line, what))
        if len(fresh) != k:
            totals.failures.append(f"{label}: {k} record(s) removed, {len(fresh)} recomputed")
        totals.identical += same
        totals.different += n - same
        status = "ok" if n == k and same == n else "DIFFERENT"
        out(f"{label}: {n} compared, {same} identical (last {k} of {len(lines)} recomputed"
            f"{', against the reference binary' if reference else ''}) [{status}]")
        if first:
            out(f"  first difference: {first[0]}")
            for line in first[1]:
                out(f"    {line}")


def model_registry_sha(name):
    reg = os.path.join(REPO, "data", "models.json")
    try:
        with open(reg, encoding="utf-8") as f:
            for m in json.load(f).get("models", []):
                if m.get("name", "").lower() == name.lower():
                    return m.get("sha256")
    except (OSError, ValueError):
        pass
    # Without a registry, fall back to the hash the committed run configurations record.
    for cfg in _all_configs():
        if cfg.get("model") == name and cfg.get("model_sha256"):
            return cfg["model_sha256"]
    return None


def _all_configs():
    root = os.path.join(REPO, "results")
    for dirpath, _, files in os.walk(root):
        for f in files:
            if f.endswith(".config.json"):
                try:
                    with open(os.path.join(dirpath, f), encoding="utf-8") as fh:
                        yield json.load(fh)
                except (OSError, ValueError):
                    pass


def machine_note():
    """CPU model and the kernel OpenBLAS picked (numbers can differ between kernels)."""
    cpu = "?"
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            cpu = next((l.split(":", 1)[1].strip() for l in f if l.startswith("model name")), "?")
    except OSError:
        pass
    core = ""
    try:
        import ctypes
        lib = ctypes.CDLL("libopenblas.so.0")
        lib.openblas_get_corename.restype = ctypes.c_char_p
        core = f", OpenBLAS core {lib.openblas_get_corename().decode()}"
        if os.environ.get("OPENBLAS_CORETYPE"):
            core += f" (OPENBLAS_CORETYPE={os.environ['OPENBLAS_CORETYPE']})"
    except (OSError, AttributeError):
        pass
    return f"{cpu}, {os.cpu_count()} CPUs{core}"


# ---------------------------------------------------------------------------------------------

def main():
    p = argparse.ArgumentParser(
        description="Rerun committed bench records and check they are byte-identical apart from `seconds`.")
    p.add_argument("--bench", default=DEFAULT_BENCH,
                   help=f"bench binary to check (default {DEFAULT_BENCH}; run from the repository root)")
    p.add_argument("--results", default="results", help="committed results folder (default results)")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--limit", type=int, default=2,
                   help="first K documents of each task, of each subtask for groups (default 2)")
    g.add_argument("--full", action="store_true",
                   help="rerun every committed record (the committed run's own limit, if any): many hours")
    p.add_argument("--models", help="only these models (comma-separated)")
    p.add_argument("--runs", help="only these runs (comma-separated: baseline,routed,routed-execute-0.1,…)")
    p.add_argument("--tasks", help="only these tasks (comma-separated)")
    p.add_argument("--skip-tasks", help="leave out these tasks (comma-separated; e.g. aime24, minutes per routed document)")
    p.add_argument("--mcts", action="store_true", help="also recompute the last record(s) of each data/mcts/*.jsonl")
    p.add_argument("--mcts-examples", type=int, default=1,
                   help="MCTS records recomputed per file with --mcts (default 1; ~15 s each)")
    p.add_argument("--mcts-files", help="only these files of data/mcts/ (comma-separated file names)")
    p.add_argument("--mcts-only", action="store_true", help="check only the MCTS records (implies --mcts)")
    p.add_argument("--reference-bench", metavar="PATH",
                   help="compare with what this binary (e.g. the release before the change) writes for the same "
                        "commands instead of with the committed records: for machines that do not reproduce the "
                        "committed numbers (OpenBLAS picks its kernels by CPU)")
    p.add_argument("--dry-run", action="store_true", help="print the commands (and hash checks) without running them")
    p.add_argument("--keep", metavar="SCRATCH",
                   help="scratch folder to use and keep (default: a temporary folder, deleted afterwards)")
    p.add_argument("--resume", action="store_true",
                   help="with --keep: reuse records already in SCRATCH (from an interrupted check with the same binary)")
    args = p.parse_args()
    if args.limit is not None and args.limit < 1:
        p.error("--limit must be at least 1")
    if args.resume and not args.keep:
        p.error("--resume needs --keep SCRATCH")
    if args.mcts_only:
        args.mcts = True

    bench = args.bench if os.path.isabs(args.bench) else os.path.join(REPO, args.bench)
    if not (os.path.isfile(bench) and os.access(bench, os.X_OK)):
        log(f"error: bench binary {bench} not found or not executable "
            f"(build it with `swift build -c release --product bench`, or give --bench PATH)")
        return 2

    reference = None
    if args.reference_bench:
        reference = args.reference_bench if os.path.isabs(args.reference_bench) else os.path.join(REPO, args.reference_bench)
        if not (os.path.isfile(reference) and os.access(reference, os.X_OK)):
            log(f"error: reference bench binary {reference} not found or not executable")
            return 2
    if not os.path.isdir(os.path.join(REPO, "tasks")):
        log(f"error: {REPO}/tasks is missing: the bench needs the task data (scripts/setup.sh)")
        return 2

    if args.keep:
        scratch = os.path.abspath(args.keep)
        if os.path.isdir(scratch) and os.listdir(scratch) and not args.resume:
            log(f"error: scratch folder {scratch} is not empty: remove it, choose another, or add --resume")
            return 2
        os.makedirs(scratch, exist_ok=True)
    else:
        scratch = tempfile.mkdtemp(prefix="check_records-")
    log(f"bench: {bench}" + (f"\nreference bench: {reference}" if reference else "") + f"\nscratch: {scratch}")
    log(f"machine: {machine_note()}")

    totals = Totals()
    t0 = time.monotonic()
    try:
        if not args.mcts_only:
            check_results(args, bench, scratch, totals, reference)
        if args.mcts:
            check_mcts(args, bench, scratch, totals, reference)
    except KeyboardInterrupt:
        log("interrupted")
        totals.failures.append("interrupted")
    finally:
        if not args.keep:
            shutil.rmtree(scratch, ignore_errors=True)

    log("")
    if totals.timings:
        log("command times:")
        for label, dt, rc in totals.timings:
            log(f"  {fmt_seconds(dt):>14}  {label}{'' if rc == 0 else f' (exit {rc})'}")
        log(f"  {fmt_seconds(time.monotonic() - t0):>14}  total")
    for f in totals.failures:
        out(f"FAILED: {f}")
    for u in totals.unchecked:
        out(f"not checked: {u}")
    tail = ""
    if totals.unchecked:
        tail = f"; {len(totals.unchecked)} task(s) not checked"
    if totals.failures:
        tail += f"; {len(totals.failures)} problem(s)"
    if totals.different and not reference:
        log("note: scores (log-likelihoods) depend on the CPU kernels OpenBLAS picks and on --threads; if the "
            "release binary shows the same differences on this machine, compare with it: --reference-bench PATH")
    if args.dry_run:
        tail += " (dry run: nothing was run)"
    out(f"records: {totals.identical} identical, {totals.different} different{tail}")
    return 1 if totals.different or totals.failures else 0


if __name__ == "__main__":
    sys.exit(main())
