#!/usr/bin/env python3
"""How often a run gives each answer: a reward the model answers with one fixed letter teaches a
router nothing, so check this before choosing MCTS rewards.

  python3 scripts/answer_distribution.py [--first N] results/<model>/<run>/<task>.jsonl [more.jsonl ...]

--first N reads only each file's first N records (the first N documents of a run).

For each file: documents, accuracy (`acc,none`), the most frequent predictions (generative tasks) or
chosen choice indices (multiple-choice tasks), and the targets' distribution. Standard library only.
"""
import collections
import json
import sys


def main(args):
    first = None
    if args[:1] == ["--first"]:
        if len(args) < 2 or not args[1].isdigit() or int(args[1]) < 1:
            print("--first needs a positive whole number", file=sys.stderr)
            return 2
        first, args = int(args[1]), args[2:]
    paths = args
    if not paths or any(p.startswith("-") for p in paths):
        print(__doc__.strip(), file=sys.stderr)
        return 2
    for path in paths:
        with open(path, encoding="utf-8") as f:
            records = [json.loads(line) for line in f if line.strip()]
        records = records[:first] if first else records
        if not records:
            print(f"{path}: no records")
            continue
        accuracy = sum(r["metrics"].get("acc,none", 0) for r in records) / len(records)
        if any(r.get("chosen_index") is not None for r in records):
            answers = collections.Counter(f"choice {r.get('chosen_index')}" for r in records)
        else:
            answers = collections.Counter((r.get("prediction") or "").strip()[:24] for r in records)
        targets = collections.Counter(r.get("target") for r in records)
        top = ", ".join(f"{a!r} {n}" for a, n in answers.most_common(5))
        print(f"{path}: {len(records)} documents, acc {100 * accuracy:.1f}%; answers: {top}; "
              f"targets: {', '.join(f'{t} {n}' for t, n in targets.most_common(5))}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
