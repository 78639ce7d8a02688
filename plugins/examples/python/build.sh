#!/usr/bin/env bash
# Builds the Python plugin into a WebAssembly component with componentize-py
# (pinned in requirements.txt). --stub-wasi replaces every WASI import of the
# embedded CPython with a trapping stub, so the component imports only the
# `taskproof:verifier/host` interface, the one thing the host links.
#
#   plugins/examples/python/build.sh
set -euo pipefail
cd "$(dirname "$0")"
python3 -m venv .venv
.venv/bin/pip install -q -r requirements.txt
.venv/bin/componentize-py -d ../../wit/verifier.wit -w verifier componentize claim --stub-wasi -o claim.wasm
echo "claim.wasm: $(wc -c <claim.wasm) bytes"
