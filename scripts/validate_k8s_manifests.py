#!/usr/bin/env python3
"""Checks the Kubernetes manifests in deploy/k8s/ for the fields a real cluster needs.

  python3 scripts/validate_k8s_manifests.py             # deploy/k8s/run-indexed-job.yaml + merge-job.yaml
  python3 scripts/validate_k8s_manifests.py --strict    # also fail on placeholders left (CHANGE-ME)
  python3 scripts/validate_k8s_manifests.py RUN.yaml MERGE.yaml

The run manifest must hold one Job (apiVersion batch/v1, kind Job) with completionMode Indexed,
completions == parallelism, a container with a command (a list of strings: no --shard, the index
gives it), the env DRLLM_SHARDS equal to completions, CPU requests and limits, restartPolicy Never or
OnFailure, and a persistentVolumeClaim volume mounted at the --results folder (workingDir/results).
It may also hold the PersistentVolumeClaim (then ReadWriteMany, with the claim name the Job uses).
The merge manifest must hold one Job running `bench merge` with the same image, claim and results
path. Kubernetes' own typing rules are checked where YAML makes them easy to get wrong (a command
item or an env value written as a number). With the `kubernetes` Python package importable, every
field name and type is also checked against its API models (unknown or misspelt fields).

YAML: PyYAML when importable (pip install pyyaml), else a small built-in parser for the block YAML
subset these manifests use (--builtin-yaml forces it). Exit status 0 when valid, 1 on any problem
(each printed as `error: FILE: …`), 2 on a usage error or unreadable file.
"""

import argparse
import os
import re
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_RUN = os.path.join(REPO, "deploy", "k8s", "run-indexed-job.yaml")
DEFAULT_MERGE = os.path.join(REPO, "deploy", "k8s", "merge-job.yaml")
PLACEHOLDER = "CHANGE-ME"
DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


# ----------------------------------------------------------------------------- minimal YAML
class YAMLError(Exception):
    pass


def _strip_comment(line):
    """The line without a trailing # comment (outside quotes)."""
    quote = None
    for i, ch in enumerate(line):
        if quote:
            if ch == quote:
                quote = None
        elif ch in "'\"":
            quote = ch
        elif ch == "#" and (i == 0 or line[i - 1] in " \t"):
            return line[:i].rstrip()
    return line.rstrip()


def _scalar(text, where):
    text = text.strip()
    if text == "":
        return None
    if text[0] in "'\"":
        if len(text) < 2 or text[-1] != text[0]:
            raise YAMLError(f"{where}: unterminated quoted string {text!r}")
        body = text[1:-1]
        return body.replace("''", "'") if text[0] == "'" else bytes(body, "utf-8").decode("unicode_escape")
    if text.startswith("[") or text.startswith("{"):
        if text.startswith("[") and text.endswith("]"):
            inner = text[1:-1].strip()
            return [] if not inner else [_scalar(part, where) for part in _split_flow(inner)]
        if text == "{}":
            return {}
        raise YAMLError(f"{where}: flow collections other than [a, b] and {{}} are not supported: {text!r}")
    if text in ("null", "~", "Null", "NULL"):
        return None
    if text in ("true", "True", "TRUE"):
        return True
    if text in ("false", "False", "FALSE"):
        return False
    if re.fullmatch(r"[-+]?[0-9]+", text):
        return int(text)
    if re.fullmatch(r"[-+]?([0-9]+\.[0-9]*|\.[0-9]+)([eE][-+]?[0-9]+)?", text):
        return float(text)
    if text[0] in "&*!|>%@`":
        raise YAMLError(f"{where}: YAML feature not supported by the built-in parser: {text!r}")
    return text


def _split_flow(inner):
    parts, quote, start = [], None, 0
    for i, ch in enumerate(inner):
        if quote:
            if ch == quote:
                quote = None
        elif ch in "'\"":
            quote = ch
        elif ch == ",":
            parts.append(inner[start:i])
            start = i + 1
    parts.append(inner[start:])
    return parts


