#!/usr/bin/env bash
# Decrypts GPQA Diamond from tasks/gpqa/dataset.zip into tasks/gpqa/decrypted/ (git-ignored).
#
# The GPQA authors publish the archive password and ask that questions never appear in plain
# text online, so the repository keeps only the encrypted zip. This script is idempotent: it
# does nothing when the decrypted files are present and match tasks/gpqa/SHA256SUMS.decrypted.
# It never prints file contents.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
folder="$root/tasks/gpqa"
archive="$folder/dataset.zip"
out="$folder/decrypted"
sums="$folder/SHA256SUMS.decrypted"

verify() { (cd "$folder" && sha256sum --quiet --check --status "$sums") }

if [ -f "$out/dataset/gpqa_diamond.csv" ] && verify; then
    exit 0
fi

command -v unzip >/dev/null 2>&1 || { echo "decrypt_gpqa.sh: 'unzip' is required (apt-get install unzip)" >&2; exit 1; }
[ -f "$archive" ] || { echo "decrypt_gpqa.sh: missing $archive" >&2; exit 1; }

mkdir -p "$out"
# Only what the benchmark needs: the Diamond split and the licence.
unzip -q -o -P deserted-untie-orchid "$archive" "dataset/gpqa_diamond.csv" "dataset/license.txt" -d "$out"

if ! verify; then
    echo "decrypt_gpqa.sh: decrypted files do not match $sums" >&2
    exit 1
fi
