#!/usr/bin/env bash
# The review screen's speed in the real window (WebKitGTK under Xvfb, driven by WebDriver):
# next document → first page painted, and frame intervals while panning and zooming a page with
# ~1,500 word boxes. Prints one JSON line `BENCH {...}`; docs/benchmarks.md reports it.
set -euo pipefail
cd "$(dirname "$0")/.."
export OMP_THREAD_LIMIT=1
npm run --silent build --prefix ui >/dev/null
dbus-run-session -- scripts/test-session.sh xvfb-run -a -s "-screen 0 1280x900x24" \
  cargo test --release -p countersign-desktop --test e2e bench_review_screen -- --ignored --nocapture 2>&1 |
  grep -E '^(BENCH|\{"what")'