def _split_key(text):
    """(key, rest) when text is `key: rest` or `key:`, else None."""
    m = re.match(r"""^("[^"]*"|'[^']*'|[^\s'"#][^:#]*?)\s*:(\s+(.*))?$""", text)
    if not m:
        return None
    key = m.group(1)
    if key[0] in "'\"":
        key = key[1:-1]
    return key, (m.group(3) or "")


def builtin_load_all(text, name="<yaml>"):
    """Documents of a block-style YAML text (mappings, sequences, plain/quoted scalars)."""
    docs, current = [], []
    for number, raw in enumerate(text.splitlines(), 1):
        if raw.strip() == "---" or raw.startswith("--- "):
            docs.append(current)
            current = []
            continue
        if "\t" in raw[: len(raw) - len(raw.lstrip())]:
            raise YAMLError(f"{name}:{number}: tab in indentation")
        line = _strip_comment(raw)
        if line.strip():
            current.append((number, len(line) - len(line.lstrip()), line.strip()))
    docs.append(current)
    result = []
    for lines in docs:
        if not lines:
            continue
        pos = [0]

        def parse_block(indent):
            number, col, text = lines[pos[0]]
            if text.startswith("- ") or text == "-":
                return parse_seq(col)
            return parse_map(col)

        def parse_value(rest, col, number):
            """The value after `key:` or `- `: inline scalar, or a nested block on later lines."""
            if rest != "":
                return _scalar(rest, f"{name}:{number}")
            if pos[0] < len(lines) and (lines[pos[0]][1] > col or
                                        (lines[pos[0]][1] == col and lines[pos[0]][2].startswith("-"))):
                return parse_block(lines[pos[0]][1])
            return None

        def parse_map(col, first=None):
            out = {}
            while pos[0] < len(lines):
                number, c, text = lines[pos[0]]
                if first is not None:
                    number, c, text = first
                    first = None
                elif c < col:
                    break
                elif c > col:
                    raise YAMLError(f"{name}:{number}: unexpected indentation")
                elif text.startswith("- "):
                    break
                else:
                    pos[0] += 1
                kv = _split_key(text)
                if kv is None:
                    raise YAMLError(f"{name}:{number}: expected `key: value`, got {text!r}")
                key, rest = kv
                if key in out:
                    raise YAMLError(f"{name}:{number}: duplicate key {key!r}")
                out[key] = parse_value(rest, c, number)
            return out

        def parse_seq(col):
            out = []
            while pos[0] < len(lines):
                number, c, text = lines[pos[0]]
                if c < col or not (text.startswith("- ") or text == "-"):
                    if c > col:
                        raise YAMLError(f"{name}:{number}: unexpected indentation")
                    break
                if c > col:
                    raise YAMLError(f"{name}:{number}: unexpected indentation")
                pos[0] += 1
                item = text[1:].strip()
                item_col = c + (len(text) - len(text[1:].lstrip()))
                if item == "":
                    out.append(parse_value("", c, number))
                elif _split_key(item) is not None and not item.startswith(("'", '"', "[")):
                    # `- key: value` starts a mapping whose keys sit at item_col.
                    out.append(parse_map(item_col, first=(number, item_col, item)))
                else:
                    out.append(_scalar(item, f"{name}:{number}"))
            return out

        value = parse_block(lines[0][1])
        if pos[0] != len(lines):
            number = lines[pos[0]][0]
            raise YAMLError(f"{name}:{number}: unexpected content (bad indentation?)")
        result.append(value)
    return result


def load_all(path, builtin):
    with open(path, encoding="utf-8") as handle:
        text = handle.read()
    if not builtin:
        try:
            import yaml  # PyYAML
        except ImportError:
            builtin = True
    if builtin:
        return [d for d in builtin_load_all(text, path) if d is not None], "built-in parser"
    try:
        return [d for d in yaml.safe_load_all(text) if d is not None], "PyYAML " + yaml.__version__
    except yaml.YAMLError as error:
        raise YAMLError(str(error))


