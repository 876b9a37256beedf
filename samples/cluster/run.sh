#!/bin/bash
# A three-node cluster on this machine with `ray start`, a driver that uses it,
# and `ray stop`. Usage: samples/cluster/run.sh [BUILD_DIR]   (default: build)
set -euo pipefail
BIN="$(cd "${1:-build}/bin" && pwd)"
export RAY_STATE_DIR="${RAY_STATE_DIR:-$(mktemp -d /tmp/ray-sample-state-XXXXXX)}"
TEMP_DIR="$(mktemp -d /tmp/ray-sample-XXXXXX)"
trap '"$BIN/ray" stop >/dev/null || true; rm -rf "$TEMP_DIR"' EXIT

common=(--num-cpus 1 --object-store-memory 300000000 --temp-dir "$TEMP_DIR")
"$BIN/ray" start --head --port 0 "${common[@]}" | tee "$TEMP_DIR/head.txt"
HEAD="$(sed -n 's/.*listening on \([0-9.]*:[0-9]*\).*/\1/p' "$TEMP_DIR/head.txt" | head -1)"
"$BIN/ray" start --address "$HEAD" "${common[@]}" --resources '{"node_b": 1}' >/dev/null
"$BIN/ray" start --address "$HEAD" "${common[@]}" --resources '{"node_c": 1}' >/dev/null
echo "three nodes up; head at $HEAD"
RAY_ADDRESS="$HEAD" "$BIN/sample_cluster"
"$BIN/ray" stop
