#!/usr/bin/env bash
# Create (or reuse) a Python venv holding the pinned Ray peer used for
# side-by-side benchmarks. Idempotent: re-running with everything already
# installed at the pinned versions does nothing but verify.
#
#   bash benchmarks/ray_peer/setup_ray.sh [VENV_DIR]     (default /work/ray-venv)
#
# Env: PYTHON=python3.11 to choose the interpreter (Ray 2.60 ships wheels for
# CPython 3.10-3.13 on x86_64/aarch64 Linux).
set -euo pipefail

VENV="${1:-/work/ray-venv}"
PYTHON="${PYTHON:-python3}"

RAY_VERSION="2.60.0"
# ray[client] pulls in grpcio, which `ray microbenchmark` (ray/_private/ray_perf.py)
# needs at import time (it imports the Ray Client microbenchmark module).
# numpy is imported by ray_perf.py but is not a dependency of the minimal `ray` wheel.
# psutil is used by ray_peer.py to sum the RSS/PSS of Ray processes.
PKGS=(
  "ray[client]==${RAY_VERSION}"
  "ray-cpp==${RAY_VERSION}"
  "numpy==2.4.6"
  "psutil==7.2.2"
)

if [[ ! -x "${VENV}/bin/python" ]]; then
  echo "[setup_ray] creating venv ${VENV} with $(${PYTHON} --version 2>&1)"
  "${PYTHON}" -m venv "${VENV}"
fi

PY="${VENV}/bin/python"

have_all() {
  "${PY}" - "$RAY_VERSION" <<'EOF' 2>/dev/null
import sys
from importlib.metadata import version
want = sys.argv[1]
assert version("ray") == want, "ray"
assert version("ray-cpp") == want, "ray-cpp"
assert version("numpy") == "2.4.6"
assert version("psutil") == "7.2.2"
import grpc, numpy, psutil  # noqa: F401
EOF
}

if have_all; then
  echo "[setup_ray] already installed: ray==${RAY_VERSION} ray-cpp==${RAY_VERSION} in ${VENV}"
else
  start=$(date +%s)
  "${PY}" -m pip install --disable-pip-version-check -q --upgrade pip
  "${PY}" -m pip install --disable-pip-version-check -q "${PKGS[@]}"
  echo "[setup_ray] installed in $(( $(date +%s) - start )) s"
  have_all || { echo "[setup_ray] verification failed" >&2; exit 1; }
fi

"${PY}" -c 'import ray; print("[setup_ray] ray", ray.__version__, "commit", ray.__commit__)'
echo "[setup_ray] C++ headers: ${VENV}/lib/python$("${PY}" -c 'import sys;print(f"{sys.version_info[0]}.{sys.version_info[1]}")')/site-packages/ray/cpp/include"
