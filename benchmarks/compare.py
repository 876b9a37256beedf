#!/usr/bin/env python3
"""Prints one table from Ray's figures (ray_peer.py --json) and ours
(ray_microbenchmark --json): workload, Ray, ours, ours/Ray, target; with a
third file (ray_peer/cpp/run_ray_cpp.sh), also Ray through its C++ API.

  compare.py RAY.json OURS.json [RAY_CPP.json]"""
import json
import sys

# workload -> (target ratio ours/Ray, higher_is_better)
TARGETS = {
    "single client get calls": 5, "single client put calls": 5,
    "multi client put calls": 5,
    "single client put gigabytes": 1, "multi client put gigabytes": 1,
    "n:n actor calls async": 2, "n:n actor calls with arg async": 2,
}


def ray_name(ours_name, ray_figures):
    for name in ray_figures:
        if name == ours_name or name.startswith(ours_name + " ("):
            return name
    return None


def main():
    ray = json.load(open(sys.argv[1]))
    ours = json.load(open(sys.argv[2]))
    cpp = {}
    if len(sys.argv) > 3:
        try:
            cpp = json.load(open(sys.argv[3])).get("cpp_microbenchmark", {})
        except (OSError, ValueError):
            cpp = {}
    rows = []
    rf = ray.get("microbenchmark", {})
    for name, fig in ours["figures"].items():
        rname = ray_name(name, rf)
        if rname is None:
            continue
        target = TARGETS.get(name, 3)
        ratio = fig["median"] / rf[rname] if rf[rname] else float("nan")
        cname = ray_name(name, cpp)
        cpp_cell = f"{cpp[cname]:.2f} ({fig['median'] / cpp[cname]:.1f}x)" if cname else "-"
        rows.append((name, f"{rf[rname]:.2f}", cpp_cell, f"{fig['median']:.2f}",
                     f"{ratio:.1f}x", f">= {target}x", "met" if ratio >= target else "MISSED"))
    st = ray.get("startup", {})
    cold = ours["figures"].get("cold start: process start to first task result")
    if st and cold:
        ray_ms = st["median_first_result_since_spawn_s"] * 1000
        rows.append(("cold start to first result (ms, lower is better)", f"{ray_ms:.0f}", "-",
                     f"{cold['median']:.1f}", f"{ray_ms / cold['median']:.0f}x faster",
                     "< 100 ms", "met" if cold["median"] < 100 else "MISSED"))
    mem = ray.get("memory", {})
    idle = [v for k, v in ours["figures"].items() if k.startswith("idle cluster RSS")]
    if mem and idle:
        ray_mib = mem["ray_processes_rss_mib"]
        rows.append(("idle cluster RSS (MiB, lower is better)", f"{ray_mib:.0f}", "-",
                     f"{idle[0]['median']:.0f}", f"{idle[0]['median'] / ray_mib:.2f}",
                     "<= 0.2", "met" if idle[0]["median"] <= ray_mib / 5 else "MISSED"))
    for key in ("memcpy bandwidth (1 GiB, warm pages)", "raw TCP stream 1 GiB over loopback",
                "in-node Get of 1 GiB with BufferView", "in-node Get of 1 GiB without view (copy)"):
        if key in ours["figures"]:
            f = ours["figures"][key]
            rows.append((f"{key} ({f['unit']})", "-", "-", f"{f['median']:.3f}", "-", "", ""))
    floor = ours["figures"].get("CAF request/response between 2 processes")
    sync = ours["figures"].get("1:1 actor calls sync")
    if floor:
        rows.append(("CAF request/response between 2 processes (per second)", "-", "-",
                     f"{floor['median']:.0f}", "-", "", ""))
        if sync:
            rows.append(("1:1 actor calls sync / CAF request/response", "-", "-",
                         f"{sync['median'] / floor['median']:.2f}", "-", "", ""))
    for key, f in ours["figures"].items():
        if key.startswith("FastCopy bandwidth"):
            rows.append((f"{key} ({f['unit']})", "-", "-", f"{f['median']:.3f}", "-", "", ""))
    put = ours["figures"].get("single client put gigabytes")
    memcpy = ours["figures"].get("memcpy bandwidth (1 GiB, warm pages)")
    if put and memcpy:
        ratio = put["median"] / memcpy["median"]
        rows.append(("single client put gigabytes / memcpy bandwidth", "-", "-", f"{ratio:.2f}",
                     "-", ">= 0.6", "met" if ratio >= 0.6 else "MISSED"))
    xnode = ours["figures"].get("cross-node transfer of 1 GiB (2 raynodes, checked)")
    tcp = ours["figures"].get("raw TCP stream 1 GiB over loopback")
    if xnode and tcp:
        ratio = xnode["median"] / tcp["median"]
        rows.append((f"cross-node transfer of 1 GiB / raw TCP ({xnode['median']:.2f} GB/s)", "-",
                     "-", f"{ratio:.2f}", "-", ">= 0.5", "met" if ratio >= 0.5 else "MISSED"))
    print(f"CPUs given to each cluster: {ours.get('num_cpus')}\n")
    print("| workload | Ray (Python) | Ray C++ API (ours/it) | ours | ours/Ray | target | |")
    print("|---|---:|---:|---:|---:|---|---|")
    for r in rows:
        print("| " + " | ".join(r) + " |")


if __name__ == "__main__":
    main()