# ----------------------------------------------------------------------------- schema (optional)
def schema_problems(doc):
    """Unknown fields and wrong types against the `kubernetes` package's API models, or None when
    the package is not importable."""
    try:
        import kubernetes.client as k8s
    except ImportError:
        return None
    models = {("batch/v1", "Job"): "V1Job", ("v1", "PersistentVolumeClaim"): "V1PersistentVolumeClaim"}
    top = models.get((doc.get("apiVersion"), doc.get("kind")))
    if top is None:
        return [f"no API model known here for {doc.get('apiVersion')}/{doc.get('kind')}"]
    problems = []

    def check(value, type_name, where):
        if value is None:
            return
        m = re.fullmatch(r"[lL]ist\[(.+)\]", type_name)
        if m:
            if not isinstance(value, list):
                problems.append(f"{where}: expected a list, got {type(value).__name__}")
                return
            for i, item in enumerate(value):
                check(item, m.group(1), f"{where}[{i}]")
            return
        m = re.fullmatch(r"dict\(str, (.+)\)", type_name) or re.fullmatch(r"Dict\[str, (.+)\]", type_name)
        if m:
            if not isinstance(value, dict):
                problems.append(f"{where}: expected a mapping, got {type(value).__name__}")
                return
            for key, item in value.items():
                check(item, m.group(1), f"{where}.{key}")
            return
        if type_name == "str":
            # Quantities (resources, storage) may be written as numbers; other strings may not.
            quantity = ".resources." in where and isinstance(value, (int, float)) and not isinstance(value, bool)
            if not isinstance(value, str) and not quantity:
                problems.append(f"{where}: expected a string, got {type(value).__name__} {value!r} (quote it)")
            return
        if type_name == "int":
            if not isinstance(value, int) or isinstance(value, bool):
                problems.append(f"{where}: expected an integer, got {value!r}")
            return
        if type_name == "bool":
            if not isinstance(value, bool):
                problems.append(f"{where}: expected true or false, got {value!r}")
            return
        if type_name in ("object", "datetime", "float"):
            return
        model = getattr(k8s, type_name, None)
        if model is None:
            return
        if not isinstance(value, dict):
            problems.append(f"{where}: expected a mapping ({type_name}), got {value!r}")
            return
        by_json = {json_name: attr for attr, json_name in model.attribute_map.items()}
        for key, item in value.items():
            if key not in by_json:
                problems.append(f"{where}: unknown field {key!r} for {type_name}")
                continue
            check(item, model.openapi_types[by_json[key]], f"{where}.{key}")

    check(doc, top, doc.get("kind", "doc"))
    return problems


# ----------------------------------------------------------------------------- checks
def get(d, *keys):
    for key in keys:
        if not isinstance(d, dict):
            return None
        d = d.get(key)
    return d


def cpu_millis(quantity):
    text = str(quantity)
    m = re.fullmatch(r"([0-9]+(?:\.[0-9]+)?)(m?)", text)
    if not m:
        return None
    value = float(m.group(1))
    return value if m.group(2) == "m" else value * 1000


def option(command, name):
    """The value of --name VALUE or --name=VALUE in a command list, else None."""
    for i, item in enumerate(command):
        if item == name and i + 1 < len(command):
            return command[i + 1]
        if isinstance(item, str) and item.startswith(name + "="):
            return item.split("=", 1)[1]
    return None


class Report:
    def __init__(self, strict):
        self.errors, self.warnings, self.strict = [], [], strict

    def error(self, path, message):
        self.errors.append(f"error: {os.path.relpath(path)}: {message}")

    def warn(self, path, message):
        self.warnings.append(f"warning: {os.path.relpath(path)}: {message}")


