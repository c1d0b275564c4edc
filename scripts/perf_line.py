"""Formats `bench perf` JSON (stdin) like scripts/llamacpp_speed.py's one-line summary."""
import json, sys
d = json.load(sys.stdin)
pre, dec = d["prefill_tokens_per_second_best"], d["decode_tokens_per_second_best"]
print(f"bench      prefill {d['prompt_tokens']} tok: {pre:.0f} tok/s; decode {d['gen_tokens']} tok: {dec:.1f} tok/s")
