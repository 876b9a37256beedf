#!/usr/bin/env python3
"""Ray peer measurements for side-by-side comparison with the C++ runtime.

Run with the Python of the venv made by setup_ray.sh, e.g.

  /work/ray-venv/bin/python benchmarks/ray_peer/ray_peer.py --num-cpus 2 --json out.json
  ... --only startup,memory                       # quick: cold start + idle memory
  ... --only micro --workloads "single client get calls"   # one workload
  ... --list-workloads

Parts (each runs in its own fresh child process, so parts never share a Ray
instance):
  micro    Ray's own `ray microbenchmark` code (ray/_private/ray_perf.py main),
           with ray.init() forced to num_cpus=N and a 127.0.0.1 node address.
           Its timeit helper is wrapped to (1) skip unselected workloads,
           (2) record (mean, sd) for each workload as it finishes, and (3) end
           main() early once every selected workload has been measured, so a
           subset does not pay for the setup of later workloads.
  startup  cold start: a fresh `python -c` process: import ray, ray.init,
           first task result; also the whole command's wall time (incl. shutdown).
  memory   idle memory: ray.init(num_cpus=N), idle --idle-wait seconds, then the
           RSS / PSS / USS of every Ray process (driver's descendants plus any
           process whose command line names the session dir).

Output JSON (--json):
  {"meta": {...},
   "microbenchmark": {workload_name: ops_per_sec, ...},
   "microbenchmark_detail": {workload_name: {"mean", "sd", "seconds"}},
   "startup": {...}, "memory": {...}}

Environment for every child (SAFE_ENV): RAY_USAGE_STATS_ENABLED=0,
RAY_USAGE_STATS_REPORT_URL at a closed loopback port, and
RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0 (node IP = 127.0.0.1), so no Ray traffic
uses a non-loopback address.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

# Workload names exactly as ray_perf.py prints them, in the order main() runs them.
UPSTREAM_ORDER = [
    "single client get calls (Plasma Store)",
    "single client put calls (Plasma Store)",
    "multi client put calls (Plasma Store)",
    "single client put gigabytes",
    "single client tasks and get batch",
    "multi client put gigabytes",
    "single client get object containing 10k refs",
    "single client wait 1k refs",
    "single client tasks sync",
    "single client tasks async",
    "multi client tasks async",
    "1:1 actor calls sync",
    "1:1 actor calls async",
    "1:1 actor calls concurrent",
    "1:n actor calls async",
    "n:n actor calls async",
    "n:n actor calls with arg async",
    "1:1 async-actor calls sync",
    "1:1 async-actor calls async",
    "1:1 async-actor calls with args async",
    "1:n async-actor calls async",
    "n:n async-actor calls async",
    "placement group create/removal",
    "client: get calls",
    "client: put calls",
    "client: tasks and put batch",
    "client: 1:1 actor calls sync",
    "client: 1:1 actor calls async",
    "client: 1:1 actor calls concurrent",
    "client: put gigabytes",
    "client: tasks and get batch",
]
# The 17 workloads the C++ runtime mirrors (everything up to the async actors).
CORE = UPSTREAM_ORDER[:17]

ALIASES = {  # short names accepted by --workloads
    "single client get calls": "single client get calls (Plasma Store)",
    "single client put calls": "single client put calls (Plasma Store)",
    "multi client put calls": "multi client put calls (Plasma Store)",
}

SAFE_ENV = {
    "RAY_USAGE_STATS_ENABLED": "0",
    # Even with stats disabled, a `ray start` cluster sends a one-off "disabled"
    # ping; point it at a closed loopback port.
    "RAY_USAGE_STATS_REPORT_URL": "http://127.0.0.1:9/",
    # On Linux, ray.init(_node_ip_address="127.0.0.1") is still rewritten to the
    # host's routable IP (services.resolve_ip_for_localhost). This switch (meant
    # for Windows/macOS) makes Ray's Python side use 127.0.0.1 as node IP, so all
    # Ray traffic (GCS, raylet, agents, workers) stays on loopback.
    "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0",
}

NODE_IP = "127.0.0.1"


def child_env():
    env = dict(os.environ)
    env.update(SAFE_ENV)
    env.pop("RAY_ADDRESS", None)
    return env


# --------------------------------------------------------------------------
# helpers shared by parent and children
# --------------------------------------------------------------------------

RAY_EXES = ("raylet", "gcs_server")


def running_ray_pids():
    """PIDs of raylet/gcs_server processes on this host (any session)."""
    pids = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/cmdline", "rb") as f:
                argv0 = f.read().split(b"\0", 1)[0].decode(errors="replace")
        except OSError:
            continue
        if os.path.basename(argv0) in RAY_EXES:
            pids.append(int(d))
    return pids


def wait_no_ray(timeout=30.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if not running_ray_pids():
            return True
        time.sleep(0.2)
    return False


def ray_init(ray, num_cpus, **kw):
    kw.setdefault("num_cpus", num_cpus)
    kw.setdefault("_node_ip_address", NODE_IP)
    return ray.init(**kw)


# --------------------------------------------------------------------------
# child: microbenchmark
# --------------------------------------------------------------------------


class _AllSelectedDone(BaseException):
    pass


def child_micro(args):
    import functools
    import types

    import ray
    import ray._private.ray_client_microbenchmark as client_mb
    import ray._private.ray_microbenchmark_helpers as helpers
    import ray._private.ray_perf as ray_perf

    selected = args.selected
    out_path = args.child_out
    results = {}

    def dump():
        tmp = out_path + ".tmp"
        with open(tmp, "w") as f:
            json.dump(results, f)
        os.replace(tmp, out_path)

    # 1. ray.init(...) -> ray.init(num_cpus=N, _node_ip_address=127.0.0.1, ...)
    orig_init = ray.init

    @functools.wraps(orig_init)
    def patched_init(*a, **kw):
        if not a and "address" not in kw:
            kw.setdefault("num_cpus", args.num_cpus)
            kw.setdefault("_node_ip_address", NODE_IP)
        return orig_init(*a, **kw)

    ray.init = patched_init

    # 2. fan-out: ray_perf uses multiprocessing.cpu_count() // 2 actors for the
    #    1:n / n:n workloads; make it follow --fanout-cpus (default num_cpus).
    fan = args.fanout_cpus
    ray_perf.multiprocessing = types.SimpleNamespace(cpu_count=lambda: fan)

    # 3. wrap timeit: selection, capture, early stop.
    orig_timeit = helpers.timeit

    def timeit(name, fn, multiplier=1, warmup_time_sec=10):
        if selected is not None and name not in selected:
            return [None]
        t0 = time.perf_counter()
        res = orig_timeit(
            name, fn, multiplier, warmup_time_sec=args.warmup_sleep
        )
        if res and res[0] is not None:
            _, mean, sd = res[0]
            results[name] = {
                "mean": float(mean),
                "sd": float(sd),
                "seconds": round(time.perf_counter() - t0, 2),
            }
            dump()
            sys.stdout.flush()
        if selected is not None and all(s in results for s in selected):
            raise _AllSelectedDone()
        return res

    ray_perf.timeit = timeit
    client_mb.timeit = timeit
    if selected is not None and not any(s.startswith("client: ") for s in selected):
        ray_perf.client_microbenchmark_main = lambda results=None: results

    dump()
    try:
        ray_perf.main()
    except _AllSelectedDone:
        pass
    finally:
        if ray.is_initialized():
            ray.shutdown()
    dump()


# --------------------------------------------------------------------------
# child: idle memory
# --------------------------------------------------------------------------


def label_for(proc):
    try:
        cmd = proc.cmdline()
    except Exception:
        cmd = []
    if not cmd:
        try:
            return proc.name()
        except Exception:
            return "?"
    if cmd[0].startswith("ray::"):
        return cmd[0].split()[0]  # e.g. ray::IDLE (Python worker process title)
    base = os.path.basename(cmd[0])
    if base in RAY_EXES or not base.startswith("python"):
        return base
    for i, c in enumerate(cmd[1:], 1):
        if c == "-m" and i + 1 < len(cmd):
            return cmd[i + 1]
        if c.endswith(".py"):
            parts = c.split("/")
            return "/".join(parts[-2:]) if parts[-1] in ("main.py", "agent.py") else parts[-1]
    return base


def child_memory(args):
    import psutil
    import ray

    ray_init(ray, args.num_cpus)
    session_dir = ray._private.worker._global_node.get_session_dir_path()
    time.sleep(args.idle_wait)

    me = psutil.Process()
    procs = {p.pid: p for p in me.children(recursive=True)}
    for p in psutil.process_iter(["cmdline"]):
        try:
            if p.pid != me.pid and any(session_dir in c for c in (p.info["cmdline"] or [])):
                procs.setdefault(p.pid, p)
        except Exception:
            pass

    def mem(p):
        try:
            fi = p.memory_full_info()
            return fi.rss, getattr(fi, "pss", 0), fi.uss
        except Exception:
            try:
                return p.memory_info().rss, 0, 0
            except Exception:
                return 0, 0, 0

    MiB = 1024.0 * 1024.0
    rows = []
    for pid, p in sorted(procs.items()):
        rss, pss, uss = mem(p)
        if rss == 0:
            continue
        rows.append(
            {"pid": pid, "name": label_for(p), "rss_mib": round(rss / MiB, 1),
             "pss_mib": round(pss / MiB, 1), "uss_mib": round(uss / MiB, 1)}
        )
    d_rss, d_pss, d_uss = mem(me)
    by_name = {}
    for r in rows:
        b = by_name.setdefault(r["name"], {"count": 0, "rss_mib": 0.0, "pss_mib": 0.0})
        b["count"] += 1
        b["rss_mib"] = round(b["rss_mib"] + r["rss_mib"], 1)
        b["pss_mib"] = round(b["pss_mib"] + r["pss_mib"], 1)
    out = {
        "num_cpus": args.num_cpus,
        "idle_wait_s": args.idle_wait,
        "ray_processes": len(rows),
        "ray_processes_rss_mib": round(sum(r["rss_mib"] for r in rows), 1),
        "ray_processes_pss_mib": round(sum(r["pss_mib"] for r in rows), 1),
        "ray_processes_uss_mib": round(sum(r["uss_mib"] for r in rows), 1),
        "driver_rss_mib": round(d_rss / MiB, 1),
        "driver_pss_mib": round(d_pss / MiB, 1),
        "total_rss_mib_incl_driver": round(sum(r["rss_mib"] for r in rows) + d_rss / MiB, 1),
        "total_pss_mib_incl_driver": round(sum(r["pss_mib"] for r in rows) + d_pss / MiB, 1),
        "by_name": by_name,
        "processes": rows,
    }
    with open(args.child_out, "w") as f:
        json.dump(out, f)
    ray.shutdown()


# --------------------------------------------------------------------------
# cold start: a literal `python -c` program, timed from the parent
# --------------------------------------------------------------------------

STARTUP_PROG = r"""
import os, sys, time, json
t_main = time.time()
def since_proc_start():
    # /proc/self/stat field 22 = start time in clock ticks since boot
    # (CLOCK_BOOTTIME), resolution 1/SC_CLK_TCK (10 ms)
    with open('/proc/self/stat') as f:
        st = f.read().rsplit(')', 1)[1].split()
    return time.clock_gettime(time.CLOCK_BOOTTIME) - int(st[19]) / os.sysconf('SC_CLK_TCK')
