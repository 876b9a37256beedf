#!/usr/bin/env bash
# The same figures as benchmarks/cluster_launcher.sh, taken with real (Python)
# Ray, for comparison:
#   1. `ray up` of 3 nodes (local provider) over real SSH: an sshd of its own
#      on 127.0.0.1-3 port 22, a key made for it; the time until `ray up`
#      returns, the time until all 3 nodes are alive (Ray's `ray up` returns
#      once the head is up; its autoscaler then starts the 2 workers), and
#      `ray down`, RUNS times.
#   2. fake_multinode autoscaling (a head of 1 CPU, 0-3 workers of 1 CPU, an
#      idle timeout of 6 s): the time from submitting 6 tasks of a CPU that
#      sleep 4 s to the first new node alive, and from the tasks' end to all
#      new nodes gone.
# Usage: bash benchmarks/cluster_launcher_ray.sh VENV [RUNS]
#   VENV: a virtual environment with `ray[default]`:
#         python3 -m venv V && V/bin/pip install "ray[default]"
# Needs: root (Ray's local provider cannot set an ssh port without
# ~/.ssh/config, so the sshd must listen on port 22, which must be free),
# /usr/sbin/sshd, ssh-keygen. Nothing of Ray's may be running on the machine:
# `ray stop` and `ray down` kill processes by name machine-wide, so the
# script refuses to start (exit 2) when any process matches those names.
# Everything lives in a mktemp -d folder removed at exit; outside it, only
# /root/ray_bootstrap_key.pem (see below) and Ray's ssh control socket dir
# /tmp/ray_ssh_<hash>/<hash> are made, and both are removed at exit.
set -euo pipefail
VENV=${1:?usage: bash benchmarks/cluster_launcher_ray.sh VENV [RUNS]}
RUNS=${2:-3}
VENV=$(realpath "$VENV")
if [ ! -x "$VENV/bin/ray" ] || ! "$VENV/bin/python" -c 'import ray, ray.autoscaler, psutil' 2>/dev/null; then
  echo "$VENV has no ray[default]; make one with:" >&2
  echo "  python3 -m venv V && V/bin/pip install \"ray[default]\"" >&2
  exit 2
fi
RAY=$VENV/bin/ray
PY=$VENV/bin/python
"$RAY" --version

[ "$(id -u)" = 0 ] || { echo "needs root (ssh as root to the loopback hosts, /root/ray_bootstrap_key.pem)" >&2; exit 2; }
[ -x /usr/sbin/sshd ] || { echo "needs /usr/sbin/sshd (apt-get install openssh-server)" >&2; exit 2; }
KEYCOPY=/root/ray_bootstrap_key.pem
if [ -e "$KEYCOPY" ]; then
  echo "$KEYCOPY exists already; this script needs to make it (and remove it at exit) and will not overwrite it" >&2
  exit 2
fi

W=$(mktemp -d /tmp/rlb.XXXXXX)        # short: Ray's unix socket paths live under it
NAME=rlb-$$
HOSTS="127.0.0.1 127.0.0.2 127.0.0.3"
made_key=""; made_run_sshd=""; SSHCTL=""; up_tried=""; fake_tried=""

# -- which processes `ray stop` would kill: the venv's own RAY_PROCESSES list --------
# procs.py check|foreign|sweep TAG
#   check:   every process that matches (ray stop's matching: name or full command line)
#   foreign: those that do not carry RAYBENCH_TAG=TAG in their environment, nor use TAG/
#   sweep:   kill (TERM, then KILL) the tagged ones that match, or that are ssh/sshd
#            helpers of this run; never this script or the sweeper's ancestors
cat > "$W/procs.py" <<'EOF'
import os, sys, time, subprocess
from ray.autoscaler._private.constants import RAY_PROCESSES
import psutil  # ray's own copy (ray/thirdparty_files), on sys.path once ray is imported
mode, tag = sys.argv[1], sys.argv[2]
me = os.getpid(); anc = {me}
p = psutil.Process(me)
while p is not None:
    anc.add(p.pid); p = p.parent()
