#!/usr/bin/env bash
# The benchmarks of BENCHMARKS.md, in one go (about 4 minutes). Release
# build; all traffic on 127.0.0.1; every run bounded in time and count.
#
#   scripts/bench.sh            everything
#   scripts/bench.sh suite      only the suite timings
#   scripts/bench.sh load       only the load, memory and soak runs
#
# Output goes to the terminal and to bench-results/<UTC time>/.
set -euo pipefail
cd "$(dirname "$0")/.."

what="${1:-all}"
out="bench-results/$(date -u +%Y%m%dT%H%M%SZ)"
mkdir -p "$out"
bin=./target/release/payu-contract
bench=./target/release/payu-bench

cargo build --release --quiet --workspace
{
  echo "machine: $(nproc) cores, $(uname -srm), load average: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "commit: $(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
} | tee "$out/machine.txt"

run() { # name, then the command
  local name="$1"; shift
  echo; echo "\$ $*" | tee "$out/$name.txt"
  "$@" 2>&1 | tee -a "$out/$name.txt"
}

if [[ "$what" == all || "$what" == suite ]]; then
  # Suite vs the same requests from a bare reqwest loop, side by side in
  # each process, and whole processes from spawn to exit.
  run bench-suite "$bench" bench-suite --runs 20
  if command -v hyperfine >/dev/null; then
    # CI=true: compare snapshots only, never write review files.
    run hyperfine env CI=true hyperfine -N --warmup 3 --runs 30 \
      "$bin run -q" "$bench bench-suite --bare-only"
  else
    echo "hyperfine not found (apt-get install -y hyperfine): skipped"
  fi
fi

if [[ "$what" == all || "$what" == load ]]; then
  # Closed loop: as fast as 64 chains go, each phase 10 s.
  run load "$bench" load --chains 64 --duration 10s
  # Paced at the target rate: latency at 20,000 requests/s.
  run load-paced "$bench" load --chains 64 --duration 10s --rate 20000
  # Memory: 1,000,000 refreshes against one serve process.
  run memory "$bench" load --chains 64 --phases refresh --requests 1000000 \
    --duration 300s --warmup 0s
  # Robustness: valid and hostile traffic for 60 s.
  run soak "$bench" soak --duration 60s
fi
echo; echo "results in $out/"