def check_job(path, docs, report, indexed):
    """Checks the Job of one file; returns a summary dict of it (or None)."""
    jobs = [d for d in docs if isinstance(d, dict) and d.get("kind") == "Job"]
    others = [d for d in docs if not (isinstance(d, dict) and d.get("kind") == "Job")]
    if len(jobs) != 1:
        report.error(path, f"expected exactly one document with kind: Job, found {len(jobs)}"
                     + (f" (kinds: {[d.get('kind') if isinstance(d, dict) else d for d in docs]})" if docs else ""))
        return None
    job = jobs[0]
    err = lambda message: report.error(path, message)
    if job.get("apiVersion") != "batch/v1":
        err(f"apiVersion is {job.get('apiVersion')!r}, expected 'batch/v1'")
    name = get(job, "metadata", "name")
    if not isinstance(name, str) or not name:
        err("metadata.name is missing")
    elif len(name) > 63 or not DNS_LABEL.match(name):
        err(f"metadata.name {name!r} is not a DNS label (lowercase letters, digits, '-', at most 63)")
    spec = job.get("spec")
    if not isinstance(spec, dict):
        err("spec is missing")
        return None
    completions, parallelism = spec.get("completions"), spec.get("parallelism")
    for key, value in (("completions", completions), ("parallelism", parallelism)):
        if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 1):
            err(f"spec.{key} is {value!r}, expected a positive integer")
    if indexed:
        if spec.get("completionMode") != "Indexed":
            err(f"spec.completionMode is {spec.get('completionMode')!r}, expected 'Indexed' (one pod per shard index)")
        if not isinstance(completions, int):
            err("spec.completions (the shard count N) is missing")
        elif completions != parallelism:
            err(f"spec.completions ({completions}) != spec.parallelism ({parallelism}): expected every shard to run at once")
    for key in ("backoffLimit", "backoffLimitPerIndex"):
        value = spec.get(key)
        if value is not None and (not isinstance(value, int) or value < 0):
            err(f"spec.{key} is {value!r}, expected an integer >= 0")
    if spec.get("backoffLimitPerIndex") is not None and not indexed:
        err("spec.backoffLimitPerIndex needs completionMode: Indexed")
    pod = get(spec, "template", "spec")
    if not isinstance(pod, dict):
        err("spec.template.spec (the pod) is missing")
        return None
    if pod.get("restartPolicy") not in ("Never", "OnFailure"):
        err(f"spec.template.spec.restartPolicy is {pod.get('restartPolicy')!r}: a Job needs Never or OnFailure")
    containers = pod.get("containers")
    if not isinstance(containers, list) or not containers:
        err("spec.template.spec.containers is missing or empty")
        return None
    volumes = pod.get("volumes") if isinstance(pod.get("volumes"), list) else []
    claims = {}
    for volume in volumes:
        if not isinstance(volume, dict) or not volume.get("name"):
            err(f"a volume without a name: {volume!r}")
            continue
        claim = get(volume, "persistentVolumeClaim", "claimName")
        if claim is not None:
            if not isinstance(claim, str) or not claim:
                err(f"volume {volume['name']!r}: persistentVolumeClaim.claimName is empty")
            else:
                claims[volume["name"]] = claim
    if not claims:
        err("no persistentVolumeClaim volume: the results must go to a shared PersistentVolumeClaim")
    summary = {"name": name, "completions": completions}
    for index, container in enumerate(containers):
        where = f"container {container.get('name', index)!r}" if isinstance(container, dict) else f"container {index}"
        if not isinstance(container, dict):
            err(f"{where} is not a mapping")
            continue
        if not container.get("name"):
            err(f"{where}: name is missing")
        image = container.get("image")
        if not isinstance(image, str) or not image.strip():
            err(f"{where}: image is missing")
        elif PLACEHOLDER in image:
            (report.error if report.strict else report.warn)(path, f"{where}: image {image!r} is a placeholder: set your image")
        command = container.get("command")
        if not isinstance(command, list) or not command:
            err(f"{where}: command (the bench invocation, a list) is missing")
            command = []
        for i, item in enumerate(command):
            if not isinstance(item, str):
                err(f"{where}: command[{i}] is {item!r} ({type(item).__name__}): every command item must be a string (quote it)")
        args = container.get("args") or []
        words = [w for w in command + (args if isinstance(args, list) else []) if isinstance(w, str)]
        subcommand = next((w for w in words if w in ("run", "mcts", "merge")), None)
        if indexed:
            if subcommand not in ("run", "mcts"):
                err(f"{where}: command runs no `bench run` or `bench mcts`")
            if any(w == "--shard" or w.startswith("--shard=") for w in words):
                err(f"{where}: command has --shard: the completion index gives each pod its shard")
        elif subcommand != "merge":
            err(f"{where}: command runs no `bench merge`")
        env = container.get("env") or []
        shards = None
        if not isinstance(env, list):
            err(f"{where}: env is not a list")
            env = []
        for item in env:
            if not isinstance(item, dict) or "name" not in item:
                err(f"{where}: env item without a name: {item!r}")
                continue
            if "value" in item and not isinstance(item["value"], str):
                err(f"{where}: env {item['name']}: value {item['value']!r} must be a string (quote it)")
            if item["name"] == "DRLLM_SHARDS":
                shards = item.get("value")
        if indexed:
            if shards is None:
                err(f"{where}: env DRLLM_SHARDS (the shard count N) is missing")
            elif str(shards) != str(completions):
                err(f"{where}: env DRLLM_SHARDS is {shards!r} but spec.completions is {completions!r}: they must be equal")
        resources = container.get("resources") if isinstance(container.get("resources"), dict) else {}
        request, limit = get(resources, "requests", "cpu"), get(resources, "limits", "cpu")
        if request is None:
            err(f"{where}: resources.requests.cpu is missing")
        if limit is None:
            err(f"{where}: resources.limits.cpu is missing")
        for label, value in (("requests", request), ("limits", limit)):
            if value is not None and (cpu_millis(value) is None or cpu_millis(value) <= 0):
                err(f"{where}: resources.{label}.cpu {value!r} is not a CPU quantity such as \"2\" or 500m")
            if value is not None and not isinstance(value, str) and not isinstance(value, (int, float)):
                err(f"{where}: resources.{label}.cpu {value!r} has the wrong type")
        if cpu_millis(request or "x") and cpu_millis(limit or "x") and cpu_millis(limit) < cpu_millis(request):
            err(f"{where}: resources.limits.cpu ({limit}) is below resources.requests.cpu ({request})")
        threads = option(words, "--threads")
        if indexed and threads is not None and cpu_millis(request or "x") and str(threads).isdigit() \
                and int(threads) * 1000 != cpu_millis(request):
            report.warn(path, f"{where}: --threads {threads} differs from the CPU request {request}")
        mounts = container.get("volumeMounts") if isinstance(container.get("volumeMounts"), list) else []
        results_mounts = [m for m in mounts if isinstance(m, dict) and m.get("name") in claims]
        for m in mounts:
            if isinstance(m, dict) and m.get("name") not in {v.get("name") for v in volumes if isinstance(v, dict)}:
                err(f"{where}: volumeMount {m.get('name')!r} has no volume of that name")
        if not results_mounts:
            err(f"{where}: no volumeMount of the results PersistentVolumeClaim")
            continue
        mount = results_mounts[0]
        mount_path = mount.get("mountPath")
        if not isinstance(mount_path, str) or not mount_path.startswith("/"):
            err(f"{where}: volumeMount {mount.get('name')!r}: mountPath {mount_path!r} is not an absolute path")
            continue
        workdir = container.get("workingDir")
        results = option(words, "--results") or "results"
        if indexed and subcommand == "mcts":
            results = None  # an mcts run writes its --output, anywhere on the volume
        if results is not None:
            expected = results if results.startswith("/") else (os.path.join(workdir, results) if isinstance(workdir, str) else None)
            if expected is None:
                err(f"{where}: workingDir is missing (the repository inside the image, where bench finds tasks/ and models/)")
            elif os.path.normpath(expected) != os.path.normpath(mount_path):
                err(f"{where}: the results folder is {expected} but the claim is mounted at {mount_path}")
        summary.update(image=image, claim=claims[mount["name"]], mountPath=mount_path, workingDir=workdir)
        if indexed:
            summary["shards"] = shards
    # Other documents: a PersistentVolumeClaim for the results may come along.
    for doc in others:
        if not isinstance(doc, dict) or doc.get("kind") != "PersistentVolumeClaim":
            err(f"unexpected document (kind {doc.get('kind') if isinstance(doc, dict) else type(doc).__name__!r}); expected the Job and optionally its PersistentVolumeClaim")
            continue
        if doc.get("apiVersion") != "v1":
            err(f"PersistentVolumeClaim: apiVersion is {doc.get('apiVersion')!r}, expected 'v1'")
        modes = get(doc, "spec", "accessModes") or []
        if "ReadWriteMany" not in modes:
            err(f"PersistentVolumeClaim {get(doc, 'metadata', 'name')!r}: accessModes {modes!r} lack ReadWriteMany: shards on several nodes write to it")
        if get(doc, "spec", "resources", "requests", "storage") is None:
            err(f"PersistentVolumeClaim {get(doc, 'metadata', 'name')!r}: spec.resources.requests.storage is missing")
        summary.setdefault("defined_claims", []).append(get(doc, "metadata", "name"))
    if summary.get("claim") and summary.get("defined_claims") and summary["claim"] not in summary["defined_claims"]:
        err(f"the Job uses the claim {summary['claim']!r} but this file defines {summary['defined_claims']!r}")
    return summary


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("run", nargs="?", default=DEFAULT_RUN, help="the Indexed Job manifest")
    parser.add_argument("merge", nargs="?", default=DEFAULT_MERGE, help="the merge Job manifest")
    parser.add_argument("--strict", action="store_true", help="placeholders (CHANGE-ME) are errors, not warnings")
    parser.add_argument("--builtin-yaml", action="store_true", help="use the built-in YAML parser even if PyYAML is there")
    options = parser.parse_args()

    report = Report(options.strict)
    summaries = {}
    for path, indexed in ((options.run, True), (options.merge, False)):
        try:
            docs, parser_name = load_all(path, options.builtin_yaml)
        except OSError as error:
            print(f"error: cannot read {path}: {error}", file=sys.stderr)
            return 2
        except YAMLError as error:
            report.error(path, f"not valid YAML: {error}")
            continue
        summaries[path] = check_job(path, docs, report, indexed)
        schema_checked = False
        for doc in docs:
            if isinstance(doc, dict):
                problems = schema_problems(doc)
                if problems is not None:
                    schema_checked = True
                    for problem in problems:
                        report.error(path, f"API schema: {problem}")
        print(f"parsed {os.path.relpath(path)}: {len(docs)} document(s) with {parser_name}"
              + ("; field names and types checked against the kubernetes package's API models" if schema_checked else ""))

    run, merge = summaries.get(options.run), summaries.get(options.merge)
    if run and merge:
        for key, label in (("image", "image"), ("claim", "PersistentVolumeClaim"), ("mountPath", "results mountPath"),
                           ("workingDir", "workingDir")):
            if run.get(key) != merge.get(key):
                report.error(options.merge, f"{label} {merge.get(key)!r} differs from the run Job's {run.get(key)!r}")

    for line in report.warnings:
        print(line)
    for line in report.errors:
        print(line)
    if report.errors:
        print(f"k8s manifests: {len(report.errors)} problem(s)")
        return 1
    if run:
        print(f"ok: {os.path.relpath(options.run)}: Indexed Job {run['name']!r}, {run['completions']} shards "
              f"(DRLLM_SHARDS={run.get('shards')}), results on claim {run.get('claim')!r} at {run.get('mountPath')}")
    if merge:
        print(f"ok: {os.path.relpath(options.merge)}: merge Job {merge['name']!r} on the same claim")
    print("k8s manifests: valid")
    return 0


if __name__ == "__main__":
    sys.exit(main())
