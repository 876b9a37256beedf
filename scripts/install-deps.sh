#!/usr/bin/env bash
# Installs every build and test dependency from Debian 12 packages. Idempotent.
set -euo pipefail
pkgs=(build-essential cmake ninja-build pkg-config
      libcaf-dev libboost-dev libboost-program-options-dev
      libleveldb-dev libsnappy-dev libmsgpack-cxx-dev libgtest-dev libgmock-dev libssl-dev nlohmann-json3-dev procps
      gdb elfutils  # ray stack: gdb in batch mode (or eu-stack) on each node
      libcpp-httplib-dev  # the dashboard's HTTP(S) server
      libyaml-cpp-dev  # Ray's cluster YAML (ray get_head_ip, ray up)
      chromium  # the dashboard's browser tests (headless)
      openssh-client openssh-server rsync tmux)  # ray up/exec/attach over SSH; tested with sshd on loopback
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
  $SUDO apt-get update
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y --no-install-recommends "${missing[@]}"
fi