def matches(proc):
    try:
        name, args = proc.name(), proc.cmdline()
    except psutil.Error:
        return False
    line = subprocess.list2cmdline(args)
    return any(k in (name if by_name else line) for k, by_name in RAY_PROCESSES)
def tagged(proc):
    # ours: the tag in its environment, or (setproctitle overwrites the environment of
    # ray::DashboardAgent and the like) a command line, cwd or open file under TAG (= the work dir)
    try:
        if proc.environ().get("RAYBENCH_TAG") == tag:
            return True
    except psutil.Error:
        pass
    try:
        paths = proc.cmdline() + [proc.cwd()] + [f.path for f in proc.open_files()]
    except psutil.Error:
        return False
    return any(tag + "/" in x or x == tag for x in paths)
out = []
for proc in psutil.process_iter():
    if proc.pid in anc:
        continue
    if mode == "check" and matches(proc):
        out.append(proc)
    elif mode == "foreign" and matches(proc) and not tagged(proc):
        out.append(proc)
    elif mode == "sweep" and tagged(proc):
        try:
            n = proc.name()
        except psutil.Error:
            continue
        if matches(proc) or n in ("ssh", "python", "python3") or n.startswith("python3"):
            out.append(proc)
if mode == "sweep":
    for proc in out:
        try: proc.terminate()
        except psutil.Error: pass
    _, alive = psutil.wait_procs(out, timeout=5)
    for proc in alive:
        try: proc.kill()
        except psutil.Error: pass
    psutil.wait_procs(alive, timeout=2)
else:
    for proc in out:
        try: print(f"  pid {proc.pid} {proc.name()}: {' '.join(proc.cmdline())[:150]}")
        except psutil.Error: pass
    sys.exit(1 if out else 0)
EOF
# Only the venv's ray: absolute paths, and a PATH of our own; the tag marks our processes.
export PATH=$VENV/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export RAYBENCH_TAG=$W HOME=$W/laptop TMPDIR=$W/laptop/tmp RAY_TMPDIR=$W/laptop/tmp
export RAY_USAGE_STATS_ENABLED=0 RAY_UP_enable_autoscaler_v2=0
unset PYTHONPATH VIRTUAL_ENV
mkdir -p "$TMPDIR"

no_foreign() { "$PY" "$W/procs.py" foreign "$W" > "$W/foreign.txt" 2>&1; }
busy() {
  echo "the machine is busy: \`$1\` would kill these processes, which are not this benchmark's:" >&2
  cat "$W/foreign.txt" >&2
  exit 2
}

