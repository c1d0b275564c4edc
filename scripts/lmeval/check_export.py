#!/usr/bin/env python3
"""Reads a `bench export --format lm-eval` folder back with lm-evaluation-harness's own code and
checks it against `bench compare`'s CSV.

usage: check_export.py EXPORT_DIR [--compare CSV --side a|b]
Needs lm-eval 0.4 importable (lm_eval.utils: make_table and the results/samples file-name
helpers; scripts/lmeval/check_export.sh sets up a venv). Checks, printing each:
  - lm-eval finds one results file and one samples file per task (get_results_filenames,
    get_sample_results_filenames, get_file_task_name, get_latest_filename);
  - make_table renders the results; every task row's value and stderr, as make_table prints them,
    equal the CSV's score and stderr for that run (side a or b), rounded the same way;
  - every samples line has lm-eval's fields; per task and filter, the mean of each metric over the
    samples equals the results value and the sample count equals n-samples' effective count.
Exits 1 on any mismatch.
"""
import argparse
import csv
import glob
import json
import math
import os
import sys

from lm_eval.utils import (get_file_task_name, get_latest_filename, get_results_filenames,
                           get_sample_results_filenames, make_table)

FIELDS = ["doc_id", "doc", "target", "arguments", "resps", "filtered_resps", "filter", "metrics",
          "doc_hash", "prompt_hash", "target_hash"]
failures = []


def fail(message):
    failures.append(message)
    print("MISMATCH:", message)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("export_dir")
    ap.add_argument("--compare")
    ap.add_argument("--side", choices=["a", "b"], default="a")
    a = ap.parse_args()
    # The helpers take paths (they look for "/results_" and "/samples_").
    names = sorted(os.path.join(a.export_dir, n) for n in os.listdir(a.export_dir))
    results_files = get_results_filenames(names)
    if len(results_files) != 1:
        sys.exit(f"expected one results file in {a.export_dir}, found {results_files}")
    results_file = get_latest_filename(results_files)
    with open(results_file) as f:
        results = json.load(f)
    sample_files = get_sample_results_filenames(names)
    tasks_with_samples = {get_file_task_name(os.path.basename(n)): n for n in sample_files}
    leaves = list(results["n-samples"])
    missing = [t for t in leaves if t not in tasks_with_samples]
    print(f"lm-eval file helpers: results file {os.path.basename(results_file)}; {len(sample_files)} samples files for "
          f"{len(leaves)} tasks in n-samples; missing: {missing or 'none'}")
    if missing:
        fail(f"no samples file for {missing}")

    # make_table, exactly as lm_eval's CLI prints it (it pops 'alias', so give it a copy).
    table = make_table(json.loads(json.dumps(results)))
    groups_table = make_table(json.loads(json.dumps(results)), "groups") if results.get("groups") else ""
    print(table)
    if groups_table:
        print(groups_table)
    rows = {}
    current = None
    for line in table.splitlines()[2:]:
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) < 9:
            continue
        name, _version, filt, _nshot, metric, _hib, value, _pm, stderr = cells[:9]
        if name:
            current = name.lstrip("- ").strip()
        rows[(current, metric, filt)] = (value, stderr)

    if a.compare:
        with open(a.compare, newline="") as f:
            compared = [r for r in csv.DictReader(f) if r["kind"] == "task"]
        checked, notes = 0, []
        for r in compared:
            task = {"gpqa_diamond": "gpqa_diamond_zeroshot"}.get(r["name"], r["name"])
            metric, _, filt = r["metric"].partition(",")
            score, se = float(r[f"score_{a.side}"]), r[f"stderr_{a.side}"]
            key = (task, metric, filt or "none")
            if key not in rows:
                fail(f"{key} of {a.compare} is not in make_table's output")
                continue
            value, stderr = rows[key]
            # bench compare reports points: 100 x a fraction, or the metric itself where it is on a 0-100 scale (SQuAD's F1).
            scale = 1.0 if metric in ("f1", "exact", "HasAns_f1", "NoAns_f1", "best_f1") else 100.0
            # make_table prints "%.4f" (and pytablewriter may shorten 0.0000 to 0): compare at that precision.
            value_ok = abs(float(value) - score / scale) <= 5e-5
            if stderr == "N/A" or se in ("", "nan"):
                stderr_ok, stderr_note = True, f"stderr N/A in lm-eval's results ({'bench compare ' + se if se else ''})"
            else:
                stderr_ok, stderr_note = abs(float(stderr) - float(se) / scale) <= 5e-5, ""
            if not value_ok:
                fail(f"{key}: make_table {value}, bench compare {score / scale:.6f}")
            elif not stderr_ok and task in results.get("groups", {}):
                # lm-eval's group stderr pools the subtasks' variances; bench compare's is the
                # standard error over all the group's documents.
                notes.append(f"{key}: value equal; stderr {stderr} (lm-eval's pooled group formula) vs "
                             f"{float(se) / scale:.4f} (bench compare, over documents)")
                checked += 1
            elif not stderr_ok:
                fail(f"{key}: make_table stderr {stderr}, bench compare {float(se) / scale:.4f}")
            else:
                if stderr_note:
                    notes.append(f"{key}: value equal; {stderr_note}")
                checked += 1
        print(f"make_table vs bench compare ({a.compare}, run {a.side}): {checked} of {len(compared)} task rows equal")
        for note in notes:
            print("  note:", note)

    # Samples: fields, counts, and metric means against the results.
    for task, name in sorted(tasks_with_samples.items()):
        by_filter = {}
        with open(name, encoding="utf-8") as f:
            for n, line in enumerate(f, 1):
                s = json.loads(line)
                absent = [k for k in FIELDS if k not in s]
                if absent:
                    fail(f"{os.path.basename(name)}:{n}: no {absent}")
                    break
                by_filter.setdefault(s["filter"], []).append(s)
        effective = results["n-samples"][task]["effective"]
        for filt, samples in by_filter.items():
            if len(samples) != effective:
                fail(f"{task}/{filt}: {len(samples)} samples, n-samples effective {effective}")
            for metric in samples[0]["metrics"]:
                key = f"{metric},{filt}"
                if key not in results["results"].get(task, {}):
                    continue
                mean = sum(s[metric] for s in samples) / len(samples)
                want = results["results"][task][key]
                if not math.isclose(mean, want, rel_tol=1e-9, abs_tol=1e-12):
                    fail(f"{task} {key}: mean over samples {mean}, results {want}")
    print(f"samples: {len(tasks_with_samples)} files read; fields, counts and metric means checked")
    print(f"check_export: {'OK' if not failures else str(len(failures)) + ' mismatches'}")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
