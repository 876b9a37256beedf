#!/usr/bin/env bash
# One run, same machine, same CPU count: Ray (from PyPI, in a venv) and ours.
#   bash benchmarks/run_side_by_side.sh [NUM_CPUS] [OUT_DIR]
# Prints the comparison table (markdown) at the end; JSON files stay in OUT_DIR.
set -euo pipefail
cd "$(dirname "$0")/.."
cpus=${1:-$(nproc)}
out=${2:-/tmp/ray-side-by-side}
mkdir -p "$out"
venv=${RAY_VENV:-/work/ray-venv}
bash benchmarks/ray_peer/setup_ray.sh "$venv"
cmake -S . -B build -G Ninja > /dev/null
cmake --build build --target ray_microbenchmark
echo "== Ray $("$venv/bin/python" -c 'import ray; print(ray.__version__)') with num_cpus=$cpus"
"$venv/bin/python" benchmarks/ray_peer/ray_peer.py --num-cpus "$cpus" --netns --json "$out/ray.json"
echo "== Ray's C++ API (ray-cpp) with num_cpus=$cpus"
PATH="$venv/bin:$PATH" bash benchmarks/ray_peer/cpp/run_ray_cpp.sh "$cpus" "$out/ray_cpp.json" \
  "$out/ray_cpp_build" || echo "(the Ray C++ run failed; its column stays empty)"
echo "== ours with num_cpus=$cpus"
./build/bin/ray_microbenchmark --num-cpus "$cpus" --json "$out/ours.json"
echo
python3 benchmarks/compare.py "$out/ray.json" "$out/ours.json" "$out/ray_cpp.json" | tee "$out/table.md"