cleanup() {
  set +e
  trap - EXIT INT TERM
  if [ -n "$up_tried$fake_tried" ]; then
    if no_foreign; then
      [ -n "$up_tried" ] && timeout 120 "$RAY" down -y "$W/ssh.yaml" >/dev/null 2>&1
      [ -n "$fake_tried" ] && timeout 60 "$RAY" stop --force >/dev/null 2>&1
    else
      echo "cleanup: not running ray down/stop (other Ray-named processes appeared); killing this run's processes by pid" >&2
    fi
    "$PY" "$W/procs.py" sweep "$W" >/dev/null 2>&1
  fi
  if [ -f "$W/sshd.pid" ]; then pkill -TERM -P "$(cat "$W/sshd.pid")" 2>/dev/null; kill "$(cat "$W/sshd.pid")" 2>/dev/null; fi
  [ -n "$made_key" ] && cmp -s "$KEYCOPY" "$W/userkey" && rm -f "$KEYCOPY"
  [ -n "$SSHCTL" ] && rm -rf "$SSHCTL" && rmdir "$(dirname "$SSHCTL")" 2>/dev/null
  [ -n "$made_run_sshd" ] && rmdir /run/sshd 2>/dev/null
  [ -n "${KEEP:-}" ] && echo "kept $W" >&2 || rm -rf "$W"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if ! "$PY" "$W/procs.py" check "$W" > "$W/foreign.txt" 2>&1; then
  busy "ray stop"
fi
"$PY" - <<'EOF' || { echo "port 22 (or 6379) on 127.0.0.1-3 is taken; Ray's local provider can only ssh to port 22 without ~/.ssh/config, and the head's GCS needs 6379" >&2; exit 2; }
import socket
for h in ("127.0.0.1", "127.0.0.2", "127.0.0.3"):
    for port in (22, 6379):
        s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((h, port)); s.close()
EOF

now() { date +%s.%N; }
median() { sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
f2() { printf '%.2f' "$1"; }

# -- 1. ray up over SSH -------------------------------------------------------------
ssh-keygen -q -t ed25519 -N '' -f "$W/hostkey"
ssh-keygen -q -t ed25519 -N '' -f "$W/userkey"
cp "$W/userkey.pub" "$W/authorized_keys" && chmod 600 "$W/authorized_keys"
i=0
{
  echo "Port 22"
  for h in $HOSTS; do echo "ListenAddress $h"; done
  printf 'HostKey %s/hostkey\nAuthorizedKeysFile %s/authorized_keys\nPidFile %s/sshd.pid\n' "$W" "$W" "$W"
  printf 'StrictModes no\nUsePAM no\nPermitRootLogin prohibit-password\nPasswordAuthentication no\nKbdInteractiveAuthentication no\n'
  printf 'MaxStartups 100:30:200\nMaxSessions 100\n'
  for h in $HOSTS; do
    i=$((i+1)); H=$W/h$i; mkdir -p "$H/tmp"
    # Ray runs `bash --login -c -i '...'`, and /etc/profile resets root's PATH: set it again.
    printf 'export PATH=%s/bin:$PATH RAY_TMPDIR=%s/tmp TMPDIR=%s/tmp RAYBENCH_TAG=%s RAY_USAGE_STATS_ENABLED=0\n' \
      "$VENV" "$H" "$H" "$W" > "$H/.bashrc"
    cp "$H/.bashrc" "$H/.bash_profile"
    printf 'Match LocalAddress %s\n  SetEnv HOME=%s PATH=%s/bin:/usr/local/bin:/usr/bin:/bin\n' "$h" "$H" "$VENV"
  done
} > "$W/sshd_config"
[ -d /run/sshd ] || { mkdir -p /run/sshd && made_run_sshd=1; }
/usr/sbin/sshd -f "$W/sshd_config" -E "$W/sshd.log"
sleep 0.5
# The head's autoscaler ssh'es to the workers with `-i ~/ray_bootstrap_key.pem`; ssh expands
# `~` from the passwd entry (/root), not from $HOME, so the key must be there for the run.
cp "$W/userkey" "$KEYCOPY" && chmod 600 "$KEYCOPY" && made_key=1
SSHCTL=$("$PY" -c 'import hashlib,getpass,sys; h=lambda s: hashlib.sha256(s.encode()).hexdigest()[:10]; print(f"/tmp/ray_ssh_{h(getpass.getuser())}/{h(sys.argv[1])}")' "$NAME")
[ -e "$SSHCTL" ] && SSHCTL=""         # not ours: leave it
cat > "$W/ssh.yaml" <<EOF
cluster_name: $NAME
provider: {type: local, head_ip: 127.0.0.1, worker_ips: [127.0.0.2, 127.0.0.3]}
auth: {ssh_user: root, ssh_private_key: $W/userkey}
min_workers: 2
max_workers: 2
upscaling_speed: 1.0
idle_timeout_minutes: 5
file_mounts: {}
initialization_commands: []
setup_commands: []
head_setup_commands: []
worker_setup_commands: []
head_start_ray_commands:
  - ray start --head --port=6379 --autoscaling-config=~/ray_bootstrap_config.yaml
worker_start_ray_commands:
  # each "host" its own temp dir: in one shared session dir the two workers'
  # raylets, started at the same moment, collide on socket names
  - ray start --address=\$RAY_HEAD_IP:6379 --node-ip-address=\$(echo \$SSH_CONNECTION | cut -d' ' -f3) --temp-dir=\$HOME/tmp/ray
EOF
cat > "$W/laptop/count.py" <<'EOF'
import ray
ray.init(address="auto", logging_level="ERROR")
print("ALIVE", sum(1 for n in ray.nodes() if n["Alive"]))
EOF
# The node count is read straight from the head's GCS (the table `ray status` and
# ray.nodes() read) every POLL s, from ray up's start; possible only because the
# "cluster" is on loopback. `ray exec ... ray.nodes()` confirms it afterwards.
POLL=0.1
cat > "$W/poll.py" <<'EOF'
import socket, sys, time
t0, need, poll, limit = float(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])
from ray._raylet import GcsClient
from ray.core.generated import gcs_pb2
c = None; last = None
while time.time() - t0 < limit:
    try:
        if c is None:
            socket.create_connection(("127.0.0.1", 6379), timeout=0.2).close()
            c = GcsClient(address="127.0.0.1:6379")
        n = sum(1 for i in c.get_all_node_info(timeout=2).values() if i.state == gcs_pb2.GcsNodeInfo.ALIVE)
    except Exception:
        n = 0
    if n != last:
        print(f"{time.time() - t0:.2f} {n}", flush=True); last = n
    if n >= need:
        break
    time.sleep(poll)
EOF
echo "ray up, 3 nodes over SSH on loopback ($RUNS runs; autoscaler v1, RAY_UP_enable_autoscaler_v2=0;"
echo "  nodes alive polled from the head's GCS every ${POLL} s, so to within about ${POLL} s):"
ups=(); alives=(); downs=()
for r in $(seq "$RUNS"); do
  no_foreign || busy "ray up (its head runs ray stop)"
  up_tried=1
  t0=$(now)
  "$PY" "$W/poll.py" "$t0" 3 "$POLL" 240 > "$W/poll-$r.txt" 2>"$W/poll-$r.err" &
  poller=$!
  "$RAY" up -y "$W/ssh.yaml" > "$W/up-$r.log" 2>&1 || { echo "ray up failed:" >&2; tail -30 "$W/up-$r.log" >&2; exit 1; }
  t1=$(now)
  ups+=("$(echo "$t1 - $t0" | bc)")
  wait $poller || true
  last=$(tail -1 "$W/poll-$r.txt")
  if [ "${last#* }" != 3 ]; then
    echo "  run $r: ray up returned $(f2 "${ups[-1]}") s, but 3 nodes were not alive after 240 s (counts: $(tr '\n' ' ' < "$W/poll-$r.txt"))" >&2
    exit 1
  fi
  alives+=("${last% *}")
  n=$("$RAY" exec "$W/ssh.yaml" "python $W/laptop/count.py" 2>/dev/null | awk '/^ALIVE/{print $2}')
  echo "  run $r: ray up returned $(f2 "${ups[-1]}") s; 3 nodes alive at $(f2 "${alives[-1]}") s (ray exec check: ${n:-?} alive)"
  no_foreign || busy "ray down"
  t0=$(now)
  "$RAY" down -y "$W/ssh.yaml" > "$W/down-$r.log" 2>&1
  downs+=("$(echo "$(now) - $t0" | bc)")
  up_tried=""
  echo "         ray down: $(f2 "${downs[-1]}") s"
done
echo "  median: ray up returned $(f2 "$(printf "%s\n" "${ups[@]}" | median)") s, 3 nodes alive $(f2 "$(printf "%s\n" "${alives[@]}" | median)") s, ray down $(f2 "$(printf "%s\n" "${downs[@]}" | median)") s"
echo "  (from ray up's start; the first run also warms the venv's files in the page cache)"
pkill -TERM -P "$(cat "$W/sshd.pid")" 2>/dev/null || true; kill "$(cat "$W/sshd.pid")" 2>/dev/null || true
rm -f "$W/sshd.pid"; cmp -s "$KEYCOPY" "$W/userkey" && rm -f "$KEYCOPY"; made_key=""

# -- 2. fake_multinode autoscaling --------------------------------------------------
# `ray start` (not `ray up`) does not fill in defaults, so the v1 monitor needs every
# key; the fake nodes join the GCS at port 6379.
cat > "$W/fake.yaml" <<'EOF'
cluster_name: fake_multinode
max_workers: 3
provider: {type: fake_multinode, use_node_id_as_ip: True, disable_node_updaters: True, disable_launch_config_check: True}
available_node_types:
  ray.head.default: {resources: {CPU: 1}, max_workers: 0, node_config: {}}
  ray.worker.cpu: {resources: {CPU: 1}, min_workers: 0, max_workers: 3, node_config: {}}
head_node_type: ray.head.default
upscaling_speed: 1.0
idle_timeout_minutes: 0.1
auth: {}
docker: {}
file_mounts: {}
cluster_synced_files: []
file_mounts_sync_continuously: false
rsync_exclude: []
rsync_filter: []
initialization_commands: []
setup_commands: []
head_setup_commands: []
worker_setup_commands: []
head_start_ray_commands: []
worker_start_ray_commands: []
EOF
cat > "$W/burst.py" <<'EOF'
import ray, sys, time, threading
poll = float(sys.argv[1])
ray.init(address="auto", logging_level="ERROR", log_to_driver=False)
def alive(): return sum(1 for n in ray.nodes() if n["Alive"])
base = alive(); ev = {}; most = [base]; stop = []
@ray.remote(num_cpus=1)
def f(i):
    time.sleep(4); return ray.get_runtime_context().get_node_id()
t0 = time.time()
def watch():
    while not stop:
        n = alive(); t = time.time() - t0; most[0] = max(most[0], n)
        if n > base and "first" not in ev: ev["first"] = t
        if "done" in ev and n == base: ev["gone"] = t; return
        time.sleep(poll)
th = threading.Thread(target=watch, daemon=True); th.start()
res = ray.get([f.remote(i) for i in range(6)]); ev["done"] = time.time() - t0
th.join(180); stop.append(1)
print(f"first={ev.get('first', -1):.2f} tdone={ev['done']:.2f} gone={ev.get('gone', -1):.2f} nodes={len(set(res))} most={most[0]}")
EOF
no_foreign || busy "ray start/stop"
DPORT=$("$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
export RAY_FAKE_CLUSTER=1 RAY_TMPDIR=$W/fake TMPDIR=$W/fake
mkdir -p "$W/fake"
fake_tried=1
t0=$(now)
"$RAY" start --head --port=6379 --num-cpus=1 --autoscaling-config="$W/fake.yaml" --dashboard-port="$DPORT" > "$W/start-fake.log" 2>&1 \
  || { echo "ray start of the fake head failed:" >&2; tail -30 "$W/start-fake.log" >&2; exit 1; }
echo "fake_multinode (autoscaler v1, its default update interval of 5 s; nodes polled with ray.nodes() every 0.1 s):"
echo "  ray start of the head: $(f2 "$(echo "$(now) - $t0" | bc)") s"
sleep 6    # let the monitor come up and see the idle head first
"$PY" "$W/burst.py" 0.1 > "$W/burst.txt" 2> "$W/burst.err" || { echo "driver failed:" >&2; tail -20 "$W/burst.err" >&2; exit 1; }
eval "$(tr ' ' '\n' < "$W/burst.txt" | grep -E '^(first|tdone|gone|nodes|most)=')"
echo "  6 tasks of {CPU: 1}, 4 s each: done in $(f2 "$tdone") s on $nodes nodes; at most $most nodes alive"
echo "  from demand to the first new node alive: $(f2 "$first") s"
if [ "${gone#-}" != "$gone" ]; then
  echo "  the new nodes were not gone 180 s after the tasks' end"
else
  echo "  from the last task's end to the new nodes gone: $(f2 "$(echo "$gone - $tdone" | bc)") s (idle timeout 6 s)"
fi
no_foreign || busy "ray stop"
"$RAY" stop --force > /dev/null 2>&1 || true
fake_tried=""
