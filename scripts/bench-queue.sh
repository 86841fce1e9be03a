#!/usr/bin/env bash
# Review-queue benchmark (not a timed test): builds a store of 100,000 documents (each with a current
# version in a realistic mix of statuses, field values, a due date on half, and 2–5 KB of page text in
# the search index) through the store's own migrations, then times `queue()` — the counts of every
# filter plus the first page of 200 rows — for every filter and for a few searches. Prints a markdown
# table (median, p95, max in ms) on stdout, progress on stderr; results go in docs/benchmarks.md.
#
#   scripts/bench-queue.sh
#
# Knobs (environment):
#   BENCH_QUEUE_DOCS=100000   documents in the store
#   BENCH_QUEUE_RUNS=20       timed runs per case (after one warm-up)
#   BENCH_QUEUE_DIR=DIR       keep the store in DIR and reuse it next time (building 100,000 documents
#                             takes ~1.5 min); without it, a temp dir that is removed afterwards
# Needs ~3 GB of free disk for 100,000 documents (a 1.3 GB store, and as much write-ahead log while it is built).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
export OMP_THREAD_LIMIT=1

echo "==> cargo build --release -p countersign-workflow --example queue_bench" >&2
(cd "$ROOT" && cargo build --release -q -p countersign-workflow --example queue_bench)
BIN=${CARGO_TARGET_DIR:-$ROOT/target}/release/examples/queue_bench

args=(--docs "${BENCH_QUEUE_DOCS:-100000}" --runs "${BENCH_QUEUE_RUNS:-20}")
if [ -n "${BENCH_QUEUE_DIR:-}" ]; then
  args+=(--data-dir "$BENCH_QUEUE_DIR")
fi
echo "==> machine: $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg)" >&2
"$BIN" "${args[@]}"
