#!/usr/bin/env bash
# Build and run the Ray C++ API microbenchmark (ray_cpp_bench.cc) against a
# head started here, all inside a loopback-only network namespace.
#
#   run_ray_cpp.sh [NUM_CPUS=2] [OUT_JSON=./ray_cpp.json] [BUILD_DIR=mktemp -d]
#
# Env: VENV (default /work/ray-venv); RAY_CPP_BENCH_ONLY (comma-separated name
# substrings: run only those workloads); RAY_CPP_BENCH_MULTI_TASKS (tasks per
# actor in "multi client tasks async", default 10000 as in ray_perf.py);
# RAY_CPP_BENCH_MULTI_CLIENT_TASKS=1 and RAY_CPP_BENCH_NESTED_ACTORS=1 turn on
# workloads that hang (see ../NOTES.md). The build is reused when BUILD_DIR already
# holds an object newer than the source. Prints the JSON path on success.
set -euo pipefail

NUM_CPUS=${1:-2}
OUT_JSON=${2:-$PWD/ray_cpp.json}
BUILD_DIR=${3:-}
VENV=${VENV:-/work/ray-venv}
HERE=$(cd "$(dirname "$0")" && pwd)
SRC=$HERE/ray_cpp_bench.cc

case "$OUT_JSON" in /*) ;; *) OUT_JSON=$PWD/$OUT_JSON ;; esac

export PATH=$VENV/bin:$PATH RAY_AUTH_MODE=disabled RAY_USAGE_STATS_ENABLED=0 \
       RAY_USAGE_STATS_REPORT_URL=http://127.0.0.1:9/ RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0

if [ "${RAY_CPP_IN_NETNS:-}" != 1 ]; then
  # Stage 1 (host namespace): build, then re-exec inside a loopback-only netns.
  if pgrep -x raylet >/dev/null || pgrep -x gcs_server >/dev/null; then
    echo "a raylet/gcs_server is already running; refusing (ray stop would kill it)" >&2
    exit 1
  fi
  [ -n "$BUILD_DIR" ] || BUILD_DIR=$(mktemp -d /tmp/ray_cpp_bench.XXXXXX)
  mkdir -p "$BUILD_DIR"
  BUILD_DIR=$(cd "$BUILD_DIR" && pwd)
  R=$("$VENV/bin/python" -c 'import os, ray; print(os.path.join(os.path.dirname(ray.__file__), "cpp"))')
  FLAGS="-std=c++17 -D_GLIBCXX_USE_CXX11_ABI=0 -O2 -fPIC -I$R/include"
  LINK="-L$R/lib -lray_api -Wl,-rpath,$R/lib"
  O=$BUILD_DIR/ray_cpp_bench.o
  if [ ! -f "$O" ] || [ "$SRC" -nt "$O" ]; then
    echo "compiling $SRC -> $O" >&2
    g++ $FLAGS -c "$SRC" -o "$O"        # one TU, ~8 s CPU; no parallel make
  fi
  # The driver, and the same code as a .so that the C++ workers load from the
  # driver's directory (they load every .so there, so the directory is ours only).
  g++ "$O" -o "$BUILD_DIR/ray_cpp_bench" $LINK
  g++ -shared "$O" -o "$BUILD_DIR/ray_cpp_bench.so" $LINK
  export RAY_CPP_IN_NETNS=1 RAY_CPP_BUILD_DIR=$BUILD_DIR
  exec unshare -n sh -c 'ip link set lo up && exec "$0" "$@"' "$0" "$NUM_CPUS" "$OUT_JSON" "$BUILD_DIR"
fi

# Stage 2 (inside the netns): head, driver, stop.
BUILD_DIR=$RAY_CPP_BUILD_DIR
if ip -o addr show | awk '{print $2}' | grep -qv '^lo$'; then
  echo "not a loopback-only namespace; refusing" >&2; exit 1
fi
cleanup() { ray stop >/dev/null 2>&1 || true; }
trap cleanup EXIT
ray start --head --num-cpus="$NUM_CPUS" --port=6379 --node-ip-address=127.0.0.1 \
  --disable-usage-stats >"$BUILD_DIR/ray_start.log" 2>&1 \
  || { cat "$BUILD_DIR/ray_start.log" >&2; exit 1; }
rm -f "$OUT_JSON"
# ray_perf.py's n_cpu for the 1:n and n:n workloads, as ray_peer.py sets it.
export RAY_CPP_BENCH_N_CPU=$(( (NUM_CPUS > 2 ? NUM_CPUS : 2) / 2 ))
"$BUILD_DIR/ray_cpp_bench" "$OUT_JSON" --ray_address=127.0.0.1:6379 \
  --ray_code_search_path="$BUILD_DIR"
ray stop >/dev/null 2>&1 || true
trap - EXIT
[ -s "$OUT_JSON" ] || { echo "no JSON written" >&2; exit 1; }
echo "$OUT_JSON"
