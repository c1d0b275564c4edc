#!/usr/bin/env python3
"""Which generated answers end in a loop: for each record, the shortest period p (in characters)
such that the answer's last 3·p characters are one p-character piece three times over, and how far
back from the end that exact repetition reaches. Long generations that run to the context limit
(AIME24) are where routing can turn an answer into the same line over and over; this shows it.

  python3 scripts/repetition_loops.py [--max-period P] [--min-repeated N] [--summary] results/<model>/<run>/<task>.jsonl [more.jsonl ...]

Prints a Markdown table, one row per record: run file, document index, tokens, characters, period
(— when none up to P, default 20000), repeated characters at the end and where the loop starts
(character offset), and its first 60 characters; then, per file, how many answers end in a loop
of at least N repeated characters (default 100: shorter ones are mostly "...", "000" and the
like). --summary prints only those per-file counts. Standard library only.
"""
import json
import sys


def tail_loop(text, max_period):
    r"""(period, repeated characters at the end) of the shortest exact loop, or (None, 0).

    Checked with `python3 -m doctest scripts/repetition_loops.py`:
    >>> tail_loop("The answer is 4.", 100)
    (None, 0)
    >>> tail_loop("Step: x = 1\nx = 1\nx = 1\nx = 1\n", 100)   # "x = 1\n" from the first one on
    (6, 24)
    >>> tail_loop("ab" + "xyz" * 2, 100)                          # fewer than three times over
    (None, 0)
    >>> tail_loop("....", 100)
    (1, 4)
    """
    for p in range(1, min(max_period, len(text) // 3) + 1):
        if text[-3 * p:] == text[-p:] * 3:
            i = len(text) - p
            while i > 0 and text[i - 1] == text[i - 1 + p]:
                i -= 1
            return p, len(text) - i
    return None, 0


def main(args):
    options = {"--max-period": 20000, "--min-repeated": 100}
    summary_only = False
    while args[:1] and args[0] in (*options, "--summary"):
        if args[0] == "--summary":
            summary_only, args = True, args[1:]
            continue
        if len(args) < 2 or not args[1].isdigit() or int(args[1]) < 1:
            print(f"{args[0]} needs a positive whole number", file=sys.stderr)
            return 2
        options[args[0]], args = int(args[1]), args[2:]
    max_period, min_repeated = options["--max-period"], options["--min-repeated"]
    if not args or any(a.startswith("-") for a in args):
        print(__doc__.strip(), file=sys.stderr)
        return 2
    counts = []
    if not summary_only:
        print("| file | document | tokens | characters | loop period | repeated characters | loop starts at | loop text |")
        print("|---|---:|---:|---:|---:|---:|---:|---|")
    for path in args:
        answers = loops = 0
        with open(path, encoding="utf-8") as f:
            for number, line in enumerate(f, 1):
                if not line.strip():
                    continue
                try:
                    record = json.loads(line)
                    text, index, tokens = record["prediction"], record["index"], record.get("tokens", "")
                except (json.JSONDecodeError, KeyError, TypeError) as error:
                    print(f"{path}:{number}: not a generation record ({error})", file=sys.stderr)
                    return 1
                period, repeated = tail_loop(text, max_period)
                start = len(text) - repeated
                answers += 1
                loops += repeated >= min_repeated
                if summary_only:
                    continue
                if period is None:
                    print(f"| {path} | {index} | {tokens} | {len(text)} | — | 0 | — | |")
                    continue
                shown = json.dumps(text[start:start + 60])[1:-1].replace("|", "\\|")
                fence = "``" if "`" in shown else "`"   # a code span that may hold backticks
                print(f"| {path} | {index} | {tokens} | {len(text)} | {period} | {repeated} | {start} | "
                      f"{fence} {shown} {fence} |")
        counts.append((path, answers, loops))
    print()
    print(f"| file | answers | ending in a loop of ≥ {min_repeated} repeated characters | share |")
    print("|---|---:|---:|---:|")
    for path, answers, loops in counts:
        print(f"| {path} | {answers} | {loops} | {100 * loops / max(answers, 1):.1f}% |")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
