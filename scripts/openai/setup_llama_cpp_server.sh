#!/usr/bin/env bash
# Installs llama.cpp's OpenAI-compatible server (the PyPI package llama-cpp-python[server], pinned)
# into a venv, for `bench run --backend openai` tests on loopback. PyPI ships it as source only, so
# pip compiles llama.cpp (the library only): 3 min 16 s on 2 idle cores, once; pip keeps the built wheel
# in its cache. Re-running does nothing if it is there.
# usage: scripts/openai/setup_llama_cpp_server.sh [VENV_DIR]   (default: .venv/llama-cpp-server)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
VENV=${1:-$ROOT/.venv/llama-cpp-server}
VERSION=0.3.36
if [ -x "$VENV/bin/python" ] && "$VENV/bin/python" -c "import llama_cpp, llama_cpp.server, sys; sys.exit(llama_cpp.__version__ != '$VERSION')" 2>/dev/null; then
  echo "[llama-cpp-server] llama-cpp-python $VERSION already in $VENV"; exit 0
fi
command -v cmake >/dev/null && command -v g++ >/dev/null || {
  echo "[llama-cpp-server] installing cmake and g++ with apt-get"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq cmake g++ python3-venv >/dev/null
}
python3 -m venv "$VENV"
"$VENV/bin/pip" install -q --upgrade pip
echo "[llama-cpp-server] compiling llama-cpp-python[server]==$VERSION into $VENV (about 3-4 minutes on 2 idle cores)"
# Only the library the server loads: no multimodal (mtmd) helper, examples or tests.
CMAKE_ARGS="-DLLAVA_BUILD=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_TESTS=OFF -DGGML_NATIVE=ON" \
CMAKE_BUILD_PARALLEL_LEVEL=${CMAKE_BUILD_PARALLEL_LEVEL:-2} \
  "$VENV/bin/pip" install -q "llama-cpp-python[server]==$VERSION"
"$VENV/bin/python" -c "import llama_cpp, llama_cpp.server; print('[llama-cpp-server] installed llama-cpp-python', llama_cpp.__version__)"