t_spawn = float(os.environ['RAY_PEER_SPAWN_T'])
import ray
t_import = time.time()
ray.init(num_cpus=int(os.environ['RAY_PEER_NUM_CPUS']), _node_ip_address='127.0.0.1')
t_init = time.time()
@ray.remote
def one():
    return 1
assert ray.get(one.remote()) == 1
t_first = time.time()
r = {'python_ready_s': t_main - t_spawn,
     'import_ray_s': t_import - t_main,
     'ray_init_s': t_init - t_import,
     'first_task_s': t_first - t_init,
     'first_result_since_spawn_s': t_first - t_spawn,
     'first_result_since_proc_start_s': since_proc_start()}
ray.shutdown()
r['shutdown_s'] = time.time() - t_first
print('RAY_PEER_STARTUP ' + json.dumps(r), flush=True)
"""


def run_startup(args, python):
    runs = []
    total = args.startup_repeats + args.startup_warmup
    for i in range(total):
        if not wait_no_ray():
            raise RuntimeError("Ray processes still running before cold-start run")
        env = child_env()
        env["RAY_PEER_NUM_CPUS"] = str(args.num_cpus)
        t0 = time.time()
        env["RAY_PEER_SPAWN_T"] = repr(t0)
        p = subprocess.run([python, "-c", STARTUP_PROG], env=env,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           text=True, timeout=180)
        wall = time.time() - t0
        line = next((l for l in p.stdout.splitlines() if l.startswith("RAY_PEER_STARTUP ")), None)
        if p.returncode != 0 or line is None:
            sys.stderr.write(p.stderr[-4000:])
            raise RuntimeError(f"cold-start child failed rc={p.returncode}")
        r = json.loads(line.split(" ", 1)[1])
        r["command_wall_s"] = wall
        r = {k: round(v, 3) for k, v in r.items()}
        lingering = not wait_no_ray(30)
        r["ray_procs_left_after_exit"] = lingering
        warm = i < args.startup_warmup
        print(f"[startup] run {i + 1}/{total}{' (warm-up, discarded)' if warm else ''}: "
              f"first result {r['first_result_since_spawn_s']:.2f}s after spawn "
              f"(import {r['import_ray_s']:.2f}, init {r['ray_init_s']:.2f}, "
              f"task {r['first_task_s']:.2f}); command wall {wall:.2f}s", flush=True)
        if not warm:
            runs.append(r)

    def med(k):
        return round(statistics.median(r[k] for r in runs), 3)

    return {
        "num_cpus": args.num_cpus,
        "repeats": len(runs),
        "median_first_result_since_spawn_s": med("first_result_since_spawn_s"),
        "median_first_result_since_proc_start_s": med("first_result_since_proc_start_s"),
        "median_import_ray_s": med("import_ray_s"),
        "median_ray_init_s": med("ray_init_s"),
        "median_first_task_s": med("first_task_s"),
        "median_command_wall_s": med("command_wall_s"),
        "median_shutdown_s": med("shutdown_s"),
        "runs": runs,
    }


def run_child(args, python, part, extra, timeout):
    fd, out = tempfile.mkstemp(prefix=f"ray_peer_{part}_", suffix=".json")
    os.close(fd)
    cmd = [python, os.path.abspath(__file__), "--_child", part, "--_child-out", out,
           "--num-cpus", str(args.num_cpus)] + extra
    try:
        p = subprocess.run(cmd, env=child_env(), timeout=timeout)
        rc = p.returncode
    except subprocess.TimeoutExpired:
        rc = "timeout"
    try:
        with open(out) as f:
            data = json.load(f)
    except (OSError, ValueError):
        data = None
    finally:
        try:
            os.unlink(out)
        except OSError:
            pass
    wait_no_ray(30)
    return rc, data


def resolve_workloads(spec):
    if spec in ("core", "", None):
        return list(CORE)
    if spec == "all":
        return None
    names = []
    for raw in spec.split(","):
        n = raw.strip()
        if not n:
            continue
        n = ALIASES.get(n, n)
        if n not in UPSTREAM_ORDER:
            raise SystemExit(f"unknown workload {raw!r}; see --list-workloads")
        names.append(n)
    return names


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--num-cpus", type=int, default=2)
    ap.add_argument("--json", dest="json_out", help="write results here")
    ap.add_argument("--only", default="micro,startup,memory",
                    help="comma list of parts: micro, startup, memory")
    ap.add_argument("--workloads", default="core",
                    help="'core' (17 workloads, default), 'all' (everything ray "
                         "microbenchmark runs, incl. async-actor, placement group and "
                         "Ray Client), or a comma list of names (see --list-workloads)")
    ap.add_argument("--list-workloads", action="store_true")
    ap.add_argument("--warmup-sleep", type=float, default=10.0,
                    help="seconds ray_perf's timeit sleeps before each workload "
                         "(Ray's default 10)")
    ap.add_argument("--fanout-cpus", type=int, default=None,
                    help="value ray_perf sees for multiprocessing.cpu_count(); the "
                         "1:n and n:n workloads use cpu_count()//2 actors. Default: "
                         "max(2, num_cpus)")
    ap.add_argument("--micro-timeout", type=float, default=3600)
    ap.add_argument("--startup-repeats", type=int, default=3)
    ap.add_argument("--startup-warmup", type=int, default=1,
                    help="discarded cold-start runs first (page cache, .pyc)")
    ap.add_argument("--idle-wait", type=float, default=5.0)
    ap.add_argument("--netns", action="store_true",
                    help="re-run this script inside a fresh network namespace that "
                         "has only loopback (unshare -n; needs root). Belt and braces "
                         "on top of SAFE_ENV: Ray cannot reach or use any other address")
    ap.add_argument("--_child", help=argparse.SUPPRESS)
    ap.add_argument("--_child-out", dest="child_out", help=argparse.SUPPRESS)
    ap.add_argument("--_selected", help=argparse.SUPPRESS)
    args = ap.parse_args()

    if args.netns and not args._child and os.environ.get("RAY_PEER_IN_NETNS") != "1":
        os.environ["RAY_PEER_IN_NETNS"] = "1"
        os.execvp("unshare", ["unshare", "-n", "sh", "-c",
                              'ip link set lo up && exec "$0" "$@"',
                              sys.executable, os.path.abspath(__file__)] + sys.argv[1:])

    if args.fanout_cpus is None:
        args.fanout_cpus = max(2, args.num_cpus)

    if args._child:
        os.environ.update(SAFE_ENV)
        args.selected = None if args._selected is None else json.loads(args._selected)
        {"micro": child_micro, "memory": child_memory}[args._child](args)
        return

    if args.list_workloads:
        for n in UPSTREAM_ORDER:
            print(("* " if n in CORE else "  ") + n)
        print("(* = core)")
        return

    parts = [p.strip() for p in args.only.split(",") if p.strip()]
    bad = set(parts) - {"micro", "startup", "memory"}
    if bad:
        raise SystemExit(f"unknown part(s) {sorted(bad)}")
    python = sys.executable

    if not wait_no_ray(15):
        raise SystemExit("a Ray instance is already running on this host "
                         "(raylet/gcs_server found); stop it first (`ray stop`)")

    import importlib.metadata as md
    meta = {
        "ray_version": md.version("ray"),
        "python": sys.version.split()[0],
        "num_cpus": args.num_cpus,
        "host_cpus": os.cpu_count(),
        "parts": parts,
        "netns": os.environ.get("RAY_PEER_IN_NETNS") == "1",
        # Ray >= 2.5x enables token auth for ray.init() clusters by default and
        # writes ~/.ray/auth_token; export RAY_AUTH_MODE=disabled to opt out.
        "ray_auth_mode": os.environ.get("RAY_AUTH_MODE", "(default)"),
        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    try:
        meta["ray_cpp_version"] = md.version("ray-cpp")
    except md.PackageNotFoundError:
        pass
    result = {"meta": meta}

    def save():
        if args.json_out:
            with open(args.json_out, "w") as f:
                json.dump(result, f, indent=2)

    if "startup" in parts:
        result["startup"] = run_startup(args, python)
        save()

    if "memory" in parts:
        rc, data = run_child(args, python, "memory",
                             ["--idle-wait", str(args.idle_wait)], timeout=300)
        if data is None:
            raise SystemExit(f"memory child failed (rc={rc})")
        result["memory"] = data
        print(f"[memory] {data['ray_processes']} Ray processes: RSS "
              f"{data['ray_processes_rss_mib']} MiB, PSS {data['ray_processes_pss_mib']} MiB "
              f"(+ driver RSS {data['driver_rss_mib']} MiB)", flush=True)
        for n, b in sorted(data["by_name"].items(), key=lambda kv: -kv[1]["rss_mib"]):
            print(f"           {b['count']:2d} x {n:40s} RSS {b['rss_mib']:8.1f}  PSS {b['pss_mib']:8.1f}")
        save()

    if "micro" in parts:
        selected = resolve_workloads(args.workloads)
        meta["workloads"] = "all" if selected is None else selected
        meta["warmup_sleep_s"] = args.warmup_sleep
        meta["fanout_cpus"] = args.fanout_cpus
        meta["n_cpu_actors_1n_nn"] = args.fanout_cpus // 2
        extra = ["--warmup-sleep", str(args.warmup_sleep),
                 "--fanout-cpus", str(args.fanout_cpus)]
        if selected is not None:
            extra += ["--_selected", json.dumps(selected)]
        rc, data = run_child(args, python, "micro", extra, timeout=args.micro_timeout)
        data = data or {}
        result["microbenchmark"] = {k: round(v["mean"], 2) for k, v in data.items()}
        result["microbenchmark_detail"] = data
        meta["micro_rc"] = rc
        missing = [n for n in (selected or []) if n not in data]
        if missing:
            meta["micro_missing"] = missing
        save()
        if rc != 0:
            print(f"[micro] child exited with {rc}; partial results kept", file=sys.stderr)

    meta["finished"] = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    save()
    print(json.dumps({k: v for k, v in result.items() if k not in
                      ("microbenchmark_detail",)}, indent=2, default=str)
          if not args.json_out else f"wrote {args.json_out}")


if __name__ == "__main__":
    main()
