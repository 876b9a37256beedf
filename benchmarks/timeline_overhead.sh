#!/bin/bash
# What recording profile events costs: `single client tasks sync` and `1:1
# actor calls async` with the timeline on and off, in alternating runs of the
# same minutes, and the median of each.
# Usage: benchmarks/timeline_overhead.sh [BUILD_DIR] [ROUNDS]   (default: build 6)
set -euo pipefail
BIN="$(cd "${1:-build}/bin" && pwd)"
ROUNDS="${2:-6}"
declare -A runs
for ((round = 1; round <= ROUNDS; round++)); do
  for mode in on off; do
    flag=1; [ "$mode" = off ] && flag=0
    for bench in "single client tasks sync" "1:1 actor calls async"; do
      rate=$(RAY_ENABLE_TIMELINE=$flag "$BIN/ray_microbenchmark" --num-cpus 2 --filter "$bench" \
               --trials 3 --no-extras 2>/dev/null | grep -F "$bench" | awk '{print $(NF-6)}')
      runs["$bench/$mode"]+="$rate "
      echo "round $round, timeline $mode: $bench $rate/s"
    done
  done
done
median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
echo
printf "%-28s %12s %12s %8s\n" benchmark "timeline on" "timeline off" change
for bench in "single client tasks sync" "1:1 actor calls async"; do
  on=$(echo "${runs[$bench/on]}" | median)
  off=$(echo "${runs[$bench/off]}" | median)
  printf "%-28s %12.0f %12.0f %+7.1f%%\n" "$bench" "$on" "$off" "$(echo "($on - $off) * 100 / $off" | bc -l)"
done
