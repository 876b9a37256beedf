#!/usr/bin/env bash
# Figures of the cluster launcher and the autoscaler (README, "Clusters from a
# config file"), on this machine:
#   1. `ray up` of 3 nodes (local provider) over real SSH: an sshd of its own
#      on 127.0.0.1-3, a key made for it; the time until `ray up` returns
#      with all 3 nodes alive, RUNS times (`ray down` between).
#   2. fake_multinode autoscaling (a head of 1 CPU, 0-3 workers of 1 CPU, an
#      idle timeout of 6 s): the time from submitting 6 tasks of a CPU to the
#      first new node alive, and from the last task's end to all new nodes gone.
# Usage: bash benchmarks/cluster_launcher.sh [BUILD_DIR] [RUNS]   (needs sshd: scripts/install-deps.sh)
#        INTERVAL=0.25 bash ...   sets the autoscaler's tick (default 1 s)
# Real Ray's figures of the same steps: benchmarks/cluster_launcher_ray.sh.
set -euo pipefail
BUILD=$(realpath "${1:-build}")
RUNS=${2:-3}
RAY=$BUILD/bin/ray
DRIVER=$BUILD/tests/cli/launcher_driver
W=$(mktemp -d /tmp/ray-launcher-bench.XXXXXX)
export HOME=$W/laptop RAY_CLUSTER_DIR=$W/clusters RAY_STATE_DIR=$W/state RAY_AUTH_TOKEN=
mkdir -p "$HOME"

cleanup() {
  "$RAY" down -y "$W/ssh.yaml" >/dev/null 2>&1 || true
  "$RAY" down -y "$W/fake.yaml" >/dev/null 2>&1 || true
  for h in 127.0.0.1 127.0.0.2 127.0.0.3; do RAY_STATE_DIR=$W/host-$h/state "$RAY" stop --force >/dev/null 2>&1 || true; done
  [ -f "$W/sshd.pid" ] && kill "$(cat "$W/sshd.pid")" 2>/dev/null || true
  [ -n "${KEEP:-}" ] || rm -rf "$W"
}
trap cleanup EXIT

now() { date +%s.%N; }
alive() { { "$RAY" exec "$1" 'ray status --format json' 2>/dev/null || true; } | { grep -Eo '"state": ?"ALIVE"' || true; } | wc -l; }
median() { sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }

# -- 1. ray up over SSH -------------------------------------------------------------
spare() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
PORT=$(spare)
HEAD_PORT=$(spare)
ssh-keygen -q -t ed25519 -N '' -f "$W/hostkey"
ssh-keygen -q -t ed25519 -N '' -f "$W/userkey"
cp "$W/userkey.pub" "$W/authorized_keys" && chmod 600 "$W/authorized_keys"
{
  echo "Port $PORT"
  for h in 127.0.0.1 127.0.0.2 127.0.0.3; do echo "ListenAddress $h"; done
  printf 'HostKey %s/hostkey\nAuthorizedKeysFile %s/authorized_keys\nPidFile %s/sshd.pid\n' "$W" "$W" "$W"
  printf 'StrictModes no\nUsePAM no\nPasswordAuthentication no\nKbdInteractiveAuthentication no\n'
  for h in 127.0.0.1 127.0.0.2 127.0.0.3; do
    mkdir -p "$W/host-$h/state"
    printf 'Match LocalAddress %s\n  SetEnv HOME=%s RAY_STATE_DIR=%s\n' "$h" "$W/host-$h" "$W/host-$h/state"
  done
} > "$W/sshd_config"
[ "$(id -u)" = 0 ] && mkdir -p /run/sshd
/usr/sbin/sshd -f "$W/sshd_config" -E "$W/sshd.log"
sleep 0.5
cat > "$W/ssh.yaml" <<EOF
cluster_name: bench
provider: {type: local, head_ip: 127.0.0.1, worker_ips: [127.0.0.2, 127.0.0.3], head_port: $HEAD_PORT}
auth: {ssh_user: $(id -un), ssh_private_key: $W/userkey, ssh_port: $PORT}
EOF
echo "ray up, 3 nodes over SSH on loopback ($RUNS runs):"
ups=()
for i in $(seq "$RUNS"); do
  t0=$(now)
  "$RAY" up -y "$W/ssh.yaml" > "$W/up.log"
  t1=$(now)
  n=$(alive "$W/ssh.yaml")
  ups+=("$(echo "$t1 - $t0" | bc)")
  echo "  run $i: $(printf '%.2f' "${ups[-1]}") s, $n nodes alive"
  t0=$(now)
  "$RAY" down -y "$W/ssh.yaml" > /dev/null
  echo "         ray down: $(printf '%.2f' "$(echo "$(now) - $t0" | bc)") s"
done
echo "  median: $(printf "%.2f" "$(printf "%s\n" "${ups[@]}" | median)") s (the first run opens the SSH connections; later ones reuse them for 60 s)"

# -- 2. fake_multinode autoscaling --------------------------------------------------
cat > "$W/fake.yaml" <<'EOF'
cluster_name: bench-scale
max_workers: 3
idle_timeout_minutes: 0.1
provider: {type: fake_multinode}
available_node_types:
  head: {resources: {CPU: 1}}
  cpu_worker: {resources: {CPU: 1}, min_workers: 0, max_workers: 3}
head_node_type: head
EOF
export RAY_AUTOSCALER_UPDATE_INTERVAL_S=${INTERVAL:-1}  # the autoscaler's tick; 1 s is its default
t0=$(now)
"$RAY" up -y "$W/fake.yaml" > "$W/up-fake.log"
echo "fake_multinode (autoscaler tick $RAY_AUTOSCALER_UPDATE_INTERVAL_S s): ray up of the head: $(printf '%.2f' "$(echo "$(now) - $t0" | bc)") s"
t0=$(now)
"$RAY" exec "$W/fake.yaml" "$DRIVER burst 6 4" > "$W/burst.log" 2>&1 &
burst=$!
first=""
most=1
while kill -0 $burst 2>/dev/null; do
  n=$(alive "$W/fake.yaml")
  [ "$n" -gt "$most" ] && most=$n
  [ -z "$first" ] && [ "$n" -gt 1 ] && first=$(echo "$(now) - $t0" | bc)
done
wait $burst
t_end=$(now)
echo "  6 tasks of {CPU: 1}, 4 s each: $(cat "$W/burst.log"); at most $most nodes alive"
echo "  from demand to the first new node alive: $(printf '%.2f' "${first:-0}") s"
while [ "$(alive "$W/fake.yaml")" -gt 1 ]; do sleep 0.1; done
echo "  from the last task's end to the new nodes gone: $(printf '%.2f' "$(echo "$(now) - $t_end" | bc)") s (idle timeout 6 s)"
